"""The generic family: any architecture without its own module, from a config.json's
standard keys and the checkpoint's safetensors headers.

The tensors are the checkpoint's own (exact shapes and dtypes), renamed to llama.cpp's
names where the Hugging Face name follows the common layout (``model.layers.N.self_attn.
q_proj`` -> ``blk.N.attn_q``; per-expert ``mlp.experts.E.gate_proj`` fused into one
``blk.N.ffn_gate_exps`` of shape (n_expert, rows, cols), as llama.cpp's converter does);
other tensors keep their checkpoint names, with a role from the name's pattern.

The attention layout comes from the keys every transformers config uses
(``num_hidden_layers``, ``num_attention_heads``, ``num_key_value_heads``, ``head_dim``,
``sliding_window`` / ``layer_types``) and MoE facts from ``num_experts`` /
``num_local_experts`` / ``n_routed_experts`` and ``num_experts_per_tok``. What it could not
infer is listed in ``meta['not_inferred']`` (and printed by ``rigcheck info``).
"""

from __future__ import annotations

import re
from collections import defaultdict

from ..model import AttnKind, LayerAttention, Model, MoE
from ..names import role_of
from ..tensor import Role, Tensor
from ._base import text_config

_SIMPLE = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
    "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
    "mlp.gate": "ffn_gate_inp", "mlp.router": "ffn_gate_inp", "block_sparse_moe.gate": "ffn_gate_inp",
    "mlp.shared_expert.gate_proj": "ffn_gate_shexp", "mlp.shared_expert.up_proj": "ffn_up_shexp",
    "mlp.shared_expert.down_proj": "ffn_down_shexp",
    "mlp.shared_experts.gate_proj": "ffn_gate_shexp", "mlp.shared_experts.up_proj": "ffn_up_shexp",
    "mlp.shared_experts.down_proj": "ffn_down_shexp",
}
_GLOBAL = {"model.embed_tokens": "token_embd", "model.norm": "output_norm", "lm_head": "output",
           "model.language_model.embed_tokens": "token_embd", "model.language_model.norm": "output_norm"}
_EXPERT_PART = {"gate_proj": "ffn_gate_exps", "w1": "ffn_gate_exps", "up_proj": "ffn_up_exps", "w3": "ffn_up_exps",
                "down_proj": "ffn_down_exps", "w2": "ffn_down_exps"}
_LAYER = re.compile(r"^(?:model\.(?:language_model\.)?)?layers\.(\d+)\.(.+)\.(weight|bias)$")
_EXPERT = re.compile(r"^(?:mlp|block_sparse_moe)\.experts\.(\d+)\.(\w+)$")


def _int(config: dict, *keys, default: int = 0) -> tuple[int, str | None]:
    for k in keys:
        v = config.get(k)
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 2**40:
            return v, k
    return default, None


def _rename(name: str) -> tuple[str, int | None, tuple | None]:
    """(llama.cpp name or the checkpoint name, layer, expert key) of a checkpoint tensor;
    the expert key (layer, gguf part, expert, suffix) marks a per-expert tensor to fuse."""
    for hf, gg in _GLOBAL.items():
        if name in (hf + ".weight", hf + ".bias"):
            return f"{gg}.{name.rsplit('.', 1)[1]}", None, None
    m = _LAYER.match(name)
    if not m:
        return name, None, None
    il, mid, suffix = int(m.group(1)), m.group(2), m.group(3)
    e = _EXPERT.match(mid)
    if e and e.group(2) in _EXPERT_PART:
        return "", il, (il, _EXPERT_PART[e.group(2)], int(e.group(1)), suffix)
    if mid in _SIMPLE:
        return f"blk.{il}.{_SIMPLE[mid]}.{suffix}", il, None
    return name, il, None


