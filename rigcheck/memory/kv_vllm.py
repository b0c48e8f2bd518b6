"""vLLM's KV cache layout (V1 engine).

Sources: vllm-project/vllm ``vllm/v1/kv_cache_interface.py`` (``AttentionSpec`` /
``FullAttentionSpec.real_page_size_bytes``, ``MLAAttentionSpec``),
``vllm/config/cache.py`` (block size 16, ``kv_cache_dtype`` auto|fp8...),
``vllm/model_executor/layers/deepseek_v4_attention.py`` (V4 entries); restated in
research/runtime-memory.md §6.1 and research/deepseek-v4.md §3.

- Pages of ``block_size`` (16) tokens; a sequence of L tokens uses cdiv(L, 16) pages per
  layer group. A page holds ``block_size x n_kv_heads_per_rank x (head_k + head_v) x
  dtype`` bytes; ``auto`` = the model dtype (bf16: 2 bytes), ``fp8`` = 1 byte.
- MLA: one latent entry per token; fp8 uses FlashMLA's 656-byte entry (512 fp8 NoPE + 4
  fp32 scales + 64 bf16 RoPE). DSA adds an fp8 indexer key (128 + 4-byte scale = 132).
- DeepSeek V4: entries of 584 bytes in fp8 (448 e4m3 NoPE + 64 bf16 RoPE + 7 scales +
  1 pad) and 132-byte fp8 indexer keys (68 with the fp4 indexer); bf16 1024 + 256.
  Per sequence B(L) = n_csa*floor(L/4)*(e+i) + n_hca*floor(L/128)*e + n_layers*min(L,128)*e.
- Sliding window: cdiv(min(window - 1 + max_num_batched_tokens, L), 16) + 1 pages.
- V4 per-request window state (vLLM 0.33): the raw window is a sliding-window spec of
  64-token blocks (vllm/v1/attention/backends/mla/sparse_swa.py DeepseekV4SWACache), and
  each compressed layer keeps a compressor state (vllm/models/deepseek_v4/compressor.py
  CompressorStateCache: fp32, 2 x coff x head_dim wide, window coff x ratio, coff 2 for
  ratio 4 and 1 for 128, blocks of 4 or 8 tokens; a ratio-4 layer's indexer has its own,
  index_head_dim wide). A sliding-window spec admits cdiv(min(window - 1 + in_flight, L),
  block) + 1 blocks (kv_cache_interface.py max_admission_blocks_per_request), with
  in_flight = max_num_batched_tokens x the batches in flight (2 without pipeline stages).
  Nearly fixed per request once L passes the in-flight tokens: V4-Flash at 30K holds
  5.04 GiB per GPU against vLLM's own 6.66 GiB in its refusal message (vllm#44376), where
  the entries alone are 0.12 GiB.
- Tensor parallel: KV heads per rank max(1, n_kv // tp); an MLA/V4 latent is on every rank.
"""

from __future__ import annotations

from ..model.model import AttnKind, Model
from .cachetypes import check_cache_type
from .kv import KVCache, KVPart, V4_WINDOW, cdiv, check_count, entry_width, is_v4, kv_heads_widths
from ..notes import Note

