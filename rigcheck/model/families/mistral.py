"""Mistral dense (HF model_type 'mistral'). llama.cpp converts MistralForCausalLM with its
Llama converter (arch 'llama'), so the inventory is Llama's; see llama.py. A non-null
``sliding_window`` makes every layer a sliding-window layer (Mistral 7B v0.1)."""

from __future__ import annotations

from ..model import Model
from .llama import Config, build_dense  # noqa: F401  (Config: the keys this family reads)


def build(config: dict, model_id: str) -> Model:
    return build_dense(config, model_id, family="mistral", arch="llama")
