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
    from .. import units
    from ..report.table import table
    body = [[r["id"], r["family"], units.params(r["total_params"]),
             units.params(r["active_params"]) if r["active_params"] != r["total_params"] else "dense",
             r["license"], r["released"]] for r in data]
    print(table(body, ["id", "family", "total", "active", "license", "released"], "llrrll"))
    print(f"\n{len(data)} models; active = parameters read per token, without the input embedding")
    return 0
