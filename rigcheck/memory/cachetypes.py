"""KV cache element types: bytes per cached row, per runtime family.

llama.cpp stores each cached K or V row as a ggml tensor row, so a row of ``d``
elements takes ``ggml_row_size(type, d)`` bytes; the types it accepts for
``--cache-type-k/-v`` are the ``kv_cache_types`` list in llama.cpp ``common/arg.cpp``
(f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1). Block sizes come from
rigcheck.quant.types (ggml-common.h structs).
"""

from __future__ import annotations

from ..errors import InputError
from ..quant.types import GGML_TYPES

# llama.cpp common/arg.cpp kv_cache_types (llama-cpp-python 0.3.36 vendor copy)
GGML_CACHE_TYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")


def ggml_row_bytes(cache_type: str, n: int) -> int:
    """Bytes of one cached row of ``n`` elements in a ggml cache type."""
    st = GGML_TYPES[cache_type.upper()]
    if n % st.block:
        raise InputError(f"cache type {cache_type} needs rows that divide by {st.block}; "
                         f"this model has rows of {n}: use f16 or bf16")
    return n // st.block * st.block_bytes


def check_cache_type(runtime: str, cache_type: str, valid: tuple[str, ...]) -> str:
    """The cache type, lower-cased, or an InputError listing the valid ones."""
    ct = str(cache_type).strip().lower()
    if ct not in valid:
        raise InputError(f"{runtime} has no KV cache type '{cache_type}'; valid: {', '.join(valid)}")
    return ct
