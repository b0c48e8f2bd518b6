"""The checkpoint as its makers ship it (safetensors), byte for byte where the format is known.

* an architecture with its own format has a ``native_types`` hook on its family module
  (DeepSeek V4's FP4 experts + FP8 + BF16 mix: rigcheck.model.families.deepseek_v4).
* ``quantization_config`` with ``quant_method: fp8`` and ``weight_block_size`` (DeepSeek
  V3/R1): every Linear weight except the embedding, head, routers and norms is FP8 with
  an fp32 scale per 128x128 tile.
* ``quant_method: mxfp4`` (gpt-oss): routed experts MXFP4 (17 bytes per 32), the rest BF16.
* otherwise every tensor is in ``torch_dtype`` (BF16 by default).

The safetensors header (8 bytes + JSON per shard) is estimated at about 150 bytes per
tensor name; HF shards are at most 5 GB, each with its own header.
"""

from __future__ import annotations

from ..model import Model, Role, families
from .converter import checkpoint_dtype

SHARD_BYTES = 5 * 10**9
HEADER_PER_TENSOR = 150


def _qcfg(model: Model) -> dict:
    q = model.meta.get("quantization_config")
    return q if isinstance(q, dict) else {}


def native_types(model: Model) -> tuple[list[str], str]:
    """The checkpoint type of every tensor, and a short description of the format."""
    own = families.hook(model, "native_types")        # an architecture with its own checkpoint format
    if own is not None:
        return own(model)
    base = checkpoint_dtype(model)
    q = _qcfg(model)
    method = str(q.get("quant_method", "")).lower()
    out = []
    if method == "fp8":
        for t in model.tensors:
            linear = len(t.shape) >= 2 and t.role not in (Role.EMBED, Role.OUTPUT, Role.ROUTER, Role.NORM)
            # routed experts are one 3-D tensor here, 2-D Linear weights per expert in the checkpoint
            out.append("FP8_E4M3_T128_F32" if linear and len(t.shape) in (2, 3) else (
                "F32" if t.role == Role.ROUTER and len(t.shape) == 1 else base))
        return out, "FP8 e4m3 with fp32 scales per 128x128 tile, the rest " + base
    if method == "mxfp4":
        for t in model.tensors:
            out.append("FP4_E2M1_B32" if t.is_expert else base)
        return out, "MXFP4 routed experts, the rest " + base
    return [base] * len(model.tensors), base


def header_estimate(n_tensors: int, weights_bytes: int) -> int:
    shards = max(1, -(-weights_bytes // SHARD_BYTES))
    return shards * 8 + n_tensors * HEADER_PER_TENSOR
