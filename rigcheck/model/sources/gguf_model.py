"""A Model from a GGUF header: exact tensors and types, attention layout from metadata.

Every metadata value is checked before any arithmetic: its type, its range
(rigcheck.limits.GGUF_KEY_LIMITS), and against the others and the tensors present
(``_cross_check``): head counts that divide, KV heads no more than heads, a window
within the context, experts used no more than experts, every tensor's layer within
block_count, the embedding and K projection widths the metadata implies."""

from __future__ import annotations

import os
import re

from ... import limits
from ...errors import FormatError
from ..model import AttnKind, LayerAttention, Model, MoE
from ..names import role_of
from ..tensor import Tensor
from .gguf import ArrayInfo, GGUFHeader, read_header

from ..families.archs import arch as arch_row


_ARCH_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_LAYERS = limits.LAYERS     # no model has more blocks; a header that says so is damaged
MAX_SIZE = limits.COUNT        # any other count


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


def _key(hdr: GGUFHeader, key: str, hi: int | None = None) -> int:
    hi = limits.GGUF_KEY_LIMITS.get(key, MAX_SIZE) if hi is None else hi
    return _whole(hdr.path, f"{hdr.arch}.{key}", hdr.arch_key(key), hi)


def _per_layer(value, n: int, default: int = 0, where: tuple[str, str] = ("", "")) -> list[int]:
    if value is None:
        return [default] * n
    path, key = where
    hi = limits.GGUF_KEY_LIMITS.get(key.split(".", 1)[-1], MAX_SIZE)
    if isinstance(value, list):
        vals = [_whole(path, key, v, hi) for v in value[:n]]
        return vals + [vals[-1] if vals else default] * max(0, n - len(vals))
    return [_whole(path, key, value, hi)] * n


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
    _check_heads(hdr, heads, heads_kv, n_embd, k_len, v_len, window, kv_lora)
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


def _damaged(hdr: GGUFHeader, what: str) -> FormatError:
    return FormatError(f"{hdr.path}: damaged GGUF: {what}")


def _check_heads(hdr, heads, heads_kv, n_embd, k_len, v_len, window, kv_lora) -> None:
    """Head counts, widths and the window against each other, as llama.cpp needs them."""
    a = hdr.arch
    for il, (h, kv) in enumerate(zip(heads, heads_kv)):
        if kv and not h:
            raise _damaged(hdr, f"'{a}.attention.head_count' is 0 at layer {il} while "
                                f"'{a}.attention.head_count_kv' is {kv}")
        if kv and not kv_lora and (kv > h or h % kv):
            raise _damaged(hdr, f"'{a}.attention.head_count' {h} is not a multiple of "
                                f"'{a}.attention.head_count_kv' {kv} (layer {il}): every KV head serves a "
                                "whole group of query heads")
    n_head0 = heads[0] if heads else 0
    if n_head0 and not kv_lora:
        if not hdr.arch_key("attention.key_length") and n_embd % n_head0:
            raise _damaged(hdr, f"'{a}.embedding_length' {n_embd} is not a multiple of "
                                f"'{a}.attention.head_count' {n_head0}, and no key_length is given")
        if not k_len or not v_len:
            raise _damaged(hdr, f"'{a}.attention.head_count' is {n_head0} but the head width is 0: "
                                f"'{a}.embedding_length' or '{a}.attention.key_length' is missing")
    ctx = _key(hdr, "context_length")
    if window and ctx and window > ctx:
        raise _damaged(hdr, f"'{a}.attention.sliding_window' {window:,} is larger than "
                            f"'{a}.context_length' {ctx:,}")


def _check_tensors(hdr: GGUFHeader, tensors: list[Tensor], n_layer_all: int, layers: list[LayerAttention],
                   n_embd: int, n_vocab: int, moe: MoE | None) -> None:
    """The tensors present against the metadata: layers within block_count, the
    embedding table's width and rows, each K/V projection's rows."""
    a = hdr.arch
    by_name = {}
    for t in tensors:
        if t.layer is not None and t.layer >= n_layer_all:
            raise _damaged(hdr, f"tensor {t.name} is in layer {t.layer}, but '{a}.block_count' is {n_layer_all}")
        by_name[t.name] = t
    emb = by_name.get("token_embd.weight")
    if emb is not None and len(emb.shape) == 2:
        if n_embd and emb.shape[1] != n_embd:
            raise _damaged(hdr, f"token_embd.weight is {emb.shape[1]} wide, but '{a}.embedding_length' is {n_embd}")
        if isinstance(hdr.get("tokenizer.ggml.tokens"), (list, ArrayInfo)) and emb.shape[0] != n_vocab:
            raise _damaged(hdr, f"token_embd.weight has {emb.shape[0]:,} rows, but the tokenizer has "
                                f"{n_vocab:,} tokens")
    if moe is None:
        exp = next((t for t in tensors if t.is_expert), None)
        if exp is not None:
            raise _damaged(hdr, f"tensor {exp.name} holds routed experts, but '{a}.expert_count' does not say "
                                "how many (an MoE file needs it)")
    else:
        if not 0 < moe.n_expert_used <= moe.n_expert:
            raise _damaged(hdr, f"'{a}.expert_used_count' {moe.n_expert_used} must be 1 to "
                                f"'{a}.expert_count' {moe.n_expert}")
        if moe.n_dense_layers > n_layer_all:
            raise _damaged(hdr, f"'{a}.leading_dense_block_count' {moe.n_dense_layers} is more than "
                                f"'{a}.block_count' {n_layer_all}")
    if hdr.arch_key("attention.key_length_swa") is not None:
        return                       # per-layer head widths: rigcheck does not model them here
    for il, lay in enumerate(layers):
        if lay.kind not in (AttnKind.FULL, AttnKind.SWA):
            continue
        for proj, width, key in (("attn_k", lay.head_dim_k, "key_length"), ("attn_v", lay.head_dim_v, "value_length")):
            t = by_name.get(f"blk.{il}.{proj}.weight")
            if t is not None and len(t.shape) == 2 and t.shape[0] != lay.n_head_kv * width:
                raise _damaged(hdr, f"blk.{il}.{proj}.weight has {t.shape[0]} rows, but "
                                    f"'{a}.attention.head_count_kv' {lay.n_head_kv} x {key} {width} = "
                                    f"{lay.n_head_kv * width}")


def model_from_header(hdr: GGUFHeader, model_id: str | None = None) -> Model:
    arch = hdr.arch
    if not arch:
        raise FormatError(f"{hdr.path}: GGUF has no general.architecture key")
    if not isinstance(hdr.get("general.architecture"), str) or not _ARCH_NAME.fullmatch(arch):
        raise FormatError(f"{hdr.path}: GGUF key 'general.architecture' must be a llama.cpp architecture name "
                          f"(letters, digits, '_', '.', '-'), got {repr(hdr.get('general.architecture'))[:80]}")
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
    layers = layers_from_metadata(hdr, n_layer)
    n_vocab = _n_vocab(hdr, tensors)
    _check_tensors(hdr, tensors, n_layer_all, layers, _key(hdr, "embedding_length"), n_vocab, moe)
    return Model(
        id=model_id or str(hdr.get("general.name") or os.path.basename(hdr.path)),
        family=arch,
        arch=arch,
        tensors=tuple(tensors),
        layers=tuple(layers),
        n_vocab=n_vocab,
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
