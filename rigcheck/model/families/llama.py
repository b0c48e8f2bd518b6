"""Llama-style dense decoder (HF model_type 'llama'; llama.cpp arch 'llama').

Tensor inventory as llama.cpp's converter writes it, per layer ``blk.N.``:
    attn_norm (D)                     input_layernorm
    attn_q (H*hd, D)  attn_k (KV*hd, D)  attn_v (KV*hd, D)   q/k/v_proj (+ .bias if attention_bias)
    attn_output (D, H*hd)             o_proj (+ .bias if attention_bias)
    ffn_norm (D)                      post_attention_layernorm
    ffn_gate (F, D)  ffn_up (F, D)  ffn_down (D, F)          gate/up/down_proj (+ .bias if mlp_bias)
    (+ attn_q_norm / attn_k_norm (hd) for families with per-head q/k norms)
and globally token_embd (V, D), output_norm (D), output (V, D) unless tied, plus
rope_freqs (hd/2) when rope_scaling is 'llama3' (the converter stores the scaled
frequencies as a tensor). Mistral, Qwen2 and Qwen3 dense reuse ``build_dense``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import AttnKind, LayerAttention, Model
from ._base import HFConfig, Inventory, make_model, positive

P = "model.layers.{i}."


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
    attention_bias: bool = False
    mlp_bias: bool = False
    rope_scaling: dict | None = None
    sliding_window: int | None = None
    use_sliding_window: bool = True
    max_window_layers: int = 0

    def __post_init__(self):
        self.num_key_value_heads = self.num_key_value_heads or self.num_attention_heads
        if not self.head_dim and self.num_attention_heads:
            self.head_dim = self.hidden_size // self.num_attention_heads


def layer_attention(c: Config, il: int) -> LayerAttention:
    """Full GQA attention, or a sliding window where the config turns one on."""
    swa = bool(c.sliding_window) and c.use_sliding_window and il >= c.max_window_layers
    return LayerAttention(AttnKind.SWA if swa else AttnKind.FULL, c.num_attention_heads,
                          c.num_key_value_heads, c.head_dim, c.head_dim,
                          window=int(c.sliding_window) if swa else 0)


def build_dense(config: dict, model_id: str, *, family: str, arch: str, qkv_bias: bool = False,
                qk_norm: bool = False, rope_freqs: bool = True, cfg_cls=Config) -> Model:
    c = cfg_cls.from_dict(config, model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, intermediate_size=c.intermediate_size,
             vocab_size=c.vocab_size)
    D, H, KV, hd, F, V = (c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim,
                          c.intermediate_size, c.vocab_size)
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), "model.embed_tokens.weight")
    scaling = c.rope_scaling or {}
    if rope_freqs and (scaling.get("rope_type") or scaling.get("type")) == "llama3":
        inv.add("rope_freqs.weight", (hd // 2,), None)
    for i in range(c.num_hidden_layers):
        p = P.format(i=i)
        inv.blk(i, "attn_norm.weight", (D,), p + "input_layernorm.weight")
        for gg, hf, rows in (("attn_q", "q_proj", H * hd), ("attn_k", "k_proj", KV * hd),
                             ("attn_v", "v_proj", KV * hd)):
            inv.blk(i, f"{gg}.weight", (rows, D), f"{p}self_attn.{hf}.weight")
            if c.attention_bias or qkv_bias:
                inv.blk(i, f"{gg}.bias", (rows,), f"{p}self_attn.{hf}.bias")
        inv.blk(i, "attn_output.weight", (D, H * hd), p + "self_attn.o_proj.weight")
        if c.attention_bias:
            inv.blk(i, "attn_output.bias", (D,), p + "self_attn.o_proj.bias")
        if qk_norm:
            inv.blk(i, "attn_q_norm.weight", (hd,), p + "self_attn.q_norm.weight")
            inv.blk(i, "attn_k_norm.weight", (hd,), p + "self_attn.k_norm.weight")
        inv.blk(i, "ffn_norm.weight", (D,), p + "post_attention_layernorm.weight")
        for gg, hf, shape in (("ffn_gate", "gate_proj", (F, D)), ("ffn_up", "up_proj", (F, D)),
                              ("ffn_down", "down_proj", (D, F))):
            inv.blk(i, f"{gg}.weight", shape, f"{p}mlp.{hf}.weight")
            if c.mlp_bias:
                inv.blk(i, f"{gg}.bias", shape[:1], f"{p}mlp.{hf}.bias")
    inv.add("output_norm.weight", (D,), "model.norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    layers = [layer_attention(c, i) for i in range(c.num_hidden_layers)]
    return make_model(model_id, family, arch, inv, layers, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings, tied=c.tie_word_embeddings)


def build(config: dict, model_id: str) -> Model:
    if isinstance(config, dict) and config.get("max_position_embeddings") is None:
        # LlamaConfig's default; LLaMA 1 conversions leave the key out (or write max_sequence_length)
        config = dict(config, max_position_embeddings=2048)
    return build_dense(config, model_id, family="llama", arch="llama")
