"""The checkpoint as its makers ship it (safetensors), byte for byte where the format is known.

* DeepSeek V4: routed experts FP4 e2m1 with a ue8m0 scale per 32 (17 bytes per 32
  weights); attention projections, the indexer's wq_b, shared experts and the MTP e/h
  projections FP8 e4m3 with a ue8m0 scale per 128x128 tile; hyper-connection tensors,
  position biases (ape), sinks and the router bias F32; tid2eid I64; the rest BF16
  (rigcheck.model.families.deepseek_v4, which reproduces the 159,609,485,896 bytes of
  the V4-Flash release).
* ``quantization_config`` with ``quant_method: fp8`` and ``weight_block_size`` (DeepSeek
  V3/R1): every Linear weight except the embedding, head, routers and norms is FP8 with
  an fp32 scale per 128x128 tile.
* ``quant_method: mxfp4`` (gpt-oss): routed experts MXFP4 (17 bytes per 32), the rest BF16.
* otherwise every tensor is in ``torch_dtype`` (BF16 by default).

The safetensors header (8 bytes + JSON per shard) is estimated at about 150 bytes per
tensor name; HF shards are at most 5 GB, each with its own header.
"""

from __future__ import annotations

from ..model import Model, Role
from .converter import checkpoint_dtype

V4_FP8 = ("attn_q_a.weight", "attn_q_b.weight", "attn_kv.weight", "attn_output_a.weight", "attn_output_b.weight",
          "indexer.attn_q_b.weight", "_shexp.weight", "nextn.e_proj.weight", "nextn.h_proj.weight")
V4_F32 = ("hc_", "_ape.weight", "attn_sinks", "exp_probs_b")
SHARD_BYTES = 5 * 10**9
HEADER_PER_TENSOR = 150


def _v4_type(t) -> str:
    n = t.name
    if t.role in (Role.EXPERT_GATE, Role.EXPERT_UP, Role.EXPERT_DOWN):
        return "FP4_E2M1_B32"
    if "tid2eid" in n:
        return "I64"
    if any(p in n for p in V4_F32):
        return "F32"
    if any(n.endswith(p) for p in V4_FP8):
        return "FP8_E4M3_T128_UE8M0"
    return "BF16"


def _qcfg(model: Model) -> dict:
    q = model.meta.get("quantization_config")
    return q if isinstance(q, dict) else {}


def native_types(model: Model) -> tuple[list[str], str]:
    """The checkpoint type of every tensor, and a short description of the format."""
    if model.arch == "deepseek4":
        return [_v4_type(t) for t in model.tensors], "FP4 routed experts + FP8 (128x128 ue8m0 scales) + BF16"
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
