"""Tensors and their roles. Roles, not names, drive recipes and placement."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from enum import Enum


class Role(str, Enum):
    EMBED = "embed"
    OUTPUT = "output"
    NORM = "norm"
    ATTN_Q = "attn_q"
    ATTN_K = "attn_k"
    ATTN_V = "attn_v"
    ATTN_KV = "attn_kv"          # latent / shared KV projections (MLA, V4)
    ATTN_OUTPUT = "attn_output"
    FFN_GATE = "ffn_gate"
    FFN_UP = "ffn_up"
    FFN_DOWN = "ffn_down"
    EXPERT_GATE = "expert_gate"
    EXPERT_UP = "expert_up"
    EXPERT_DOWN = "expert_down"
    SHARED_GATE = "shared_gate"
    SHARED_UP = "shared_up"
    SHARED_DOWN = "shared_down"
    ROUTER = "router"
    INDEXER = "indexer"
    COMPRESSOR = "compressor"
    MTP = "mtp"
    OTHER = "other"

    def __str__(self) -> str:  # 'attn_q', not 'Role.ATTN_Q'
        return self.value


EXPERT_ROLES = frozenset({Role.EXPERT_GATE, Role.EXPERT_UP, Role.EXPERT_DOWN})
SHARED_ROLES = frozenset({Role.SHARED_GATE, Role.SHARED_UP, Role.SHARED_DOWN})
ATTN_ROLES = frozenset({Role.ATTN_Q, Role.ATTN_K, Role.ATTN_V, Role.ATTN_KV, Role.ATTN_OUTPUT})
FFN_ROLES = frozenset({Role.FFN_GATE, Role.FFN_UP, Role.FFN_DOWN})


@dataclass(frozen=True)
class Tensor:
    """One tensor of a model.

    ``name`` is the llama.cpp (GGUF) name, e.g. ``blk.3.ffn_down_exps.weight``: the
    llama.cpp quantization rules key on it. ``shape`` is in PyTorch order (outermost
    first, row length last); GGUF's ``ne`` order is ``shape`` reversed. Routed experts
    are one 3-D tensor ``(n_expert, rows, cols)`` as in GGUF. ``dtype`` is the storage
    type the source holds (``BF16``, ``F32``, ``Q4_K``...), or None for a config-built
    inventory. ``hf_name`` is the checkpoint name; for a fused expert tensor it holds
    ``{e}`` where the expert index goes. ``mtp`` marks multi-token-prediction tensors,
    which are kept apart from the model's totals.
    """

    name: str
    shape: tuple[int, ...]
    role: Role
    layer: int | None = None
    dtype: str | None = None
    hf_name: str | None = None
    mtp: bool = False

    @functools.cached_property
    def n_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def ne(self) -> tuple[int, ...]:
        """ggml order: row length first."""
        return tuple(reversed(self.shape))

    @property
    def row(self) -> int:
        """Row length (ggml ne0): the dimension quantization blocks run along."""
        return self.shape[-1]

    @property
    def n_rows(self) -> int:
        return self.n_elements // self.shape[-1] if self.shape[-1] else 0

    @property
    def is_expert(self) -> bool:
        return self.role in EXPERT_ROLES
