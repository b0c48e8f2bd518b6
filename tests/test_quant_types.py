"""The storage-type table against the gguf package's GGML_QUANT_SIZES, and the formats
that are not ggml (MLX, FP8 tiles, FP4, NF4, AWQ/GPTQ) against their definitions."""

from __future__ import annotations

import gguf
import pytest

from rigcheck.errors import UnknownNameError
from rigcheck.quant.types import GGML_BY_ID, GGML_TYPES, storage_type

# ggml-common.h: static_assert(sizeof(block_q8_1) == 2*sizeof(ggml_half) + QK8_1); gguf-py
# counts its two scales as f32 (40 bytes). Q8_1 is an activation type that no file holds.
GGUF_PY_DIFFERS = {"Q8_1": 36}


def test_every_gguf_type_is_in_the_table_with_the_same_block_and_bytes():
    for qt, (block, nbytes) in gguf.GGML_QUANT_SIZES.items():
        ours = GGML_BY_ID.get(int(qt))
        assert ours is not None, f"{qt.name} missing from rigcheck's table"
        assert ours.name == qt.name
        if qt.name in GGUF_PY_DIFFERS:
            assert (ours.block, ours.block_bytes) == (block, GGUF_PY_DIFFERS[qt.name])
            continue
        assert (ours.block, ours.block_bytes) == (block, nbytes), qt.name


def test_types_gguf_py_does_not_know_yet_follow_ggml_common_h():
    # block_q2_0: ggml_half d + QK2_0/4 bytes, QK2_0 = 64 (ggml.h GGML_TYPE_Q2_0 = 42)
    assert (GGML_TYPES["Q2_0"].block, GGML_TYPES["Q2_0"].block_bytes, GGML_TYPES["Q2_0"].ggml_id) == (64, 18, 42)


@pytest.mark.parametrize("name,shape,nbytes", [
    ("MLX_4BIT_G64", (4096, 4096), 4096 * 4096 // 2 + 4096 * 64 * 4),     # packed + bf16 scale+bias
    ("MLX_3BIT_G64", (10, 128), 10 * (128 * 3 // 8 + 2 * 4)),
    ("MLX_MXFP4", (2, 64), 2 * 2 * 17),
    ("MLX_NVFP4", (1, 32), 2 * 9),
    ("FP8_E4M3_T128_UE8M0", (1024, 4096), 1024 * 4096 + 8 * 32),         # one byte per 128x128 tile
    ("FP8_E4M3_T128_F32", (300, 200), 300 * 200 + 3 * 2 * 4),             # partial tiles count
    ("FP4_E2M1_B32", (256, 2048, 4096), 256 * 2048 * (4096 // 2 + 4096 // 32)),
    ("NF4", (64, 64), 64 * (32 + 4)),
    ("AWQ_4BIT_G128", (8, 256), 8 * 2 * (64 + 3)),
    ("BF16", (3, 5), 30), ("F32", (7,), 28),
])
def test_other_formats(name, shape, nbytes):
    assert storage_type(name).nbytes(shape) == nbytes


def test_unknown_type_names_the_known_ones():
    with pytest.raises(UnknownNameError, match="Q4_K"):
        storage_type("Q4_KK")
