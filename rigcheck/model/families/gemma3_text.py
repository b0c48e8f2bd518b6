"""Gemma 3 text model (HF model_type 'gemma3_text'; llama.cpp arch 'gemma3').

Per layer ``blk.N.`` (HF ``model.layers.N.``):
    attn_norm (D)                     input_layernorm
    attn_q (H*hd, D); attn_k, attn_v (KV*hd, D); attn_output (D, H*hd)
    attn_q_norm, attn_k_norm (hd)     self_attn.q_norm / k_norm
    post_attention_norm (D)           post_attention_layernorm
    ffn_norm (D)                      pre_feedforward_layernorm
    ffn_gate, ffn_up (F, D); ffn_down (D, F)
    post_ffw_norm (D)                 post_feedforward_layernorm
Global: token_embd (V, D) (tied: no output tensor), output_norm (D).
Attention: five sliding-window layers (sliding_window tokens) then one global layer,
repeating (sliding_window_pattern 6), or as ``layer_types`` lists them.
Defaults for keys the released configs leave out are Gemma3TextConfig's
(vocab_size 262208, max_position_embeddings 131072, pattern 6; transformers 4.50).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import AttnKind, LayerAttention, Model
from ._base import HFConfig, Inventory, make_model, positive, text_config


@dataclass
class Config(HFConfig):
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    head_dim: int = 256
    num_key_value_heads: int = 0
    vocab_size: int = 262208
    sliding_window: int = 4096
    sliding_window_pattern: int = 6
    layer_types: list = field(default_factory=list)
    max_position_embeddings: int = 131072
    tie_word_embeddings: bool = True

    def __post_init__(self):
        self.num_key_value_heads = self.num_key_value_heads or self.num_attention_heads

    def is_swa(self, il: int) -> bool:
        if self.layer_types:
            return self.layer_types[il] == "sliding_attention"
        n = self.sliding_window_pattern or 1
        return (il + 1) % n != 0


def build(config: dict, model_id: str, family: str = "gemma3_text") -> Model:
    c = Config.from_dict(text_config(config), model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, intermediate_size=c.intermediate_size,
             head_dim=c.head_dim, vocab_size=c.vocab_size)
    D, H, KV, hd, F, V = (c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim,
                          c.intermediate_size, c.vocab_size)
    prefix = "language_model.model." if "text_config" in config else "model."
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), prefix + "embed_tokens.weight")
    for i in range(c.num_hidden_layers):
        p = f"{prefix}layers.{i}."
        inv.blk(i, "attn_norm.weight", (D,), p + "input_layernorm.weight")
        inv.blk(i, "attn_q.weight", (H * hd, D), p + "self_attn.q_proj.weight")
        inv.blk(i, "attn_k.weight", (KV * hd, D), p + "self_attn.k_proj.weight")
        inv.blk(i, "attn_v.weight", (KV * hd, D), p + "self_attn.v_proj.weight")
        inv.blk(i, "attn_output.weight", (D, H * hd), p + "self_attn.o_proj.weight")
        inv.blk(i, "attn_q_norm.weight", (hd,), p + "self_attn.q_norm.weight")
        inv.blk(i, "attn_k_norm.weight", (hd,), p + "self_attn.k_norm.weight")
        inv.blk(i, "post_attention_norm.weight", (D,), p + "post_attention_layernorm.weight")
        inv.blk(i, "ffn_norm.weight", (D,), p + "pre_feedforward_layernorm.weight")
        inv.blk(i, "ffn_gate.weight", (F, D), p + "mlp.gate_proj.weight")
        inv.blk(i, "ffn_up.weight", (F, D), p + "mlp.up_proj.weight")
        inv.blk(i, "ffn_down.weight", (D, F), p + "mlp.down_proj.weight")
        inv.blk(i, "post_ffw_norm.weight", (D,), p + "post_feedforward_layernorm.weight")
    inv.add("output_norm.weight", (D,), prefix + "norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    layers = [LayerAttention(AttnKind.SWA if c.is_swa(i) else AttnKind.FULL, H, KV, hd, hd,
                             window=c.sliding_window if c.is_swa(i) else 0)
              for i in range(c.num_hidden_layers)]
    return make_model(model_id, family, "gemma3", inv, layers, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings, tied=c.tie_word_embeddings)
