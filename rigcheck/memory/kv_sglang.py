"""SGLang's KV pool layout.

Source: sgl-project/sglang ``python/sglang/srt/model_executor/model_runner.py``
(``profile_max_num_token``: ``cell_size``) and ``mem_cache/memory_pool.py``; restated in
research/runtime-memory.md §6.3. The pool is token-granular (page size 1 by default):
``cell_size = n_kv_heads_per_rank x (head_dim + v_head_dim) x n_layers x elem`` and for MLA
``(kv_lora_rank + qk_rope_head_dim) x n_layers x elem``; ``--kv-cache-dtype auto`` is the
model dtype (2 bytes), fp8_e4m3/fp8_e5m2 1 byte.

DeepSeek V4 (compressed attention) has its own pool in SGLang, sized by
``DSV4PoolConfigurator`` (sglang 0.5.15 wheel from PyPI, sglang/srt/model_executor/
pool_configurator.py; the same formula on sgl-project/sglang main at commit
003fca8027387a3d6565b2c08e497e3020ac6211): every token of a request is a "full token" that
costs ``bytes_per_full_token`` (:func:`v4_bytes_per_full_token`) across the SWA ring, the
c4 / c128 compressed pools, the c4 indexer and the c4 compression states; the c128
compression state is held per request slot for ``max_running_requests`` slots and taken off
the budget first (:func:`v4_state_bytes`). SGLang's V4 defaults (arg_groups/overrides.py
``_deepseek_v4_overrides`` and arg_groups/deepseek_v4_hook.py): page size 256,
``swa_full_tokens_ratio`` 0.1, ``max_running_requests`` 256; the entry layout is fixed
(448 FP8 NoPE + 64 BF16 RoPE + 8 scale bytes = 584 B, mem_cache/deepseek_v4_memory_pool.py)
whatever ``--kv-cache-dtype`` says; the states are float32
(SGLANG_DSV4_COMPRESS_STATE_DTYPE). The KV is the latent, so it is not split by tensor
parallel. With speculative decoding (EAGLE / MTP) the compression rings double and the
per-token bytes grow by (layers + 1) / layers for the draft worker's layer.
"""

from __future__ import annotations

from ..model.model import AttnKind, Model
from .cachetypes import check_cache_type
from .kv import KVCache, KVPart, check_count, entry_width, is_v4, kv_heads_widths

NAME = "sglang"
CACHE_TYPES = ("auto", "bf16", "fp8_e4m3", "fp8_e5m2")
_BYTES = {"auto": 2, "bf16": 2, "fp8_e4m3": 1, "fp8_e5m2": 1}


V4_PAGE_SIZE = 256                 # overrides.py: page_size for DeepseekV4ForCausalLM
V4_SWA_FULL_TOKENS_RATIO = 0.1     # overrides.py: the 0.8 default becomes 0.1 for V4
V4_MAX_RUNNING_REQUESTS = 256      # deepseek_v4_hook.py: when --max-running-requests is not given
V4_STATE_BYTES = 4                 # float32 compression states (environ.py default)
_V4_SCALE_PAD = 8                  # nope FP8 scales + pad per entry (deepseek_v4_memory_pool.py)
_V4_INDEX_BLOCK = 128              # the indexer's FP8 quant block (one float32 scale per block)


def _v4_dims(model: Model) -> tuple[int, int, int, int]:
    """(qk_nope_head_dim, qk_rope_head_dim, index_head_dim, window) of a V4 model."""
    la = next(l for l in model.layers if l.kind in (AttnKind.CSA, AttnKind.HCA, AttnKind.SWA))
    idx = next((l.index_head_dim for l in model.layers if l.kind == AttnKind.CSA and l.index_head_dim), 0)
    return la.head_dim_k - la.rope_dim, la.rope_dim, idx, la.window or 128


def v4_ring_size(ratio: int, speculative: bool = False) -> int:
    """Rows of a compression state ring per SWA page (deepseek_v4_memory_pool.py
    ``get_compress_state_ring_size``, offline c128)."""
    if ratio == 4:
        return 16 if speculative else 8
    return 256 if speculative else 128


