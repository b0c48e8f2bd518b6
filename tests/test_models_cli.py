"""`rigcheck info` / `rigcheck models`, and bad input through the CLI: one line on stderr,
exit status 2, no traceback, fast."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time

import pytest

from rigcheck.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args, timeout=30):
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "rigcheck", *args], capture_output=True, text=True,
                       timeout=timeout, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    return p, time.perf_counter() - t


def gguf_bytes(n_tensors=0, kv=(), tensors=b"", version=3):
    out = b"GGUF" + struct.pack("<IQQ", version, n_tensors, len(kv))
    for key, vtype, payload in kv:
        k = key.encode()
        out += struct.pack("<Q", len(k)) + k + struct.pack("<i", vtype) + payload
    return out + tensors


def gguf_string(s: bytes) -> bytes:
    return struct.pack("<Q", len(s)) + s


def assert_one_line_error(p, elapsed, *words):
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr and lines[0].startswith("rigcheck: error:")
    for w in words:
        assert w in lines[0], lines[0]
    assert elapsed < 5


def test_truncated_gguf(tmp_path, gemma_gguf):
    path = tmp_path / "cut.gguf"
    with open(gemma_gguf, "rb") as f:
        path.write_bytes(f.read(100_000))
    assert_one_line_error(*run_cli("info", str(path)), "truncated")


def test_wrong_magic(tmp_path):
    path = tmp_path / "bad.gguf"
    path.write_bytes(b"GGML" + b"\0" * 64)
    assert_one_line_error(*run_cli("info", str(path)), "not a GGUF file")


def test_header_claims_1e12_tensors(tmp_path):
    path = tmp_path / "huge.gguf"
    path.write_bytes(gguf_bytes(n_tensors=10**12) + b"\0" * 256)
    assert_one_line_error(*run_cli("info", str(path)), str(10**12))


def test_2_pow_40_byte_string(tmp_path):
    path = tmp_path / "str.gguf"
    kv = [("general.architecture", 8, struct.pack("<Q", 2**40) + b"llama")]
    path.write_bytes(gguf_bytes(kv=kv) + b"\0" * 256)
    assert_one_line_error(*run_cli("info", str(path)), str(2**40))


def test_config_missing_field(tmp_path):
    from rigcheck.model.catalog import card
    cfg = dict(card("deepseek-v3").config)
    del cfg["kv_lora_rank"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    assert_one_line_error(*run_cli("info", str(tmp_path / "config.json")), "kv_lora_rank")


def test_unknown_architecture(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gemma3_txt", "hidden_size": 8}))
    assert_one_line_error(*run_cli("info", str(tmp_path)), "gemma3_txt", "gemma3_text")


def test_unknown_model_id():
    assert_one_line_error(*run_cli("info", "qwen3-30b-a3c"), "qwen3-30b-a3b")


def test_bad_safetensors_header(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 2**50) + b"{}")
    assert_one_line_error(*run_cli("info", str(path)), "header claims")


def test_info_json_fields(capsys):
    assert main(["info", "deepseek-v4-flash", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    for key in ("id", "family", "total_params", "active_params", "active_params_with_embedding",
                "params_by_role", "tensor_count", "mtp_params"):
        assert key in rep
    assert rep["id"] == "deepseek-v4-flash" and rep["family"] == "deepseek_v4"
    assert rep["attention"] == {"swa": 2, "csa": 21, "hca": 20}
    assert sum(rep["params_by_role"].values()) == rep["total_params"]
    assert rep["mtp_params"] > 0


def test_info_text_and_gguf(capsys, gemma_gguf):
    assert main(["info", gemma_gguf]) == 0
    out = capsys.readouterr().out
    assert "268.10M" in out and "15 swa" in out and "3 full" in out
    assert main(["info", "llama-3.1-8b-instruct", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mtp_params"] == 0


def test_models_list(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = {r["id"] for r in rows}
    assert {"deepseek-v4-flash", "deepseek-v4-pro", "gpt-oss-120b", "gemma-3-270m"} <= ids
    assert main(["models"]) == 0
    assert "deepseek-v4-flash" in capsys.readouterr().out


@pytest.mark.parametrize("cmd", [["info", "--help"], ["models", "--help"]])
def test_help_has_examples(cmd, capsys):
    with pytest.raises(SystemExit):
        main(cmd)
    assert "Examples:" in capsys.readouterr().out
