"""Storage types: how many bytes a tensor takes in each format. Data, not branches.

ggml types are (block size, bytes per block), each byte count written as the sum of
the fields of its C struct in ggml-common.h (QK_K = 256, ggml_half = 2 bytes), ids as
in ggml.h. Other formats (MLX affine groups, FP8 with block scales, NVFP4, NF4,
AWQ/GPTQ) are described by the bits per element plus the per-group overhead.
Sources: ggml-org/ggml src/ggml-common.h and ggml.c (type_traits), read 2026-08-21;
ml-explore/mlx mlx/ops.cpp (affine_quantize, fp_quantize) 2026-08-22;
bitsandbytes functional.py (NF4 blocksize 64, fp32 absmax); AutoAWQ/GPTQ packing
(int32-packed qweight, fp16 scales, packed zeros per group).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import UnknownNameError

QK_K = 256
HALF = 2


@dataclass(frozen=True)
class StorageType:
    """A storage type. A tensor of ``n`` elements whose rows have length ``row`` takes
    ``rows * ceil(row / block) * block_bytes`` bytes when ``row`` divides by ``block``
    (ggml requires it; ``divides`` tells). ``family``: ggml | mlx | native | bnb | awq | gptq.
    ``ggml_id`` is set for types a GGUF file can hold."""

    name: str
    block: int
    block_bytes: int
    family: str = "ggml"
    ggml_id: int | None = None
    note: str = ""
    # 2-D block scales (FP8 with one scale per tile_rows x block): ``block_bytes`` then
    # counts only the elements and each tile adds ``tile_scale_bytes``.
    tile_rows: int = 0
    tile_scale_bytes: int = 0

    @property
    def bpw(self) -> float:
        return self.block_bytes * 8 / self.block

    def divides(self, row: int) -> bool:
        return row % self.block == 0

    def row_bytes(self, row: int) -> int:
        return math.ceil(row / self.block) * self.block_bytes

    def nbytes(self, shape: tuple[int, ...]) -> int:
        row = shape[-1] if shape else 1
        rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
        if self.tile_rows:
            rows2 = shape[-2] if len(shape) > 1 else 1
            outer = math.prod(shape[:-2]) if len(shape) > 2 else 1
            tiles = -(-rows2 // self.tile_rows) * -(-row // self.block)
            return rows * row * self.block_bytes // self.block + outer * tiles * self.tile_scale_bytes
        return rows * self.row_bytes(row)


def _g(name, gid, block, nbytes, note=""):
    return StorageType(name, block, nbytes, "ggml", gid, note)


# ggml types: (name, id, elements per block, bytes per block as the struct's fields)
GGML_TYPES: dict[str, StorageType] = {t.name: t for t in [
    _g("F32", 0, 1, 4),
    _g("F16", 1, 1, 2),
    _g("Q4_0", 2, 32, HALF + 16),
    _g("Q4_1", 3, 32, 2 * HALF + 16),
    _g("Q5_0", 6, 32, HALF + 4 + 16),
    _g("Q5_1", 7, 32, 2 * HALF + 4 + 16),
    _g("Q8_0", 8, 32, HALF + 32),
    _g("Q8_1", 9, 32, 2 * HALF + 32, "activation type"),
    _g("Q2_K", 10, QK_K, QK_K // 16 + QK_K // 4 + 2 * HALF),
    _g("Q3_K", 11, QK_K, QK_K // 8 + QK_K // 4 + 12 + HALF),
    _g("Q4_K", 12, QK_K, 2 * HALF + 12 + QK_K // 2),
    _g("Q5_K", 13, QK_K, 2 * HALF + 12 + QK_K // 8 + QK_K // 2),
    _g("Q6_K", 14, QK_K, QK_K // 2 + QK_K // 4 + QK_K // 16 + HALF),
    _g("Q8_K", 15, QK_K, 4 + QK_K + QK_K // 16 * 2, "intermediate type"),
    _g("IQ2_XXS", 16, QK_K, HALF + QK_K // 8 * 2),
    _g("IQ2_XS", 17, QK_K, HALF + QK_K // 8 * 2 + QK_K // 32),
    _g("IQ3_XXS", 18, QK_K, HALF + 3 * (QK_K // 8)),
    _g("IQ1_S", 19, QK_K, HALF + QK_K // 8 + QK_K // 16),
    _g("IQ4_NL", 20, 32, HALF + 16),
    _g("IQ3_S", 21, QK_K, HALF + 13 * (QK_K // 32) + QK_K // 64),
    _g("IQ2_S", 22, QK_K, HALF + QK_K // 4 + QK_K // 16),
    _g("IQ4_XS", 23, QK_K, HALF + 2 + QK_K // 64 + QK_K // 2),
    _g("I8", 24, 1, 1),
    _g("I16", 25, 1, 2),
    _g("I32", 26, 1, 4),
    _g("I64", 27, 1, 8),
    _g("F64", 28, 1, 8),
    _g("IQ1_M", 29, QK_K, QK_K // 8 + QK_K // 16 + QK_K // 32),
    _g("BF16", 30, 1, 2),
    _g("TQ1_0", 34, QK_K, QK_K // 64 + (QK_K - 4 * QK_K // 64) // 5 + HALF),
    _g("TQ2_0", 35, QK_K, QK_K // 4 + HALF),
    _g("MXFP4", 39, 32, 1 + 16),
    _g("NVFP4", 40, 64, 4 + 32),
    _g("Q1_0", 41, 128, HALF + 128 // 8),
    _g("Q2_0", 42, 64, HALF + 64 // 4),
]}

GGML_BY_ID: dict[int, StorageType] = {t.ggml_id: t for t in GGML_TYPES.values()}


def _mlx_affine(bits: int, group: int, scale_bytes: int = 2) -> StorageType:
    # packed uint32 words + one scale and one bias per group, in the activation dtype
    return StorageType(f"MLX_{bits}BIT_G{group}", group, group * bits // 8 + 2 * scale_bytes, "mlx",
                       note=f"MLX affine {bits}-bit, group {group}, bf16 scale+bias")


OTHER_TYPES: dict[str, StorageType] = {t.name: t for t in [
    *[_mlx_affine(b, g) for b in (2, 3, 4, 5, 6, 8) for g in (32, 64, 128)],
    StorageType("MLX_MXFP4", 32, 16 + 1, "mlx", note="MLX mxfp4: e2m1 + e8m0 scale per 32"),
    StorageType("MLX_MXFP8", 32, 32 + 1, "mlx", note="MLX mxfp8: e4m3 + e8m0 scale per 32"),
    StorageType("MLX_NVFP4", 16, 8 + 1, "mlx", note="MLX nvfp4: e2m1 + e4m3 scale per 16"),
    # Native checkpoint formats (safetensors): the scale is a separate tensor but is
    # counted here per block of the row.
    StorageType("FP8_E4M3", 1, 1, "native", note="plain FP8 e4m3, no scales"),
    StorageType("FP8_B128", 128, 128 + 1, "native",
                note="FP8 e4m3 + one ue8m0 scale per 128 of the row (GGUF-style approximation of 128x128 blocks)"),
    StorageType("FP8_E4M3_T128_UE8M0", 128, 128, "native", tile_rows=128, tile_scale_bytes=1,
                note="FP8 e4m3 + one ue8m0 scale per 128x128 tile (DeepSeek V4)"),
    StorageType("FP8_E4M3_T128_F32", 128, 128, "native", tile_rows=128, tile_scale_bytes=4,
                note="FP8 e4m3 + one fp32 scale per 128x128 tile (DeepSeek V3 weight_scale_inv)"),
    StorageType("FP4_E2M1_B32", 32, 16 + 1, "native", note="MXFP4 e2m1 + ue8m0 scale per 32 (V4 routed experts)"),
    StorageType("NVFP4_B16", 16, 8 + 1, "native", note="NVFP4 e2m1 + e4m3 scale per 16 (+ fp32 global per tensor)"),
    StorageType("NF4", 64, 32 + 4, "bnb", note="bitsandbytes NF4: 4-bit codes + fp32 absmax per 64"),
    StorageType("AWQ_4BIT_G128", 128, 64 + 2 + 1, "awq", note="AWQ 4-bit, group 128: fp16 scale + 4-bit zero per group"),
    StorageType("GPTQ_4BIT_G128", 128, 64 + 2 + 1, "gptq", note="GPTQ 4-bit, group 128: fp16 scale + packed 4-bit zero"),
    StorageType("GPTQ_8BIT_G128", 128, 128 + 2 + 1, "gptq", note="GPTQ 8-bit, group 128"),
]}

ALL_TYPES: dict[str, StorageType] = {**GGML_TYPES, **OTHER_TYPES}

# safetensors dtype names -> our storage types (element types only)
SAFETENSORS_DTYPES: dict[str, str] = {
    "F64": "F64", "F32": "F32", "F16": "F16", "BF16": "BF16",
    "I64": "I64", "I32": "I32", "I16": "I16", "I8": "I8", "U8": "I8", "BOOL": "I8",
    "F8_E4M3": "FP8_E4M3", "F8_E5M2": "FP8_E4M3", "F8_E8M0": "I8", "U32": "I32", "U16": "I16", "U64": "I64",
    "F4": "F4_PACKED",
}


def storage_type(name: str) -> StorageType:
    """Look a type up by name, case-insensitively (``q4_k`` -> Q4_K)."""
    t = ALL_TYPES.get(name.upper()) or ALL_TYPES.get(name)
    if t is None:
        raise UnknownNameError("storage type", name, ALL_TYPES)
    return t


def ggml_type_by_id(type_id: int) -> StorageType | None:
    return GGML_BY_ID.get(type_id)
