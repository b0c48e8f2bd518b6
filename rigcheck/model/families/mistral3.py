"""Mistral 3 (HF model_type 'mistral3', the vision-language wrapper of Mistral Small 3.1+,
Ministral 3 and Devstral Small 2; its text model is 'ministral3' or 'mistral'). llama.cpp
arch 'mistral3'.

llama.cpp's converter (conversion/mistral3.py in the llama.cpp that llama-cpp-python
0.3.36 vendors) writes the text model of ``Mistral3ForConditionalGeneration`` and of
``Ministral3ForCausalLM`` with its Llama converter under arch 'mistral3', so the tensor
inventory is Llama's (see llama.py): no biases, no q/k norms, and no ``rope_freqs``
(the rope is YaRN, carried by ``rope_parameters``, not a llama3 frequency table). The
loader (src/models/mistral3.cpp) reads the same tensors; ``llama_4_scaling_beta`` becomes
the attention temperature scale, a per-position factor on q that costs no weights and no
cache. The Pixtral vision tower and the projector are the mmproj file's, not the text
model's, and are not counted.
"""

from __future__ import annotations

from ..model import Model
from ._base import text_config
from .llama import Config, build_dense  # noqa: F401  (Config: the keys this family reads)


def build(config: dict, model_id: str) -> Model:
    return build_dense(text_config(config), model_id, family="mistral3", arch="mistral3", rope_freqs=False)
