"""Bad build names, mixes that cannot apply, MLX groups that do not divide, the gemma3
270M file reproduced from its header, and the size/builds commands."""

from __future__ import annotations

import json
import os

import pytest

from rigcheck.report.notes import text

import synth
from rigcheck.cli import main
from rigcheck.errors import InputError
from rigcheck.model.sources.gguf_model import load_gguf
from rigcheck.quant import recipes


@pytest.fixture(scope="module")
def llama_path(tmp_path_factory):
    return synth.write_llama(str(tmp_path_factory.mktemp("e") / "l.gguf"), n_layer=2, n_ff=600)


def test_gemma3_270m_file_size_from_its_header(gemma_gguf):
    m = load_gguf(gemma_gguf)
    b = recipes.build(m)
    assert b.file_bytes == os.path.getsize(gemma_gguf)
    assert not b.header_estimated
    # planning Q4_K_M from the file reproduces the published Q4_K_M file exactly
    q = recipes.build(m, "q4_k_m")
    assert q.file_bytes == os.path.getsize(gemma_gguf)
    assert all(ty == t.dtype for t, ty, _ in q.items())


@pytest.mark.parametrize("name,expect", [
    ("Q4_K_X", "Q4_K_M"),                      # unknown type/recipe: closest names
    ("mlx-7bit", "mlx-4bit"),
    ("experts=IQ2_XQ,default=Q8_0", "IQ2_XS"),  # unknown type in a mix
    ("expert=IQ2_XS", "experts"),              # unknown role in a mix
    ("experts", "experts=IQ2_XS,default=Q8_0"),
])
def test_unknown_names_list_valid_ones(llama_path, name, expect):
    with pytest.raises(InputError) as e:
        recipes.build(load_gguf(llama_path), name)
    assert expect in str(e.value)


def test_mlx_group_that_does_not_divide_says_which_tensors(llama_path):
    b = recipes.build(load_gguf(llama_path), "mlx-4bit")
    assert b.type_of("blk.0.ffn_down.weight") == "F16"          # 600 % 64 != 0: kept as is
    assert b.type_of("blk.0.ffn_up.weight") == "MLX_4BIT_G64"
    note = " ".join(text(n) for n in b.notes)
    assert "blk.0.ffn_down.weight (600 per row)" in note and "kept" in note


def test_mix_fallback_is_reported(llama_path):
    b = recipes.build(load_gguf(llama_path), "ffn=Q4_K,default=Q8_0")
    assert b.type_of("blk.0.ffn_down.weight") == "F16"           # Q4_K -> Q5_0 -> F16 (600 % 32)
    assert b.type_of("blk.0.ffn_up.weight") == "Q4_K"
    assert b.type_of("blk.0.attn_norm.weight") == "F32"
    assert any("fallback" in text(n) and "blk.0.ffn_down.weight" in text(n) for n in b.notes)


def test_ds4_only_for_v4(llama_path):
    with pytest.raises(InputError, match="DeepSeek V4"):
        recipes.build(load_gguf(llama_path), "ds4-q2")


def test_cli_size_json(llama_path, capsys):
    assert main(["size", llama_path, "--build", "Q4_K_M", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("file_bytes", "bits_per_weight", "bytes_by_role", "bytes_by_type", "weights_bytes",
                "header_bytes", "header_estimated", "notes"):
        assert key in d
    assert d["file_bytes"] == recipes.build(load_gguf(llama_path), "Q4_K_M").file_bytes


def test_cli_size_text_and_errors(llama_path, capsys):
    assert main(["size", llama_path, "--tensors"]) == 0
    out = capsys.readouterr().out
    assert "GB" in out and "GiB" in out and "blk.1.ffn_down.weight" in out
    assert main(["size", llama_path, "--build", "Q9_K"]) == 2
    assert "unknown build" in capsys.readouterr().err


def test_cli_builds(llama_path, capsys):
    assert main(["builds", llama_path, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    names = [r["build"] for r in d["builds"]]
    assert names[0] == "l.gguf" and "Q4_K_M" in names and "Q2_K" in names
