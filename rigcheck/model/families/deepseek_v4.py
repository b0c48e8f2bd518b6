"""DeepSeek V4 Flash / Pro (HF model_type 'deepseek_v4'; llama.cpp arch 'deepseek4').

Attention is shared-KV MQA (one 512-wide KV head, K = V) with a 128-token raw sliding
window in every layer; ``compress_ratios[il]`` makes a layer SWA-only (0), CSA (4: an
overlapping compressor plus a lightning indexer) or HCA (128: a plain compressor).
Residual streams are hyper-connections (hc_mult copies), and the first num_hash_layers
layers route tokens to experts through a fixed token -> experts table (tid2eid).

Per layer ``blk.N.`` (checkpoint ``layers.N.``), D = hidden, H = heads, hd = head_dim,
QL = q_lora_rank, OG x OL = o_groups x o_lora_rank, M = (2 + hc) * hc:
    hc_attn_fn (M, hc*D)  hc_attn_base (M)  hc_attn_scale (3)     hc_attn_*        F32
    attn_norm (D)                                                  attn_norm        BF16
    attn_q_a (QL, D)        attn_q_a_norm (QL)                     attn.wq_a, attn.q_norm
    attn_q_b (H*hd, QL)                                            attn.wq_b
    attn_kv (hd, D)         attn_kv_a_norm (hd)                    attn.wkv, attn.kv_norm
    attn_sinks (H)                                                 attn.attn_sink   F32
    attn_output_a (OG*OL, H*hd/OG)   attn_output_b (D, OG*OL)      attn.wo_a, attn.wo_b
  CSA and HCA layers (c = 2 when the ratio is 4: overlapping windows, else 1):
    attn_compressor_kv, attn_compressor_gate (c*hd, D)             attn.compressor.wkv/wgate
    attn_compressor_ape (ratio, c*hd)  attn_compressor_norm (hd)   attn.compressor.ape/norm
  CSA layers only, the indexer (IH heads of ID):
    indexer.attn_q_b (IH*ID, QL)   indexer.proj (IH, D)            attn.indexer.wq_b/weights_proj
    indexer_compressor_kv, _gate (2*ID, D)  _ape (4, 2*ID)  _norm (ID)   attn.indexer.compressor.*
    hc_ffn_fn / hc_ffn_base / hc_ffn_scale                         as hc_attn_*
    ffn_norm (D)
    ffn_gate_inp (E, D)                                            ffn.gate.weight
    ffn_gate_tid2eid (V, K) on hash layers, else exp_probs_b.bias (E)   ffn.gate.tid2eid / .bias
    ffn_gate_exps, ffn_up_exps (E, I, D)  ffn_down_exps (E, D, I)  ffn.experts.{e}.w1 / w3 / w2
    ffn_gate_shexp, ffn_up_shexp (I, D)  ffn_down_shexp (D, I)     ffn.shared_experts.w1 / w3 / w2
Global: token_embd (V, D) embed, output (V, D) head, output_norm (D) norm,
output_hc_fn (hc, hc*D), output_hc_base (hc), output_hc_scale (1).
MTP (mtp=True, checkpoint ``mtp.K.``): one more block ``blk.{L+K}`` (SWA-only, hash-free)
plus nextn.e_proj, nextn.h_proj (D, D), nextn.enorm, nextn.hnorm, nextn.shared_head_norm (D),
nextn.hc_head_fn/base/scale; it shares embed and head with the main model.

Native checkpoint dtypes (``native_inventory``): routed experts FP4 e2m1 packed two per
byte (I8, shape (rows, cols/2)) with an F8_E8M0 scale per 32; attention projections, the
indexer's wq_b, shared experts and e/h_proj FP8 e4m3 with an F8_E8M0 scale per 128x128
block; hc_*, ape, sinks and the router bias F32; tid2eid I64; everything else BF16.
Sources: research/deepseek-v4.md (official inference/model.py, rtp-llm checkpoint oracle:
69,187 tensors and 159,609,485,896 bytes for V4-Flash with MTP), read 2026-11-28.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil, prod

from ...errors import InputError
from ..model import AttnKind, LayerAttention, Model, MoE
from ..tensor import Role
from ._base import HFConfig, Inventory, make_model, positive

FP8_BLOCK = 128      # FP8 weights: one e8m0 scale per 128x128 block
FP4_GROUP = 32       # FP4 experts: one e8m0 scale per 32 weights along the row


@dataclass
class Config(HFConfig):
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    head_dim: int
    q_lora_rank: int
    o_groups: int
    o_lora_rank: int
    qk_rope_head_dim: int
    vocab_size: int
    n_routed_experts: int
    num_experts_per_tok: int
    moe_intermediate_size: int
    compress_ratios: list
    n_shared_experts: int = 1
    num_hash_layers: int = 0
    hc_mult: int = 4
    index_n_heads: int = 0
    index_head_dim: int = 0
    index_topk: int = 0
    sliding_window: int = 128
    num_nextn_predict_layers: int = 0
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = False

    def ratio(self, il: int) -> int:
        return int(self.compress_ratios[il]) if il < len(self.compress_ratios) else 0


@dataclass(frozen=True)
class Spec:
    """One logical tensor: its GGUF name, checkpoint name, shape and native storage kind
    (fp8 | fp4 | bf16 | f32 | i64)."""

    gguf: str
    hf: str
    shape: tuple[int, ...]
    kind: str
    role: Role | None = None


def _config(cfg: dict, model_id: str) -> Config:
    c = Config.from_dict(cfg, model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, head_dim=c.head_dim, q_lora_rank=c.q_lora_rank,
             o_groups=c.o_groups, o_lora_rank=c.o_lora_rank, n_routed_experts=c.n_routed_experts,
             moe_intermediate_size=c.moe_intermediate_size, vocab_size=c.vocab_size)
    if not isinstance(c.compress_ratios, list) or len(c.compress_ratios) < c.num_hidden_layers:
        raise InputError(f"{model_id or 'config.json'}: 'compress_ratios' must list one ratio per layer "
                         f"({c.num_hidden_layers})")
    bad = {int(r) for r in c.compress_ratios} - {0, 4, 128}
    if bad:
        raise InputError(f"{model_id or 'config.json'}: compress_ratios holds {sorted(bad)}; DeepSeek V4 uses 0, 4 and 128")
    return c


def _block(c: Config, il: int, hf: str, ratio: int, hash_routed: bool) -> list[Spec]:
    """The tensors of one transformer block (main or MTP)."""
    D, H, hd, QL = c.hidden_size, c.num_attention_heads, c.head_dim, c.q_lora_rank
    OG, OL, hc = c.o_groups, c.o_lora_rank, c.hc_mult
    E, K, I, V = c.n_routed_experts, c.num_experts_per_tok, c.moe_intermediate_size, c.vocab_size
    M = (2 + hc) * hc
    b = f"blk.{il}."
    out: list[Spec] = []

    def s(gguf, name, shape, kind, role=None):
        out.append(Spec(b + gguf, hf + name, tuple(shape), kind, role))

    s("hc_attn_fn.weight", "hc_attn_fn", (M, hc * D), "f32")
    s("hc_attn_base.weight", "hc_attn_base", (M,), "f32")
    s("hc_attn_scale.weight", "hc_attn_scale", (3,), "f32")
    s("attn_norm.weight", "attn_norm.weight", (D,), "bf16")
    s("attn_q_a.weight", "attn.wq_a.weight", (QL, D), "fp8")
    s("attn_q_a_norm.weight", "attn.q_norm.weight", (QL,), "bf16")
    s("attn_q_b.weight", "attn.wq_b.weight", (H * hd, QL), "fp8")
    s("attn_kv.weight", "attn.wkv.weight", (hd, D), "fp8")
    s("attn_kv_a_norm.weight", "attn.kv_norm.weight", (hd,), "bf16")
    s("attn_sinks.weight", "attn.attn_sink", (H,), "f32")
    s("attn_output_a.weight", "attn.wo_a.weight", (OG * OL, H * hd // OG), "fp8")
    s("attn_output_b.weight", "attn.wo_b.weight", (D, OG * OL), "fp8")
    if ratio:
        co = 2 if ratio == 4 else 1
        s("attn_compressor_kv.weight", "attn.compressor.wkv.weight", (co * hd, D), "bf16")
        s("attn_compressor_gate.weight", "attn.compressor.wgate.weight", (co * hd, D), "bf16")
        s("attn_compressor_ape.weight", "attn.compressor.ape", (ratio, co * hd), "f32")
        s("attn_compressor_norm.weight", "attn.compressor.norm.weight", (hd,), "bf16")
    if ratio == 4:
        IH, ID = c.index_n_heads, c.index_head_dim
        positive("", index_n_heads=IH, index_head_dim=ID)
        s("indexer.attn_q_b.weight", "attn.indexer.wq_b.weight", (IH * ID, QL), "fp8")
        s("indexer.proj.weight", "attn.indexer.weights_proj.weight", (IH, D), "bf16")
        s("indexer_compressor_kv.weight", "attn.indexer.compressor.wkv.weight", (2 * ID, D), "bf16")
        s("indexer_compressor_gate.weight", "attn.indexer.compressor.wgate.weight", (2 * ID, D), "bf16")
        s("indexer_compressor_ape.weight", "attn.indexer.compressor.ape", (ratio, 2 * ID), "f32")
        s("indexer_compressor_norm.weight", "attn.indexer.compressor.norm.weight", (ID,), "bf16",
          Role.INDEXER)
    s("hc_ffn_fn.weight", "hc_ffn_fn", (M, hc * D), "f32")
    s("hc_ffn_base.weight", "hc_ffn_base", (M,), "f32")
    s("hc_ffn_scale.weight", "hc_ffn_scale", (3,), "f32")
    s("ffn_norm.weight", "ffn_norm.weight", (D,), "bf16")
    s("ffn_gate_inp.weight", "ffn.gate.weight", (E, D), "bf16")
    if hash_routed:
        s("ffn_gate_tid2eid.weight", "ffn.gate.tid2eid", (V, K), "i64")
    else:
        s("exp_probs_b.bias", "ffn.gate.bias", (E,), "f32")
    s("ffn_gate_exps.weight", "ffn.experts.{e}.w1.weight", (E, I, D), "fp4")
    s("ffn_up_exps.weight", "ffn.experts.{e}.w3.weight", (E, I, D), "fp4")
    s("ffn_down_exps.weight", "ffn.experts.{e}.w2.weight", (E, D, I), "fp4")
    S = c.n_shared_experts * I
    if S:
        s("ffn_gate_shexp.weight", "ffn.shared_experts.w1.weight", (S, D), "fp8")
        s("ffn_up_shexp.weight", "ffn.shared_experts.w3.weight", (S, D), "fp8")
        s("ffn_down_shexp.weight", "ffn.shared_experts.w2.weight", (D, S), "fp8")
    return out


def _mtp_extra(c: Config, il: int, hf: str) -> list[Spec]:
    D, hc = c.hidden_size, c.hc_mult
    b = f"blk.{il}.nextn."
    return [
        Spec(b + "e_proj.weight", hf + "e_proj.weight", (D, D), "fp8", Role.MTP),
        Spec(b + "h_proj.weight", hf + "h_proj.weight", (D, D), "fp8", Role.MTP),
        Spec(b + "enorm.weight", hf + "enorm.weight", (D,), "bf16"),
        Spec(b + "hnorm.weight", hf + "hnorm.weight", (D,), "bf16"),
        Spec(b + "shared_head_norm.weight", hf + "norm.weight", (D,), "bf16"),
        Spec(b + "hc_head_fn.weight", hf + "hc_head_fn", (hc, hc * D), "f32", Role.MTP),
        Spec(b + "hc_head_base.weight", hf + "hc_head_base", (hc,), "f32", Role.MTP),
        Spec(b + "hc_head_scale.weight", hf + "hc_head_scale", (1,), "f32", Role.MTP),
    ]


def specs(c: Config, include_mtp: bool = True) -> list[tuple[Spec, bool]]:
    """Every logical tensor, in converter order, with its MTP flag."""
    D, V, hc, L = c.hidden_size, c.vocab_size, c.hc_mult, c.num_hidden_layers
    out = [(Spec("token_embd.weight", "embed.weight", (V, D), "bf16"), False)]
    for il in range(L):
        out += [(s, False) for s in _block(c, il, f"layers.{il}.", c.ratio(il), il < c.num_hash_layers)]
    out += [(s, False) for s in [
        Spec("output_hc_fn.weight", "hc_head_fn", (hc, hc * D), "f32"),
        Spec("output_hc_base.weight", "hc_head_base", (hc,), "f32"),
        Spec("output_hc_scale.weight", "hc_head_scale", (1,), "f32"),
        Spec("output_norm.weight", "norm.weight", (D,), "bf16"),
        Spec("output.weight", "head.weight", (V, D), "bf16"),
    ]]
    if include_mtp:
        for k in range(c.num_nextn_predict_layers):
            il, hf = L + k, f"mtp.{k}."
            out += [(s, True) for s in _block(c, il, hf, c.ratio(il), False) + _mtp_extra(c, il, hf)]
    return out


def build(config: dict, model_id: str) -> Model:
    c = _config(config, model_id)
    inv = Inventory()
    for spec, mtp in specs(c):
        inv.mtp = mtp
        inv.add(spec.gguf, spec.shape, spec.hf, spec.role)
    layers = []
    for il in range(c.num_hidden_layers):
        r = c.ratio(il)
        kind = {0: AttnKind.SWA, 4: AttnKind.CSA, 128: AttnKind.HCA}[r]
        layers.append(LayerAttention(kind, c.num_attention_heads, 1, c.head_dim, c.head_dim,
                                     window=c.sliding_window, rope_dim=c.qk_rope_head_dim, compress_ratio=r,
                                     index_head_dim=c.index_head_dim if r == 4 else 0,
                                     index_topk=c.index_topk if r == 4 else 0, sinks=True))
    moe = MoE(c.n_routed_experts, c.num_experts_per_tok, c.n_shared_experts, c.moe_intermediate_size,
              0, c.num_hash_layers)
    return make_model(model_id, "deepseek_v4", "deepseek4", inv, layers, n_vocab=c.vocab_size,
                      n_embd=c.hidden_size, n_ctx_train=c.max_position_embeddings, moe=moe,
                      tied=c.tie_word_embeddings, n_mtp=c.num_nextn_predict_layers,
                      meta={"hc_mult": c.hc_mult, "compress_ratios": [c.ratio(i) for i in range(c.num_hidden_layers)]})


# ---- the native (as released) checkpoint ---------------------------------------------

NATIVE_BYTES = {"BF16": 2, "F32": 4, "F8_E4M3": 1, "F8_E8M0": 1, "I8": 1, "I64": 8}
_PLAIN = {"bf16": "BF16", "f32": "F32", "i64": "I64"}


def native_inventory(cfg: dict, include_mtp: bool = True) -> list[tuple[str, tuple[int, ...], str]]:
    """The released checkpoint's tensors as (name, shape, safetensors dtype): FP8 weights
    come with their block scales, FP4 experts one tensor per expert, packed two per byte,
    with a scale per 32 weights."""
    c = _config(cfg, str(cfg.get("model_type", "deepseek_v4")) if isinstance(cfg, dict) else "")
    out: list[tuple[str, tuple[int, ...], str]] = []
    for spec, _mtp in specs(c, include_mtp):
        if spec.kind in _PLAIN:
            out.append((spec.hf, spec.shape, _PLAIN[spec.kind]))
        elif spec.kind == "fp8":
            r, k = spec.shape
            out.append((spec.hf, (r, k), "F8_E4M3"))
            out.append((spec.hf[:-len(".weight")] + ".scale", (ceil(r / FP8_BLOCK), ceil(k / FP8_BLOCK)), "F8_E8M0"))
        else:  # fp4 routed experts: (E, rows, cols) -> per expert
            n_exp, r, k = spec.shape
            for e in range(n_exp):
                name = spec.hf.format(e=e)
                out.append((name, (r, k // 2), "I8"))
                out.append((name[:-len(".weight")] + ".scale", (r, k // FP4_GROUP), "F8_E8M0"))
    return out


def native_bytes(inventory: list[tuple[str, tuple[int, ...], str]]) -> int:
    return sum(prod(shape) * NATIVE_BYTES[dtype] for _, shape, dtype in inventory)


# ---- hooks (families.hook): V4's quirks, kept on its family ---------------------------------

# the checkpoint's formats (its config.json and the safetensors headers of the V4-Flash
# release): FP8 e4m3 with a ue8m0 scale per 128x128 tile for these projections
V4_FP8 = ("attn_q_a.weight", "attn_q_b.weight", "attn_kv.weight", "attn_output_a.weight", "attn_output_b.weight",
          "indexer.attn_q_b.weight", "_shexp.weight", "nextn.e_proj.weight", "nextn.h_proj.weight")
V4_F32 = ("hc_", "_ape.weight", "attn_sinks", "exp_probs_b")


def _native_type(t) -> str:
    n = t.name
    if t.role in (Role.EXPERT_GATE, Role.EXPERT_UP, Role.EXPERT_DOWN):
        return "FP4_E2M1_B32"
    if "tid2eid" in n:
        return "I64"
    if any(p in n for p in V4_F32):
        return "F32"
    if any(n.endswith(p) for p in V4_FP8):
        return "FP8_E4M3_T128_UE8M0"
    return "BF16"


def native_types(model: Model) -> tuple[list[str], str]:
    """Routed experts FP4 e2m1 with a ue8m0 scale per 32; attention projections, the
    indexer's wq_b, shared experts and the MTP e/h projections FP8; hyper-connection
    tensors, position biases, sinks and the router bias F32; tid2eid I64; the rest BF16
    (reproduces the 159,609,485,896 bytes of the V4-Flash release)."""
    return [_native_type(t) for t in model.tensors], "FP4 routed experts + FP8 (128x128 ue8m0 scales) + BF16"


def converter_types(model: Model, outtype: str, convert) -> list[str]:
    """V4's converter (conversion/deepseek.py ``DeepseekV4Model``) keeps the checkpoint's
    own formats: FP8 weights become Q8_0, FP4 routed experts MXFP4, F32 stays F32."""
    from dataclasses import replace
    nat, _ = native_types(model)
    return [convert(replace(t, dtype=d), outtype, keep_checkpoint=True) for t, d in zip(model.tensors, nat)]


def extra_builds(model: Model) -> list[str]:
    """ds4's own GGUF builds (antirez/ds4), made for this architecture."""
    return ["ds4-q2", "ds4-q4"]
