"""A Model from a GGUF header: exact tensors and types, attention layout from metadata."""

from __future__ import annotations

import os

from ...errors import FormatError
from ..model import AttnKind, LayerAttention, Model, MoE
from ..names import role_of
from ..tensor import Tensor
from .gguf import ArrayInfo, GGUFHeader, read_header

from ..families.archs import arch as arch_row


MAX_LAYERS = 4096          # no model has more blocks; a header that says so is damaged
MAX_SIZE = 2**40           # widths, counts, vocabulary and context


def _whole(path: str, key: str, value, hi: int = MAX_SIZE) -> int:
    """A GGUF metadata value that must be a whole number in 0..hi, checked before any
    arithmetic (a string, a bool, a float or an array there is a damaged file)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise FormatError(f"{path}: GGUF key '{key}' must be a whole number, got {repr(value)[:60]}")
    if not 0 <= value <= hi:
        raise FormatError(f"{path}: GGUF key '{key}' is out of range (0 to {hi:,}), got {value}")
    return value


def _key(hdr: GGUFHeader, key: str, hi: int = MAX_SIZE) -> int:
    return _whole(hdr.path, f"{hdr.arch}.{key}", hdr.arch_key(key), hi)


def _per_layer(value, n: int, default: int = 0, where: tuple[str, str] = ("", "")) -> list[int]:
    if value is None:
        return [default] * n
    path, key = where
    if isinstance(value, list):
        vals = [_whole(path, key, v) for v in value[:n]]
        return vals + [vals[-1] if vals else default] * max(0, n - len(vals))
    return [_whole(path, key, value)] * n


def _n_vocab(hdr: GGUFHeader, tensors: list[Tensor]) -> int:
    toks = hdr.get("tokenizer.ggml.tokens")
    if isinstance(toks, ArrayInfo):
        return toks.count
    if isinstance(toks, list):
        return len(toks)
    v = _key(hdr, "vocab_size")
    if v:
        return v
    for t in tensors:
        if t.name in ("token_embd.weight", "output.weight"):
            return t.shape[0]
    return 0


def layers_from_metadata(hdr: GGUFHeader, n_layer: int) -> list[LayerAttention]:
    """Per-layer attention from a GGUF's metadata, as llama.cpp's load_hparams reads it."""
    arch = hdr.arch
    n_embd = _key(hdr, "embedding_length")
    heads = _per_layer(hdr.arch_key("attention.head_count"), n_layer,
                       where=(hdr.path, f"{hdr.arch}.attention.head_count"))
    heads_kv = _per_layer(hdr.arch_key("attention.head_count_kv"), n_layer,
                          where=(hdr.path, f"{hdr.arch}.attention.head_count_kv"))
    heads_kv = [kv if kv else h for kv, h in zip(heads_kv, heads)]
    n_head0 = heads[0] if heads else 0
    k_len = (_key(hdr, "attention.key_length") or (n_embd // n_head0 if n_head0 else 0))
    v_len = (_key(hdr, "attention.value_length") or (n_embd // n_head0 if n_head0 else 0))
    window = _key(hdr, "attention.sliding_window")
    kv_lora = _key(hdr, "attention.kv_lora_rank")
    rope_dim = _key(hdr, "rope.dimension_count")
    pattern = hdr.arch_key("attention.sliding_window_pattern")
    out = []
    for il in range(n_layer):
        if kv_lora:
            kind = AttnKind.DSA if hdr.arch_key("attention.indexer.head_count") else AttnKind.MLA
            out.append(LayerAttention(kind, heads[il], 1, kv_lora + rope_dim, kv_lora,
                                      kv_lora_rank=kv_lora, rope_dim=rope_dim,
                                      index_head_dim=_key(hdr, "attention.indexer.key_length")))
            continue
        is_swa = False
        if window:
            if isinstance(pattern, list) and il < len(pattern):
                is_swa = bool(pattern[il])
            elif isinstance(pattern, int) and pattern > 0:
                is_swa = il % pattern < pattern - 1
            elif arch_row(arch).swa_pattern:
                # llama.cpp's fixed pattern (load_hparams: set_swa_pattern(n)): layer il is
                # SWA unless il % n == n - 1
                n = arch_row(arch).swa_pattern
                is_swa = il % n < n - 1
        if heads_kv[il] == 0:
            out.append(LayerAttention(AttnKind.LINEAR, heads[il], 0))
            continue
        out.append(LayerAttention(AttnKind.SWA if is_swa else AttnKind.FULL, heads[il], heads_kv[il],
                                  k_len, v_len, window=window if is_swa else 0,
                                  sinks=False))
    return out


def model_from_header(hdr: GGUFHeader, model_id: str | None = None) -> Model:
    arch = hdr.arch
    if not arch:
        raise FormatError(f"{hdr.path}: GGUF has no general.architecture key")
    n_layer_all = _key(hdr, "block_count", MAX_LAYERS)
    n_mtp = _key(hdr, "nextn_predict_layers", n_layer_all)
    n_layer = n_layer_all - n_mtp
    tensors = []
    for ti in hdr.tensors:
        role, layer = role_of(ti.name)
        mtp = layer is not None and layer >= n_layer
        tensors.append(Tensor(ti.name, ti.shape, role, layer, ti.type.name, mtp=mtp))
    n_expert = _key(hdr, "expert_count")
    moe = None
    if n_expert > 1:
        moe = MoE(n_expert, _key(hdr, "expert_used_count"),
                  _key(hdr, "expert_shared_count"),
                  _key(hdr, "expert_feed_forward_length"),
                  _key(hdr, "leading_dense_block_count"))
    names = {t.name for t in tensors}
    return Model(
        id=model_id or str(hdr.get("general.name") or os.path.basename(hdr.path)),
        family=arch,
        arch=arch,
        tensors=tuple(tensors),
        layers=tuple(layers_from_metadata(hdr, n_layer)),
        n_vocab=_n_vocab(hdr, tensors),
        n_embd=_key(hdr, "embedding_length"),
        n_ctx_train=_key(hdr, "context_length"),
        moe=moe,
        tied_embeddings="output.weight" not in names,
        n_mtp_layers=n_mtp,
        source="gguf",
        meta={"path": hdr.path, "file_size": hdr.file_size},
    )


def load_gguf(path: str | os.PathLike) -> Model:
    return model_from_header(read_header(path))
