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
        print(render(rep))
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


def _render_hub(rep: dict) -> list[str]:
    from .. import units
    lines = []
    h = rep.get("hub")
    if h:
        what = h.get("file") or (f"{len(h['files'])} safetensors file(s), {units.gb(h['checkpoint_bytes'])}"
                                 if h.get("files") else "config.json")
        lines.append(f"Hub: {h['repo']} at {h.get('revision', 'main')} (commit {h.get('sha', '?')[:12]}): {what}"
                     + (f", quantization {h['quant_method']}" if h.get("quant_method") else ""))
    if rep.get("hub_unreachable"):
        lines.append(f"note: the catalogue card, as the Hub was not asked: {rep['hub_unreachable']}")
    for n in rep.get("not_inferred") or []:
        lines.append(f"could not infer: {n}")
    if rep.get("checkpoint_tensors_not_in_inventory"):
        lines.append(f"note: {rep['checkpoint_tensors_not_in_inventory']} checkpoint tensor(s) are not in the "
                     "family's inventory")
    return lines


def render(rep: dict) -> str:
    from .. import units
    from ..report.table import table
    lines = []
    from ..text import shown            # names from a file: escaped, one short line each
    title = rep["card"]["name"] if rep.get("card") else rep["id"]
    lines.append(f"{shown(title)}  ({shown(rep['id'])}; family {shown(rep['family'])}, llama.cpp arch "
                 f"{shown(rep['arch'])}; from {rep['source']})")
    layout = ", ".join(f"{n} {k}" for k, n in rep["attention"].items())
    mtp = f" + {rep['n_mtp_layers']} MTP" if rep["n_mtp_layers"] else ""
    lines.append(f"layers: {rep['n_layer']}{mtp}    attention: {layout}")
    lines.append(f"hidden {rep['n_embd']}, vocab {rep['n_vocab']}, trained context {rep['n_ctx_train']}"
                 f"{', tied embeddings' if rep['tied_embeddings'] else ''}")
    moe = rep.get("moe")
    if moe:
        extra = []
        if moe["n_shared"]:
            extra.append(f"{moe['n_shared']} shared")
        if moe["n_dense_layers"]:
            extra.append(f"{moe['n_dense_layers']} dense layers first")
        if moe["n_hash_layers"]:
            extra.append(f"{moe['n_hash_layers']} hash-routed layers")
        lines.append(f"MoE: {moe['n_expert']} experts, {moe['n_expert_used']} per token"
                     + (f" ({', '.join(extra)})" if extra else ""))
    lines.append("")
    total = rep["total_params"] or 1
    rows = [[role, units.params(n), f"{100 * n / total:.1f}%"] for role, n in rep["params_by_role"].items()]
    lines.append(table(rows, ["role", "params", "share"], "lrr"))
    lines.append("")
    lines.append(f"total params:   {units.params(rep['total_params'])}  ({rep['tensor_count']} tensors, "
                 f"MTP tensors included)" if rep["mtp_params"] else
                 f"total params:   {units.params(rep['total_params'])}  ({rep['tensor_count']} tensors)")
    lines.append(f"active params:  {units.params(rep['active_params'])} per token, without the input embedding "
                 f"({units.params(rep['active_params_with_embedding'])} with it)")
    if rep["mtp_params"]:
        lines.append(f"MTP params:     {units.params(rep['mtp_params'])}, kept apart (not in the totals above)")
    card = rep.get("card")
    if card and card["stated"]:
        st = card["stated"]
        said = [units.params(st["total_params"]) + " total"] if st.get("total_params") else []
        if st.get("active_params"):
            said.append(units.params(st["active_params"]) + " active")
        lines.append(f"model card says: {', '.join(said)}  ({st.get('source', '')})")
    if card:
        lines.append(f"config: {card['config_source']} (checked {card['checked']})")
    lines += _render_hub(rep)
    return "\n".join(lines)
