"""Gemma 3 multimodal (HF model_type 'gemma3', Gemma3ForConditionalGeneration). The
language model sits under 'text_config' and is gemma3_text's inventory (see
gemma3_text.py). The vision tower and projector are not counted: llama.cpp writes them
to a separate mmproj file."""

from __future__ import annotations

from ..model import Model
from . import gemma3_text
from .gemma3_text import Config  # noqa: F401  (the keys this family reads)


def build(config: dict, model_id: str) -> Model:
    return gemma3_text.build(config, model_id, family="gemma3")
