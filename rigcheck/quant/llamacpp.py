"""llama.cpp file types (Q4_K_M, IQ2_XS, MXFP4_MOE...) with llama-quantize's per-tensor rules.

The rules follow ``src/llama-quant.cpp`` of the llama.cpp vendored by llama-cpp-python
0.3.36 (llama.cpp commit 0c1e570, 2026-10-01), checked by quantizing real files with it
(tests/test_quant_llamacpp_conformance.py). In order:

* ``tensor_allows_quantization``: 1-D tensors (after dropping trailing 1s), names not
  ending in ``weight``, ``*_norm.weight``, routers (``ffn_gate_inp``), V4's ``tid2eid``
  and a list of small special tensors keep their source type.
* ``llama_tensor_get_type_impl``: a category from the name (first match of output,
  token_embd, attn_qkv, attn_kv_b, attn_v, attn_k, attn_q, attn_output, ffn_up,
  ffn_gate, ffn_down), then the ftype's rules: output (and token_embd when tied)
  Q6_K / Q5_K / Q8_0; MXFP4_MOE: 3-D tensors MXFP4, the rest Q8_0; the IQ1/IQ2 family;
  attn_v-like tensors; attn_k / attn_q; ffn_down by layer (``use_more_bits``); attn_output;
  IQ3_XS gate/up. ``n_expert == 8`` (Mixtral) and the 70B llama get their own cases.
  Counters (``i_attention_wv``, ``i_ffn_down``...) advance in llama.cpp's tensor order
  (``weight_name_comparer``: tensors outside ``blk.N.`` first, then by layer, then name).
* ``tensor_type_fallback``: when the row length does not divide the block, IQ types go to
  IQ4_NL, Q2_K/Q3_K/TQ*/Q2_0 to Q4_0, Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0; a 32-block
  type, or a fallback that still does not divide, becomes F16; any other type is an error.

Where the rules changed (research/runtime-memory.md 2.3, 2.7): since 2026-03-10
(llama.cpp PR #19770) ``attn_qkv`` follows the attn_v rules (before, Q4_K_M gave it Q5_K
and Q5_K_M Q6_K), and Q2_K/Q3_K fall back to Q4_0 (before: IQ4_NL). Files made before
that date can differ from this plan in exactly those tensors.
"""

from __future__ import annotations

from ..model.families.archs import arch as arch_row

import functools

import re
from dataclasses import dataclass

from ..errors import InputError, UnknownNameError
from ..model import Model
from .types import GGML_TYPES


@dataclass(frozen=True)
class FType:
    """A llama.cpp file type: its name as llama-quantize spells it, its ``llama_ftype`` id,
    the default tensor type, and whether llama-quantize refuses it without an imatrix."""

    name: str
    id: int
    default: str
    imatrix: bool = False


FTYPES: dict[str, FType] = {f.name: f for f in [
    FType("F32", 0, "F32"), FType("F16", 1, "F16"), FType("BF16", 32, "BF16"),
    FType("Q4_0", 2, "Q4_0"), FType("Q4_1", 3, "Q4_1"), FType("Q8_0", 7, "Q8_0"),
    FType("Q5_0", 8, "Q5_0"), FType("Q5_1", 9, "Q5_1"),
    FType("Q2_K", 10, "Q2_K"), FType("Q2_K_S", 21, "Q2_K", True),
    FType("Q3_K_S", 11, "Q3_K"), FType("Q3_K_M", 12, "Q3_K"), FType("Q3_K_L", 13, "Q3_K"),
    FType("Q4_K_S", 14, "Q4_K"), FType("Q4_K_M", 15, "Q4_K"),
    FType("Q5_K_S", 16, "Q5_K"), FType("Q5_K_M", 17, "Q5_K"), FType("Q6_K", 18, "Q6_K"),
    FType("IQ2_XXS", 19, "IQ2_XXS", True), FType("IQ2_XS", 20, "IQ2_XS", True),
    FType("IQ2_S", 28, "IQ2_XS", True), FType("IQ2_M", 29, "IQ2_S", True),
    FType("IQ3_XXS", 23, "IQ3_XXS", True), FType("IQ3_XS", 22, "IQ3_S", True),
    FType("IQ3_S", 26, "IQ3_S"), FType("IQ3_M", 27, "IQ3_S"),
    FType("IQ1_S", 24, "IQ1_S", True), FType("IQ1_M", 31, "IQ1_M", True),
    FType("IQ4_NL", 25, "IQ4_NL"), FType("IQ4_XS", 30, "IQ4_XS"),
    FType("TQ1_0", 36, "TQ1_0"), FType("TQ2_0", 37, "TQ2_0"),
    FType("MXFP4_MOE", 38, "MXFP4"),
    FType("Q1_0", 40, "Q1_0"), FType("Q2_0", 41, "Q2_0"),
]}
# NVFP4 (llama_ftype 39) is in llama.h, but this llama.cpp's llama_ftype_get_default_type
# has no case for it: llama_model_quantize answers "invalid output file type 39".
# llama-quantize's short names
ALIASES = {"Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M"}

