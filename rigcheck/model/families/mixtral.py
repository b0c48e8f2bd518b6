"""Mixtral sparse MoE (HF model_type 'mixtral'; llama.cpp arch 'llama').

llama.cpp converts MixtralForCausalLM with its Llama converter, so the attention half of
each layer is Llama's (see llama.py) and the FFN is a routed MoE, the experts of a layer
stacked into one 3-D tensor each:
    ffn_norm (D)                                          post_attention_layernorm
    ffn_gate_inp (E, D)                                   block_sparse_moe.gate
    ffn_gate_exps (E, F, D)   ffn_up_exps (E, F, D)       block_sparse_moe.experts.{e}.w1 / w3
    ffn_down_exps (E, D, F)                               block_sparse_moe.experts.{e}.w2
No shared expert, no biases. A non-null ``sliding_window`` makes every layer a
sliding-window layer (Mixtral 8x7B v0.1 ships it null).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import AttnKind, LayerAttention, Model, MoE
from ._base import HFConfig, Inventory, make_model, positive


@dataclass
class Config(HFConfig):
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int
    num_local_experts: int
    num_experts_per_tok: int
    num_key_value_heads: int = 0
    head_dim: int = 0
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = False
    sliding_window: int | None = None

    def __post_init__(self):
        self.num_key_value_heads = self.num_key_value_heads or self.num_attention_heads
        if not self.head_dim and self.num_attention_heads:
            self.head_dim = self.hidden_size // self.num_attention_heads


def build(config: dict, model_id: str) -> Model:
    c = Config.from_dict(config, model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, intermediate_size=c.intermediate_size,
             vocab_size=c.vocab_size, num_local_experts=c.num_local_experts,
             num_experts_per_tok=c.num_experts_per_tok)
    D, H, KV, hd, F, V = (c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim,
                          c.intermediate_size, c.vocab_size)
    E = c.num_local_experts
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), "model.embed_tokens.weight")
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}."
        inv.blk(i, "attn_norm.weight", (D,), p + "input_layernorm.weight")
        inv.blk(i, "attn_q.weight", (H * hd, D), p + "self_attn.q_proj.weight")
        inv.blk(i, "attn_k.weight", (KV * hd, D), p + "self_attn.k_proj.weight")
        inv.blk(i, "attn_v.weight", (KV * hd, D), p + "self_attn.v_proj.weight")
        inv.blk(i, "attn_output.weight", (D, H * hd), p + "self_attn.o_proj.weight")
        inv.blk(i, "ffn_norm.weight", (D,), p + "post_attention_layernorm.weight")
        inv.blk(i, "ffn_gate_inp.weight", (E, D), p + "block_sparse_moe.gate.weight")
        inv.blk(i, "ffn_gate_exps.weight", (E, F, D), p + "block_sparse_moe.experts.{e}.w1.weight")
        inv.blk(i, "ffn_up_exps.weight", (E, F, D), p + "block_sparse_moe.experts.{e}.w3.weight")
        inv.blk(i, "ffn_down_exps.weight", (E, D, F), p + "block_sparse_moe.experts.{e}.w2.weight")
    inv.add("output_norm.weight", (D,), "model.norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    window = int(c.sliding_window or 0)
    kind = AttnKind.SWA if window else AttnKind.FULL
    layers = [LayerAttention(kind, H, KV, hd, hd, window=window) for _ in range(c.num_hidden_layers)]
    moe = MoE(E, c.num_experts_per_tok, 0, F, 0)
    return make_model(model_id, "mixtral", "llama", inv, layers, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings, moe=moe, tied=c.tie_word_embeddings)
