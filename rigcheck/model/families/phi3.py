"""Phi-3 / Phi-3.5 / Phi-4 dense (HF model_type 'phi3'; llama.cpp arch 'phi3').

The checkpoint keeps q, k and v in one projection and gate and up in another, and
llama.cpp's converter keeps them fused. Per layer ``blk.N.``:
    attn_norm (D)                                   input_layernorm
    attn_qkv (H*hd + 2*KV*hd, D)                    self_attn.qkv_proj
    attn_output (D, H*hd)                           self_attn.o_proj
    ffn_norm (D)                                    post_attention_layernorm
    ffn_up (2*F, D)                                 mlp.gate_up_proj (gate and up stacked)
    ffn_down (D, F)                                 mlp.down_proj
Global: token_embd (V, D), output_norm (D), output (V, D) unless tied. With LongRoPE
scaling (rope_scaling type 'longrope' or 'su', Phi-3.5 and the 128k Phi-3 models) the
converter also writes rope_factors_long and rope_factors_short, (rot_dim/2,) each, where
rot_dim = head_dim * partial_rotary_factor. A ``sliding_window`` shorter than the trained
context makes every layer a sliding-window layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import AttnKind, LayerAttention, Model
from ._base import HFConfig, Inventory, make_model, positive


@dataclass
class Config(HFConfig):
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int
    num_key_value_heads: int = 0
    head_dim: int = 0
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = False
    rope_scaling: dict | None = None
    partial_rotary_factor: float = 1.0
    sliding_window: int | None = None

    def __post_init__(self):
        self.num_key_value_heads = self.num_key_value_heads or self.num_attention_heads
        if not self.head_dim and self.num_attention_heads:
            self.head_dim = self.hidden_size // self.num_attention_heads


def build(config: dict, model_id: str) -> Model:
    c = Config.from_dict(config, model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, intermediate_size=c.intermediate_size,
             vocab_size=c.vocab_size)
    D, H, KV, hd, F, V = (c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim,
                          c.intermediate_size, c.vocab_size)
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), "model.embed_tokens.weight")
    scaling = c.rope_scaling or {}
    if (scaling.get("rope_type") or scaling.get("type")) in ("longrope", "su"):
        rot = int(hd * float(c.partial_rotary_factor or 1.0))
        inv.add("rope_factors_long.weight", (rot // 2,), None)
        inv.add("rope_factors_short.weight", (rot // 2,), None)
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}."
        inv.blk(i, "attn_norm.weight", (D,), p + "input_layernorm.weight")
        inv.blk(i, "attn_qkv.weight", (H * hd + 2 * KV * hd, D), p + "self_attn.qkv_proj.weight")
        inv.blk(i, "attn_output.weight", (D, H * hd), p + "self_attn.o_proj.weight")
        inv.blk(i, "ffn_norm.weight", (D,), p + "post_attention_layernorm.weight")
        inv.blk(i, "ffn_up.weight", (2 * F, D), p + "mlp.gate_up_proj.weight")
        inv.blk(i, "ffn_down.weight", (D, F), p + "mlp.down_proj.weight")
    inv.add("output_norm.weight", (D,), "model.norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    window = int(c.sliding_window or 0)
    if window and c.max_position_embeddings and window >= c.max_position_embeddings:
        window = 0  # a window at least as long as the context never slides
    kind = AttnKind.SWA if window else AttnKind.FULL
    layers = [LayerAttention(kind, H, KV, hd, hd, window=window) for _ in range(c.num_hidden_layers)]
    return make_model(model_id, "phi3", "phi3", inv, layers, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings, tied=c.tie_word_embeddings)