NAME = "vllm"
CACHE_TYPES = ("auto", "bf16", "fp16", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_ds_mla")
BLOCK_SIZE = 16
_BYTES = {"auto": 2, "bf16": 2, "fp16": 2, "fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1, "fp8_ds_mla": 1}


def mla_entry_bytes(kv_lora_rank: int, rope_dim: int, cache_type: str) -> int:
    """One MLA latent entry: FlashMLA fp8 layout (kv_lora fp8 + fp32 scale per 128 + bf16
    rope), else 2 bytes per element."""
    if _BYTES[cache_type] == 1:
        return kv_lora_rank + 4 * cdiv(kv_lora_rank, 128) + 2 * rope_dim
    return 2 * (kv_lora_rank + rope_dim)


def v4_entry_bytes(width: int, rope_dim: int, cache_type: str) -> int:
    """A V4 K=V entry: fp8 NoPE + bf16 RoPE + one ue8m0 scale per 64, padded to 8 bytes."""
    if _BYTES[cache_type] == 1:
        nope = width - rope_dim
        return cdiv(nope + 2 * rope_dim + nope // 64, 8) * 8
    return 2 * width


def indexer_bytes(index_head_dim: int, cache_type: str, fp4_indexer: bool = False) -> int:
    """An indexer key: fp8 (or fp4) values + one fp32 scale; bf16 without fp8."""
    if fp4_indexer:
        return index_head_dim // 2 + 4
    if _BYTES[cache_type] == 1:
        return index_head_dim + 4
    return 2 * index_head_dim


def kv_cache(model: Model, ctx: int, *, cache_type: str = "auto", n_seq: int = 1, tp: int = 1,
             block_size: int = BLOCK_SIZE, max_num_batched_tokens: int = 8192,
             fp4_indexer: bool = False, runtime: str = NAME, batches_in_flight: int = 2) -> KVCache:
    """KV bytes per GPU rank for ``n_seq`` sequences of ``ctx`` tokens each
    (``batches_in_flight``: 2, or the pipeline stages when there are more)."""
    ct = check_cache_type(runtime, cache_type, CACHE_TYPES)
    n_seq = check_count(n_seq, "number of parallel sequences", 1, 1 << 16)
    tp = check_count(tp, "tensor-parallel size", 1, 1024)
    eb = _BYTES[ct]
    pages = cdiv(ctx, block_size)
    parts: dict = {}
    per_layer = []
    v4 = is_v4(model)
    in_flight = max_num_batched_tokens * check_count(batches_in_flight, "batches in flight", 1, 1024)

    def window_cells(win: int, block: int) -> int:        # a sliding-window spec's admitted blocks
        return (cdiv(min(win - 1 + in_flight, ctx), block) + 1) * block

    for l in model.layers:
        b = 0
        if v4:
            rope = l.rope_dim or 64
            e = v4_entry_bytes(entry_width(l), rope, ct)
            window = l.window or V4_WINDOW
            b = _add(parts, "raw", window_cells(window, 64), n_seq, e)
            r = l.compress_ratio or 0
            if r:
                name = "csa" if r == 4 else "hca"
                b += _add(parts, name, ctx // r, n_seq, e)
                if l.index_head_dim and name == "csa":
                    b += _add(parts, "indexer", ctx // r, n_seq, indexer_bytes(l.index_head_dim, ct, fp4_indexer))
            if r in (4, 128):
                coff, blk = (2, 4) if r == 4 else (1, 8)
                width = l.head_dim_k * max(1, l.n_head_kv) if l.head_dim_k else entry_width(l)
                b += _add(parts, f"{name}_state", window_cells(coff * r, blk), n_seq, 2 * coff * width * 4)
                if r == 4 and l.index_head_dim:
                    b += _add(parts, "indexer_state", window_cells(coff * r, blk), n_seq, 2 * coff * l.index_head_dim * 4)
        elif l.kind in (AttnKind.FULL, AttnKind.SWA):
            k, v = kv_heads_widths(l, tp)
            row = (k + v) * eb
            if l.kind == AttnKind.SWA and l.window:
                n_pages = cdiv(min(l.window - 1 + max_num_batched_tokens, ctx), block_size) + 1
                n_pages = min(n_pages, pages)
            else:
                n_pages = pages
            b = _add(parts, l.kind, n_pages * block_size, n_seq, row)
        elif l.kind in (AttnKind.MLA, AttnKind.DSA):
            b = _add(parts, "mla", pages * block_size, n_seq, mla_entry_bytes(l.kv_lora_rank or entry_width(l) - l.rope_dim,
                                                                             l.rope_dim, ct))
            if l.kind == AttnKind.DSA and l.index_head_dim:
                b += _add(parts, "indexer", pages * block_size, n_seq, indexer_bytes(l.index_head_dim, ct))
        elif l.kind == AttnKind.LINEAR:
            b = _add(parts, "recurrent", 1, n_seq, (l.state_r + l.state_s) * 2 // tp)
        per_layer.append(b)
    notes = (Note("kv_layout_source", runtime="vLLM", source="vllm/model_executor/layers/deepseek_v4_attention.py: "
                  "584 B per 512-dim entry + 132 B per indexer key"),) if v4 else ()
    return KVCache(runtime, ct, ctx, n_seq, tuple(KVPart(n, c, cells, s, row, c * cells * s * row)
                                                   for (n, cells, s, row), c in parts.items()),
                   tuple(per_layer), 0, notes)


def _add(parts, name, cells, streams, row) -> int:
    key = (name, cells, streams, row)
    parts[key] = parts.get(key, 0) + 1
    return cells * streams * row


def amortised_bytes_per_token(model: Model, cache_type: str = "fp8", fp4_indexer: bool = False) -> float:
    """Bytes per token far from the window (the slope of B(L))."""
    big = 1 << 20
    a = kv_cache(model, big, cache_type=cache_type, fp4_indexer=fp4_indexer).bytes
    b = kv_cache(model, 2 * big, cache_type=cache_type, fp4_indexer=fp4_indexer).bytes
    return (b - a) / big
