"""Qwen3 dense (HF model_type 'qwen3'; llama.cpp arch 'qwen3').

Llama's inventory (see llama.py) plus per-head RMS norms on q and k:
``blk.N.attn_q_norm.weight`` and ``blk.N.attn_k_norm.weight``, each (head_dim,).
No biases. head_dim is explicit in the config (128) and not hidden/heads."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Model
from .llama import Config as _LlamaConfig
from .llama import build_dense


@dataclass
class Config(_LlamaConfig):
    use_sliding_window: bool = False


def build(config: dict, model_id: str) -> Model:
    return build_dense(config, model_id, family="qwen3", arch="qwen3", qk_norm=True,
                       rope_freqs=False, cfg_cls=Config)
