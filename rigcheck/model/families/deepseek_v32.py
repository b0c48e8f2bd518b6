"""DeepSeek V3.2 (HF model_type 'deepseek_v32'; llama.cpp arch 'deepseek32'): DeepSeek V3's
inventory (see deepseek_v3.py: MLA + MoE + shared experts, dense first layers, MTP apart)
plus the DSA lightning indexer in every layer's attention:

    indexer.attn_q_b (IH*ID, QL)     self_attn.indexer.wq_b          query from the q latent
    indexer.attn_k (ID, D)           self_attn.indexer.wk            one shared key head
    indexer.k_norm (ID) + .bias      self_attn.indexer.k_norm        LayerNorm (weight and bias)
    indexer.proj (IH, D)             self_attn.indexer.weights_proj  per-head weights
IH = index_n_heads, ID = index_head_dim. Each layer's KV cache adds one ID-wide key per
token; attention reads the index_topk best tokens.
"""

from __future__ import annotations

from ..model import AttnKind, Model
from ._base import Inventory, positive
from .deepseek_v3 import Config, build_mla  # noqa: F401  (Config: the keys this family reads)


def _indexer(inv: Inventory, c: Config, i: int, p: str) -> None:
    positive("", index_n_heads=c.index_n_heads, index_head_dim=c.index_head_dim)
    IH, ID, D = c.index_n_heads, c.index_head_dim, c.hidden_size
    q = p + "self_attn.indexer."
    inv.blk(i, "indexer.attn_q_b.weight", (IH * ID, c.q_lora_rank or D), q + "wq_b.weight")
    inv.blk(i, "indexer.attn_k.weight", (ID, D), q + "wk.weight")
    inv.blk(i, "indexer.k_norm.weight", (ID,), q + "k_norm.weight")
    inv.blk(i, "indexer.k_norm.bias", (ID,), q + "k_norm.bias")
    inv.blk(i, "indexer.proj.weight", (IH, D), q + "weights_proj.weight")


def build(config: dict, model_id: str) -> Model:
    return build_mla(config, model_id, family="deepseek_v32", arch="deepseek32", kind=AttnKind.DSA,
                     extra_attn=_indexer)
