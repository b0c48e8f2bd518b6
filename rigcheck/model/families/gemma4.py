"""Gemma 4 (HF model_type 'gemma4' with a 'gemma4_text' text_config; llama.cpp arch 'gemma4').

Sliding-window and full-attention layers as ``layer_types`` lists them (five SWA then one
full in the 31B and 26B-A4B), with different shapes: SWA layers have ``num_key_value_heads``
heads of ``head_dim``; full layers ``num_global_key_value_heads`` heads of
``global_head_dim``, and with ``attention_k_eq_v`` no v_proj (the keys serve as values;
llama.cpp still caches both). ``enable_moe_block`` adds a routed MoE beside the dense FFN
of every layer (the dense FFN acts as the shared expert). ``hidden_size_per_layer_input``
(E2B/E4B) adds per-layer input embeddings; ``num_kv_shared_layers`` last layers reuse an
earlier layer's cache and hold no KV of their own (nor k/v projections or k_norm: the
checkpoints leave them out, and llama.cpp's loader makes them optional on those layers).

Per layer ``blk.N.`` (HF ``model.language_model.layers.N.``), as llama.cpp's converter
(conversion/gemma.py Gemma4Model) writes it and src/models/gemma4.cpp loads it:
    attn_norm (D)                     input_layernorm
    attn_q (H*hd_l, D); attn_k (KV_l*hd_l, D); attn_v (KV_l*hd_l, D) unless k_eq_v on a
      full layer; attn_output (D, H*hd_l); attn_q_norm, attn_k_norm (hd_l)
    post_attention_norm (D)           post_attention_layernorm
    layer_output_scale (1)            layer_scalar
    ffn_norm (D); ffn_gate, ffn_up (F, D); ffn_down (D, F); post_ffw_norm (D)
  MoE layers: ffn_gate_inp (E, D) and ffn_gate_inp.scale (D) (router.proj, router.scale);
    pre_ffw_norm_2, post_ffw_norm_1, post_ffw_norm_2 (D); ffn_gate_up_exps (E, 2I, D);
    ffn_down_exps (E, D, I); ffn_down_exps.scale (E) (router.per_expert_scale)
  per-layer input (Pl = hidden_size_per_layer_input): inp_gate (Pl, D); proj (D, Pl);
    post_norm (D)
Global: token_embd (V, D) (tied), rope_freqs (global_head_dim/2) (the converter's
proportional-RoPE factors), output_norm (D); with per-layer input also
per_layer_token_embd (V, L*Pl), per_layer_model_proj (L*Pl, D), per_layer_proj_norm (Pl).
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
    intermediate_size: int
    vocab_size: int
    layer_types: list
    global_head_dim: int = 0
    num_global_key_value_heads: int = 0
    attention_k_eq_v: bool = False
    sliding_window: int = 0
    enable_moe_block: bool = False
    num_experts: int = 0
    top_k_experts: int = 0
    moe_intermediate_size: int = 0
    expert_intermediate_size: int = 0
    hidden_size_per_layer_input: int = 0
    vocab_size_per_layer_input: int = 0
    num_kv_shared_layers: int = 0
    use_double_wide_mlp: bool = False
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = True

    def is_swa(self, il: int) -> bool:
        return self.layer_types[il] == "sliding_attention"


def build(config: dict, model_id: str) -> Model:
    c = Config.from_dict(text_config(config), model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, num_key_value_heads=c.num_key_value_heads,
             head_dim=c.head_dim, intermediate_size=c.intermediate_size, vocab_size=c.vocab_size)
    L = c.num_hidden_layers
    if len(c.layer_types) != L:
        raise InputError(f"{model_id}: config.json 'layer_types' has {len(c.layer_types)} entries for {L} layers")
    D, H, V, F = c.hidden_size, c.num_attention_heads, c.vocab_size, c.intermediate_size
    ghd = c.global_head_dim or c.head_dim
    gkv = c.num_global_key_value_heads or c.num_key_value_heads
    moe = bool(c.enable_moe_block and c.num_experts)
    E, I = c.num_experts, c.moe_intermediate_size or c.expert_intermediate_size
    if moe:
        positive(model_id, top_k_experts=c.top_k_experts, moe_intermediate_size=I)
    Pl = c.hidden_size_per_layer_input
    first_shared = L - c.num_kv_shared_layers
    lm = "model.language_model." if "text_config" in config else "model."
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), lm + "embed_tokens.weight")
    if Pl:
        inv.add("per_layer_token_embd.weight", (c.vocab_size_per_layer_input or V, L * Pl),
                lm + "embed_tokens_per_layer.weight")
        inv.add("per_layer_model_proj.weight", (L * Pl, D), lm + "per_layer_model_projection.weight")
        inv.add("per_layer_proj_norm.weight", (Pl,), lm + "per_layer_projection_norm.weight")
    if any(not c.is_swa(i) for i in range(L)):
        inv.add("rope_freqs.weight", (ghd // 2,), None)
    layers = []
    for i in range(L):
        p = f"{lm}layers.{i}."
        a = p + "self_attn."
        swa = c.is_swa(i)
        hd, kv = (c.head_dim, c.num_key_value_heads) if swa else (ghd, gkv)
        inv.blk(i, "attn_norm.weight", (D,), p + "input_layernorm.weight")
        inv.blk(i, "attn_q.weight", (H * hd, D), a + "q_proj.weight")
        own_kv = i < first_shared            # KV-shared layers ship no k/v projections or k_norm
        if own_kv:
            inv.blk(i, "attn_k.weight", (kv * hd, D), a + "k_proj.weight")
        if own_kv and (swa or not c.attention_k_eq_v):
            inv.blk(i, "attn_v.weight", (kv * hd, D), a + "v_proj.weight")
        inv.blk(i, "attn_output.weight", (D, H * hd), a + "o_proj.weight")
        inv.blk(i, "attn_q_norm.weight", (hd,), a + "q_norm.weight")
        if own_kv:
            inv.blk(i, "attn_k_norm.weight", (hd,), a + "k_norm.weight")
        inv.blk(i, "post_attention_norm.weight", (D,), p + "post_attention_layernorm.weight")
        inv.blk(i, "layer_output_scale.weight", (1,), p + "layer_scalar")
        ff = 2 * F if c.use_double_wide_mlp and i >= first_shared else F
        inv.blk(i, "ffn_norm.weight", (D,), p + "pre_feedforward_layernorm.weight")
        inv.blk(i, "ffn_gate.weight", (ff, D), p + "mlp.gate_proj.weight")
        inv.blk(i, "ffn_up.weight", (ff, D), p + "mlp.up_proj.weight")
        inv.blk(i, "ffn_down.weight", (D, ff), p + "mlp.down_proj.weight")
        inv.blk(i, "post_ffw_norm.weight", (D,), p + "post_feedforward_layernorm.weight")
        if moe:
            inv.blk(i, "ffn_gate_inp.weight", (E, D), p + "router.proj.weight")
            inv.blk(i, "ffn_gate_inp.scale", (D,), p + "router.scale")
            inv.blk(i, "pre_ffw_norm_2.weight", (D,), p + "pre_feedforward_layernorm_2.weight")
            inv.blk(i, "post_ffw_norm_1.weight", (D,), p + "post_feedforward_layernorm_1.weight")
            inv.blk(i, "post_ffw_norm_2.weight", (D,), p + "post_feedforward_layernorm_2.weight")
            inv.blk(i, "ffn_gate_up_exps.weight", (E, 2 * I, D), p + "experts.gate_up_proj")
            inv.blk(i, "ffn_down_exps.weight", (E, D, I), p + "experts.down_proj")
            inv.blk(i, "ffn_down_exps.scale", (E,), p + "router.per_expert_scale")
        if Pl:
            inv.blk(i, "inp_gate.weight", (Pl, D), p + "per_layer_input_gate.weight")
            inv.blk(i, "proj.weight", (D, Pl), p + "per_layer_projection.weight")
            inv.blk(i, "post_norm.weight", (D,), p + "post_per_layer_input_norm.weight")
        if i >= first_shared:
            layers.append(LayerAttention(AttnKind.NONE, H, 0, hd, hd))
        else:
            layers.append(LayerAttention(AttnKind.SWA if swa else AttnKind.FULL, H, kv, hd, hd,
                                         window=c.sliding_window if swa else 0))
    inv.add("output_norm.weight", (D,), lm + "norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    return make_model(model_id, "gemma4", "gemma4", inv, layers, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings,
                      moe=MoE(E, c.top_k_experts, 1, I) if moe else None, tied=c.tie_word_embeddings)
