"""Text rendering of ``rigcheck info``: the model's layout and parameters, from the dict
``info --json`` prints. No arithmetic. Names from a file are escaped, one short line each."""

from __future__ import annotations

from .. import units
from ..text import shown
from .table import table


def _render_hub(rep: dict) -> list[str]:
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


def render_info(rep: dict) -> str:
    lines = []
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
            extra.append(f"{moe['n_dense_layers']} dense layers")
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
