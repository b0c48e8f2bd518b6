"""Resource limits and cross-checks (issue 14): work bounded by rigcheck.limits, not by the
file; only regular files opened; values checked against each other and the tensors
present. Every case is one line on stderr and exit status 2, through the real CLI, on
real files (GGUF written with the gguf package, safetensors headers as the format
defines them, FIFOs and devices of this machine). Timing is measured by bench/fuzz.py,
not here."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

import gguf
import synth
from rigcheck import limits
from rigcheck.cli import main


def write_gguf(path, kv: dict | None = None, tensors=None, arch: str = "llama", name: str = "hostile",
               patch: dict | None = None) -> str:
    """A small GGUF: ``kv`` without the arch prefix (int -> uint32, negative -> int32,
    list -> array, str -> string), ``tensors`` (name, PyTorch shape) in F16. ``patch``
    replaces bytes afterwards (to write what the gguf writer refuses: two equal names)."""
    path = os.fspath(path)
    w = gguf.GGUFWriter(path, arch)
    w.add_name(name)
    for key, v in (kv or {}).items():
        full = f"{arch}.{key}"
        if isinstance(v, bool):
            w.add_bool(full, v)
        elif isinstance(v, int):
            (w.add_uint64 if v >= 2**32 else w.add_uint32 if v >= 0 else w.add_int32)(full, v)
        elif isinstance(v, list):
            w.add_array(full, v)
        else:
            w.add_string(full, v)
    for tname, shape in (tensors if tensors is not None else
                         [("token_embd.weight", (300, 64)), ("blk.0.attn_q.weight", (64, 64))]):
        w.add_tensor(tname, np.zeros(shape, dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    if patch:
        data = open(path, "rb").read()
        for a, b in patch.items():
            assert len(a) == len(b) and a in data
            data = data.replace(a, b)
        open(path, "wb").write(data)
    return path


def write_safetensors(path, header: dict | bytes, data: bytes = b"") -> str:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + data)
    return os.fspath(path)


def refused(capsys, argv, *needles) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith("rigcheck"), err
    assert "internal error" not in err
    for n in needles:
        assert n in err, err
    return err


BASE = {"block_count": 2, "embedding_length": 64, "context_length": 4096, "attention.head_count": 4}


# ---- files that are not regular files ---------------------------------------------------

def _run_cli(*argv, timeout=60):
    """The CLI in a child process, so a regression that blocks (a FIFO) fails instead of hanging."""
    code = "import sys; from rigcheck.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, RIGCHECK_HOME=os.environ["RIGCHECK_HOME"]))


@pytest.mark.parametrize("name", ["model.gguf", "config.json", "model.safetensors", "no-extension"])
def test_a_fifo_is_refused_without_blocking(tmp_path, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    p = _run_cli("info", str(fifo))
    assert p.returncode == 2, p.stderr
    assert "FIFO" in p.stderr and p.stderr.count("\n") == 1, p.stderr


@pytest.mark.parametrize("name", ["config.json", "model.gguf", "model.safetensors"])
def test_dev_zero_through_a_symlink_is_refused(tmp_path, capsys, name):
    link = tmp_path / name
    os.symlink("/dev/zero", link)
    refused(capsys, ["info", str(link)], "character device", "not a regular file")


def test_a_folder_where_a_shard_is_expected(tmp_path, capsys):
    (tmp_path / "model-00001-of-00001.safetensors").mkdir()
    (tmp_path / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"x.weight": "model-00001-of-00001.safetensors"}}))
    refused(capsys, ["info", str(tmp_path / "model.safetensors.index.json")], "a folder", "not a regular file")


# ---- JSON ---------------------------------------------------------------------------------

def test_json_nested_100000_deep_is_one_line(tmp_path, capsys):
    p = tmp_path / "config.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    refused(capsys, ["info", str(p)], "nested too deeply")


def test_json_nested_past_the_depth_limit(tmp_path, capsys):
    p = tmp_path / "config.json"
    cfg: dict = {"model_type": "llama"}
    inner = cfg
    for _ in range(limits.JSON_DEPTH + 1):
        inner["x"] = {}
        inner = inner["x"]
    p.write_text(json.dumps(cfg))
    refused(capsys, ["info", str(p)], "nested too deeply")


def test_a_config_past_the_byte_limit(tmp_path, capsys):
    p = tmp_path / "config.json"
    p.write_text('{"model_type": "llama", "pad": "' + "x" * limits.CONFIG_BYTES + '"}')
    refused(capsys, ["info", str(p)], "too large for a config.json")


def test_a_json_of_too_many_containers_is_refused_before_parsing(tmp_path, capsys):
    p = tmp_path / "config.json"
    p.write_text('{"model_type": "llama", "x": [' + "[]," * limits.JSON_CONTAINERS + "[]]}")
    refused(capsys, ["info", str(p)], "more than")


# ---- GGUF ---------------------------------------------------------------------------------

def test_a_million_layers_in_a_small_gguf(tmp_path, capsys):
    p = write_gguf(tmp_path / "m.gguf", dict(BASE, block_count=10**6), tensors=[("token_embd.weight", (8, 64))])
    assert os.path.getsize(p) < 3000
    refused(capsys, ["check", p, "--rig", "rtx-4090"], "block_count", "out of range")


def _patch_u64(path, offset: int, value: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(struct.pack("<Q", value))


def test_more_tensors_than_the_limit_is_refused(tmp_path, capsys):
    p = write_gguf(tmp_path / "t.gguf", BASE, tensors=[(f"t{i}", (1,)) for i in range(limits.TENSORS + 1)])
    refused(capsys, ["info", p], f"{limits.TENSORS + 1:,} tensors", "limits")


def test_too_many_metadata_keys_is_refused(tmp_path, capsys):
    kv = dict(BASE, **{f"pad{i}": i for i in range(limits.GGUF_KEYS)})
    refused(capsys, ["info", write_gguf(tmp_path / "k.gguf", kv)], "metadata keys", "limits")


def test_an_array_longer_than_the_limit_is_refused(tmp_path, capsys):
    p = write_gguf(tmp_path / "a.gguf", dict(BASE, **{"attention.head_count": [4, 4]}))
    data = open(p, "rb").read()
    key = b"llama.attention.head_count"
    at = data.index(key + struct.pack("<I", 9)) + len(key) + 4 + 4       # after value type and element type
    assert struct.unpack("<Q", data[at:at + 8])[0] == 2
    _patch_u64(p, at, limits.ARRAY_ITEMS + 1)
    refused(capsys, ["info", p], "elements", f"{limits.ARRAY_ITEMS:,}")


def test_duplicate_tensor_names_are_refused_not_counted_twice(tmp_path, capsys):
    p = write_gguf(tmp_path / "d.gguf", BASE,
                   tensors=[("token_embd.weight", (300, 64)), ("blk.0.attn_q.weight", (64, 64)),
                            ("blk.0.attn_Q.weight", (64, 64))],
                   patch={b"blk.0.attn_Q": b"blk.0.attn_q"})
    refused(capsys, ["size", p], "blk.0.attn_q.weight", "appears twice")


def test_duplicate_metadata_keys_are_refused(tmp_path, capsys):
    p = write_gguf(tmp_path / "d.gguf", dict(BASE, context_lengtX=1), patch={b"context_lengtX": b"context_length"})
    refused(capsys, ["info", p], "context_length", "appears twice")


# cross-checks: (metadata, tensors or None, text the line must hold)
CROSS = [
    ("heads-divide", dict(BASE, **{"attention.head_count": 6, "attention.head_count_kv": 4}), None,
     ["head_count' 6", "head_count_kv' 4"]),
    ("kv-above-heads", dict(BASE, **{"attention.head_count_kv": 8}), None, ["head_count' 4", "head_count_kv' 8"]),
    ("zero-heads", dict(BASE, **{"attention.head_count": 0, "attention.head_count_kv": 4}), None,
     ["head_count' is 0"]),
    ("negative-heads", dict(BASE, **{"attention.head_count": -4}), None, ["head_count", "-4"]),
    ("kv-2^63", dict(BASE, **{"attention.head_count_kv": 2**63}), None, ["head_count_kv", "out of range"]),
    ("width-not-divided", dict(BASE, **{"attention.head_count": 5}), None, ["embedding_length' 64", "head_count' 5"]),
    ("window-above-context", dict(BASE, **{"attention.sliding_window": 8192}), None,
     ["sliding_window' 8,192", "context_length' 4,096"]),
    ("layer-beyond-block-count", BASE, [("token_embd.weight", (300, 64)), ("blk.7.attn_q.weight", (64, 64))],
     ["blk.7.attn_q.weight", "block_count' is 2"]),
    ("embedding-width", BASE, [("token_embd.weight", (300, 32))], ["token_embd.weight is 32 wide", "64"]),
    ("k-rows", dict(BASE, **{"attention.head_count_kv": 2}),
     [("token_embd.weight", (300, 64)), ("blk.0.attn_k.weight", (64, 64))],
     ["blk.0.attn_k.weight has 64 rows", "head_count_kv' 2 x key_length 16 = 32"]),
    ("experts-used", dict(BASE, expert_count=8, expert_used_count=9), None, ["expert_used_count' 9", "expert_count' 8"]),
]


@pytest.mark.parametrize("kv,tensors,needles", [c[1:] for c in CROSS], ids=[c[0] for c in CROSS])
def test_gguf_values_against_each_other_and_the_tensors(tmp_path, capsys, kv, tensors, needles):
    p = write_gguf(tmp_path / "x.gguf", kv, tensors)
    refused(capsys, ["memory", p, "--rig", "rtx-4090", "--ctx", "1024"], *needles)


def test_real_and_synthetic_ggufs_pass_the_cross_checks(tmp_path, gemma_gguf, capsys):
    for p in (gemma_gguf, synth.write_llama(tmp_path / "l.gguf"), synth.write_qwen3moe(tmp_path / "q.gguf"),
              synth.write_deepseek2(tmp_path / "d.gguf"), synth.write_gemma3(tmp_path / "g.gguf")):
        assert main(["info", str(p)]) == 0, capsys.readouterr().err


def test_a_missing_tensor_the_graph_reads_is_one_line(tmp_path, capsys):
    p = write_gguf(tmp_path / "m.gguf", BASE)           # no attn_k, attn_v, ffn...
    refused(capsys, ["memory", p, "--rig", "rtx-4090", "--ctx", "1024"], "has no tensor")


# ---- safetensors --------------------------------------------------------------------------

def test_a_header_past_the_byte_limit(tmp_path, capsys):
    p = write_safetensors(tmp_path / "big.safetensors",
                          {"__metadata__": {"pad": "x" * limits.SAFETENSORS_HEADER_BYTES}})
    refused(capsys, ["info", p], "header", f"{limits.SAFETENSORS_HEADER_BYTES:,}")


def test_300000_empty_tensors(tmp_path, capsys):
    hdr = {f"t{i}": {"dtype": "F16", "shape": [0], "data_offsets": [0, 0]} for i in range(300_000)}
    raw = json.dumps(hdr, separators=(",", ":")).encode()
    # 17.6 MB: past the header limit and the container count alike; either refuses it
    refused(capsys, ["check", write_safetensors(tmp_path / "e.safetensors", raw), "--rig", "rtx-4090"],
            "e.safetensors", "more than")


def test_one_tensor_more_than_the_limit(tmp_path, capsys):
    hdr = {f"t{i}": {"dtype": "F16", "shape": [0], "data_offsets": [0, 0]} for i in range(limits.TENSORS + 1)}
    refused(capsys, ["info", write_safetensors(tmp_path / "e.safetensors", hdr)],
            f"{limits.TENSORS + 1:,} tensors", f"{limits.TENSORS:,}")


def test_a_name_twice_in_one_header(tmp_path, capsys):
    entry = '{"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}'
    raw = ('{"a.weight": %s, "a.weight": %s}' % (entry, entry)).encode()
    refused(capsys, ["info", write_safetensors(tmp_path / "d.safetensors", raw, b"\0" * 4)], "a.weight", "twice")


def test_a_name_in_two_shards(tmp_path, capsys):
    h = {"a.weight": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}
    write_safetensors(tmp_path / "model-1.safetensors", h, b"\0" * 4)
    write_safetensors(tmp_path / "model-2.safetensors", h, b"\0" * 4)
    refused(capsys, ["info", str(tmp_path)], "a.weight", "appears twice", "model-1.safetensors")


@pytest.mark.parametrize("entry", [
    {"dtype": "F16", "shape": "2", "data_offsets": [0, 4]},
    {"dtype": "F16", "shape": [True, 2], "data_offsets": [0, 4]},
    {"dtype": "F16", "shape": [2.0], "data_offsets": [0, 4]},
    {"dtype": "F16", "shape": [2], "data_offsets": ["0", "4"]},
    {"dtype": 5, "shape": [2], "data_offsets": [0, 4]},
    {"dtype": "F16", "shape": [1] * 9, "data_offsets": [0, 2]},
    {"dtype": "F16", "shape": [2], "data_offsets": [0, 4, 8]},
    [1, 2],
], ids=["shape-string", "shape-bool", "shape-float", "offsets-strings", "dtype-int", "nine-dims", "three-offsets",
        "not-an-object"])
def test_entries_of_the_wrong_type(tmp_path, capsys, entry):
    p = write_safetensors(tmp_path / "w.safetensors", {"a.weight": entry}, b"\0" * 4)
    refused(capsys, ["info", p], "a.weight")


def test_an_index_whose_shard_names_are_not_strings(tmp_path, capsys):
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a.weight": 5}}))
    refused(capsys, ["info", str(tmp_path / "model.safetensors.index.json")], "shard file names")


# ---- config.json ---------------------------------------------------------------------------

def _config(tmp_path, **changes):
    from rigcheck.model.catalog import card
    cfg = dict(card("llama-3.1-8b-instruct").config, **changes)
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    return str(p)


@pytest.mark.parametrize("changes,needles", [
    (dict(num_attention_heads=32, num_key_value_heads=5), ["'num_attention_heads' 32", "'num_key_value_heads' 5"]),
    (dict(num_attention_heads=30), ["'hidden_size' 4096", "'num_attention_heads' 30"]),
    (dict(num_hidden_layers=limits.LAYERS + 1), ["num_hidden_layers", "out of range", f"{limits.LAYERS:,}"]),
    (dict(num_key_value_heads=2**63), ["num_key_value_heads", "out of range"]),
], ids=["kv-divide", "width-divide", "layers", "kv-2^63"])
def test_config_values_against_each_other(tmp_path, capsys, changes, needles):
    refused(capsys, ["memory", _config(tmp_path, **changes), "--rig", "rtx-4090"], *needles)


def test_every_catalogue_model_passes_the_checks():
    from rigcheck.model.catalog import all_cards
    from rigcheck.model.resolve import load_model
    for c in all_cards():
        assert load_model(c.id).tensors


# ---- command-line values ------------------------------------------------------------------

@pytest.mark.parametrize("argv,needles", [
    (["size", "llama-3.1-8b-instruct", "--build", "experts=Q8_1,default=Q8_0"], ["Q8_1", "not a storage type", "Q4_K"]),
    (["size", "llama-3.1-8b-instruct", "--build", "default=Q8_K"], ["Q8_K", "not a storage type"]),
    (["memory", "llama-3.1-8b-instruct", "--build", "Q4_K_M", "--vram", "9" * 400 + "GB"], ["--vram"]),
    (["memory", "llama-3.1-8b-instruct", "--build", "Q4_K_M", "--vram", "99999999TB"], ["--vram", "out of range"]),
    (["memory", "llama-3.1-8b-instruct", "--build", "Q4_K_M", "--ram", "0.0000001GB", "--vram", "24GB"], ["--ram"]),
    (["memory", "llama-3.1-8b-instruct", "--build", "Q4_K_M", "--rig", "rtx-4090+" + "9" * 40 + "GB"], ["RAM size"]),
    (["memory", "llama-3.1-8b-instruct", "--build", "Q4_K_M", "--rig", "rtx-4090", "--ctx", "-5"], ["context -5"]),
    (["memory", "llama-3.1-8b-instruct", "--build", "Q4_K_M", "--rig", "rtx-4090", "--ctx", "9" * 30], ["absurd"]),
], ids=["q8_1", "q8_k", "vram-400-digits", "vram-absurd", "ram-tiny", "rig-ram-digits", "ctx-negative", "ctx-huge"])
def test_command_line_values_are_refused(capsys, argv, needles):
    refused(capsys, argv, *needles)


def test_offload_bogus_lists_the_choices(capsys):
    with pytest.raises(SystemExit) as e:
        main(["estimate", "llama-3.1-8b-instruct", "--build", "Q4_K_M", "--rig", "rtx-4090", "--offload", "bogus"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1, err
    assert "bogus" in err and "experts=ram" in err and "layers=ram:A/B" in err, err


# ---- the module itself ------------------------------------------------------------------

def test_every_limit_is_documented():
    doc = limits.__doc__
    names = [n for n in vars(limits) if re.fullmatch(r"[A-Z][A-Z_]+", n) and isinstance(getattr(limits, n), (int, float))]
    assert len(names) > 20
    missing = [n for n in names if n not in doc]
    assert not missing, missing
