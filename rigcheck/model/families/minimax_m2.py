"""MiniMax-M2 family (HF model_type 'minimax_m2'; llama.cpp arch 'minimax-m2'):
MiniMax-M2, M2.1, M2.5, M2.7. A sparse MoE with GQA attention in every layer.

Per layer ``blk.N.``:
    attn_norm (D)                                   input_layernorm
    attn_q (H*hd, D)  attn_k (KV*hd, D)  attn_v (KV*hd, D)   self_attn.q/k/v_proj
    attn_q_norm (H*hd)  attn_k_norm (KV*hd)         self_attn.q_norm / k_norm: qk_norm_type
                                                    'per_layer' normalises the whole
                                                    projection, not one head
    attn_output (D, H*hd)                           self_attn.o_proj
    ffn_norm (D)                                    post_attention_layernorm
    ffn_gate_inp (E, D)                             block_sparse_moe.gate
    exp_probs_b (E,)                                block_sparse_moe.e_score_correction_bias
    ffn_gate_exps, ffn_up_exps (E, I, D); ffn_down_exps (E, D, I)
                                                    block_sparse_moe.experts.{e}.w1 / w3 / w2
Global: token_embd (V, D), output_norm (D), output (V, D). No shared expert
(shared_intermediate_size 0). The checkpoints' MTP modules (num_mtp_modules) are not
converted by llama.cpp and are left out here.
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
    num_key_value_heads: int
    vocab_size: int
    num_local_experts: int
    num_experts_per_tok: int
    intermediate_size: int          # per-expert FFN width
    head_dim: int = 0
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = False
    use_qk_norm: bool = True
    qk_norm_type: str = "per_layer"
    use_routing_bias: bool = True

    def __post_init__(self):
        if not self.head_dim and self.num_attention_heads:
            self.head_dim = self.hidden_size // self.num_attention_heads


def build(config: dict, model_id: str) -> Model:
    c = Config.from_dict(config, model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, num_key_value_heads=c.num_key_value_heads,
             vocab_size=c.vocab_size, num_local_experts=c.num_local_experts,
             num_experts_per_tok=c.num_experts_per_tok, intermediate_size=c.intermediate_size)
    D, H, KV, hd, V = c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.vocab_size
    E, I = c.num_local_experts, c.intermediate_size
    per_layer = c.qk_norm_type == "per_layer"
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), "model.embed_tokens.weight")
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}."
        inv.blk(i, "attn_norm.weight", (D,), p + "input_layernorm.weight")
        inv.blk(i, "attn_q.weight", (H * hd, D), p + "self_attn.q_proj.weight")
        inv.blk(i, "attn_k.weight", (KV * hd, D), p + "self_attn.k_proj.weight")
        inv.blk(i, "attn_v.weight", (KV * hd, D), p + "self_attn.v_proj.weight")
        if c.use_qk_norm:
            inv.blk(i, "attn_q_norm.weight", (H * hd if per_layer else hd,), p + "self_attn.q_norm.weight")
            inv.blk(i, "attn_k_norm.weight", (KV * hd if per_layer else hd,), p + "self_attn.k_norm.weight")
        inv.blk(i, "attn_output.weight", (D, H * hd), p + "self_attn.o_proj.weight")
        inv.blk(i, "ffn_norm.weight", (D,), p + "post_attention_layernorm.weight")
        inv.blk(i, "ffn_gate_inp.weight", (E, D), p + "block_sparse_moe.gate.weight")
        if c.use_routing_bias:
            inv.blk(i, "exp_probs_b.bias", (E,), p + "block_sparse_moe.e_score_correction_bias")
        inv.blk(i, "ffn_gate_exps.weight", (E, I, D), p + "block_sparse_moe.experts.{e}.w1.weight")
        inv.blk(i, "ffn_up_exps.weight", (E, I, D), p + "block_sparse_moe.experts.{e}.w3.weight")
        inv.blk(i, "ffn_down_exps.weight", (E, D, I), p + "block_sparse_moe.experts.{e}.w2.weight")
    inv.add("output_norm.weight", (D,), "model.norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    layers = [LayerAttention(AttnKind.FULL, H, KV, hd, hd) for _ in range(c.num_hidden_layers)]
    moe = MoE(E, c.num_experts_per_tok, 0, I, 0)
    return make_model(model_id, "minimax_m2", "minimax-m2", inv, layers, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings, moe=moe, tied=c.tie_word_embeddings)
