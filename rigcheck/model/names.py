"""llama.cpp (GGUF) tensor names -> roles. A table of patterns, first match wins."""

from __future__ import annotations

import re

from .tensor import Role

# (pattern searched in the part of the name after 'blk.N.', role)
_PATTERNS: list[tuple[re.Pattern, Role]] = [(re.compile(p), r) for p, r in [
    (r"^token_embd\.", Role.EMBED),
    (r"^(per_layer_)?token_embd", Role.EMBED),
    (r"^output\.weight$", Role.OUTPUT),
    (r"norm", Role.NORM),
    (r"^nextn\.(eh_proj|enorm|hnorm|shared_head_norm|embed_tokens|shared_head_head)", Role.MTP),
    (r"^(e_proj|h_proj)\.", Role.MTP),
    (r"^indexer", Role.INDEXER),
    (r"compressor", Role.COMPRESSOR),
    (r"^ffn_gate_inp|^exp_probs_b|^ffn_gate_tid2eid|^ffn_exp_probs_b", Role.ROUTER),
    (r"^ffn_(gate_up|up)_exps", Role.EXPERT_UP),
    (r"^ffn_gate_exps", Role.EXPERT_GATE),
    (r"^ffn_down_exps", Role.EXPERT_DOWN),
    (r"^ffn_gate_shexp", Role.SHARED_GATE),
    (r"^ffn_up_shexp", Role.SHARED_UP),
    (r"^ffn_down_shexp", Role.SHARED_DOWN),
    (r"^ffn_gate\.", Role.FFN_GATE),
    (r"^ffn_up\.", Role.FFN_UP),
    (r"^ffn_down\.", Role.FFN_DOWN),
    (r"^attn_(q|q_a|q_b|qkv)\.|^ssm_in\.|^attn_gate\.", Role.ATTN_Q),
    (r"^attn_k\.", Role.ATTN_K),
    (r"^attn_v\.", Role.ATTN_V),
    (r"^attn_(kv|kv_a_mqa|kv_b|k_b|v_b)\.", Role.ATTN_KV),
    (r"^attn_output|^ssm_out\.", Role.ATTN_OUTPUT),
]]

_BLK = re.compile(r"^blk\.(\d+)\.(.*)$")


def split_layer(name: str) -> tuple[int | None, str]:
    """'blk.12.attn_q.weight' -> (12, 'attn_q.weight'); 'output.weight' -> (None, ...)."""
    m = _BLK.match(name)
    if m:
        return int(m.group(1)), m.group(2)
    return None, name


def role_of(name: str) -> tuple[Role, int | None]:
    """The role and layer of a GGUF tensor name."""
    layer, rest = split_layer(name)
    for pat, role in _PATTERNS:
        if pat.search(rest):
            return role, layer
    return Role.OTHER, layer
