"""rigcheck's llama.cpp plans against real llama-quantize output (llama-cpp-python 0.3.36).

Tiny synthetic models (tests/synth.py) are written as F16 GGUFs and quantized with
llama_cpp.llama_model_quantize at every file type that needs no importance matrix, and
at the imatrix file types with a flat importance matrix. The real output file is read
back with rigcheck's GGUF reader: every tensor's type and the file's size in bytes must
equal rigcheck's plan, made from the F16 source file's Model.
"""

from __future__ import annotations

import ctypes
import os

import pytest

import llama_cpp
import synth
from rigcheck.errors import InputError
from rigcheck.model.sources.gguf import read_header
from rigcheck.model.sources.gguf_model import load_gguf
from rigcheck.quant import llamacpp, recipes

_QUIET = llama_cpp.llama_log_callback(lambda level, text, user: None)

MODELS = {
    "llama": lambda p: synth.write_llama(p),                       # n_ff 672: K-quant fallbacks
    "qwen3moe16": lambda p: synth.write_qwen3moe(p, n_expert=16, n_ff_exp=128),
    "qwen3moe8": lambda p: synth.write_qwen3moe(p, n_layer=4, n_expert=8, n_ff_exp=128),  # Mixtral rules
    "deepseek2": lambda p: synth.write_deepseek2(p),               # MLA, 3-D k_b/v_b, shared expert
    "gemma3": lambda p: synth.write_gemma3(p),                     # tied, n_ff 600: F16 fallbacks
}
PLAIN = [f.name for f in llamacpp.FTYPES.values() if not f.imatrix]
WITH_IMATRIX = [f.name for f in llamacpp.FTYPES.values() if f.imatrix] + ["Q4_0", "IQ4_NL"]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    llama_cpp.llama_log_set(_QUIET, ctypes.c_void_p(0))
    d = tmp_path_factory.mktemp("synth")
    return {k: str(w(str(d / f"{k}.gguf"))) for k, w in MODELS.items()}


def _imatrix(src: str):
    """A flat importance matrix (all ones) for every tensor of 2 or more dimensions."""
    keep = []
    entries = []
    for t in read_header(src).tensors:
        if len([d for d in t.ne if d > 1]) < 2:
            continue
        n = t.ne[0] * (t.ne[2] if len(t.ne) > 2 else 1)
        data = (ctypes.c_float * n)(*([1.0] * n))
        name = t.name.encode()
        keep += [data, name]
        entries.append((name, data, n))
    arr = (llama_cpp.llama_model_imatrix_data * (len(entries) + 1))()
    for i, (name, data, n) in enumerate(entries):
        arr[i].name = name
        arr[i].data = ctypes.cast(data, ctypes.POINTER(ctypes.c_float))
        arr[i].size = n
    arr[len(entries)].name = None
    return arr, keep


def _quantize(src: str, out: str, ft: llamacpp.FType, imatrix: bool) -> int:
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = ft.id
    p.nthread = 2
    keep = None
    if imatrix:
        arr, keep = _imatrix(src)
        p.imatrix = ctypes.cast(arr, ctypes.POINTER(llama_cpp.llama_model_imatrix_data))
        keep.append(arr)
    rc = llama_cpp.llama_model_quantize(src.encode(), out.encode(), ctypes.byref(p))
    del keep
    return rc


def _check(src: str, out: str, name: str, imatrix: bool):
    ft = llamacpp.ftype(name)
    model = load_gguf(src)
    try:
        planned = recipes.build(model, name, imatrix=imatrix)
    except InputError as e:
        # rigcheck says llama.cpp cannot make it: llama.cpp must refuse too
        assert _quantize(src, out, ft, imatrix) != 0, f"rigcheck refused {name} ({e}) but llama.cpp made it"
        return
    assert _quantize(src, out, ft, imatrix) == 0, f"llama.cpp failed on {name}; rigcheck planned it"
    real = {t.name: t.type.name for t in read_header(out).tensors}
    got = {t.name: ty for t, ty, _ in planned.items()}
    assert set(got) == set(real)
    wrong = {n: (got[n], real[n]) for n in real if got[n] != real[n]}
    assert not wrong, f"{name}: planned vs real types differ: {wrong}"
    assert planned.file_bytes == os.path.getsize(out)
    assert not planned.header_estimated
    os.remove(out)


@pytest.mark.parametrize("arch", list(MODELS))
def test_every_plain_ftype_matches_llama_quantize(sources, tmp_path, arch):
    for name in PLAIN:
        _check(sources[arch], str(tmp_path / f"{arch}-{name}.gguf"), name, False)


@pytest.mark.parametrize("arch", ["llama", "deepseek2", "qwen3moe8"])
def test_imatrix_ftypes_match_llama_quantize(sources, tmp_path, arch):
    for name in WITH_IMATRIX:
        _check(sources[arch], str(tmp_path / f"{arch}-{name}-im.gguf"), name, True)


def test_plans_exercise_the_interesting_rules(sources):
    """The synthetic models really reach fallbacks, tied output and the expert rules."""
    llama = recipes.build(load_gguf(sources["llama"]), "Q4_K_M")
    assert llama.type_of("blk.0.ffn_down.weight") == "Q8_0"      # Q6_K, rows of 672 -> Q8_0
    assert llama.type_of("blk.1.ffn_down.weight") == "Q5_0"      # Q4_K -> Q5_0
    gemma = recipes.build(load_gguf(sources["gemma3"]), "Q4_K_M")
    assert gemma.type_of("token_embd.weight") == "Q6_K"          # tied: the output rule
    assert gemma.type_of("blk.2.ffn_down.weight") == "F16"       # 600 is not a multiple of 32
    q8 = recipes.build(load_gguf(sources["qwen3moe8"]), "Q4_K_M")
    assert q8.type_of("blk.0.attn_v.weight") == "Q8_0"           # n_expert == 8
    mx = recipes.build(load_gguf(sources["deepseek2"]), "MXFP4_MOE")
    assert mx.type_of("blk.1.attn_k_b.weight") == "MXFP4"        # 3-D, so MXFP4 like experts
    assert mx.type_of("blk.1.ffn_gate_inp.weight") == "F32"
