"""ds4 (antirez/ds4, the DeepSeek V4 engine): every cache in f32.

Source: antirez/ds4 ``ds4_context_memory_estimate`` (graph backends, Metal/CUDA), read
through the code index 2026-11; restated in research/deepseek-v4.md §5. For a context
of ``ctx`` tokens:

- raw window: 43 layers x raw_cap rows x 512 x 4 bytes, raw_cap = pad256(min(ctx, 128 +
  prefill_cap)); prefill_cap = min(ctx, 2048) (this reproduces ds4's 0.20 GB at 1M);
- compressed: each compressed layer ``(ctx / ratio + 2)`` rows x 512 x 4, plus indexer
  rows x 128 x 4 on ratio-4 layers (13,760 bytes per token amortised for V4-Flash);
- scratch: 2 x comp_cap x prefill_cap x 4 + (prefill_cap / 4 + 2) x 512 x 4.
ds4 runs one sequence.
"""

from __future__ import annotations

from ..errors import InputError
from ..model.model import Model
from .kv import KVCache, KVPart, entry_width, is_v4, pad

NAME = "ds4"
CACHE_TYPES = ("f32",)
PREFILL_CAP = 2048


def kv_cache(model: Model, ctx: int, *, prefill_cap: int = PREFILL_CAP, runtime: str = NAME) -> KVCache:
    if not is_v4(model):
        raise InputError(f"ds4 runs DeepSeek V4 models only; {model.id} is '{model.arch}'")
    pc = min(ctx, prefill_cap)
    raw_cap = max(pad(min(ctx, 128 + pc), 256), 128)
    ratios = [l.compress_ratio for l in model.layers if l.compress_ratio]
    min_ratio = min(ratios) if ratios else ctx
    per_layer, parts = [], {}
    for l in model.layers:
        w = entry_width(l)
        b = raw_cap * w * 4
        parts[("raw", raw_cap, w * 4)] = parts.get(("raw", raw_cap, w * 4), 0) + 1
        if l.compress_ratio:
            rows = ctx // l.compress_ratio + 2
            row = w * 4 + (l.index_head_dim * 4 if l.compress_ratio == 4 else 0)
            name = "csa" if l.compress_ratio == 4 else "hca"
            parts[(name, rows, row)] = parts.get((name, rows, row), 0) + 1
            b += rows * row
        per_layer.append(b)
    comp_cap = ctx // min_ratio + 2
    w0 = entry_width(model.layers[0])
    scratch = 2 * comp_cap * pc * 4 + (pc // min_ratio + 2) * w0 * 4
    kv_parts = tuple(KVPart(n, c, cells, 1, row, c * cells * row) for (n, cells, row), c in parts.items())
    kv_parts += (KVPart("scratch", 0, 0, 1, 0, scratch),)
    return KVCache(runtime, "f32", ctx, 1, kv_parts, tuple(per_layer), scratch,
                   (f"ds4 keeps every cache in f32; prefill scratch {scratch:,} bytes",))
