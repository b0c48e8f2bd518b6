"""Nemotron-H (HF model_type 'nemotron_h', NemotronHForCausalLM; llama.cpp arch
'nemotron_h', or 'nemotron_h_moe' when the config has experts): NVIDIA's hybrid of Mamba-2
layers, a few attention layers and MLP or MoE layers, one kind per layer, in the order
``hybrid_override_pattern`` spells ('M' Mamba-2, '*' attention, '-' MLP, 'E' MoE) or
``layers_block_type`` lists ('mamba', 'attention', 'mlp', 'moe'). Nemotron 3 Nano/Super.

Per layer ``blk.N.`` (HF ``backbone.layers.N.``), every layer: attn_norm (D) ``norm``.
  Mamba-2 (``mixer.*``), d_inner = mamba_num_heads * mamba_head_dim, Hm heads, G groups of
  state N, conv kernel K; conv width C = d_inner + 2*G*N:
    ssm_in (2*d_inner + 2*G*N + Hm, D)   in_proj       ssm_conv1d (C, K) conv1d (+ bias C)
    ssm_dt.bias (Hm) dt_bias   ssm_a (Hm, 1) A_log   ssm_d (Hm, 1) D
    ssm_norm (G, d_inner/G) norm               ssm_out (D, d_inner) out_proj
  attention: attn_q (H*hd, D), attn_k / attn_v (KV*hd, D), attn_output (D, H*hd) (no RoPE)
  MLP: ffn_up (F, D), ffn_down (D, F) (relu2, no gate)
  MoE: ffn_gate_inp (E, D) gate; exp_probs_b (E) gate.e_score_correction_bias;
    ffn_up_exps (E, I, D), ffn_down_exps (E, D, I) (no gate matrix: relu2 experts);
    ffn_up_shexp (SI, D), ffn_down_shexp (D, SI) shared_experts
Global: token_embd (V, D) embeddings, output_norm (D) norm_f, output (V, D) lm_head.
Source: llama.cpp src/models/nemotron-h.cpp (load_arch_tensors) and conversion/nemotron.py
(NemotronHModel) in the llama.cpp that llama-cpp-python 0.3.36 vendors.

Memory: only the attention layers keep a KV cache (H_kv * hd per token each); a Mamba-2
layer keeps a fixed state per sequence, as llama.cpp sizes it (llama-hparams.cpp
n_embd_r / n_embd_s): conv state (K - 1) * C and SSM state N * d_inner (f32 elements).
MLP and MoE layers keep nothing. The MTP block of Nemotron 3 Super (num_nextn_predict_layers)
and a latent MoE (moe_latent_size) are not modelled: such a config is refused with one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import InputError
from ..model import AttnKind, LayerAttention, Model, MoE
from ._base import HFConfig, Inventory, make_model, positive

_LETTER = {"M": "mamba", "*": "attention", "-": "mlp", "E": "moe"}
_NAMES = {"mamba": "mamba", "linear_attention": "mamba", "attention": "attention",
          "full_attention": "attention", "mlp": "mlp", "moe": "moe"}


@dataclass
class Config(HFConfig):
    hidden_size: int
    num_hidden_layers: int
    vocab_size: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    mamba_num_heads: int
    mamba_head_dim: int
    ssm_state_size: int
    n_groups: int
    conv_kernel: int = 4
    use_conv_bias: bool = True
    hybrid_override_pattern: str = ""
    layers_block_type: list | None = None
    intermediate_size: int = 0
    n_routed_experts: int = 0
    num_experts_per_tok: int = 0
    moe_intermediate_size: int = 0
    moe_shared_expert_intermediate_size: int = 0
    n_shared_experts: int = 0
    moe_latent_size: int = 0
    num_nextn_predict_layers: int = 0
    attention_bias: bool = False
    mlp_bias: bool = False
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = False


def block_types(c: Config, model_id: str) -> list[str]:
    """One of mamba / attention / mlp / moe per layer, from the config's pattern."""
    if c.hybrid_override_pattern:
        bad = sorted({ch for ch in c.hybrid_override_pattern if ch not in _LETTER})
        if bad:
            raise InputError(f"{model_id}: config.json 'hybrid_override_pattern' has {bad!r}; "
                             "only M (Mamba-2), * (attention), - (MLP) and E (MoE) are known")
        kinds = [_LETTER[ch] for ch in c.hybrid_override_pattern]
    elif c.layers_block_type:
        bad = sorted({str(v)[:20] for v in c.layers_block_type if _NAMES.get(v) is None})
        if bad:
            raise InputError(f"{model_id}: config.json 'layers_block_type' has {bad!r}; "
                             f"known: {', '.join(sorted(_NAMES))}")
        kinds = [_NAMES[v] for v in c.layers_block_type]
    else:
        raise InputError(f"{model_id}: config.json has neither 'hybrid_override_pattern' nor 'layers_block_type', "
                         "so which layers are Mamba-2, attention or MoE is unknown")
    if len(kinds) != c.num_hidden_layers:
        raise InputError(f"{model_id}: config.json's layer pattern lists {len(kinds)} layers, but "
                         f"'num_hidden_layers' is {c.num_hidden_layers}")
    return kinds


