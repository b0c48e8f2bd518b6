"""rigcheck info MODEL: the model's layers, attention layout and parameter counts."""

from __future__ import annotations

import argparse


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "info", help="what a model is: layers, attention layout, parameters (total, active, MTP)",
        description="Describe a model from its tensor inventory: family, layers, attention layout, "
                    "parameters by role, total and active parameters. Active parameters are those read "
                    "per token (routed experts at n_used/n_expert) without the input embedding table; "
                    "the count with it is shown too. MTP (multi-token prediction) layers are kept apart.",
        epilog="Examples:\n"
               "  rigcheck info deepseek-v4-flash\n"
               "  rigcheck info qwen3-30b-a3b --json\n"
               "  rigcheck info ./Qwen3-8B/config.json\n"
               "  rigcheck info gemma-3-270m-q4_k_m.gguf\n")
    p.add_argument("model", metavar="MODEL",
                   help="catalogue id or alias (see 'rigcheck models'), config.json, model folder, .gguf, "
                        ".safetensors or model.safetensors.index.json")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--offline", action="store_true",
                   help="use only rigcheck's Hub cache and the bundled catalogue (as HF_HUB_OFFLINE=1)")
    return p


def run(args) -> int:
    from ..model.resolve import load_model
    from ..model.summary import summary
    if getattr(args, "offline", False):
        import os
        os.environ["HF_HUB_OFFLINE"] = "1"
    model = load_model(args.model)
    card = None
    if model.source == "catalogue":
        from ..model.catalog import card as get_card
        card = get_card(model.id)
    rep = summary(model, card)
    rep.update(hub_facts(model))
    if args.json:
        from . import emit_json
        emit_json(rep)
    else:
        from ..report.info_text import render_info
        print(render_info(rep))
    return 0


def hub_facts(model) -> dict:
    """A Hub repo's own facts: repo, revision, commit, the file read or the shards with
    their bytes, and what the generic family could not infer."""
    out = {}
    h = model.meta.get("hub")
    if isinstance(h, dict):
        out["hub"] = {k: h[k] for k in ("repo", "revision", "sha", "file", "checkpoint_bytes", "quant_method")
                      if h.get(k) not in (None, "")}
        if h.get("shards"):
            out["hub"]["files"] = [{"path": s["path"], "bytes": s["bytes"]} for s in h["shards"]]
    if model.meta.get("hub_unreachable"):
        out["hub_unreachable"] = model.meta["hub_unreachable"]
    if model.meta.get("not_inferred"):
        out["not_inferred"] = list(model.meta["not_inferred"])
    if model.meta.get("unmatched"):
        out["checkpoint_tensors_not_in_inventory"] = len(model.meta["unmatched"])
    return out


