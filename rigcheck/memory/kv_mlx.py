"""MLX (mlx-lm) KV cache layout.

Source: ml-explore/mlx-lm ``mlx_lm/models/cache.py`` (``KVCache.step = 256``,
``RotatingKVCache``, ``QuantizedKVCache``); restated in research/runtime-memory.md §5.3.
Caches grow in 256-token steps, in the model's activation dtype (bf16, 2 bytes) unless
``--kv-bits`` (4 or 8, group 64) quantizes them: each row then takes ``d x bits / 8``
bytes plus a bf16 scale and bias per 64 elements. Sliding-window layers use a rotating
cache that stops growing at the window. MLA layers are counted as their latent entry
(K only), as in the DeepSeek ports that cache the compressed KV.
"""

from __future__ import annotations

from ..model.model import AttnKind, Model
from .kv import KVCache, KVPart, check_count, entry_width, is_v4, kv_heads_widths, pad
from ..errors import InputError

NAME = "mlx"
STEP = 256
CACHE_TYPES = ("bf16", "fp16", "8bit", "4bit")


def row_bytes(n: int, kv_bits: int | None, group: int = 64) -> int:
    if not kv_bits:
        return 2 * n
    return n * kv_bits // 8 + -(-n // group) * 4


def kv_cache(model: Model, ctx: int, *, kv_bits: int | None = None, n_seq: int = 1, runtime: str = NAME) -> KVCache:
    if kv_bits not in (None, 0, 2, 3, 4, 5, 6, 8):
        raise InputError(f"mlx --kv-bits {kv_bits} is not supported; valid: 2, 3, 4, 5, 6, 8")
    n_seq = check_count(n_seq, "number of parallel sequences", 1, 4096)
    cells = pad(ctx, STEP)
    parts: dict = {}
    per_layer = []
    v4 = is_v4(model)
    for l in model.layers:
        if v4:
            w = entry_width(l)
            c = min(cells, pad(l.window or 128, STEP))
            rows = c + (ctx // l.compress_ratio if l.compress_ratio else 0)
            row = row_bytes(w, kv_bits)
            b = rows * row * n_seq
            if l.compress_ratio == 4 and l.index_head_dim:
                b += ctx // 4 * row_bytes(l.index_head_dim, kv_bits) * n_seq
            key = (str(l.kind), rows, n_seq, row)
        elif l.kind in (AttnKind.FULL, AttnKind.SWA):
            k, v = kv_heads_widths(l)
            c = min(cells, l.window) if (l.kind == AttnKind.SWA and l.window) else cells
            row = row_bytes(k, kv_bits) + row_bytes(v, kv_bits)
            key, b = (str(l.kind), c, n_seq, row), c * row * n_seq
        elif l.kind in (AttnKind.MLA, AttnKind.DSA):
            row = row_bytes(entry_width(l), kv_bits)
            key, b = ("mla", cells, n_seq, row), cells * row * n_seq
        elif l.kind == AttnKind.LINEAR:
            row = (l.state_r + l.state_s) * 4
            key, b = ("recurrent", 1, n_seq, row), row * n_seq
        else:
            per_layer.append(0)
            continue
        parts[key] = parts.get(key, 0) + 1
        per_layer.append(b)
    ct = f"{kv_bits}bit" if kv_bits else "bf16"
    return KVCache(runtime, ct, cells, n_seq, tuple(KVPart(n, c, ce, s, r, c * ce * s * r)
                                                    for (n, ce, s, r), c in parts.items()),
                   tuple(per_layer), 0, ("MLX sizes V4 caches like vLLM's, in its own dtype",) if v4 else ())
