"""Qwen3-Next (HF model_type 'qwen3_next'; llama.cpp arch 'qwen3next'): a hybrid of gated
delta-net linear attention (three layers in four) and gated full attention (every
full_attention_interval-th layer), with a sparse MoE plus one gated shared expert.

Per layer ``blk.N.`` (HF ``model.layers.N.``):
    attn_norm (D)                     input_layernorm
    post_attention_norm (D)           post_attention_layernorm
  full-attention layers (self_attn.*):
    attn_q (2*H*hd, D)                q_proj (query and output gate together)
    attn_k, attn_v (KV*hd, D); attn_output (D, H*hd); attn_q_norm, attn_k_norm (hd)
  linear-attention layers (linear_attn.*), Kh key heads of dk, Vh value heads of dv:
    ssm_in (2*Kh*dk + 2*Vh*dv, D)     in_proj_qkvz
    ssm_ba (2*Vh, D)                  in_proj_ba
    ssm_conv1d (2*Kh*dk + Vh*dv, kernel)   conv1d
    ssm_dt.bias (Vh)                  dt_bias
    ssm_a (Vh)                        A_log
    ssm_norm (dv)                     norm
    ssm_out (D, Vh*dv)                out_proj
  every layer (mlp.*): ffn_gate_inp (E, D); ffn_gate_exps, ffn_up_exps (E, I, D);
    ffn_down_exps (E, D, I); ffn_gate_inp_shexp (D) (shared_expert_gate);
    ffn_gate_shexp, ffn_up_shexp (SI, D); ffn_down_shexp (D, SI)
Global: token_embd (V, D), output_norm (D), output (V, D). The checkpoint's ``mtp.*``
tensors are not converted by llama.cpp and are not listed.
A linear layer's state per sequence, as llama.cpp sizes it: conv state
(kernel-1) * (Vh*dv + 2*Kh*dk) and recurrent state dk * Vh*dv (f32 elements).
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
    head_dim: int
    vocab_size: int
    num_experts: int
    num_experts_per_tok: int
    moe_intermediate_size: int
    linear_num_key_heads: int
    linear_num_value_heads: int
    linear_key_head_dim: int
    linear_value_head_dim: int
    linear_conv_kernel_dim: int = 4
    full_attention_interval: int = 4
    shared_expert_intermediate_size: int = 0
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = False

    def is_full(self, il: int) -> bool:
        return (il + 1) % self.full_attention_interval == 0


def build(config: dict, model_id: str) -> Model:
    c = Config.from_dict(config, model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, head_dim=c.head_dim, num_experts=c.num_experts,
             moe_intermediate_size=c.moe_intermediate_size, vocab_size=c.vocab_size,
             linear_num_key_heads=c.linear_num_key_heads, linear_num_value_heads=c.linear_num_value_heads,
             full_attention_interval=c.full_attention_interval)
    D, H, KV, hd, V = c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.vocab_size
    Kh, Vh, dk, dv = (c.linear_num_key_heads, c.linear_num_value_heads, c.linear_key_head_dim,
                      c.linear_value_head_dim)
    E, I, SI = c.num_experts, c.moe_intermediate_size, c.shared_expert_intermediate_size
    key_dim, value_dim = Kh * dk, Vh * dv
    conv_dim = 2 * key_dim + value_dim
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), "model.embed_tokens.weight")
    layers = []
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}."
        inv.blk(i, "attn_norm.weight", (D,), p + "input_layernorm.weight")
        inv.blk(i, "post_attention_norm.weight", (D,), p + "post_attention_layernorm.weight")
        if c.is_full(i):
            a = p + "self_attn."
            inv.blk(i, "attn_q.weight", (2 * H * hd, D), a + "q_proj.weight")
            inv.blk(i, "attn_k.weight", (KV * hd, D), a + "k_proj.weight")
            inv.blk(i, "attn_v.weight", (KV * hd, D), a + "v_proj.weight")
            inv.blk(i, "attn_output.weight", (D, H * hd), a + "o_proj.weight")
            inv.blk(i, "attn_q_norm.weight", (hd,), a + "q_norm.weight")
            inv.blk(i, "attn_k_norm.weight", (hd,), a + "k_norm.weight")
            layers.append(LayerAttention(AttnKind.FULL, H, KV, hd, hd))
        else:
            a = p + "linear_attn."
            inv.blk(i, "ssm_in.weight", (2 * key_dim + 2 * value_dim, D), a + "in_proj_qkvz.weight")
            inv.blk(i, "ssm_ba.weight", (2 * Vh, D), a + "in_proj_ba.weight")
            inv.blk(i, "ssm_conv1d.weight", (conv_dim, c.linear_conv_kernel_dim), a + "conv1d.weight")
            inv.blk(i, "ssm_dt.bias", (Vh,), a + "dt_bias")
            inv.blk(i, "ssm_a", (Vh,), a + "A_log")
            inv.blk(i, "ssm_norm.weight", (dv,), a + "norm.weight")
            inv.blk(i, "ssm_out.weight", (D, value_dim), a + "out_proj.weight")
            layers.append(LayerAttention(AttnKind.LINEAR, Vh, 0, dk, dv,
                                         state_r=(c.linear_conv_kernel_dim - 1) * conv_dim,
                                         state_s=dk * value_dim))
        m = p + "mlp."
        inv.blk(i, "ffn_gate_inp.weight", (E, D), m + "gate.weight")
        inv.blk(i, "ffn_gate_exps.weight", (E, I, D), m + "experts.{e}.gate_proj.weight")
        inv.blk(i, "ffn_up_exps.weight", (E, I, D), m + "experts.{e}.up_proj.weight")
        inv.blk(i, "ffn_down_exps.weight", (E, D, I), m + "experts.{e}.down_proj.weight")
        if SI:
            inv.blk(i, "ffn_gate_inp_shexp.weight", (D,), m + "shared_expert_gate.weight")
            inv.blk(i, "ffn_gate_shexp.weight", (SI, D), m + "shared_expert.gate_proj.weight")
            inv.blk(i, "ffn_up_shexp.weight", (SI, D), m + "shared_expert.up_proj.weight")
            inv.blk(i, "ffn_down_shexp.weight", (D, SI), m + "shared_expert.down_proj.weight")
    inv.add("output_norm.weight", (D,), "model.norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    moe = MoE(E, c.num_experts_per_tok, 1 if SI else 0, I)
    return make_model(model_id, "qwen3_next", "qwen3next", inv, layers, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings, moe=moe, tied=c.tie_word_embeddings)
