"""Qwen3.5 / Qwen3.6 / Qwen3.8 (HF model_type 'qwen3_5' dense and 'qwen3_5_moe'; llama.cpp
archs 'qwen35' and 'qwen35moe'): Qwen3-Next's hybrid of gated delta-net linear attention
(three layers in four) and gated full attention, with the language model under
``text_config`` of a vision-language checkpoint, separate q/k/v and z projections in the
linear layers, a dense SwiGLU FFN (dense models) or a routed MoE plus one gated shared
expert (MoE models), and ``mtp_num_hidden_layers`` multi-token-prediction blocks that
llama.cpp's converter writes as extra layers.

Per layer ``blk.N.`` (HF ``model.language_model.layers.N.``), as llama.cpp's converter
(conversion/qwen.py, Qwen3_5TextModel / Qwen3_5MoeTextModel) writes it and
src/models/qwen35.cpp / qwen35moe.cpp load it:
    attn_norm (D)                     input_layernorm
    post_attention_norm (D)           post_attention_layernorm
  full-attention layers (self_attn.*):
    attn_q (2*H*hd, D)                q_proj (query and output gate together)
    attn_k, attn_v (KV*hd, D); attn_output (D, H*hd); attn_q_norm, attn_k_norm (hd)
  linear-attention layers (linear_attn.*), Kh key heads of dk, Vh value heads of dv:
    attn_qkv (2*Kh*dk + Vh*dv, D)     in_proj_qkv
    attn_gate (Vh*dv, D)              in_proj_z
    ssm_beta, ssm_alpha (Vh, D)       in_proj_b, in_proj_a
    ssm_conv1d (2*Kh*dk + Vh*dv, kernel)   conv1d
    ssm_dt.bias (Vh); ssm_a (Vh)      dt_bias, A_log
    ssm_norm (dv); ssm_out (D, Vh*dv) norm, out_proj
  dense FFN (mlp.*): ffn_gate, ffn_up (F, D); ffn_down (D, F)
  MoE FFN (mlp.*): ffn_gate_inp (E, D); ffn_gate_exps, ffn_up_exps (E, I, D);
    ffn_down_exps (E, D, I); ffn_gate_inp_shexp (D); ffn_gate_shexp, ffn_up_shexp (SI, D);
    ffn_down_shexp (D, SI)
  MTP blocks ``blk.{L+k}`` (HF ``mtp.*``): a full-attention block with the same FFN plus
    nextn.eh_proj (D, 2D) (mtp.fc), nextn.enorm, nextn.hnorm, nextn.shared_head_norm (D);
    all mtp=True (the checkpoint shares the main embedding and head)
Global: token_embd (V, D), output_norm (D), output (V, D) unless tied.
A linear layer's state per sequence, as llama.cpp sizes it: conv state
(kernel-1) * (Vh*dv + 2*Kh*dk) and recurrent state dk * Vh*dv (f32 elements).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import InputError
from ..model import AttnKind, LayerAttention, Model, MoE
from ._base import HFConfig, Inventory, make_model, positive, text_config


@dataclass
class Config(HFConfig):
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    vocab_size: int
    linear_num_key_heads: int
    linear_num_value_heads: int
    linear_key_head_dim: int
    linear_value_head_dim: int
    linear_conv_kernel_dim: int = 4
    full_attention_interval: int = 4
    layer_types: list = field(default_factory=list)
    intermediate_size: int = 0
    num_experts: int = 0
    num_experts_per_tok: int = 0
    moe_intermediate_size: int = 0
    shared_expert_intermediate_size: int = 0
    mtp_num_hidden_layers: int = 0
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = False

    def is_full(self, il: int) -> bool:
        if il >= self.num_hidden_layers:          # MTP blocks attend fully
            return True
        if self.layer_types:
            return self.layer_types[il] == "full_attention"
        return (il + 1) % self.full_attention_interval == 0


def build(config: dict, model_id: str) -> Model:
    c = Config.from_dict(text_config(config), model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, num_key_value_heads=c.num_key_value_heads,
             head_dim=c.head_dim, vocab_size=c.vocab_size, linear_num_key_heads=c.linear_num_key_heads,
             linear_num_value_heads=c.linear_num_value_heads, linear_key_head_dim=c.linear_key_head_dim,
             linear_value_head_dim=c.linear_value_head_dim, full_attention_interval=c.full_attention_interval)
    if c.layer_types and len(c.layer_types) != c.num_hidden_layers:
        raise InputError(f"{model_id}: config.json 'layer_types' has {len(c.layer_types)} entries for "
                         f"{c.num_hidden_layers} layers")
    moe = c.num_experts > 0
    if moe:
        positive(model_id, num_experts_per_tok=c.num_experts_per_tok, moe_intermediate_size=c.moe_intermediate_size)
    else:
        positive(model_id, intermediate_size=c.intermediate_size)
    D, H, KV, hd, V, L = (c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim,
                          c.vocab_size, c.num_hidden_layers)
    Kh, Vh, dk, dv = (c.linear_num_key_heads, c.linear_num_value_heads, c.linear_key_head_dim,
                      c.linear_value_head_dim)
    key_dim, value_dim = Kh * dk, Vh * dv
    conv_dim = 2 * key_dim + value_dim
    E, I, SI, F = c.num_experts, c.moe_intermediate_size, c.shared_expert_intermediate_size, c.intermediate_size
    lm = "model.language_model." if "text_config" in config else "model."
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), lm + "embed_tokens.weight")
    layers = []
    for i in range(L + c.mtp_num_hidden_layers):
        inv.mtp = i >= L
        p = f"{lm}layers.{i}." if i < L else f"mtp.layers.{i - L}."
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
            if i < L:
                layers.append(LayerAttention(AttnKind.FULL, H, KV, hd, hd))
        else:
            a = p + "linear_attn."
            inv.blk(i, "attn_qkv.weight", (conv_dim, D), a + "in_proj_qkv.weight")
            inv.blk(i, "attn_gate.weight", (value_dim, D), a + "in_proj_z.weight")
            inv.blk(i, "ssm_beta.weight", (Vh, D), a + "in_proj_b.weight")
            inv.blk(i, "ssm_alpha.weight", (Vh, D), a + "in_proj_a.weight")
            inv.blk(i, "ssm_conv1d.weight", (conv_dim, c.linear_conv_kernel_dim), a + "conv1d.weight")
            inv.blk(i, "ssm_dt.bias", (Vh,), a + "dt_bias")
            inv.blk(i, "ssm_a", (Vh,), a + "A_log")
            inv.blk(i, "ssm_norm.weight", (dv,), a + "norm.weight")
            inv.blk(i, "ssm_out.weight", (D, value_dim), a + "out_proj.weight")
            layers.append(LayerAttention(AttnKind.LINEAR, Vh, 0, dk, dv,
                                         state_r=(c.linear_conv_kernel_dim - 1) * conv_dim,
                                         state_s=dk * value_dim))
        m = p + "mlp."
        if moe:
            inv.blk(i, "ffn_gate_inp.weight", (E, D), m + "gate.weight")
            inv.blk(i, "ffn_gate_exps.weight", (E, I, D), m + "experts.gate_up_proj")
            inv.blk(i, "ffn_up_exps.weight", (E, I, D), m + "experts.gate_up_proj")
            inv.blk(i, "ffn_down_exps.weight", (E, D, I), m + "experts.down_proj")
            if SI:
                inv.blk(i, "ffn_gate_inp_shexp.weight", (D,), m + "shared_expert_gate.weight")
                inv.blk(i, "ffn_gate_shexp.weight", (SI, D), m + "shared_expert.gate_proj.weight")
                inv.blk(i, "ffn_up_shexp.weight", (SI, D), m + "shared_expert.up_proj.weight")
                inv.blk(i, "ffn_down_shexp.weight", (D, SI), m + "shared_expert.down_proj.weight")
        else:
            inv.blk(i, "ffn_gate.weight", (F, D), m + "gate_proj.weight")
            inv.blk(i, "ffn_up.weight", (F, D), m + "up_proj.weight")
            inv.blk(i, "ffn_down.weight", (D, F), m + "down_proj.weight")
        if inv.mtp:
            q = "mtp."
            inv.blk(i, "nextn.eh_proj.weight", (D, 2 * D), q + "fc.weight")
            inv.blk(i, "nextn.enorm.weight", (D,), q + "pre_fc_norm_embedding.weight")
            inv.blk(i, "nextn.hnorm.weight", (D,), q + "pre_fc_norm_hidden.weight")
            inv.blk(i, "nextn.shared_head_norm.weight", (D,), q + "norm.weight")
    inv.mtp = False
    inv.add("output_norm.weight", (D,), lm + "norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    arch = "qwen35moe" if moe else "qwen35"
    family = "qwen3_5_moe" if moe else "qwen3_5"
    return make_model(model_id, family, arch, inv, layers, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings,
                      moe=MoE(E, c.num_experts_per_tok, 1 if SI else 0, I) if moe else None,
                      tied=c.tie_word_embeddings, n_mtp=c.mtp_num_hidden_layers)
