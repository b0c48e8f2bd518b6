"""rigcheck estimate: JSON fields, evidence, bad input."""

from __future__ import annotations

import json

import pytest

from rigcheck.cli import main


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("RIGCHECK_HOME", str(tmp_path))


def run_json(capsys, *argv):
    rc = main(list(argv) + ["--json"])
    out = capsys.readouterr().out
    assert rc == 0, out
    return json.loads(out)


def test_estimate_json_fields(capsys):
    d = run_json(capsys, "estimate", "llama-3.1-8b-instruct", "--build", "Q4_K_M", "--rig", "rtx-4090", "--ctx", "4096")
    for key in ("decode_tok_s", "prefill_tok_s"):
        r = d[key]
        assert r["low"] < r["mid"] < r["high"]
    # an 8B Q4_K_M on a 4090 reads ~4.6 GB per token from 1008 GB/s: well under 219 tok/s
    assert 50 < d["decode_tok_s"]["mid"] < 219
    assert d["evidence"] and all(e["source"] for e in d["evidence"])
    assert d["my_measurements"] == []


def test_offload_to_ram_is_slower_than_vram(capsys):
    vram = run_json(capsys, "estimate", "gpt-oss-120b", "--build", "MXFP4_MOE", "--rig", "rtx-pro-6000")
    ram = run_json(capsys, "estimate", "gpt-oss-120b", "--build", "MXFP4_MOE", "--rig", "rtx-4090+64GB ddr5-6000")
    assert ram["offload"] == "experts_in_ram"   # the placement mode, as rigcheck memory and check name it
    assert ram["decode_tok_s"]["mid"] < 0.6 * vram["decode_tok_s"]["mid"]


def test_deepseek_v4_in_a_fork_is_marked(capsys):
    d = run_json(capsys, "estimate", "deepseek-v4-flash", "--build", "ds4-q2", "--rig", "m3-ultra-256", "--runtime", "ds4")
    assert d["inputs"]["maturity"] == "new"
    assert any("new kernels" in n["text"] for n in d["notes"])


def test_unknown_runtime_exits_2(capsys):
    rc = main(["estimate", "llama-3.1-8b-instruct", "--build", "Q4_K_M", "--rig", "rtx-4090", "--runtime", "llama-cp"])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown runtime" in err and "\n" == err[-1] and err.count("\n") == 1
    assert "llama.cpp" in err                       # the closest known name


def test_runtime_aliases_as_in_check(capsys):
    """One registry resolves runtime names for every command: 'llamacpp' is llama.cpp in
    estimate as it is in check."""
    assert main(["estimate", "llama-3.1-8b-instruct", "--build", "Q4_K_M", "--rig", "rtx-4090", "--runtime", "llamacpp",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["runtime"] == "llama.cpp"


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["estimate", "--help"])
    assert "Examples:" in capsys.readouterr().out


def test_a_damaged_results_store_is_a_note_not_a_failure(capsys, tmp_path, monkeypatch):
    """estimate (like check) goes on without the user's measurements when measurements.db is
    damaged, and says so in a note; bench is where the store's one-line error belongs."""
    monkeypatch.setenv("RIGCHECK_HOME", str(tmp_path))
    (tmp_path / "measurements.db").write_bytes(b"this is not a sqlite database" * 100)
    d = run_json(capsys, "estimate", "qwen3-8b", "--build", "Q4_K_M", "--rig", "rtx-4090")
    assert d["my_measurements"] == []
    note = next(n for n in d["notes"] if n["code"] == "store_unavailable")
    assert "measurements.db" in note["text"]
    d = run_json(capsys, "check", "qwen3-8b", "--rig", "rtx-4090", "--build", "Q4_K_M")
    assert any(n["code"] == "store_unavailable" for n in d["notes"])
