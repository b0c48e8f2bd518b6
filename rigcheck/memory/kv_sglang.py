"""SGLang's KV pool layout.

Source: sgl-project/sglang ``python/sglang/srt/model_executor/model_runner.py``
(``profile_max_num_token``: ``cell_size``) and ``mem_cache/memory_pool.py``; restated in
research/runtime-memory.md §6.3. The pool is token-granular (page size 1 by default):
``cell_size = n_kv_heads_per_rank x (head_dim + v_head_dim) x n_layers x elem`` and for MLA
``(kv_lora_rank + qk_rope_head_dim) x n_layers x elem``; ``--kv-cache-dtype auto`` is the
model dtype (2 bytes), fp8_e4m3/fp8_e5m2 1 byte. DeepSeek V4 uses vLLM's entry layout here.
"""

from __future__ import annotations

from ..model.model import AttnKind, Model
from . import kv_vllm
from .cachetypes import check_cache_type
from .kv import KVCache, KVPart, check_count, entry_width, is_v4, kv_heads_widths

NAME = "sglang"
CACHE_TYPES = ("auto", "bf16", "fp8_e4m3", "fp8_e5m2")
_BYTES = {"auto": 2, "bf16": 2, "fp8_e4m3": 1, "fp8_e5m2": 1}


def kv_cache(model: Model, ctx: int, *, cache_type: str = "auto", n_seq: int = 1, tp: int = 1,
             page_size: int = 1, runtime: str = NAME) -> KVCache:
    ct = check_cache_type(runtime, cache_type, CACHE_TYPES)
    if is_v4(model):
        kc = kv_vllm.kv_cache(model, ctx, cache_type="fp8" if _BYTES[ct] == 1 else "auto", n_seq=n_seq, tp=tp,
                              runtime=runtime)
        return KVCache(runtime, ct, kc.ctx, kc.n_seq, kc.parts, kc.layer_bytes, 0,
                       ("V4 cache counted in vLLM's entry layout",))
    n_seq = check_count(n_seq, "number of parallel sequences", 1, 1 << 16)
    eb = _BYTES[ct]
    cells = -(-ctx // page_size) * page_size
    parts: dict = {}
    per_layer = []
    for l in model.layers:
        if l.kind in (AttnKind.FULL, AttnKind.SWA):
            k, v = kv_heads_widths(l, tp)
            row, name = (k + v) * eb, str(l.kind)
        elif l.kind in (AttnKind.MLA, AttnKind.DSA):
            row, name = entry_width(l) * eb, "mla"
            if l.kind == AttnKind.DSA and l.index_head_dim:
                row += l.index_head_dim + 4
        elif l.kind == AttnKind.LINEAR:
            key = ("recurrent", 1, n_seq, (l.state_r + l.state_s) * 4)
            parts[key] = parts.get(key, 0) + 1
            per_layer.append(n_seq * key[3])
            continue
        else:
            per_layer.append(0)
            continue
        key = (name, cells, n_seq, row)
        parts[key] = parts.get(key, 0) + 1
        per_layer.append(cells * n_seq * row)
    return KVCache(runtime, ct, ctx, n_seq, tuple(KVPart(n, c, ce, s, r, c * ce * s * r)
                                                   for (n, ce, s, r), c in parts.items()), tuple(per_layer))
