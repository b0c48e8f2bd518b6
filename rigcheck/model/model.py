"""The Model: a tensor inventory plus what a runtime needs to size its caches."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .tensor import EXPERT_ROLES, Role, Tensor

# The input embedding that a model with tied embeddings reuses as its output head (llama.cpp
# names it so in every architecture; the output then has no tensor of its own).
TIED_HEAD = "token_embd.weight"


class AttnKind:
    """Per-layer attention kinds (plain strings, so JSON stays readable)."""

    FULL = "full"          # full causal attention (MHA or GQA)
    SWA = "swa"            # sliding window
    MLA = "mla"            # multi-head latent attention (DeepSeek V2/V3, Kimi K2)
    DSA = "dsa"            # MLA + lightning indexer (DeepSeek V3.2)
    CSA = "csa"            # V4 compressed sparse attention (ratio 4, indexer)
    HCA = "hca"            # V4 heavily compressed attention (ratio 128)
    LINEAR = "linear"      # linear / recurrent (gated delta-net, Mamba): fixed-size state
    NONE = "none"          # no KV (e.g. a layer that reuses another's cache)


@dataclass(frozen=True)
class LayerAttention:
    """How one layer attends: what its KV cache holds per token.

    ``head_dim_k``/``head_dim_v`` are per KV head. For MLA, llama.cpp's view is used:
    one KV head, ``head_dim_k = kv_lora_rank + rope_dim`` and ``head_dim_v = kv_lora_rank``
    (llama.cpp stores only K since 2026-01). ``window`` is the sliding window in tokens
    (0 = none; V4 layers all have a 128-token raw window). ``compress_ratio`` is V4's
    CSA/HCA ratio. ``index_head_dim`` is the indexer key width (DSA, CSA).
    ``state_elems`` is the fixed recurrent state per sequence (f32 elements) for
    linear-attention layers, split as conv (``state_r``) + recurrent (``state_s``).
    """

    kind: str
    n_head: int = 0
    n_head_kv: int = 0
    head_dim_k: int = 0
    head_dim_v: int = 0
    window: int = 0
    kv_lora_rank: int = 0
    rope_dim: int = 0
    compress_ratio: int = 0
    index_head_dim: int = 0
    index_topk: int = 0
    state_r: int = 0
    state_s: int = 0
    sinks: bool = False


@dataclass(frozen=True)
class MoE:
    n_expert: int
    n_expert_used: int
    n_shared: int = 0
    expert_ff: int = 0
    n_dense_layers: int = 0       # dense (router-less) layers: leading (DeepSeek) or interleaved
    n_hash_layers: int = 0        # V4 hash-routed layers


@dataclass(frozen=True)
class Model:
    """A model as rigcheck sees it.

    ``tensors`` excludes nothing: MTP tensors are in the list with ``mtp=True`` and are
    left out of ``total_params`` and ``active_params`` (reported as ``mtp_params``).
    ``arch`` is the llama.cpp architecture name (``llama``, ``deepseek2``, ``gemma3``,
    ``deepseek4``...); ``family`` is rigcheck's family module (the HF ``model_type``).
    """

    id: str
    family: str
    arch: str
    tensors: tuple[Tensor, ...]
    layers: tuple[LayerAttention, ...]
    n_vocab: int
    n_embd: int
    n_ctx_train: int
    moe: MoE | None = None
    tied_embeddings: bool = False
    n_mtp_layers: int = 0
    source: str = "config"          # config | gguf | safetensors | catalogue
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    # ---- derived counts -------------------------------------------------------
    @property
    def n_layer(self) -> int:
        return len(self.layers)

    @property
    def main_tensors(self) -> tuple[Tensor, ...]:
        return tuple(t for t in self.tensors if not t.mtp)

    @property
    def total_params(self) -> int:
        return sum(t.n_elements for t in self.tensors if not t.mtp)

    @property
    def mtp_params(self) -> int:
        return sum(t.n_elements for t in self.tensors if t.mtp)

    @property
    def tensor_count(self) -> int:
        return len(self.tensors)

    def params_by_role(self, include_mtp: bool = False) -> dict[str, int]:
        out: Counter[str] = Counter()
        for t in self.tensors:
            if t.mtp and not include_mtp:
                continue
            out[str(t.role)] += t.n_elements
        return dict(out)

    def expert_fraction(self) -> float:
        """Share of routed experts read per token."""
        if not self.moe or not self.moe.n_expert:
            return 1.0
        return self.moe.n_expert_used / self.moe.n_expert

    def is_lookup(self, t: Tensor) -> bool:
        """Whether a tensor is read one row per token (an embedding table) rather than in
        full: every embedding but the input embedding a tied model reuses as its output head
        (TIED_HEAD). Per-layer input embeddings (Gemma 3n / Gemma 4 E-models'
        per_layer_token_embd) stay lookups with tied embeddings too."""
        return t.role == Role.EMBED and not (self.tied_embeddings and t.name == TIED_HEAD)

    def active_params(self, count_embedding: bool = False) -> int:
        """Parameters read per token: routed experts at n_used/n_expert, everything else
        in full. By default the embedding tables are not counted (lookups, not matmuls);
        ``count_embedding=True`` gives the other convention. Tied embeddings are counted
        once, as the output head."""
        frac = self.expert_fraction()
        total = 0.0
        for t in self.tensors:
            if t.mtp:
                continue
            if not count_embedding and self.is_lookup(t):
                continue
            total += t.n_elements * (frac if t.role in EXPERT_ROLES else 1.0)
        return int(round(total))
