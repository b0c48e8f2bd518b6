"""MLX (mlx-lm ``convert -q``) builds: affine 2/3/4/5/6/8-bit with a group size (64 by
default), mxfp4 / mxfp8 / nvfp4, and the mixed recipes mixed_2_6, mixed_3_4, mixed_3_6,
mixed_4_6 (research/runtime-memory.md 5.1, 5.2; ml-explore/mlx-lm ``utils.quantize_model``
and ``convert.mixed_quant_predicate_builder``, ml-explore/mlx ``affine_quantize``).

* Quantized: the weights of Linear, Embedding and SwitchLinear (routed experts) layers:
  here every 2-D or 3-D tensor except norms, 1-D tensors, integer tables and plain
  parameters (hyper-connection matrices, compressor position biases, sinks).
* Affine storage: ``bits`` per weight packed in uint32 plus one scale and one bias per
  group in the model's dtype (bf16: ``bits + 32/group`` bits per weight).
* A tensor whose row the group does not divide is not quantized (mlx-lm's predicate
  skips it) and keeps its dtype; the build lists those tensors in its notes.
* Routers: model files that define a ``quant_predicate`` keep MoE routers at 8-bit; we do
  the same for every MoE model. Mixed recipes replace that predicate: high bits for the
  output head and for attn_v / down projections on ``use_more_bits`` layers, low bits for
  the rest (routers included). Tied embeddings have no head, so nothing there is high.
"""

from __future__ import annotations

import re

from ..errors import UnknownNameError
from ..model import Model, Role
from ..notes import Note
from .llamacpp import use_more_bits

BITS = (2, 3, 4, 5, 6, 8)
GROUPS = (32, 64, 128)
MIXED = {"mixed_2_6": (2, 6), "mixed_3_4": (3, 4), "mixed_3_6": (3, 6), "mixed_4_6": (4, 6)}
FP_MODES = {"mxfp4": "MLX_MXFP4", "mxfp8": "MLX_MXFP8", "nvfp4": "MLX_NVFP4"}
_PLAIN_PARAMS = ("hc_", "_ape", "attn_sinks", "tid2eid")
_DOWN = (Role.FFN_DOWN, Role.EXPERT_DOWN, Role.SHARED_DOWN)


def names() -> list[str]:
    out = [f"mlx-{b}bit" for b in (3, 4, 6, 8)] + [f"mlx-{m}" for m in MIXED] + [f"mlx-{m}" for m in FP_MODES]
    return out


def parse(name: str) -> tuple[str, int, int, int]:
    """'mlx-4bit' / 'mlx-4bit-g32' / 'mlx-mixed_3_6' / 'mlx-mxfp4' -> (mode, low, high, group)."""
    key = name.strip().lower()
    m = re.fullmatch(r"mlx-(\d)bit(?:-g(\d+))?", key)
    if m and int(m.group(1)) in BITS and int(m.group(2) or 64) in GROUPS:
        b = int(m.group(1))
        return "affine", b, b, int(m.group(2) or 64)
    m = re.fullmatch(r"mlx-(mixed_\d_\d)(?:-g(\d+))?", key)
    if m and m.group(1) in MIXED and int(m.group(2) or 64) in GROUPS:
        lo, hi = MIXED[m.group(1)]
        return "mixed", lo, hi, int(m.group(2) or 64)
    if key.startswith("mlx-") and key[4:] in FP_MODES:
        return key[4:], 4, 4, 16 if key.endswith("nvfp4") else 32
    raise UnknownNameError("MLX build", name, names(),
                           hint="write mlx-<bits>bit (bits 2,3,4,5,6,8; add -g32/-g128 for the group size), "
                                "mlx-mixed_2_6/3_4/3_6/4_6, or mlx-mxfp4/mxfp8/nvfp4")


def _quantizable(t, src: str) -> bool:
    if len(t.shape) < 2 or t.role == Role.NORM or src.startswith("I"):
        return False
    return not any(p in t.name for p in _PLAIN_PARAMS)


def plan(model: Model, name: str, src: list[str], include: list[bool]) -> tuple[list[str | None], list[str]]:
    """Types per tensor for an MLX build, and notes (tensors that could not be quantized)."""
    mode, lo, hi, group = parse(name)
    moe = model.moe is not None and model.moe.n_expert > 1
    n_layer = model.n_layer
    types: list[str | None] = [None] * len(model.tensors)
    skipped: list[str] = []
    for i, t in enumerate(model.tensors):
        if not include[i]:
            continue
        if not _quantizable(t, src[i]):
            types[i] = src[i]
            continue
        if mode in FP_MODES:
            st = FP_MODES[mode]
        else:
            bits, g = lo, group
            if mode == "mixed":
                il = t.layer if t.layer is not None else 0
                if t.role == Role.OUTPUT:
                    bits = hi
                elif (t.role == Role.ATTN_V or t.name.endswith("attn_v_b.weight") or t.role in _DOWN) \
                        and use_more_bits(il, n_layer):
                    bits = hi
            elif moe and t.role == Role.ROUTER:
                bits, g = 8, 64
            st = f"MLX_{bits}BIT_G{g}"
        block = 16 if st == "MLX_NVFP4" else (32 if st.startswith("MLX_MX") else int(st.rsplit("G", 1)[1]))
        if t.row % block:
            types[i] = src[i]
            skipped.append({"tensor": t.name, "row": t.row})
            continue
        types[i] = st
    notes = []
    if skipped:
        notes.append(Note("mlx_not_quantized", count=len(skipped), tensors=skipped[:6]))
    return types, notes
