"""llama.cpp's KV cache layout (also Ollama, LM Studio's llama.cpp engine, ik_llama.cpp).

Read from llama.cpp as vendored in llama-cpp-python 0.3.36 (src/llama-context.cpp
constructor, src/llama-kv-cache.cpp ``llama_kv_cache::llama_kv_cache``,
src/llama-kv-cache-iswa.cpp, src/llama-kv-cache-dsa.cpp, src/llama-kv-cache-dsv4.cpp,
src/llama-memory-recurrent.cpp); rules restated in research/runtime-memory.md §3.

- n_ctx is padded to 256. Unified KV: one stream of n_ctx cells. Not unified:
  n_seq_max streams of pad256(n_ctx / n_seq_max) cells.
- A layer's K row is ``row_size(type_k, n_head_kv*head_dim_k)``, V likewise; with flash
  attention off V is stored transposed and padded to the widest V in the model.
- Sliding-window layers get their own cache of
  ``pad256(min(n_ctx_seq, n_swa*(unified ? n_seq_max : 1) + n_ubatch))`` cells
  (``--swa-full``: n_ctx_seq).
- MLA keeps K only (kv_lora_rank + rope_dim = 576 for DeepSeek V3); DSA adds an
  indexer key cache of the same cells in type_k.
- DeepSeek V4 (``llama_kv_cache_dsv4``): always one stream per sequence; a K-only raw
  window cache (the SWA rule above), CSA and lightning-indexer caches of
  pad256(ceil(n_ctx_seq/4)) cells, an HCA cache of pad256(ceil(n_ctx_seq/128)) cells,
  and f32 compressor states.
- Linear / recurrent layers: two f32 states (conv + recurrent) per sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.model import AttnKind, Model
from .cachetypes import GGML_CACHE_TYPES, check_cache_type, ggml_row_bytes
from .kv import KVCache, KVPart, check_count, entry_width, is_v4, kv_heads_widths, pad
from ..notes import Note

NAME = "llama.cpp"


@dataclass(frozen=True)
class CParams:
    """The context parameters llama.cpp ends up with (llama_context constructor)."""

    n_ctx: int
    n_ctx_seq: int
    n_seq_max: int
    n_stream: int
    n_batch: int
    n_ubatch: int
    kv_unified: bool


def cparams(model: Model, n_ctx: int, *, n_seq_max: int = 1, kv_unified: bool = False,
            n_batch: int = 2048, n_ubatch: int = 512) -> CParams:
    """n_ctx 0 means the model's trained context; then llama.cpp's padding and batch caps."""
    n_seq_max = check_count(n_seq_max, "number of parallel sequences", 1, 256)
    n_ctx = int(n_ctx) or model.n_ctx_train
    n_batch = min(n_ctx, check_count(n_batch, "batch size", 1, 1 << 20))
    n_ubatch = min(n_batch, check_count(n_ubatch, "ubatch size", 1, 1 << 20))
    n_ctx = pad(n_ctx, 256)
    if kv_unified:
        n_ctx_seq = n_ctx
    else:
        n_ctx_seq = pad(n_ctx // n_seq_max, 256)
        n_ctx = n_ctx_seq * n_seq_max
    return CParams(n_ctx, n_ctx_seq, n_seq_max, 1 if kv_unified else n_seq_max, n_batch, n_ubatch, kv_unified)


def swa_cells(cp: CParams, window: int, swa_full: bool) -> int:
    if swa_full:
        return cp.n_ctx_seq
    return pad(min(cp.n_ctx_seq, window * (cp.n_seq_max if cp.kv_unified else 1) + cp.n_ubatch), 256)


def kv_cache(model: Model, n_ctx: int, *, cache_type_k: str = "f16", cache_type_v: str | None = None,
             n_seq_max: int = 1, kv_unified: bool = False, n_batch: int = 2048, n_ubatch: int = 512,
             swa_full: bool = False, flash_attn: bool = True, n_rs_seq: int = 0,
             v4_f16_pin: bool = False, runtime: str = NAME) -> KVCache:
    """The KV cache llama.cpp allocates for ``model`` (all layers, wherever they live).

    Defaults are llama.cpp's library defaults except ``swa_full`` (llama-server's);
    ``v4_f16_pin`` models the V4 fork that forces an f16 cache."""
    tk = check_cache_type(runtime, cache_type_k, GGML_CACHE_TYPES)
    tv = check_cache_type(runtime, cache_type_v or cache_type_k, GGML_CACHE_TYPES)
    notes = []
    if v4_f16_pin and is_v4(model):
        tk = tv = "f16"
        notes.append(Note("kv_pinned_f16"))
    cp = cparams(model, n_ctx, n_seq_max=n_seq_max, kv_unified=kv_unified, n_batch=n_batch, n_ubatch=n_ubatch)
    if is_v4(model):
        return _dsv4(model, cp, tk, swa_full, n_rs_seq, runtime, tuple(notes))
    if tv != "f16" and tv != "f32" and tv != "bf16" and not flash_attn:
        notes.append(Note("quant_v_needs_fa"))
    layers = model.layers
    v_trans = not flash_attn
    v_max = max((kv_heads_widths(l)[1] for l in layers if l.kind in (AttnKind.FULL, AttnKind.SWA)), default=0)
    parts: dict[tuple[str, int, int, int], int] = {}
    per_layer = []
    for l in layers:
        b = 0
        if l.kind in (AttnKind.FULL, AttnKind.SWA):
            k, v = kv_heads_widths(l)
            if v_trans:
                v = v_max
            row = ggml_row_bytes(tk, k) + ggml_row_bytes(tv, v)
            cells = swa_cells(cp, l.window, swa_full) if l.kind == AttnKind.SWA else cp.n_ctx_seq
            b = _add(parts, l.kind, cells, cp.n_stream, row)
            if l.index_head_dim:     # MiniMax-M3's MSA indexer: a second cache, one K head of the indexer
                # width and one V head (src/llama-kv-cache-msa.cpp; tests/test_families_minimax_m3.py)
                b += _add(parts, "indexer", cells, cp.n_stream,
                          ggml_row_bytes(tk, l.index_head_dim) + ggml_row_bytes(tv, l.head_dim_v))
        elif l.kind in (AttnKind.MLA, AttnKind.DSA):
            row = ggml_row_bytes(tk, entry_width(l))
            b = _add(parts, "mla", cp.n_ctx_seq, cp.n_stream, row)
            if l.kind == AttnKind.DSA and l.index_head_dim:
                b += _add(parts, "indexer", cp.n_ctx_seq, cp.n_stream, ggml_row_bytes(tk, l.index_head_dim))
        elif l.kind == AttnKind.LINEAR:
            planes = max(1, cp.n_seq_max) * (1 + n_rs_seq)
            b = _add(parts, "recurrent", planes, 1, (l.state_r + l.state_s) * 4)
            if not (l.state_r or l.state_s):
                notes.append(Note("recurrent_state_unknown"))
        per_layer.append(b)
    return KVCache(runtime, tk if tk == tv else f"{tk}/{tv}", cp.n_ctx, cp.n_seq_max, _parts(parts),
                   tuple(per_layer), 0, tuple(dict.fromkeys(notes)))


def _add(parts, name, cells, streams, row) -> int:
    key = (name, cells, streams, row)
    parts[key] = parts.get(key, 0) + 1
    return cells * streams * row


def _parts(parts) -> tuple[KVPart, ...]:
    return tuple(KVPart(name, n, cells, streams, row, n * cells * streams * row)
                 for (name, cells, streams, row), n in parts.items())


def _dsv4(model: Model, cp: CParams, tk: str, swa_full: bool, n_rs_seq: int, runtime: str, notes) -> KVCache:
    """llama_kv_cache_dsv4: per-sequence streams even when KV is unified."""
    streams = cp.n_seq_max
    kv_size = cp.n_ctx_seq
    planes = streams * (1 + n_rs_seq)
    parts: dict = {}
    per_layer = []
    for l in model.layers:
        w = entry_width(l)
        window = l.window or 128
        raw = kv_size if swa_full else pad(min(kv_size, window + cp.n_ubatch), 256)
        b = _add(parts, "raw", raw, streams, ggml_row_bytes(tk, w))
        r = l.compress_ratio
        if r:
            cells = pad(max(1, -(-kv_size // r)), 256)
            b += _add(parts, "csa" if l.kind == AttnKind.CSA or r == 4 else "hca", cells, streams, ggml_row_bytes(tk, w))
            overlap = 2 if l.kind == AttnKind.CSA or r == 4 else 1
            # compressor state: kv + score tensors, f32, (overlap*w) x (overlap*r) per plane
            b += _add(parts, "compressor", planes, 1, 2 * overlap * w * overlap * r * 4)
            if l.index_head_dim and (l.kind == AttnKind.CSA or r == 4):
                b += _add(parts, "indexer", cells, streams, ggml_row_bytes(tk, l.index_head_dim))
                b += _add(parts, "compressor", planes, 1, 2 * 2 * l.index_head_dim * 2 * r * 4)
        per_layer.append(b)
    return KVCache(runtime, tk, cp.n_ctx, cp.n_seq_max, _parts(parts), tuple(per_layer), 0, notes)