def v4_layer_bytes_per_full_token(model: Model, *, swa_ratio: float = V4_SWA_FULL_TOKENS_RATIO,
                                  speculative: bool = False) -> list[float]:
    """Each layer's share of SGLang's ``bytes_per_full_token`` (pool_configurator.py
    ``DSV4PoolConfigurator._get_bytes_per_full_token``): the SWA ring (swa_ratio x entry) on
    every layer; on c4 layers a quarter entry, a quarter indexer key and the paged c4 and
    indexer states; on c128 layers 1/128 entry (its state is per request slot)."""
    nope, rope, idx, window = _v4_dims(model)
    kv = nope + rope * 2 + _V4_SCALE_PAD
    idx_bytes = idx + idx // _V4_INDEX_BLOCK * 4
    head = nope + rope
    c4_state = 2 * 2 * head * V4_STATE_BYTES
    c4_idx_state = 2 * 2 * idx * V4_STATE_BYTES
    c4_ratio = v4_ring_size(4, speculative) / window
    out = []
    for la in model.layers:
        b = swa_ratio * kv
        if la.kind == AttnKind.CSA:
            b += kv / 4 + idx_bytes / 4 + swa_ratio * c4_ratio * (c4_state + c4_idx_state)
        elif la.kind == AttnKind.HCA:
            b += kv / (la.compress_ratio or 128)
        elif la.kind != AttnKind.SWA:
            b = 0.0
        out.append(b)
    return out


def _draft_growth(per: list[float], speculative: bool) -> float:
    """The draft worker's extra layer under speculative decoding: (L + 1) / L of the pool's
    bytes per token, L the layers that hold any (1 without speculative decoding)."""
    if not speculative:
        return 1.0
    n = sum(1 for b in per if b)
    return (n + 1) / n


def v4_bytes_per_full_token(model: Model, *, swa_ratio: float = V4_SWA_FULL_TOKENS_RATIO,
                            speculative: bool = False) -> float:
    """SGLang's bytes per token of a V4 request (all layers of one GPU), with the draft
    layer's (L + 1) / L under speculative decoding."""
    per = v4_layer_bytes_per_full_token(model, swa_ratio=swa_ratio, speculative=speculative)
    return sum(per) * _draft_growth(per, speculative)


def v4_state_bytes(model: Model, *, max_running_requests: int = V4_MAX_RUNNING_REQUESTS,
                   speculative: bool = False) -> int:
    """The c128 compression state SGLang holds before sizing the pool
    (``_get_c128_state_fixed_bytes``, offline c128): (slots x ring + ring + 1) rows rounded
    up to 128, of 2 x head_dim float32, per c128 layer; slots = max_running_requests + 1."""
    if max_running_requests <= 0:
        return 0
    nope, rope, _, _ = _v4_dims(model)
    n128 = sum(1 for la in model.layers if la.kind == AttnKind.HCA)
    ring = v4_ring_size(128, speculative)
    rows = (max_running_requests + 1) * ring + ring + 1
    rows = -(-rows // 128) * 128
    return rows * 2 * (nope + rope) * V4_STATE_BYTES * n128


def _v4_cache(model: Model, ctx: int, ct: str, n_seq: int, runtime: str, speculative: bool,
              max_running_requests: int | None) -> KVCache:
    n_seq = check_count(n_seq, "number of parallel sequences", 1, 1 << 16)
    cells = -(-ctx // V4_PAGE_SIZE) * V4_PAGE_SIZE
    per = v4_layer_bytes_per_full_token(model, speculative=speculative)
    grow = _draft_growth(per, speculative)
    layer_bytes = tuple(int(b * grow * cells * n_seq) for b in per)
    slots = V4_MAX_RUNNING_REQUESTS if max_running_requests is None else max_running_requests
    state = v4_state_bytes(model, max_running_requests=slots, speculative=speculative)
    row = round(sum(per) * grow)
    parts = (KVPart("dsv4 pool (full tokens)", sum(1 for b in per if b), cells, n_seq, row, sum(layer_bytes)),)
    if state:
        parts += (KVPart("c128 state (per request slot)", sum(1 for la in model.layers if la.kind == AttnKind.HCA),
                         slots + 1, 1, 0, state),)
    return KVCache(runtime, ct, cells, n_seq, parts, layer_bytes, state,
                   (f"SGLang's DeepSeek V4 pool: {sum(per) * grow:.0f} bytes per token (swa_full_tokens_ratio "
                    f"{V4_SWA_FULL_TOKENS_RATIO}, page {V4_PAGE_SIZE}"
                    + (", speculative" if speculative else "") + f") + the c128 state of {slots} request slots",))


def kv_cache(model: Model, ctx: int, *, cache_type: str = "auto", n_seq: int = 1, tp: int = 1,
             page_size: int = 1, runtime: str = NAME, speculative: bool = False,
             max_running_requests: int | None = None) -> KVCache:
    """SGLang's KV pool for ``n_seq`` requests of ``ctx`` tokens on one GPU. For DeepSeek V4:
    SGLang's own V4 pool (see the module doc), the c128 state of ``max_running_requests``
    slots (default 256; 0 leaves it out) as ``extra_bytes``."""
    ct = check_cache_type(runtime, cache_type, CACHE_TYPES)
    if is_v4(model):
        return _v4_cache(model, ctx, ct, n_seq, runtime, speculative, max_running_requests)
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