_FLOAT = frozenset({"F32", "F16", "BF16"})
_IQ_LOW = frozenset({"IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ1_S", "IQ1_M"})
_IQ_S_M = frozenset({"IQ2_S", "IQ2_M"})
_O_MIXTRAL = frozenset({"Q2_K", "IQ3_XS", "IQ3_XXS", "Q3_K_S", "Q3_K_M", "IQ4_NL", "Q4_K_S", "Q4_K_M",
                        "IQ3_S", "IQ3_M", "IQ4_XS"})
_FALLBACK = {"IQ1_S": "IQ4_NL", "IQ1_M": "IQ4_NL", "IQ2_XXS": "IQ4_NL", "IQ2_XS": "IQ4_NL",
             "IQ2_S": "IQ4_NL", "IQ3_XXS": "IQ4_NL", "IQ3_S": "IQ4_NL", "IQ4_XS": "IQ4_NL",
             "Q2_0": "Q4_0", "Q2_K": "Q4_0", "Q3_K": "Q4_0", "TQ1_0": "Q4_0", "TQ2_0": "Q4_0",
             "Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0"}
# tensor_allows_quantization: name pieces that are never quantized
_NEVER = ("_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
          "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
          "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
          "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
          "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
          "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
          "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.",
          "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd")
_NEVER_EXACT = ("position_embd.weight", "token_types.weight")
_NEVER_GLM5_NEXT = ("hc_", "indexer.attn_q_b", "indexer.attn_k", "indexer.proj", "indexer_compressor_gate",
                    "indexer_compressor_ape", "ssm_f_a.weight", "ssm_f_b.weight", "ssm_g_a.weight",
                    "ssm_g_b.weight", "ssm_beta.weight", "attn_kv_a_mqa.weight", "attn_k_b.weight",
                    "attn_v_b.weight")

# categories (tensor_get_category); V, QKV and KV_B share the attn_v rules
OUTPUT, EMBD, QKV, KV_B, V, K, Q, O, UP, GATE, DOWN, OTHER = range(12)
_ATTN_V = frozenset({V, QKV, KV_B})


@functools.lru_cache(maxsize=1 << 16)
def category(name: str) -> int:
    if name == "output.weight":
        return OUTPUT
    if name in ("token_embd.weight", "per_layer_token_embd.weight"):
        return EMBD
    for piece, cat in (("attn_qkv.weight", QKV), ("attn_kv_b.weight", KV_B), ("attn_v.weight", V),
                       ("attn_k.weight", K), ("attn_q.weight", Q), ("attn_output.weight", O),
                       ("ffn_up", UP), ("ffn_gate", GATE), ("ffn_down", DOWN)):
        if piece in name:
            return cat
    return OTHER


@functools.lru_cache(maxsize=1 << 16)
def allows_quantization(name: str, ne: tuple[int, ...], arch: str = "") -> bool:
    """llama.cpp's ``tensor_allows_quantization`` (default params)."""
    if ggml_n_dims(ne) < 2 or not name.endswith("weight") or name in _NEVER_EXACT:
        return False
    if any(p in name for p in _NEVER):
        return False
    if arch == "glm5-next" and any(p in name for p in _NEVER_GLM5_NEXT):
        return False
    return True


def ggml_n_dims(ne: tuple[int, ...]) -> int:
    n = len(ne)
    while n > 1 and ne[n - 1] == 1:
        n -= 1
    return max(n, 1)


def use_more_bits(i: int, n: int) -> bool:
    """llama.cpp's use_more_bits: the first and last eighth, and every third layer between."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


_BLK = re.compile(r"blk\.(\d+)\.")


def _layer(name: str) -> int:
    """sscanf(name, "blk.%d.") as weight_name_comparer uses it: -1 when absent."""
    m = _BLK.match(name)
    return int(m.group(1)) if m else -1


@dataclass(frozen=True)
class Hparams:
    """The model facts llama-quantize's rules read."""

    arch: str
    n_layer_all: int
    n_expert: int
    n_gqa: int
    is_70b: bool = False


