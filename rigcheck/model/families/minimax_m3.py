"""MiniMax-M3 (HF model_type 'minimax_m3_vl' with a text_config, MiniMaxM3SparseForConditionalGeneration;
llama.cpp arch 'minimax-m3'): MiniMax-M2-style GQA with per-head QK-norm in every layer,
DeepSeek-V3-style leading dense layers then routed + shared experts, and MiniMax Sparse
Attention (MSA): each sparse layer has a small indexer (its own query heads and one key
head) that picks the key blocks attention reads.

Per layer ``blk.N.`` (HF ``language_model.model.layers.N.``):
    attn_norm (D) input_layernorm       ffn_norm (D) post_attention_layernorm
    attn_q (H*hd, D), attn_k / attn_v (KV*hd, D), attn_output (D, H*hd)   self_attn.q/k/v/o_proj
    attn_q_norm, attn_k_norm (hd)       self_attn.q_norm / k_norm (one head's width, every head)
  the leading dense layers (``moe_layer_freq`` 0): ffn_gate / ffn_up (F, D), ffn_down (D, F)
    mlp.gate_proj / up_proj / down_proj, F = dense_intermediate_size
  the sparse layers: ffn_gate_inp (E, D) block_sparse_moe.gate; exp_probs_b (E)
    e_score_correction_bias; ffn_gate_exps / ffn_up_exps (E, I, D), ffn_down_exps (E, D, I)
    experts.{e}.w1 / w3 / w2; ffn_gate_shexp / ffn_up_shexp (S*I, D), ffn_down_shexp (D, S*I)
    shared_experts.*; indexer.q_proj (Hi*di, D), indexer.k_proj (di, D), indexer.q_norm,
    indexer.k_norm (di) self_attn.index_*
Global: token_embd (V, D) embed_tokens, output_norm (D) norm, output (V, D) lm_head.
The vision tower and projector are not the language model and are not listed; the MTP
modules the config names are not in the released weights (llama.cpp src/models/minimax-m3.cpp).
Source: llama.cpp src/models/minimax-m3.cpp (load_arch_tensors), conversion/minimax.py
(MiniMaxM3Model) and the tensor names of the MiniMaxAI/MiniMax-M3-MXFP8 weight map.

Memory (llama.cpp, src/llama-kv-cache-msa.cpp): the main K/V cache of every layer, plus an
indexer cache on the sparse layers: one key head of ``sparse_index_dim`` per token, kept by
llama.cpp as a second KV cache (``LayerAttention.index_head_dim``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import InputError
from ..model import AttnKind, LayerAttention, Model, MoE
from ._base import HFConfig, Inventory, make_model, positive, text_config


@dataclass
class Config(HFConfig):
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    vocab_size: int
    num_local_experts: int
    num_experts_per_tok: int
    intermediate_size: int                  # per-expert FFN width
    head_dim: int = 0
    dense_intermediate_size: int = 0
    n_shared_experts: int = 0
    moe_layer_freq: list | None = None
    sparse_attention_config: dict | None = None
    use_qk_norm: bool = True
    use_routing_bias: bool = True
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = False


def build(config: dict, model_id: str) -> Model:
    c = Config.from_dict(text_config(config), model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, num_key_value_heads=c.num_key_value_heads,
             vocab_size=c.vocab_size, num_local_experts=c.num_local_experts,
             num_experts_per_tok=c.num_experts_per_tok, intermediate_size=c.intermediate_size)
    L = c.num_hidden_layers
    freq = list(c.moe_layer_freq) if c.moe_layer_freq else [1] * L
    if len(freq) != L or any(v not in (0, 1) for v in freq):
        raise InputError(f"{model_id}: config.json 'moe_layer_freq' must list 0 or 1 for each of the {L} layers")
    n_dense = next((i for i, v in enumerate(freq) if v), L)
    if any(not v for v in freq[n_dense:]):
        raise InputError(f"{model_id}: config.json 'moe_layer_freq' has dense layers after the first sparse one; "
                         "llama.cpp's minimax-m3 has leading dense layers only")
    sac = c.sparse_attention_config or {}
    Hi, di = int(sac.get("sparse_num_index_heads") or 0), int(sac.get("sparse_index_dim") or 0)
    if not (Hi > 0 and di > 0):
        raise InputError(f"{model_id}: config.json 'sparse_attention_config' needs 'sparse_num_index_heads' and "
                         "'sparse_index_dim' (MiniMax Sparse Attention's indexer)")
    if n_dense:
        positive(model_id, dense_intermediate_size=c.dense_intermediate_size)
    D, H, KV, V = c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.vocab_size
    hd = c.head_dim or D // H
    E, I, S, F = c.num_local_experts, c.intermediate_size, max(0, c.n_shared_experts), c.dense_intermediate_size
    inv = Inventory()
    r = "language_model.model."
    inv.add("token_embd.weight", (V, D), r + "embed_tokens.weight")
    layers = []
    for i in range(L):
        p = f"{r}layers.{i}."
        a = p + "self_attn."
        inv.blk(i, "attn_norm.weight", (D,), p + "input_layernorm.weight")
        inv.blk(i, "attn_q.weight", (H * hd, D), a + "q_proj.weight")
        inv.blk(i, "attn_k.weight", (KV * hd, D), a + "k_proj.weight")
        inv.blk(i, "attn_v.weight", (KV * hd, D), a + "v_proj.weight")
        inv.blk(i, "attn_output.weight", (D, H * hd), a + "o_proj.weight")
        if c.use_qk_norm:
            inv.blk(i, "attn_q_norm.weight", (hd,), a + "q_norm.weight")
            inv.blk(i, "attn_k_norm.weight", (hd,), a + "k_norm.weight")
        inv.blk(i, "ffn_norm.weight", (D,), p + "post_attention_layernorm.weight")
        if i < n_dense:
            m = p + "mlp."
            inv.blk(i, "ffn_gate.weight", (F, D), m + "gate_proj.weight")
            inv.blk(i, "ffn_up.weight", (F, D), m + "up_proj.weight")
            inv.blk(i, "ffn_down.weight", (D, F), m + "down_proj.weight")
            layers.append(LayerAttention(AttnKind.FULL, H, KV, hd, hd))
            continue
        m = p + "block_sparse_moe."
        inv.blk(i, "ffn_gate_inp.weight", (E, D), m + "gate.weight")
        if c.use_routing_bias:
            inv.blk(i, "exp_probs_b.bias", (E,), m + "e_score_correction_bias")
        inv.blk(i, "ffn_gate_exps.weight", (E, I, D), m + "experts.{e}.w1.weight")
        inv.blk(i, "ffn_up_exps.weight", (E, I, D), m + "experts.{e}.w3.weight")
        inv.blk(i, "ffn_down_exps.weight", (E, D, I), m + "experts.{e}.w2.weight")
        if S:
            inv.blk(i, "ffn_gate_shexp.weight", (S * I, D), m + "shared_experts.gate_proj.weight")
            inv.blk(i, "ffn_up_shexp.weight", (S * I, D), m + "shared_experts.up_proj.weight")
            inv.blk(i, "ffn_down_shexp.weight", (D, S * I), m + "shared_experts.down_proj.weight")
        inv.blk(i, "indexer.q_proj.weight", (Hi * di, D), a + "index_q_proj.weight")
        inv.blk(i, "indexer.k_proj.weight", (di, D), a + "index_k_proj.weight")
        inv.blk(i, "indexer.q_norm.weight", (di,), a + "index_q_norm.weight")
        inv.blk(i, "indexer.k_norm.weight", (di,), a + "index_k_norm.weight")
        top = int(sac.get("sparse_topk_blocks") or 0) * int(sac.get("sparse_block_size") or 0)
        layers.append(LayerAttention(AttnKind.FULL, H, KV, hd, hd, index_head_dim=di, index_topk=top))
    inv.add("output_norm.weight", (D,), r + "norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "language_model.lm_head.weight")
    return make_model(model_id, "minimax_m3", "minimax-m3", inv, layers, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings, moe=MoE(E, c.num_experts_per_tok, S, I, n_dense),
                      tied=c.tie_word_embeddings)
