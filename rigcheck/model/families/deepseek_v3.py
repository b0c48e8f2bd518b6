"""DeepSeek V3 / R1 and Kimi K2 (HF model_type 'deepseek_v3', 'kimi_k2'; llama.cpp arch
'deepseek2'): multi-head latent attention (MLA) + MoE with shared experts.

Per layer ``blk.N.`` (HF ``model.layers.N.``):
    attn_norm (D)                          input_layernorm
    attn_q_a (QL, D)                       self_attn.q_a_proj      } when q_lora_rank is set
    attn_q_a_norm (QL)                     self_attn.q_a_layernorm }
    attn_q_b (H*(nope+rope), QL)           self_attn.q_b_proj      }
    attn_q (H*(nope+rope), D)              self_attn.q_proj          when q_lora_rank is null
    attn_kv_a_mqa (KVL+rope, D)            self_attn.kv_a_proj_with_mqa
    attn_kv_a_norm (KVL)                   self_attn.kv_a_layernorm
    attn_k_b (H, KVL, nope)                self_attn.kv_b_proj, K half, transposed  } the converter
    attn_v_b (H, v, KVL)                   self_attn.kv_b_proj, V half              } splits kv_b
    attn_output (D, H*v)                   self_attn.o_proj
    ffn_norm (D)                           post_attention_layernorm
  the first first_k_dense_replace layers: ffn_gate, ffn_up (F, D); ffn_down (D, F)
  the others (MoE):
    ffn_gate_inp (E, D)                    mlp.gate.weight
    exp_probs_b.bias (E)                   mlp.gate.e_score_correction_bias (noaux_tc routing)
    ffn_gate_exps, ffn_up_exps (E, I, D); ffn_down_exps (E, D, I)     mlp.experts.{e}.*
    ffn_gate_shexp, ffn_up_shexp (S*I, D); ffn_down_shexp (D, S*I)    mlp.shared_experts.*
Global: token_embd (V, D), output_norm (D), output (V, D).
MTP: num_nextn_predict_layers extra layers ``blk.{L+k}`` with the same block plus
nextn.eh_proj (D, 2D), nextn.enorm, nextn.hnorm, nextn.shared_head_norm (D) and the
checkpoint's own copies nextn.embed_tokens and nextn.shared_head_head (V, D); all mtp=True.
(Upstream llama.cpp's deepseek2 converter drops the MTP layer; GLM-4.5's keeps it under
these names.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..model import AttnKind, LayerAttention, Model, MoE
from ._base import HFConfig, Inventory, make_model, positive


@dataclass
class Config(HFConfig):
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    vocab_size: int
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    intermediate_size: int
    moe_intermediate_size: int
    n_routed_experts: int
    num_experts_per_tok: int
    q_lora_rank: int | None = None
    n_shared_experts: int = 0
    first_k_dense_replace: int = 0
    moe_layer_freq: int = 1
    topk_method: str = "greedy"
    num_nextn_predict_layers: int = 0
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = False
    # DeepSeek V3.2 (DSA): read here so one Config serves both modules
    index_n_heads: int = 0
    index_head_dim: int = 0
    index_topk: int = 0

    def is_moe(self, il: int) -> bool:
        return il >= self.first_k_dense_replace and il % max(self.moe_layer_freq, 1) == 0


def _attention(inv: Inventory, c: Config, i: int, p: str) -> None:
    D, H = c.hidden_size, c.num_attention_heads
    nope, rope, v, kvl = c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim, c.kv_lora_rank
    inv.blk(i, "attn_norm.weight", (D,), p + "input_layernorm.weight")
    if c.q_lora_rank:
        ql = c.q_lora_rank
        inv.blk(i, "attn_q_a.weight", (ql, D), p + "self_attn.q_a_proj.weight")
        inv.blk(i, "attn_q_a_norm.weight", (ql,), p + "self_attn.q_a_layernorm.weight")
        inv.blk(i, "attn_q_b.weight", (H * (nope + rope), ql), p + "self_attn.q_b_proj.weight")
    else:
        inv.blk(i, "attn_q.weight", (H * (nope + rope), D), p + "self_attn.q_proj.weight")
    inv.blk(i, "attn_kv_a_mqa.weight", (kvl + rope, D), p + "self_attn.kv_a_proj_with_mqa.weight")
    inv.blk(i, "attn_kv_a_norm.weight", (kvl,), p + "self_attn.kv_a_layernorm.weight")
    inv.blk(i, "attn_k_b.weight", (H, kvl, nope), p + "self_attn.kv_b_proj.weight")
    inv.blk(i, "attn_v_b.weight", (H, v, kvl), p + "self_attn.kv_b_proj.weight")
    inv.blk(i, "attn_output.weight", (D, H * v), p + "self_attn.o_proj.weight")


def _ffn(inv: Inventory, c: Config, i: int, p: str, moe: bool) -> None:
    D = c.hidden_size
    inv.blk(i, "ffn_norm.weight", (D,), p + "post_attention_layernorm.weight")
    if not moe:
        F = c.intermediate_size
        inv.blk(i, "ffn_gate.weight", (F, D), p + "mlp.gate_proj.weight")
        inv.blk(i, "ffn_up.weight", (F, D), p + "mlp.up_proj.weight")
        inv.blk(i, "ffn_down.weight", (D, F), p + "mlp.down_proj.weight")
        return
    E, I = c.n_routed_experts, c.moe_intermediate_size
    inv.blk(i, "ffn_gate_inp.weight", (E, D), p + "mlp.gate.weight")
    if c.topk_method == "noaux_tc":
        inv.blk(i, "exp_probs_b.bias", (E,), p + "mlp.gate.e_score_correction_bias")
    inv.blk(i, "ffn_gate_exps.weight", (E, I, D), p + "mlp.experts.{e}.gate_proj.weight")
    inv.blk(i, "ffn_up_exps.weight", (E, I, D), p + "mlp.experts.{e}.up_proj.weight")
    inv.blk(i, "ffn_down_exps.weight", (E, D, I), p + "mlp.experts.{e}.down_proj.weight")
    if c.n_shared_experts:
        S = c.n_shared_experts * I
        inv.blk(i, "ffn_gate_shexp.weight", (S, D), p + "mlp.shared_experts.gate_proj.weight")
        inv.blk(i, "ffn_up_shexp.weight", (S, D), p + "mlp.shared_experts.up_proj.weight")
        inv.blk(i, "ffn_down_shexp.weight", (D, S), p + "mlp.shared_experts.down_proj.weight")


def _nextn(inv: Inventory, c: Config, i: int, p: str) -> None:
    D, V = c.hidden_size, c.vocab_size
    inv.blk(i, "nextn.eh_proj.weight", (D, 2 * D), p + "eh_proj.weight")
    inv.blk(i, "nextn.embed_tokens.weight", (V, D), p + "embed_tokens.weight")
    inv.blk(i, "nextn.enorm.weight", (D,), p + "enorm.weight")
    inv.blk(i, "nextn.hnorm.weight", (D,), p + "hnorm.weight")
    inv.blk(i, "nextn.shared_head_head.weight", (V, D), p + "shared_head.head.weight")
    inv.blk(i, "nextn.shared_head_norm.weight", (D,), p + "shared_head.norm.weight")


Extra = Callable[[Inventory, Config, int, str], None]


def build_mla(config: dict, model_id: str, *, family: str, arch: str, kind: str = AttnKind.MLA,
              extra_attn: Extra | None = None) -> Model:
    """The DeepSeek V3 inventory; ``extra_attn`` adds per-layer attention tensors (V3.2's indexer)."""
    c = Config.from_dict(config, model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, kv_lora_rank=c.kv_lora_rank,
             n_routed_experts=c.n_routed_experts, moe_intermediate_size=c.moe_intermediate_size,
             vocab_size=c.vocab_size)
    D, V, L = c.hidden_size, c.vocab_size, c.num_hidden_layers
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), "model.embed_tokens.weight")
    for i in range(L + c.num_nextn_predict_layers):
        inv.mtp = i >= L
        p = f"model.layers.{i}."
        _attention(inv, c, i, p)
        if extra_attn:
            extra_attn(inv, c, i, p)
        _ffn(inv, c, i, p, c.is_moe(i))
        if inv.mtp:
            _nextn(inv, c, i, p)
    inv.mtp = False
    inv.add("output_norm.weight", (D,), "model.norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    rope, kvl = c.qk_rope_head_dim, c.kv_lora_rank
    layer = LayerAttention(kind, c.num_attention_heads, 1, kvl + rope, kvl, kv_lora_rank=kvl,
                           rope_dim=rope, index_head_dim=c.index_head_dim if kind == AttnKind.DSA else 0,
                           index_topk=c.index_topk if kind == AttnKind.DSA else 0)
    n_dense = sum(1 for i in range(L) if not c.is_moe(i))
    moe = MoE(c.n_routed_experts, c.num_experts_per_tok, c.n_shared_experts, c.moe_intermediate_size, n_dense)
    return make_model(model_id, family, arch, inv, [layer] * L, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings, moe=moe, tied=c.tie_word_embeddings,
                      n_mtp=c.num_nextn_predict_layers)


def build(config: dict, model_id: str) -> Model:
    return build_mla(config, model_id, family="deepseek_v3", arch="deepseek2")
