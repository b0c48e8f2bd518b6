"""Qwen3 MoE (HF model_type 'qwen3_moe'; llama.cpp arch 'qwen3moe'): Qwen3-30B-A3B,
Qwen3-235B-A22B.

Per layer ``blk.N.``:
    attn_norm (D); attn_q (H*hd, D); attn_k, attn_v (KV*hd, D); attn_output (D, H*hd)
    attn_q_norm, attn_k_norm (hd)                        per-head RMS norms
    ffn_norm (D)
  sparse layers (all, unless listed in mlp_only_layers / off the decoder_sparse_step):
    ffn_gate_inp (E, D)                                  mlp.gate
    ffn_gate_exps, ffn_up_exps (E, I, D); ffn_down_exps (E, D, I)   mlp.experts.{e}.*_proj
  dense layers: ffn_gate, ffn_up (F, D); ffn_down (D, F)
Global: token_embd (V, D), output_norm (D), output (V, D) unless tied. No shared expert,
no biases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import AttnKind, LayerAttention, Model, MoE
from ._base import HFConfig, Inventory, make_model, positive


@dataclass
class Config(HFConfig):
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    vocab_size: int
    num_experts: int
    num_experts_per_tok: int
    moe_intermediate_size: int
    head_dim: int = 0
    intermediate_size: int = 0
    decoder_sparse_step: int = 1
    mlp_only_layers: list = field(default_factory=list)
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = False

    def __post_init__(self):
        if not self.head_dim and self.num_attention_heads:
            self.head_dim = self.hidden_size // self.num_attention_heads

    def is_sparse(self, il: int) -> bool:
        step = self.decoder_sparse_step or 1
        return il not in self.mlp_only_layers and self.num_experts > 0 and (il + 1) % step == 0


def build(config: dict, model_id: str) -> Model:
    c = Config.from_dict(config, model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, num_experts=c.num_experts,
             moe_intermediate_size=c.moe_intermediate_size, vocab_size=c.vocab_size)
    D, H, KV, hd, V = c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.vocab_size
    E, I = c.num_experts, c.moe_intermediate_size
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), "model.embed_tokens.weight")
    n_dense = 0
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}."
        inv.blk(i, "attn_norm.weight", (D,), p + "input_layernorm.weight")
        inv.blk(i, "attn_q.weight", (H * hd, D), p + "self_attn.q_proj.weight")
        inv.blk(i, "attn_k.weight", (KV * hd, D), p + "self_attn.k_proj.weight")
        inv.blk(i, "attn_v.weight", (KV * hd, D), p + "self_attn.v_proj.weight")
        inv.blk(i, "attn_output.weight", (D, H * hd), p + "self_attn.o_proj.weight")
        inv.blk(i, "attn_q_norm.weight", (hd,), p + "self_attn.q_norm.weight")
        inv.blk(i, "attn_k_norm.weight", (hd,), p + "self_attn.k_norm.weight")
        inv.blk(i, "ffn_norm.weight", (D,), p + "post_attention_layernorm.weight")
        if c.is_sparse(i):
            inv.blk(i, "ffn_gate_inp.weight", (E, D), p + "mlp.gate.weight")
            inv.blk(i, "ffn_gate_exps.weight", (E, I, D), p + "mlp.experts.{e}.gate_proj.weight")
            inv.blk(i, "ffn_up_exps.weight", (E, I, D), p + "mlp.experts.{e}.up_proj.weight")
            inv.blk(i, "ffn_down_exps.weight", (E, D, I), p + "mlp.experts.{e}.down_proj.weight")
        else:
            n_dense += 1
            F = c.intermediate_size
            positive(model_id, intermediate_size=F)
            inv.blk(i, "ffn_gate.weight", (F, D), p + "mlp.gate_proj.weight")
            inv.blk(i, "ffn_up.weight", (F, D), p + "mlp.up_proj.weight")
            inv.blk(i, "ffn_down.weight", (D, F), p + "mlp.down_proj.weight")
    inv.add("output_norm.weight", (D,), "model.norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    layers = [LayerAttention(AttnKind.FULL, H, KV, hd, hd) for _ in range(c.num_hidden_layers)]
    moe = MoE(E, c.num_experts_per_tok, 0, I, n_dense)
    return make_model(model_id, "qwen3_moe", "qwen3moe", inv, layers, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings, moe=moe, tied=c.tie_word_embeddings)
