"""Property tests (issue 14), with hypothesis, sized to run in well under a minute.

Parsers: for every reader of outside input (the GGUF header reader on mutated bytes of a
real GGUF, safetensors headers, config.json through each family's HFConfig, rig specs,
memory sizes, build specs) the answer is a valid result or a RigcheckError, never
another exception. Arithmetic: KV bytes are non-negative and never shrink when the
context or the number of sequences grows; a placement's memory total never shrinks with
the context; sizes are non-negative. bench/fuzz.py runs the same ideas for longer,
through the CLI.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import synth
from rigcheck.errors import RigcheckError

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_TMP = tempfile.mkdtemp(prefix="rigcheck-props-")


def _file(name: str, data: bytes) -> str:
    p = os.path.join(_TMP, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def _valid_or_refused(fn, *args):
    """fn(*args), or None when it refused the input with a RigcheckError."""
    try:
        return fn(*args)
    except RigcheckError as e:
        msg = str(e)
        assert msg and "\n" not in msg, msg
        return None


# ---- the GGUF header reader on mutated bytes of a real GGUF -----------------------------

_SEED = {}


def _seed_gguf() -> bytes:
    if "gguf" not in _SEED:
        p = synth.write_qwen3moe(os.path.join(_TMP, "seed.gguf"), n_layer=2, n_embd=64, n_ff_exp=64, n_expert=4)
        _SEED["gguf"] = open(p, "rb").read()
    return _SEED["gguf"]


def _header_end(data: bytes) -> int:
    from rigcheck.model.sources.gguf import read_header
    return read_header(_file("seed-probe.gguf", data)).data_offset


_INTERESTING = [0, 1, 2, 0x7F, 0x80, 0xFF, 0xFE]


@st.composite
def mutated_gguf(draw) -> bytes:
    data = bytearray(_seed_gguf())
    end = min(_header_end(bytes(data)), len(data))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["byte", "u64", "u32", "truncate", "insert"]))
        at = draw(st.integers(0, end - 1))
        if kind == "byte":
            data[at] = draw(st.sampled_from(_INTERESTING) | st.integers(0, 255))
        elif kind in ("u64", "u32"):
            n = 8 if kind == "u64" else 4
            v = draw(st.sampled_from([0, 1, 2**31 - 1, 2**32 - 1, 2**63, 2**64 - 1, 10**6, 4097])
                     | st.integers(0, 2**(8 * n) - 1))
            data[at:at + n] = struct.pack("<Q" if n == 8 else "<I", v % 2**(8 * n))
        elif kind == "truncate":
            del data[at:]
            end = max(len(data), 1)
            if not data:
                break
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


@settings(max_examples=50, **SETTINGS)
@given(mutated_gguf())
def test_gguf_reader_on_mutated_real_bytes(data):
    from rigcheck.model.resolve import check_model
    from rigcheck.model.sources.gguf import read_header
    from rigcheck.model.sources.gguf_model import model_from_header
    p = _file("mutated.gguf", data)
    hdr = _valid_or_refused(read_header, p)
    if hdr is not None:
        model = _valid_or_refused(model_from_header, hdr)
        if model is not None:
            _valid_or_refused(check_model, model)


# ---- safetensors headers ----------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=10)

DTYPES = ["F16", "BF16", "F32", "I8", "F8_E4M3", "F4", "Q4", "", "f16"]


@st.composite
def safetensors_file(draw) -> bytes:
    entries = {}
    for i in range(draw(st.integers(0, 5))):
        name = draw(st.sampled_from(["model.embed_tokens.weight", "lm_head.weight",
                                     f"model.layers.{i}.self_attn.q_proj.weight"]) | st.text(max_size=20))
        entry = {"dtype": draw(st.sampled_from(DTYPES) | json_values),
                 "shape": draw(st.lists(st.integers(-2, 2**40), max_size=5) | json_values),
                 "data_offsets": draw(st.lists(st.integers(-1, 2**40), min_size=2, max_size=2) | json_values)}
        if draw(st.booleans()):
            entry.pop(draw(st.sampled_from(sorted(entry))))
        entries[name] = entry
    if draw(st.booleans()):
        entries["__metadata__"] = draw(json_values)
    raw = json.dumps(entries).encode()
    if draw(st.booleans()):                                  # a damaged header of the right length
        raw = draw(st.binary(max_size=64)) if draw(st.booleans()) else raw[:draw(st.integers(0, len(raw)))]
    declared = len(raw) if draw(st.integers(0, 4)) else draw(st.integers(0, 2**64 - 1))
    return struct.pack("<Q", declared) + raw + draw(st.binary(max_size=64))


@settings(max_examples=40, **SETTINGS)
@given(safetensors_file())
def test_safetensors_header(data):
    from rigcheck.model.sources.safetensors import generic_model, read_header
    p = _file("fuzz.safetensors", data)
    out = _valid_or_refused(read_header, p)
    if out is not None:
        meta, tensors = out
        assert all(t.nbytes >= 0 and all(d >= 0 for d in t.shape) for t in tensors)
        _valid_or_refused(generic_model, tensors, "fuzz")


# ---- config.json through each family's HFConfig ----------------------------------------

def _card_ids():
    from rigcheck.model.catalog import all_cards
    return sorted(c.id for c in all_cards())


@settings(max_examples=50, **SETTINGS)
@given(st.sampled_from(_card_ids()), st.data())
def test_config_values_through_the_families(card_id, data):
    from rigcheck.model.catalog import card
    from rigcheck.model.families import build_model
    from rigcheck.model.resolve import check_model
    cfg = json.loads(json.dumps(card(card_id).config))
    target = cfg.get("text_config") if isinstance(cfg.get("text_config"), dict) and data.draw(st.booleans()) else cfg
    keys = sorted(target)
    for _ in range(data.draw(st.integers(1, 3))):
        key = data.draw(st.sampled_from(keys) | st.text(max_size=10))
        if data.draw(st.integers(0, 5)) == 0:
            target.pop(key, None)
        else:
            target[key] = data.draw(json_values | st.integers(-2**64, 2**64)
                                    | st.sampled_from([0, -1, 1, 2**31, 2**63, 1e308, "4096", [], {}]))
    model = _valid_or_refused(build_model, cfg, card_id)
    if model is not None:
        model = _valid_or_refused(check_model, model)
    if model is not None:
        assert all(d > 0 for t in model.tensors for d in t.shape)


# ---- rig specs, memory sizes, build specs ------------------------------------------------

_RIG_WORDS = ["rtx-4090", "rtx-5090", "2x", "3x", "m4-max-128", "nodes", "x", "+", "64GB", "128gb", "1.5TB",
              "ddr5-6000", "ddr4-3200x8", "cpu-only", "nvlink4", "ib-400g", "tb5", "xeon-gold-6138", "0GB",
              "99999999999999999999GB", "-", "×", "tier-128-unified", "rtx", "4090"]


@settings(max_examples=150, **SETTINGS)
@given(st.lists(st.sampled_from(_RIG_WORDS) | st.text(max_size=12), max_size=8).map(" ".join)
       | st.text(max_size=40))
def test_rig_specs(spec):
    from rigcheck.hardware.spec import format_rig, parse_rig
    rig = _valid_or_refused(parse_rig, spec)
    if rig is not None:
        assert rig.nodes and all(n.ram_bytes is None or n.ram_bytes > 0 for n in rig.nodes)
        assert parse_rig(format_rig(rig)).spec == rig.spec


@settings(max_examples=100, **SETTINGS)
@given(st.text(max_size=30) | st.from_regex(r"\s*\+?[0-9]{0,30}(\.[0-9]{0,10})?\s*[a-zA-Z]{0,4}\s*", fullmatch=True)
       | st.integers(-2**70, 2**70))
def test_memory_sizes(text):
    from rigcheck.units import parse_memory
    n = _valid_or_refused(parse_memory, text)
    assert n is None or 0 < n <= 2**50


_MIX_WORDS = ["experts", "shared", "attn", "default", "embed", "output", "norm", "=", ",", "Q4_K", "Q8_0", "Q8_1",
              "Q8_K", "IQ2_XS", "F16", "MXFP4", "bogus", "Q4_K_M", "IQ2_XS-XL", "native", "mlx-4bit", "file"]


@settings(max_examples=80, **SETTINGS)
@given(st.lists(st.sampled_from(_MIX_WORDS), min_size=1, max_size=8).map("".join) | st.text(max_size=20))
def test_build_specs(spec):
    from rigcheck.model.catalog import model_of
    from rigcheck.quant.recipes import build
    b = _valid_or_refused(build, model_of("qwen3-30b-a3b"), spec)
    if b is not None:
        assert b.file_bytes >= b.weights_bytes >= 0 and all(n >= 0 for n in b.nbytes)
        assert not any(t in ("Q8_1", "Q8_K") for t in b.types if t)


# ---- the arithmetic's invariants ---------------------------------------------------------

@settings(max_examples=40, **SETTINGS)
@given(st.sampled_from(_card_ids()), st.sampled_from(["llama.cpp", "vllm", "sglang", "mlx", "ollama"]),
       st.integers(1, 2**20), st.integers(1, 2**20), st.integers(1, 8), st.integers(1, 8))
def test_kv_bytes_non_negative_and_monotone(card_id, runtime, ctx_a, ctx_b, seq_a, seq_b):
    from rigcheck.memory import kv_llamacpp, runtimes
    from rigcheck.model.catalog import model_of
    model = model_of(card_id)
    lo, hi = sorted((ctx_a, ctx_b))
    s_lo, s_hi = sorted((seq_a, seq_b))

    def kv(ctx, seqs):
        if runtime == "llama.cpp":       # one cache of ctx cells per sequence (not the unified default)
            return kv_llamacpp.kv_cache(model, ctx * seqs, n_seq_max=seqs, kv_unified=False).bytes
        try:
            return runtimes.kv_cache(runtime, model, ctx, parallel=seqs).bytes
        except RigcheckError:            # a runtime that does not run this architecture
            return None

    a, b, c = kv(lo, s_lo), kv(hi, s_lo), kv(hi, s_hi)
    if a is None:
        return
    assert 0 <= a <= b <= c, (a, b, c)


@settings(max_examples=10, **SETTINGS)
@given(st.sampled_from(["llama-3.1-8b-instruct", "qwen3-30b-a3b", "gemma-3-4b-it", "gpt-oss-20b"]),
       st.integers(256, 131072), st.integers(256, 131072))
def test_memory_total_monotone_in_context(card_id, ctx_a, ctx_b):
    from rigcheck.model.catalog import model_of
    from rigcheck.plan.placement import plan
    from rigcheck.quant.recipes import build
    b = build(model_of(card_id), "Q4_K_M")
    lo, hi = sorted((ctx_a, ctx_b))
    gib = 2**30
    t_lo = plan(b, ctx=lo, vram_bytes=24 * gib, ram_bytes=64 * gib).total_bytes
    t_hi = plan(b, ctx=hi, vram_bytes=24 * gib, ram_bytes=64 * gib).total_bytes
    assert b.weights_bytes <= t_lo <= t_hi, (t_lo, t_hi)


def _storage_types():
    from rigcheck.quant.types import GGML_TYPES
    return sorted(k for k, t in GGML_TYPES.items() if t.block)


@settings(max_examples=100, **SETTINGS)
@given(st.sampled_from(_storage_types()), st.lists(st.integers(0, 2**16), min_size=1, max_size=4),
       st.integers(0, 3))
def test_tensor_sizes_non_negative_and_monotone(type_name, shape, grow):
    from rigcheck.quant.types import GGML_TYPES
    t = GGML_TYPES[type_name]
    n = t.nbytes(tuple(shape))
    assert n >= 0
    assert n == 0 or 0 not in shape
    bigger = list(shape)
    bigger[grow % len(bigger)] += 1
    assert t.nbytes(tuple(bigger)) >= n
