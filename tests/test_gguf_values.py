"""GGUF metadata values are checked for type and range before any arithmetic (issue 14):
a block count that is a string, a bool, a float or a million layers, a head count that
is negative or a string, gets one line and exit 2, not an internal error or a long wait."""

from __future__ import annotations

import numpy as np
import pytest

import gguf
from rigcheck.cli import main


def _write(path, **kv):
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("damaged")
    for key, value in kv.items():
        full = f"llama.{key}"
        if isinstance(value, bool):
            w.add_bool(full, value)
        elif isinstance(value, str):
            w.add_string(full, value)
        elif isinstance(value, float):
            w.add_float32(full, value)
        elif isinstance(value, list):
            w.add_array(full, value)
        else:
            w.add_int64(full, value)
    w.add_tensor("token_embd.weight", np.zeros((300, 64), dtype=np.float16))
    w.add_tensor("blk.0.attn_q.weight", np.zeros((64, 64), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return str(path)


BAD = [
    (dict(block_count="12", embedding_length=64), "block_count", "whole number"),
    (dict(block_count=True, embedding_length=64), "block_count", "whole number"),
    (dict(block_count=1.5, embedding_length=64), "block_count", "whole number"),
    (dict(block_count=10**6, embedding_length=64), "block_count", "out of range"),
    (dict(block_count=2, embedding_length=-64), "embedding_length", "out of range"),
    (dict(block_count=2, embedding_length=64, **{"attention.head_count": "8"}), "head_count", "whole number"),
    (dict(block_count=2, embedding_length=64, **{"attention.head_count": [8, -1]}), "head_count", "out of range"),
    (dict(block_count=2, embedding_length=64, context_length="4096"), "context_length", "whole number"),
    # per-key ranges (rigcheck.limits.GGUF_KEY_LIMITS): inside 2**40 but no model's
    (dict(block_count=2, embedding_length=64, **{"attention.head_count": 5000}), "head_count", "0 to 4,096"),
    (dict(block_count=2, embedding_length=2**30), "embedding_length", "0 to 1,048,576"),
    (dict(block_count=2, embedding_length=64, expert_count=10**6), "expert_count", "0 to 65,536"),
    (dict(block_count=2, embedding_length=64, context_length=2**40), "context_length", "out of range"),
    (dict(block_count=2, embedding_length=64, **{"attention.key_length": 10**6}), "key_length", "0 to 16,384"),
]


def test_expert_tensors_without_an_expert_count_are_refused(tmp_path, capsys):
    """Found by bench/fuzz.py: a file with routed-expert tensors and no expert_count crashed
    the compute-graph builder (status 1); now one line naming the tensor and the key."""
    path = tmp_path / "moe.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("damaged")
    w.add_int64("llama.block_count", 1)
    w.add_int64("llama.embedding_length", 64)
    w.add_tensor("token_embd.weight", np.zeros((300, 64), dtype=np.float16))
    w.add_tensor("blk.0.ffn_gate_exps.weight", np.zeros((4, 32, 64), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    assert main(["check", str(path), "--rig", "rtx-4090+64GB"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "blk.0.ffn_gate_exps.weight" in err and "expert_count" in err


@pytest.mark.parametrize("kv,key,needle", BAD, ids=[b[1] + "-" + b[2].split()[0] for b in BAD])
def test_damaged_gguf_metadata_is_one_line_exit_2(tmp_path, capsys, kv, key, needle):
    path = _write(tmp_path / "damaged.gguf", **kv)
    rc = main(["info", path])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and key in err and needle in err, err
