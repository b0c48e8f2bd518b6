"""Model families: one module per HF ``model_type``, each with a ``Config`` dataclass of
the config.json keys it reads and ``build(config, model_id) -> Model``.

``FAMILIES`` maps a model_type to its module name; ``ARCHITECTURES`` maps the class names
in ``architectures`` to a model_type for configs that lack one. Modules are imported only
when used.
"""

from __future__ import annotations

import importlib

from ...errors import InputError, UnknownNameError
from ..model import Model

FAMILIES: dict[str, str] = {
    "llama": "llama",
    "mistral": "mistral",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "qwen3_moe": "qwen3_moe",
    "deepseek_v3": "deepseek_v3",
    "kimi_k2": "deepseek_v3",          # Kimi K2 ships DeepseekV3ForCausalLM
    "deepseek_v32": "deepseek_v32",
    "deepseek_v4": "deepseek_v4",
    "gpt_oss": "gpt_oss",
    "gemma3_text": "gemma3_text",
    "gemma3": "gemma3",
    "glm4_moe": "glm4_moe",
    "qwen3_next": "qwen3_next",
    "mixtral": "mixtral",
    "phi3": "phi3",
    "phi": "phi",                      # Phi-1 / 1.5 / 2 (llama.cpp arch phi2)
    "minimax_m2": "minimax_m2",
    "qwen3_5": "qwen3_5",
    "qwen3_5_moe": "qwen3_5",
    "gemma4": "gemma4",
    "gemma4_text": "gemma4",
    "glm_moe_dsa": "glm_moe_dsa",
    "nemotron_h": "nemotron_h",        # Nemotron-H / Nemotron 3 (llama.cpp nemotron_h, nemotron_h_moe)
    "minimax_m3_vl": "minimax_m3",     # MiniMax-M3 (llama.cpp minimax-m3)
    "minimax_m3": "minimax_m3",
    "mistral3": "mistral3",            # Mistral 3 VLM wrapper: Ministral 3, Devstral Small 2 (llama.cpp mistral3)
    "ministral3": "mistral3",
}

ARCHITECTURES: dict[str, str] = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "mistral",
    "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3",
    "Qwen3MoeForCausalLM": "qwen3_moe",
    "DeepseekV3ForCausalLM": "deepseek_v3",
    "DeepseekV32ForCausalLM": "deepseek_v32",
    "DeepseekV4ForCausalLM": "deepseek_v4",
    "GptOssForCausalLM": "gpt_oss",
    "Gemma3ForCausalLM": "gemma3_text",
    "Gemma3ForConditionalGeneration": "gemma3",
    "Glm4MoeForCausalLM": "glm4_moe",
    "Qwen3NextForCausalLM": "qwen3_next",
    "MixtralForCausalLM": "mixtral",
    "Phi3ForCausalLM": "phi3",
    "PhiForCausalLM": "phi",
    "MiniMaxM2ForCausalLM": "minimax_m2",
    "Qwen3_5ForConditionalGeneration": "qwen3_5",
    "Qwen3_5ForCausalLM": "qwen3_5",
    "Qwen3_5MoeForConditionalGeneration": "qwen3_5_moe",
    "Qwen3_5MoeForCausalLM": "qwen3_5_moe",
    "Gemma4ForConditionalGeneration": "gemma4",
    "Gemma4ForCausalLM": "gemma4_text",
    "GlmMoeDsaForCausalLM": "glm_moe_dsa",
    "NemotronHForCausalLM": "nemotron_h",
    "MiniMaxM3SparseForConditionalGeneration": "minimax_m3_vl",
    "MiniMaxM3SparseForCausalLM": "minimax_m3",
    "Mistral3ForConditionalGeneration": "mistral3",
    "Ministral3ForCausalLM": "ministral3",
}


def model_type_of(config: dict) -> str:
    """The family key of a config: its model_type, else its first known architecture."""
    if not isinstance(config, dict):
        raise InputError("config.json must be a JSON object")
    mt = config.get("model_type")
    if mt is not None and not isinstance(mt, str):      # issue 14: a value, not a name
        from ...text import shown
        raise InputError(f"config.json 'model_type' must be a string such as \"llama\", got {shown(repr(mt), 60)}")
    if isinstance(mt, str) and mt in FAMILIES:
        return mt
    archs = config.get("architectures") or []
    if not isinstance(archs, list) or not all(isinstance(a, str) for a in archs):     # issue 14
        from ...text import shown
        raise InputError(f"config.json 'architectures' must be a list of class names, got {shown(repr(archs), 60)}")
    for arch in archs:
        if arch in ARCHITECTURES:
            return ARCHITECTURES[arch]
    name = mt if isinstance(mt, str) and mt else ", ".join(map(str, config.get("architectures") or [])) or "(none)"
    raise UnknownNameError("architecture", name, list(FAMILIES),
                           hint="rigcheck knows these model_type values; a GGUF file of the model works too")


def family_module(model_type: str):
    return importlib.import_module(f".{FAMILIES[model_type]}", __name__)


def hook(model: Model, name: str):
    """An architecture's optional hook (``native_types``, ``converter_types``,
    ``extra_builds``...) from its family module, or None: code outside the families asks
    for a quirk by name and never names the architecture (mlx-lm keeps ``sanitize`` on
    the model the same way)."""
    from .archs import arch
    mod_name = arch(model.arch).module or FAMILIES.get(model.family)
    if not mod_name:
        return None
    return getattr(importlib.import_module(f".{mod_name}", __name__), name, None)


# config.json keys that say how the checkpoint is stored (read by quant.native)
STORAGE_KEYS = ("quantization_config", "torch_dtype", "dtype")


def build_model(config: dict, model_id: str) -> Model:
    """A Model from a HF config.json's content; the checkpoint's storage keys
    (``quantization_config``, ``torch_dtype``) travel in ``meta``."""
    from dataclasses import replace
    m = family_module(model_type_of(config)).build(config, model_id)
    storage = {k: config[k] for k in STORAGE_KEYS if isinstance(config, dict) and config.get(k) is not None}
    return replace(m, meta=dict(m.meta, **storage)) if storage else m
