"""What a tensor holds before any recipe runs: the source type.

For a GGUF source that is the type in the file. For a config-built model it is what
llama.cpp's converter (``convert_hf_to_gguf.py``, ``conversion/base.py``
``ModelBase.prepare_tensors``) would write: F32 for 1-D tensors, norms, biases, routers,
position embeddings, conv1d and DSA indexer projections; I32 for V4's token->expert
table; the output type (BF16 for a bf16 checkpoint) for everything else. An
architecture whose converter keeps the checkpoint's own formats says so with a
``converter_types`` hook on its family module.
Read in llama.cpp as vendored by llama-cpp-python 0.3.36 (2026-10-01).
"""

from __future__ import annotations

from ..model import Model, Tensor, families

# name pieces of tensors the converter always writes as F32 (2-D ones included)
_F32_NAMES = ("ffn_gate_inp.weight", "ffn_gate_inp_shexp.weight", "position_embd.", "pos_embd.",
              "token_types.", "ssm_conv1d", "shortconv.conv", "indexer.proj.weight")
_INT_DTYPES = {"I64", "I32", "I16", "I8", "U8", "BOOL", "INT64", "INT32"}


def checkpoint_dtype(model: Model) -> str:
    """The float type of the checkpoint's plain weights: BF16 unless the model says F16/F32."""
    d = str(model.meta.get("torch_dtype") or model.meta.get("dtype") or "bfloat16").lower()
    return {"float16": "F16", "f16": "F16", "half": "F16", "float32": "F32", "f32": "F32",
            "float": "F32"}.get(d, "BF16")


def converter_type(t: Tensor, outtype: str, keep_checkpoint: bool = False) -> str:
    """The ggml type llama.cpp's converter writes ``t`` as, with ``outtype`` (BF16/F16);
    ``keep_checkpoint``: a converter that keeps the checkpoint's own formats (``t.dtype``)."""
    name = t.name
    dt = (t.dtype or "").upper()
    if dt in _INT_DTYPES or "tid2eid" in name:
        return "I32"
    if len(t.shape) <= 1 or name.endswith("_norm.weight"):
        return "F32"
    if keep_checkpoint and dt:
        if dt.startswith("FP8") or dt.startswith("F8"):
            return "Q8_0"
        if dt.startswith("FP4") or dt in ("MXFP4", "F4"):
            return "MXFP4"
        if dt == "F32":
            return "F32"
        return "BF16"
    if any(p in name for p in _F32_NAMES) or not name.endswith((".weight", ".lora_a", ".lora_b")):
        return "F32"
    return outtype


def source_types(model: Model, outtype: str | None = None) -> list[str]:
    """The type of every tensor of ``model`` before a recipe: the file's for a GGUF
    source, the converter's otherwise."""
    if model.source == "gguf":
        return [t.dtype or "F32" for t in model.tensors]
    out = outtype or checkpoint_dtype(model)
    own = families.hook(model, "converter_types")      # an architecture whose converter differs
    if own is not None:
        return own(model, out, converter_type)
    return [converter_type(t, out) for t in model.tensors]