def build(config: dict, model_id: str, stensors) -> Model:
    """A Model from a config of an architecture rigcheck has no module for, and the
    checkpoint tensors (rigcheck.model.sources.safetensors.STensor) of its shards."""
    from ..sources.safetensors import classify
    c = text_config(config)
    missing: list[str] = []
    tensors: list[Tensor] = []
    experts: dict[tuple, list] = defaultdict(list)
    for st in stensors:
        gg, layer, ekey = _rename(st.name)
        if ekey is not None:
            experts[(ekey[0], ekey[1], ekey[3])].append((ekey[2], st))
            continue
        if gg.startswith("blk.") or gg.split(".")[0] in ("token_embd", "output_norm", "output"):
            role, _ = role_of(gg)
        else:
            role, layer = classify(st.name)
        tensors.append(Tensor(gg, st.shape, role, layer, st.dtype, st.name))
    fused_bad = []
    for (il, part, suffix), items in sorted(experts.items()):
        items.sort(key=lambda x: x[0])
        shapes = {st.shape for _, st in items}
        if len(shapes) != 1 or [e for e, _ in items] != list(range(len(items))):
            fused_bad.append(f"layer {il} {part}")
            for e, st in items:
                role, _ = classify(st.name)
                tensors.append(Tensor(st.name, st.shape, role, il, st.dtype, st.name))
            continue
        shape = (len(items),) + items[0][1].shape
        name = f"blk.{il}.{part}.{suffix}"
        hf = items[0][1].name.replace(f".experts.{items[0][0]}.", ".experts.{e}.")
        tensors.append(Tensor(name, shape, role_of(name)[0], il, items[0][1].dtype, hf))
    unmapped = [t.hf_name for t in tensors if t.name == t.hf_name]

    n_layer, k = _int(c, "num_hidden_layers", "n_layer", "num_layers")
    seen = 1 + max((t.layer for t in tensors if t.layer is not None), default=-1)
    if not k:
        n_layer = seen
        missing.append(f"num_hidden_layers (took {seen}, the layers the checkpoint holds)")
    n_embd, k = _int(c, "hidden_size", "d_model", "n_embd")
    embed = next((t for t in tensors if t.role == Role.EMBED and len(t.shape) == 2), None)
    if not k:
        n_embd = embed.shape[1] if embed else 0
        missing.append("hidden_size" + (" (from the embedding table)" if embed else ""))
    n_head, k = _int(c, "num_attention_heads", "n_head")
    if not k:
        missing.append("num_attention_heads (no KV cache size without it)")
    n_head_kv, k = _int(c, "num_key_value_heads", "num_kv_heads", "n_head_kv", default=n_head)
    if not k and n_head:
        missing.append("num_key_value_heads (assumed equal to the attention heads: full multi-head KV)")
    head_dim, k = _int(c, "head_dim", default=n_embd // n_head if n_head else 0)
    if not k and n_head:
        missing.append("head_dim (took hidden_size / num_attention_heads)")
    window, _ = _int(c, "sliding_window")
    types = c.get("layer_types") if isinstance(c.get("layer_types"), list) else None
    layers = []
    for il in range(n_layer):
        kind = types[il] if types and il < len(types) else "full_attention"
        if kind in ("linear_attention", "mamba", "linear"):
            layers.append(LayerAttention(AttnKind.LINEAR, n_head, 0))
            if "recurrent state size of linear layers" not in missing:
                missing.append("recurrent state size of linear layers (taken as 0)")
        elif kind == "sliding_attention" and window:
            layers.append(LayerAttention(AttnKind.SWA, n_head, n_head_kv, head_dim, head_dim, window=window))
        else:
            layers.append(LayerAttention(AttnKind.FULL, n_head, n_head_kv, head_dim, head_dim))
    if window and not types:
        missing.append("which layers use the sliding window (all taken as full attention)")
    if any(k in c for k in ("kv_lora_rank", "q_lora_rank")):
        missing.append("latent attention (kv_lora_rank): KV taken as full heads, an overestimate")

    n_expert, _ = _int(c, "num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts")
    n_used, _ = _int(c, "num_experts_per_tok", "experts_per_token", "moe_top_k", "num_experts_per_token")
    moe = None
    if n_expert > 1:
        if not n_used:
            missing.append("experts per token (num_experts_per_tok): active parameters count every expert")
        n_shared, _ = _int(c, "n_shared_experts", "num_shared_experts")
        ff, _ = _int(c, "moe_intermediate_size", "intermediate_size")
        dense, _ = _int(c, "first_k_dense_replace")
        moe = MoE(n_expert, n_used or n_expert, n_shared, ff, dense)
        if not any(t.is_expert for t in tensors):
            missing.append("the routed experts' tensors (names not in the common layout)")
    if fused_bad:
        missing.append("expert tensors not fused (uneven shapes or numbering): " + ", ".join(fused_bad[:4]))
    if unmapped:
        missing.append(f"{len(unmapped)} tensor(s) outside the common layout, kept by their checkpoint names "
                       f"(roles from the name), e.g. {unmapped[0]}")
    vocab, k = _int(c, "vocab_size")
    if not k:
        vocab = embed.shape[0] if embed else 0
    ctx, k = _int(c, "max_position_embeddings", "max_sequence_length", "seq_length")
    if not k:
        missing.append("the trained context (max_position_embeddings)")
    tied = not any(t.role == Role.OUTPUT for t in tensors)
    mt = c.get("model_type") if isinstance(c.get("model_type"), str) else "unknown"
    meta = {"not_inferred": missing, "generic": True,
            "checkpoint_bytes": sum(s.nbytes for s in stensors), "checkpoint_tensors": len(stensors)}
    return Model(id=model_id, family=mt, arch=mt, tensors=tuple(tensors), layers=tuple(layers), n_vocab=vocab,
                 n_embd=n_embd, n_ctx_train=ctx, moe=moe, tied_embeddings=tied, source="safetensors", meta=meta)