def hparams_of(model: Model, include_mtp: bool = False, metadata: dict | None = None) -> Hparams:
    """From a GGUF header's metadata when given (exactly as llama.cpp reads it), else from
    the Model (the layer count includes MTP layers only when they are in the build)."""
    arch = model.arch
    if metadata is not None:
        n_layer_all = int(metadata.get(f"{arch}.block_count", 0) or 0)
        n_expert = int(metadata.get(f"{arch}.expert_count", 0) or 0)
        h = metadata.get(f"{arch}.attention.head_count", 0)
        kv = metadata.get(f"{arch}.attention.head_count_kv", None)
        h0 = int((h[0] if isinstance(h, list) and h else h) or 0)
        kv0 = h0 if kv is None else int((kv[0] if isinstance(kv, list) and kv else kv) or 0)
    else:
        n_layer_all = model.n_layer + (model.n_mtp_layers if include_mtp else 0)
        n_expert = model.moe.n_expert if model.moe else 0
        la = model.layers[0] if model.layers else None
        h0 = la.n_head if la else 0
        kv0 = la.n_head_kv if la else 0
        if la is not None and la.kv_lora_rank:
            kv0 = h0      # the deepseek2 converter writes num_key_value_heads = n_head
    n_gqa = h0 // kv0 if kv0 else 0
    need = arch_row(arch).quant_70b       # llama_model types that count as LLM_TYPE_70B
    is_70b = bool(need and n_layer_all == need[0] and (not need[1] or h0 != kv0))
    return Hparams(arch, n_layer_all, n_expert, n_gqa, is_70b)


def ftype(name: str) -> FType:
    """Look up a llama.cpp file type, case-insensitively (``q4_k_m`` -> Q4_K_M)."""
    key = name.strip().upper()
    key = ALIASES.get(key, key)
    if key not in FTYPES:
        raise UnknownNameError("llama.cpp file type", name, list(FTYPES))
    return FTYPES[key]


@dataclass
class _Prep:
    """Per-model facts computed once: llama.cpp's tensor order, categories, rows."""

    order: list[int]
    cat: list[int]
    allows: list[bool]
    ne0: list[int]
    ne2: list[int]
    layer: list[int]
    n_attention_wv: int
    tied: bool


_PREP_CACHE: dict[tuple, tuple[Model, _Prep]] = {}


def prepare(model: Model, include: list[bool]) -> _Prep:
    key = (id(model), tuple(include) if len(include) < 64 else sum(include) * 7919 + len(include))
    hit = _PREP_CACHE.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    ts = model.tensors
    idx = [i for i in range(len(ts)) if include[i]]
    layer = [_layer(t.name) for t in ts]
    idx.sort(key=lambda i: (layer[i], ts[i].name))
    cat = [category(t.name) for t in ts]
    allows = [allows_quantization(t.name, t.ne, model.arch) for t in ts]
    ne0 = [t.shape[-1] if t.shape else 1 for t in ts]
    ne2 = [t.ne[2] if len(t.shape) > 2 else 1 for t in ts]
    n_wv = sum(1 for i in idx if cat[i] in _ATTN_V)
    tied = not any(cat[i] == OUTPUT for i in idx)
    prep = _Prep(idx, cat, allows, ne0, ne2, layer, n_wv, tied)
    if len(_PREP_CACHE) > 64:
        _PREP_CACHE.clear()
    _PREP_CACHE[key] = (model, prep)
    return prep


@dataclass
class Plan:
    """The outcome of planning one ftype: a type per tensor (None = not in the build),
    the fallbacks taken (name, planned type, type used) and whether an imatrix is needed."""

    types: list[str | None]
    fallbacks: list[tuple[str, str, str]]
    requires_imatrix: bool


