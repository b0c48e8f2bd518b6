"""rigcheck models: the bundled model catalogue."""

from __future__ import annotations

import argparse


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "models", help="list the models in the bundled catalogue",
        description="The models rigcheck knows without a file: id, family, total and active parameters "
                    "(computed from each config's tensor inventory), licence and release date.",
        epilog="Examples:\n"
               "  rigcheck models\n"
               "  rigcheck models --json\n")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    return p


def rows() -> list[dict]:
    from ..model.catalog import all_cards, model_of
    out = []
    for c in all_cards():
        m = model_of(c)
        out.append({"id": c.id, "name": c.name, "family": c.family, "arch": m.arch,
                    "total_params": m.total_params, "active_params": m.active_params(),
                    "active_params_with_embedding": m.active_params(count_embedding=True),
                    "mtp_params": m.mtp_params, "license": c.license, "released": c.released,
                    "aliases": list(c.aliases), "checked": c.checked})
    return out


def run(args) -> int:
    data = rows()
    if args.json:
        from . import emit_json
        emit_json(data)
        return 0
    from ..report.models_text import render_models
    print(render_models(data))
    return 0
