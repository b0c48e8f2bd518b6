"""Phi-1 / Phi-1.5 / Phi-2 dense (HF model_type 'phi', PhiForCausalLM; llama.cpp arch 'phi2').

A GPT-J-style parallel block: one LayerNorm (with bias) feeds attention and the MLP side by
side, so there is no second norm per layer; every projection has a bias, the MLP is
fc1 -> GELU -> fc2 (no gate), the output head has a bias, and RoPE turns only
``partial_rotary_factor`` of each head. Tensors as llama.cpp's converter writes the
transformers checkpoint (conversion/phi.py, Phi2Model), loaded by src/models/phi2.cpp
(llama-cpp-python 0.3.36), per layer ``blk.N.``:
    attn_norm (D) + .bias             input_layernorm
    attn_q / attn_k / attn_v (KV*hd, D) + .bias    self_attn.q_proj / k_proj / v_proj
    attn_output (D, H*hd) + .bias     self_attn.dense
    ffn_up (F, D) + .bias             mlp.fc1
    ffn_down (D, F) + .bias           mlp.fc2
Global: token_embd (V, D), output_norm (D) + .bias (model.final_layernorm), output (V, D)
+ .bias (lm_head). (The pre-transformers checkpoints kept q/k/v in one ``mixer.Wqkv``,
which the converter writes as one attn_qkv of the same size; the llama.cpp loader takes
either.)
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
    max_position_embeddings: int = 2048       # PhiConfig's default
    tie_word_embeddings: bool = False
    partial_rotary_factor: float = 0.5        # PhiConfig's default
    qk_layernorm: bool = False

    def __post_init__(self):
        self.num_key_value_heads = self.num_key_value_heads or self.num_attention_heads


def head_dim(c: Config) -> int:
    return c.hidden_size // c.num_attention_heads


def rope_dims(c: Config) -> int:
    """The rotated dimensions per head, as the converter writes rope.dimension_count."""
    return int(c.partial_rotary_factor * c.hidden_size) // c.num_attention_heads


def build(config: dict, model_id: str) -> Model:
    c = Config.from_dict(config, model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, intermediate_size=c.intermediate_size,
             vocab_size=c.vocab_size)
    D, H, KV, F, V = (c.hidden_size, c.num_attention_heads, c.num_key_value_heads,
                      c.intermediate_size, c.vocab_size)
    hd = head_dim(c)
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), "model.embed_tokens.weight")
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}."
        inv.blk(i, "attn_norm.weight", (D,), p + "input_layernorm.weight")
        inv.blk(i, "attn_norm.bias", (D,), p + "input_layernorm.bias")
        for gg, hf, rows in (("attn_q", "q_proj", H * hd), ("attn_k", "k_proj", KV * hd),
                             ("attn_v", "v_proj", KV * hd)):
            inv.blk(i, f"{gg}.weight", (rows, D), f"{p}self_attn.{hf}.weight")
            inv.blk(i, f"{gg}.bias", (rows,), f"{p}self_attn.{hf}.bias")
        if c.qk_layernorm:
            # transformers' PhiAttention q_layernorm / k_layernorm (LayerNorm over a head);
            # llama.cpp's phi2 loader has no such tensors, so such a GGUF will not load there
            for gg, hf in (("attn_q_norm", "q_layernorm"), ("attn_k_norm", "k_layernorm")):
                inv.blk(i, f"{gg}.weight", (hd,), f"{p}self_attn.{hf}.weight")
                inv.blk(i, f"{gg}.bias", (hd,), f"{p}self_attn.{hf}.bias")
        inv.blk(i, "attn_output.weight", (D, H * hd), p + "self_attn.dense.weight")
        inv.blk(i, "attn_output.bias", (D,), p + "self_attn.dense.bias")
        inv.blk(i, "ffn_up.weight", (F, D), p + "mlp.fc1.weight")
        inv.blk(i, "ffn_up.bias", (F,), p + "mlp.fc1.bias")
        inv.blk(i, "ffn_down.weight", (D, F), p + "mlp.fc2.weight")
        inv.blk(i, "ffn_down.bias", (D,), p + "mlp.fc2.bias")
    inv.add("output_norm.weight", (D,), "model.final_layernorm.weight")
    inv.add("output_norm.bias", (D,), "model.final_layernorm.bias")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    inv.add("output.bias", (V,), "lm_head.bias")
    layers = [LayerAttention(AttnKind.FULL, H, KV, hd, hd) for _ in range(c.num_hidden_layers)]
    return make_model(model_id, "phi", "phi2", inv, layers, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings, tied=c.tie_word_embeddings)