def plan(model: Model, ft: FType | str, src: list[str], include: list[bool], hp: Hparams,
         imatrix: bool | None = None) -> Plan:
    """The type llama-quantize gives every tensor of ``model`` at file type ``ft``.

    ``src`` is each tensor's type in the input file; tensors that may not be quantized
    keep it. ``imatrix`` says whether an importance matrix is given (default: only for
    the file types that need one)."""
    ft = ftype(ft) if isinstance(ft, str) else ft
    has_imatrix = ft.imatrix if imatrix is None else imatrix
    p = prepare(model, include)
    ts = model.tensors
    types: list[str | None] = [None] * len(ts)
    fallbacks: list[tuple[str, str, str]] = []
    default = ft.default
    quantized_default = default not in _FLOAT
    st = _State()
    needs_im = False
    for i in p.order:
        if not p.allows[i]:
            types[i] = src[i]
            continue
        if not quantized_default:
            types[i] = default
            continue
        t = _rule(ft.name, default, i, p, hp, st, ts[i].name, has_imatrix)
        t2 = _fallback(t, p.ne0[i], ts[i].name, ft.name)
        if t2 != t:
            fallbacks.append((ts[i].name, t, t2))
        types[i] = t2
        if not needs_im and _requires_imatrix(ts[i].name, t2, ft.name):
            needs_im = True
    return Plan(types, fallbacks, needs_im)


class _State:
    __slots__ = ("i_wv", "i_down", "i_gate", "i_up")

    def __init__(self):
        self.i_wv = self.i_down = self.i_gate = self.i_up = 0


