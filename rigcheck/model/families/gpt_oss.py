"""gpt-oss (HF model_type 'gpt_oss'; llama.cpp arch 'gpt-oss'): MoE with biases
everywhere, learned attention sinks, and sliding-window (128) and full layers alternating.

Per layer ``blk.N.`` (HF ``model.layers.N.``):
    attn_norm (D)                                     input_layernorm
    attn_q (H*hd, D) + .bias; attn_k, attn_v (KV*hd, D) + .bias      self_attn.q/k/v_proj
    attn_output (D, H*hd) + .bias                     self_attn.o_proj
    attn_sinks (H)                                    self_attn.sinks
    post_attention_norm (D)                           post_attention_layernorm
    ffn_gate_inp (E, D) + .bias (E)                   mlp.router
    ffn_gate_exps, ffn_up_exps (E, I, D) + .bias (E, I)   mlp.experts.gate_up_proj (fused, split
                                                          by the converter) + gate_up_proj_bias
    ffn_down_exps (E, D, I) + .bias (E, D)            mlp.experts.down_proj (+ _bias)
Global: token_embd (V, D), output_norm (D), output (V, D).
The released checkpoint stores the experts as MXFP4 (``*_blocks`` + ``*_scales``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...notes import Note
from ..model import AttnKind, LayerAttention, Model, MoE
from ._base import HFConfig, Inventory, make_model, positive


@dataclass
class Config(HFConfig):
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    num_local_experts: int
    vocab_size: int
    num_experts_per_tok: int = 0
    experts_per_token: int = 0
    sliding_window: int = 128
    layer_types: list = field(default_factory=list)
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = False

    def __post_init__(self):
        self.num_experts_per_tok = self.num_experts_per_tok or self.experts_per_token

    def is_swa(self, il: int) -> bool:
        if self.layer_types:
            return self.layer_types[il] == "sliding_attention"
        return il % 2 == 0


def build(config: dict, model_id: str) -> Model:
    c = Config.from_dict(config, model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, head_dim=c.head_dim,
             intermediate_size=c.intermediate_size, num_local_experts=c.num_local_experts,
             num_experts_per_tok=c.num_experts_per_tok, vocab_size=c.vocab_size)
    D, H, KV, hd, V = c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.vocab_size
    E, I = c.num_local_experts, c.intermediate_size
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), "model.embed_tokens.weight")
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}."
        a, m = p + "self_attn.", p + "mlp."
        inv.blk(i, "attn_norm.weight", (D,), p + "input_layernorm.weight")
        for gg, hf, rows in (("attn_q", "q_proj", H * hd), ("attn_k", "k_proj", KV * hd),
                             ("attn_v", "v_proj", KV * hd)):
            inv.blk(i, f"{gg}.weight", (rows, D), a + hf + ".weight")
            inv.blk(i, f"{gg}.bias", (rows,), a + hf + ".bias")
        inv.blk(i, "attn_output.weight", (D, H * hd), a + "o_proj.weight")
        inv.blk(i, "attn_output.bias", (D,), a + "o_proj.bias")
        inv.blk(i, "attn_sinks.weight", (H,), a + "sinks")
        inv.blk(i, "post_attention_norm.weight", (D,), p + "post_attention_layernorm.weight")
        inv.blk(i, "ffn_gate_inp.weight", (E, D), m + "router.weight")
        inv.blk(i, "ffn_gate_inp.bias", (E,), m + "router.bias")
        inv.blk(i, "ffn_gate_exps.weight", (E, I, D), m + "experts.gate_up_proj")
        inv.blk(i, "ffn_gate_exps.bias", (E, I), m + "experts.gate_up_proj_bias")
        inv.blk(i, "ffn_up_exps.weight", (E, I, D), m + "experts.gate_up_proj")
        inv.blk(i, "ffn_up_exps.bias", (E, I), m + "experts.gate_up_proj_bias")
        inv.blk(i, "ffn_down_exps.weight", (E, D, I), m + "experts.down_proj")
        inv.blk(i, "ffn_down_exps.bias", (E, D), m + "experts.down_proj_bias")
    inv.add("output_norm.weight", (D,), "model.norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    layers = [LayerAttention(AttnKind.SWA if c.is_swa(i) else AttnKind.FULL, H, KV, hd, hd,
                             window=c.sliding_window if c.is_swa(i) else 0, sinks=True)
              for i in range(c.num_hidden_layers)]
    moe = MoE(E, c.num_experts_per_tok, 0, I)
    return make_model(model_id, "gpt_oss", "gpt-oss", inv, layers, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings, moe=moe, tied=c.tie_word_embeddings)


# ---- builds as publishers ship them -----------------------------------------------------
#
# The checkpoint's routed experts are MXFP4, and llama.cpp's converter copies them into the
# GGUF as MXFP4. Stock llama-quantize then re-quantizes them to the file type's K-quants
# (with --allow-requantize): a Q4_K_M of gpt-oss-120b becomes 87.85 GB. The GGUFs people
# download keep the experts in MXFP4 and quantize only the rest by the file type's rules:
# unsloth's gpt-oss-120b Q4_K_M is 62.8 GB, its gpt-oss-20b Q4_K_M 11.6 GB and F16 13.8 GB
# (https://huggingface.co/unsloth/gpt-oss-120b-GGUF/tree/main/Q4_K_M,
#  https://huggingface.co/unsloth/gpt-oss-20b-GGUF/tree/main, read 2026-12-02).

PUBLISHED_FTYPES = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K", "F16")


def _keep_mxfp4(t) -> str | None:
    """The routed experts' weights stay in the checkpoint's MXFP4; the rest is the recipe's."""
    return "MXFP4" if t.is_expert and len(t.shape) == 3 else None


def publisher_builds(model: Model) -> dict:
    """Builds named '<file type>-MXFP4': llama-quantize's rules for the file type, with the
    routed experts kept in MXFP4, as unsloth publishes gpt-oss (sizes above)."""
    return {f"{ft}-MXFP4": {"ftype": ft, "keep": _keep_mxfp4,
                            "note": Note("experts_kept", kept="MXFP4", ftype=ft, publisher="unsloth/gpt-oss-*-GGUF")}
            for ft in PUBLISHED_FTYPES}


def extra_builds(model: Model) -> list[str]:
    """The most downloaded of them, beside the stock recipes."""
    return ["Q4_K_M-MXFP4"]