def build(config: dict, model_id: str) -> Model:
    c = Config.from_dict(config, model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers, vocab_size=c.vocab_size,
             mamba_num_heads=c.mamba_num_heads, mamba_head_dim=c.mamba_head_dim, ssm_state_size=c.ssm_state_size,
             n_groups=c.n_groups, conv_kernel=c.conv_kernel)
    if c.moe_latent_size or c.num_nextn_predict_layers:
        what = "a latent MoE (moe_latent_size)" if c.moe_latent_size else "an MTP block (num_nextn_predict_layers)"
        raise InputError(f"{model_id}: this Nemotron-H config has {what}, which rigcheck's nemotron_h family "
                         "does not size yet; Nemotron 3 Nano-shaped configs are supported")
    kinds = block_types(c, model_id)
    moe = c.n_routed_experts > 0
    if "moe" in kinds and not moe:
        raise InputError(f"{model_id}: config.json's pattern has MoE layers but no 'n_routed_experts'")
    if "moe" in kinds:
        positive(model_id, num_experts_per_tok=c.num_experts_per_tok, moe_intermediate_size=c.moe_intermediate_size)
    if "mlp" in kinds:
        positive(model_id, intermediate_size=c.intermediate_size)
    D, V, H, KV, hd = c.hidden_size, c.vocab_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim
    Hm, G, N, K = c.mamba_num_heads, c.n_groups, c.ssm_state_size, c.conv_kernel
    d_inner = Hm * c.mamba_head_dim
    if d_inner % G:
        raise InputError(f"{model_id}: config.json 'n_groups' {G} does not divide the Mamba width "
                         f"{d_inner} (mamba_num_heads x mamba_head_dim)")
    conv = d_inner + 2 * G * N
    E, I, SI = c.n_routed_experts, c.moe_intermediate_size, c.moe_shared_expert_intermediate_size
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), "backbone.embeddings.weight")
    layers = []
    for i, kind in enumerate(kinds):
        p = f"backbone.layers.{i}."
        m = p + "mixer."
        inv.blk(i, "attn_norm.weight", (D,), p + "norm.weight")
        if kind == "mamba":
            inv.blk(i, "ssm_in.weight", (2 * d_inner + 2 * G * N + Hm, D), m + "in_proj.weight")
            inv.blk(i, "ssm_conv1d.weight", (conv, K), m + "conv1d.weight")
            if c.use_conv_bias:
                inv.blk(i, "ssm_conv1d.bias", (conv,), m + "conv1d.bias")
            inv.blk(i, "ssm_dt.bias", (Hm,), m + "dt_bias")
            inv.blk(i, "ssm_a", (Hm, 1), m + "A_log")
            inv.blk(i, "ssm_d", (Hm, 1), m + "D")
            inv.blk(i, "ssm_norm.weight", (G, d_inner // G), m + "norm.weight")
            inv.blk(i, "ssm_out.weight", (D, d_inner), m + "out_proj.weight")
            layers.append(LayerAttention(AttnKind.LINEAR, Hm, 0, N, c.mamba_head_dim,
                                         state_r=(K - 1) * conv, state_s=N * d_inner))
        elif kind == "attention":
            positive(model_id, num_attention_heads=H, num_key_value_heads=KV, head_dim=hd)
            inv.blk(i, "attn_q.weight", (H * hd, D), m + "q_proj.weight")
            inv.blk(i, "attn_k.weight", (KV * hd, D), m + "k_proj.weight")
            inv.blk(i, "attn_v.weight", (KV * hd, D), m + "v_proj.weight")
            inv.blk(i, "attn_output.weight", (D, H * hd), m + "o_proj.weight")
            if c.attention_bias:
                inv.blk(i, "attn_output.bias", (D,), m + "o_proj.bias")
            layers.append(LayerAttention(AttnKind.FULL, H, KV, hd, hd))
        elif kind == "moe":
            inv.blk(i, "ffn_gate_inp.weight", (E, D), m + "gate.weight")
            inv.blk(i, "exp_probs_b.bias", (E,), m + "gate.e_score_correction_bias")
            inv.blk(i, "ffn_up_exps.weight", (E, I, D), m + "experts.{e}.up_proj.weight")
            inv.blk(i, "ffn_down_exps.weight", (E, D, I), m + "experts.{e}.down_proj.weight")
            inv.blk(i, "ffn_up_shexp.weight", (SI, D), m + "shared_experts.up_proj.weight")
            inv.blk(i, "ffn_down_shexp.weight", (D, SI), m + "shared_experts.down_proj.weight")
            layers.append(LayerAttention(AttnKind.NONE))
        else:
            F = c.intermediate_size
            inv.blk(i, "ffn_up.weight", (F, D), m + "up_proj.weight")
            inv.blk(i, "ffn_down.weight", (D, F), m + "down_proj.weight")
            if c.mlp_bias:
                inv.blk(i, "ffn_up.bias", (F,), m + "up_proj.bias")
                inv.blk(i, "ffn_down.bias", (D,), m + "down_proj.bias")
            layers.append(LayerAttention(AttnKind.NONE))
    inv.add("output_norm.weight", (D,), "backbone.norm_f.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    return make_model(model_id, "nemotron_h", "nemotron_h_moe" if moe else "nemotron_h", inv, layers,
                      n_vocab=V, n_embd=D, n_ctx_train=c.max_position_embeddings,
                      moe=MoE(E, c.num_experts_per_tok, 1 if SI else 0, I) if moe else None,
                      tied=c.tie_word_embeddings)
