"""KV cache: the shared words. A runtime's layout module (kv_llamacpp, kv_vllm, kv_sglang,
kv_mlx, kv_ds4) turns a Model's per-layer attention facts into a ``KVCache``: the bytes
each layer holds at a context length for N sequences, split into named parts.

What a layer caches per token (before any runtime's rounding):

- full / swa (MHA, GQA): K and V, ``n_head_kv x head_dim`` each.
- mla: one latent entry ``kv_lora_rank + rope_dim`` wide (llama.cpp and vLLM keep K only).
- dsa: the MLA entry plus an indexer key ``index_head_dim`` wide.
- csa / hca (DeepSeek V4): one shared K=V entry per ``compress_ratio`` tokens (+ an
  indexer key for csa) and a raw window of ``window`` tokens.
- linear: a fixed recurrent state per sequence, independent of context.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from ..model.model import AttnKind, LayerAttention, Model
from ..notes import Note

V4_WINDOW = 128        # DeepSeek V4 raw sliding window (research/deepseek-v4.md §1)
MAX_CTX = 1 << 27      # 134M tokens: anything above is a typo, not a context


@dataclass(frozen=True)
class KVPart:
    """One kind of cache a runtime allocates: ``n_layers`` layers, each ``cells`` rows per
    stream times ``streams``, ``row_bytes`` per row (K and V together)."""

    name: str
    n_layers: int
    cells: int
    streams: int
    row_bytes: int
    bytes: int


@dataclass(frozen=True)
class KVCache:
    """The KV cache (and recurrent state) one runtime allocates.

    ``layer_bytes[i]`` is what layer ``i`` holds (so placement can put it next to the
    layer's weights); ``extra_bytes`` is cache not tied to a layer. ``ctx`` is the
    context the runtime really sizes for (after its own rounding), ``n_seq`` the
    sequences it holds."""

    runtime: str
    cache_type: str
    ctx: int
    n_seq: int
    parts: tuple[KVPart, ...]
    layer_bytes: tuple[int, ...]
    extra_bytes: int = 0
    notes: tuple[str, ...] = ()

    @property
    def bytes(self) -> int:
        return sum(self.layer_bytes) + self.extra_bytes

    def part_bytes(self, name: str) -> int:
        return sum(p.bytes for p in self.parts if p.name == name)


DEFAULT_CTX = 32768    # every command's default context: 32K, or the model's trained maximum if smaller


def resolve_ctx(model: Model, ctx: int | None) -> int:
    """The context a command works at: the user's, checked (0 is an error, not the
    default), or the one default when none is given."""
    if ctx is not None:
        return check_ctx(model, ctx)
    return min(DEFAULT_CTX, model.n_ctx_train or DEFAULT_CTX)


def check_ctx(model: Model, ctx: int) -> int:
    """A context length the user gave, checked: a positive int and not absurd. A context
    above the model's trained length is sized as the runtimes size it (llama.cpp and
    Ollama accept it with a warning); :func:`beyond_train_note` says so."""
    try:
        ctx = int(ctx)
    except (TypeError, ValueError):
        raise InputError(f"context '{ctx}' is not a whole number of tokens") from None
    if ctx <= 0:
        raise InputError(f"context {ctx} must be a positive number of tokens")
    if ctx > MAX_CTX:
        raise InputError(f"context {ctx:,} is absurd (more than {MAX_CTX:,} tokens)")
    return ctx


def beyond_train_note(model: Model, ctx: int) -> Note | None:
    """The warning for a context above the trained length (llama.cpp logs
    ``n_ctx_seq > n_ctx_train``), with the RoPE-scaling way to stretch it."""
    n = model.n_ctx_train
    if not n or ctx <= n:
        return None
    return Note("beyond_train", ctx=ctx, n_ctx_train=n, model=model.id, rope_scale=ctx / n)


def check_count(value, what: str, lo: int = 1, hi: int = 4096) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} '{value}' is not a whole number") from None
    if v < lo or v > hi:
        raise InputError(f"{what} {v} is out of range ({lo} to {hi})")
    return v


def is_v4(model: Model) -> bool:
    """DeepSeek V4-style attention: compressed CSA/HCA layers with a shared K=V entry."""
    from ..model.families.archs import arch
    return arch(model.arch).kv_layout == "dsv4" or any(l.kind in (AttnKind.CSA, AttnKind.HCA) for l in model.layers)


def entry_width(layer: LayerAttention) -> int:
    """Width of a latent / shared K=V entry (MLA, DSA, V4): elements per token per layer."""
    if layer.head_dim_k:
        return layer.head_dim_k * max(1, layer.n_head_kv)
    return layer.kv_lora_rank + layer.rope_dim


def kv_heads_widths(layer: LayerAttention, tp: int = 1) -> tuple[int, int]:
    """(K elements, V elements) per token for a plain MHA/GQA layer, per TP rank."""
    heads = max(1, layer.n_head_kv // tp) if layer.n_head_kv else 0
    return heads * layer.head_dim_k, heads * layer.head_dim_v


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def pad(n: int, m: int) -> int:
    return cdiv(n, m) * m
