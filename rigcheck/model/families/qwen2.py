"""Qwen2 / Qwen2.5 dense (HF model_type 'qwen2'; llama.cpp arch 'qwen2').

Llama's inventory (see llama.py) with a bias on attn_q, attn_k and attn_v (always present
in Qwen2 checkpoints, whatever attention_bias says) and none on attn_output. The config's
``sliding_window`` only applies when ``use_sliding_window`` is true (it never is in the
released models)."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Model
from .llama import Config as _LlamaConfig
from .llama import build_dense


@dataclass
class Config(_LlamaConfig):
    use_sliding_window: bool = False


def build(config: dict, model_id: str) -> Model:
    return build_dense(config, model_id, family="qwen2", arch="qwen2", qkv_bias=True,
                       rope_freqs=False, cfg_cls=Config)
