"""GLM-4.5 / 4.6 / 4.5-Air (HF model_type 'glm4_moe'; llama.cpp arch 'glm4moe').

Per layer ``blk.N.`` (HF ``model.layers.N.``):
    attn_norm (D)                                   input_layernorm
    attn_q (H*hd, D) + .bias; attn_k, attn_v (KV*hd, D) + .bias   (attention_bias)
    attn_output (D, H*hd)                           o_proj (no bias)
    attn_q_norm, attn_k_norm (hd)                   only when use_qk_norm
    post_attention_norm (D)                         post_attention_layernorm
  the first first_k_dense_replace layers: ffn_gate, ffn_up (F, D); ffn_down (D, F)
  the others: ffn_gate_inp (E, D); exp_probs_b.bias (E) (mlp.gate.e_score_correction_bias);
    ffn_gate_exps, ffn_up_exps (E, I, D); ffn_down_exps (E, D, I);
    ffn_gate_shexp, ffn_up_shexp (S*I, D); ffn_down_shexp (D, S*I)
Global: token_embd (V, D), output_norm (D), output (V, D).
MTP (mtp=True): num_nextn_predict_layers more blocks ``blk.{L+k}`` with nextn.eh_proj
(D, 2D), nextn.enorm, nextn.hnorm, nextn.shared_head_norm (D) and the checkpoint's own
copies nextn.embed_tokens and nextn.shared_head_head (V, D), as llama.cpp's converter
keeps them.
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
    intermediate_size: int
    moe_intermediate_size: int
    n_routed_experts: int
    num_experts_per_tok: int
    head_dim: int = 0
    n_shared_experts: int = 0
    first_k_dense_replace: int = 0
    attention_bias: bool = False
    use_qk_norm: bool = False
    num_nextn_predict_layers: int = 0
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = False

    def __post_init__(self):
        if not self.head_dim and self.num_attention_heads:
            self.head_dim = self.hidden_size // self.num_attention_heads


def build(config: dict, model_id: str) -> Model:
    c = Config.from_dict(config, model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, n_routed_experts=c.n_routed_experts,
             moe_intermediate_size=c.moe_intermediate_size, vocab_size=c.vocab_size)
    D, H, KV, hd, V, L = (c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim,
                          c.vocab_size, c.num_hidden_layers)
    E, I, F = c.n_routed_experts, c.moe_intermediate_size, c.intermediate_size
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), "model.embed_tokens.weight")
    for i in range(L + c.num_nextn_predict_layers):
        inv.mtp = i >= L
        p = f"model.layers.{i}."
        a, m = p + "self_attn.", p + "mlp."
        inv.blk(i, "attn_norm.weight", (D,), p + "input_layernorm.weight")
        for gg, hf, rows in (("attn_q", "q_proj", H * hd), ("attn_k", "k_proj", KV * hd),
                             ("attn_v", "v_proj", KV * hd)):
            inv.blk(i, f"{gg}.weight", (rows, D), a + hf + ".weight")
            if c.attention_bias:
                inv.blk(i, f"{gg}.bias", (rows,), a + hf + ".bias")
        inv.blk(i, "attn_output.weight", (D, H * hd), a + "o_proj.weight")
        if c.use_qk_norm:
            inv.blk(i, "attn_q_norm.weight", (hd,), a + "q_norm.weight")
            inv.blk(i, "attn_k_norm.weight", (hd,), a + "k_norm.weight")
        inv.blk(i, "post_attention_norm.weight", (D,), p + "post_attention_layernorm.weight")
        if i < c.first_k_dense_replace:
            inv.blk(i, "ffn_gate.weight", (F, D), m + "gate_proj.weight")
            inv.blk(i, "ffn_up.weight", (F, D), m + "up_proj.weight")
            inv.blk(i, "ffn_down.weight", (D, F), m + "down_proj.weight")
        else:
            inv.blk(i, "ffn_gate_inp.weight", (E, D), m + "gate.weight")
            inv.blk(i, "exp_probs_b.bias", (E,), m + "gate.e_score_correction_bias")
            inv.blk(i, "ffn_gate_exps.weight", (E, I, D), m + "experts.{e}.gate_proj.weight")
            inv.blk(i, "ffn_up_exps.weight", (E, I, D), m + "experts.{e}.up_proj.weight")
            inv.blk(i, "ffn_down_exps.weight", (E, D, I), m + "experts.{e}.down_proj.weight")
            if c.n_shared_experts:
                S = c.n_shared_experts * I
                inv.blk(i, "ffn_gate_shexp.weight", (S, D), m + "shared_experts.gate_proj.weight")
                inv.blk(i, "ffn_up_shexp.weight", (S, D), m + "shared_experts.up_proj.weight")
                inv.blk(i, "ffn_down_shexp.weight", (D, S), m + "shared_experts.down_proj.weight")
        if inv.mtp:
            inv.blk(i, "nextn.eh_proj.weight", (D, 2 * D), p + "eh_proj.weight")
            inv.blk(i, "nextn.embed_tokens.weight", (V, D), p + "embed_tokens.weight")
            inv.blk(i, "nextn.enorm.weight", (D,), p + "enorm.weight")
            inv.blk(i, "nextn.hnorm.weight", (D,), p + "hnorm.weight")
            inv.blk(i, "nextn.shared_head_head.weight", (V, D), p + "shared_head.head.weight")
            inv.blk(i, "nextn.shared_head_norm.weight", (D,), p + "shared_head.norm.weight")
    inv.mtp = False
    inv.add("output_norm.weight", (D,), "model.norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    layers = [LayerAttention(AttnKind.FULL, H, KV, hd, hd) for _ in range(L)]
    moe = MoE(E, c.num_experts_per_tok, c.n_shared_experts, I, min(c.first_k_dense_replace, L))
    return make_model(model_id, "glm4_moe", "glm4moe", inv, layers, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings, moe=moe, tied=c.tie_word_embeddings,
                      n_mtp=c.num_nextn_predict_layers)
