"""A Model from a GGUF header: exact tensors and types, attention layout from metadata."""

from __future__ import annotations

import os

from ...errors import FormatError
from ..model import AttnKind, LayerAttention, Model, MoE
from ..names import role_of
from ..tensor import Tensor
from .gguf import ArrayInfo, GGUFHeader, read_header

from ..families.archs import arch as arch_row


def _per_layer(value, n: int, default: int = 0) -> list[int]:
    if value is None:
        return [default] * n
    if isinstance(value, list):
        return [int(v) for v in value[:n]] + [int(value[-1]) if value else default] * max(0, n - len(value))
    return [int(value)] * n


def _n_vocab(hdr: GGUFHeader, tensors: list[Tensor]) -> int:
    toks = hdr.get("tokenizer.ggml.tokens")
    if isinstance(toks, ArrayInfo):
        return toks.count
    if isinstance(toks, list):
        return len(toks)
    v = hdr.arch_key("vocab_size")
    if v:
        return int(v)
    for t in tensors:
        if t.name in ("token_embd.weight", "output.weight"):
            return t.shape[0]
    return 0


def layers_from_metadata(hdr: GGUFHeader, n_layer: int) -> list[LayerAttention]:
    """Per-layer attention from a GGUF's metadata, as llama.cpp's load_hparams reads it."""
    arch = hdr.arch
    n_embd = int(hdr.arch_key("embedding_length", 0))
    heads = _per_layer(hdr.arch_key("attention.head_count"), n_layer)
    heads_kv = _per_layer(hdr.arch_key("attention.head_count_kv"), n_layer)
    heads_kv = [kv if kv else h for kv, h in zip(heads_kv, heads)]
    n_head0 = heads[0] if heads else 0
    k_len = int(hdr.arch_key("attention.key_length", 0) or (n_embd // n_head0 if n_head0 else 0))
    v_len = int(hdr.arch_key("attention.value_length", 0) or (n_embd // n_head0 if n_head0 else 0))
    window = int(hdr.arch_key("attention.sliding_window", 0) or 0)
    kv_lora = int(hdr.arch_key("attention.kv_lora_rank", 0) or 0)
    rope_dim = int(hdr.arch_key("rope.dimension_count", 0) or 0)
    pattern = hdr.arch_key("attention.sliding_window_pattern")
    out = []
    for il in range(n_layer):
        if kv_lora:
            kind = AttnKind.DSA if hdr.arch_key("attention.indexer.head_count") else AttnKind.MLA
            out.append(LayerAttention(kind, heads[il], 1, kv_lora + rope_dim, kv_lora,
                                      kv_lora_rank=kv_lora, rope_dim=rope_dim,
                                      index_head_dim=int(hdr.arch_key("attention.indexer.key_length", 0) or 0)))
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
    n_layer_all = int(hdr.arch_key("block_count", 0) or 0)
    n_mtp = int(hdr.arch_key("nextn_predict_layers", 0) or 0)
    n_layer = n_layer_all - n_mtp
    tensors = []
    for ti in hdr.tensors:
        role, layer = role_of(ti.name)
        mtp = layer is not None and layer >= n_layer
        tensors.append(Tensor(ti.name, ti.shape, role, layer, ti.type.name, mtp=mtp))
    n_expert = int(hdr.arch_key("expert_count", 0) or 0)
    moe = None
    if n_expert > 1:
        moe = MoE(n_expert, int(hdr.arch_key("expert_used_count", 0) or 0),
                  int(hdr.arch_key("expert_shared_count", 0) or 0),
                  int(hdr.arch_key("expert_feed_forward_length", 0) or 0),
                  int(hdr.arch_key("leading_dense_block_count", 0) or 0))
    names = {t.name for t in tensors}
    return Model(
        id=model_id or str(hdr.get("general.name") or os.path.basename(hdr.path)),
        family=arch,
        arch=arch,
        tensors=tuple(tensors),
        layers=tuple(layers_from_metadata(hdr, n_layer)),
        n_vocab=_n_vocab(hdr, tensors),
        n_embd=int(hdr.arch_key("embedding_length", 0) or 0),
        n_ctx_train=int(hdr.arch_key("context_length", 0) or 0),
        moe=moe,
        tied_embeddings="output.weight" not in names,
        n_mtp_layers=n_mtp,
        source="gguf",
        meta={"path": hdr.path, "file_size": hdr.file_size},
    )


def load_gguf(path: str | os.PathLike) -> Model:
    return model_from_header(read_header(path))