def _requires_imatrix(name: str, t: str, ft: str) -> bool:
    if name in ("token_embd.weight", "per_layer_token_embd.weight", "output.weight"):
        return False
    return t in ("IQ3_XXS", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ1_M", "IQ1_S") or (t == "Q2_K" and ft == "Q2_K_S")


def _fallback(t: str, ne0: int, name: str, ft: str) -> str:
    blk = GGML_TYPES[t].block
    if ne0 % blk == 0:
        return t
    r = _FALLBACK.get(t)
    if r is None:
        if blk > 32:
            raise InputError(f"llama.cpp cannot make {ft}: tensor {name} has rows of {ne0}, not a multiple "
                             f"of {blk} as {t} needs, and llama-quantize has no fallback for {t}")
        r = t
    if ne0 % GGML_TYPES[r].block:
        r = "F16"
    return r


def _rule(ft: str, t: str, i: int, p: _Prep, hp: Hparams, st: _State, name: str, has_im: bool) -> str:
    """llama_tensor_get_type_impl for one tensor; ``t`` is the ftype's default type."""
    cat = p.cat[i]
    n_expert = hp.n_expert
    if hp.arch == "glm5-next" and ("attn_q_a" in name or "attn_q_b" in name or "nextn.eh_proj" in name):
        return "Q8_0"
    if cat == OUTPUT or (p.tied and cat == EMBD):
        if ft == "MXFP4_MOE":
            return "Q8_0"
        if hp.arch == "falcon" or p.ne0[i] % GGML_TYPES[t].block:
            return "Q8_0"
        if ft in ("IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"):
            return "Q5_K"
        return "Q6_K" if t != "Q8_0" else t
    if ft == "MXFP4_MOE":
        expert_like = hp.arch != "bailingmoe3" or cat in (UP, GATE, DOWN)
        return "MXFP4" if p.ne2[i] > 1 and expert_like else "Q8_0"
    if cat == EMBD:
        if ft in ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
            return "Q2_K"
        if ft in ("IQ2_S", "IQ2_M", "IQ3_XXS"):
            return "IQ3_S"
        if ft in ("TQ1_0", "TQ2_0", "Q2_0"):
            return "Q4_K"
        return t
    if ft in _IQ_LOW:
        if cat in _ATTN_V:
            st.i_wv += 1
            if hp.n_gqa >= 4 or n_expert >= 4:
                return "Q4_K"
            return "IQ3_S" if ft in _IQ_S_M else "Q2_K"
        if n_expert == 8 and cat == K:
            return "Q4_K"
        if cat == DOWN:
            low = st.i_down < hp.n_layer_all // 8
            st.i_down += 1
            if low:
                return "IQ3_S" if ft in _IQ_S_M else "Q2_K"
            return t
        if cat == O:
            if n_expert == 8:
                return "Q5_K"
            if ft in ("IQ1_S", "IQ1_M"):
                return "IQ2_XXS"
            if ft in _IQ_S_M:
                return "IQ3_S"
        return t
    if cat in _ATTN_V:
        gqa4 = hp.n_gqa >= 4
        if ft == "Q2_K":
            t = "Q4_K" if gqa4 else "Q3_K"
        elif ft == "Q2_K_S" and gqa4:
            t = "Q4_K"
        elif ft == "IQ3_XXS":
            t = "Q4_K" if gqa4 else ("IQ3_S" if not has_im else "IQ3_XXS")
        elif ft in ("IQ3_XS", "IQ3_S") and gqa4:
            t = "Q4_K"
        elif ft == "IQ3_M":
            t = "Q4_K"
        elif ft == "Q3_K_M":
            t = "Q5_K" if st.i_wv < 2 else "Q4_K"
        elif ft == "Q3_K_L":
            t = "Q5_K"
        elif ft in ("IQ4_NL", "IQ4_XS") and gqa4:
            t = "Q5_K"
        elif ft in ("Q4_K_M", "Q5_K_M") and use_more_bits(st.i_wv, p.n_attention_wv):
            t = "Q6_K"
        elif ft == "Q4_K_S" and st.i_wv < 4:
            t = "Q5_K"
        if hp.is_70b and t in ("Q3_K", "Q4_K"):
            t = "Q5_K"
        if n_expert == 8:
            t = "Q8_0"
        st.i_wv += 1
        return t
    if cat == K:
        if n_expert == 8:
            return "Q8_0"
        if ft == "IQ3_XS":
            return "IQ3_XXS"
        if ft == "IQ3_XXS":
            return "IQ2_S"
        return t
    if cat == Q:
        if ft == "IQ3_XS":
            return "IQ3_XXS"
        if ft == "IQ3_XXS":
            return "IQ2_S"
        return t
    if cat == DOWN:
        il, nl = _layer_info(st.i_down, hp, p.layer[i], name)
        st.i_down += 1
        falcon = hp.arch == "falcon"
        if ft == "Q2_K":
            return "Q3_K"
        if ft == "Q2_K_S":
            return "Q4_K" if il < nl // 8 else t
        if ft == "IQ3_XXS" and not has_im:
            return "Q4_K" if il < nl // 8 else "Q3_K"
        if ft == "Q3_K_M":
            if il < nl // 16:
                return "Q5_K"
            return "Q4_K" if (not falcon or use_more_bits(il, nl)) else "Q3_K"
        if ft == "IQ3_M" and (il < nl // 8 or (n_expert == 8 and use_more_bits(il, nl))):
            return "Q4_K"
        if ft == "IQ3_M":
            return t
        if ft == "Q3_K_L":
            return "Q4_K" if falcon else "Q5_K"
        if ft == "Q4_K_M":
            if falcon:
                return "Q6_K" if il < nl // 16 else ("Q5_K" if use_more_bits(il, nl) else "Q4_K")
            return "Q6_K" if use_more_bits(il, nl) else t
        if il < nl // 8 and ft in ("IQ4_NL", "IQ4_XS") and not has_im:
            return "Q5_K"
        if ft == "Q5_K_M" and use_more_bits(il, nl):
            return "Q6_K"
        if ft == "Q5_K_M":
            return t
        if ft == "Q4_K_S" and not falcon and il < nl // 8:
            return "Q5_K"
        if ft in ("Q4_0", "Q5_0") and has_im and il < nl // 8:
            return "Q4_1" if ft == "Q4_0" else "Q5_1"
        return t
    if cat == O:
        if hp.arch != "falcon":
            if n_expert == 8:
                return "Q5_K" if ft in _O_MIXTRAL else t
            return {"Q2_K": "Q3_K", "IQ3_XXS": "IQ3_S", "Q3_K_M": "Q4_K", "Q3_K_L": "Q5_K",
                    "IQ3_M": "Q4_K"}.get(ft, t)
        return "Q4_K" if ft == "Q3_K_L" else t
    if cat == GATE or cat == UP:
        if cat == GATE:
            il, nl = _layer_info(st.i_gate, hp, p.layer[i], name)
            st.i_gate += 1
        else:
            il, nl = _layer_info(st.i_up, hp, p.layer[i], name)
            st.i_up += 1
        if ft == "IQ3_XS" and nl // 8 <= il < 7 * nl // 8:
            return "IQ3_XXS"
        return t
    return t


def _layer_info(counter: int, hp: Hparams, layer: int, name: str) -> tuple[int, int]:
    """The layer the ffn rules use: the name's blk.N in a MoE model, else the counter."""
    if max(1, hp.n_expert) > 1:
        if layer < 0 or layer >= hp.n_layer_all:
            raise InputError(f"llama.cpp cannot place tensor {name} in a layer (it has {hp.n_layer_all} layers)")
        return layer, hp.n_layer_all
    return counter, hp.n_layer_all
