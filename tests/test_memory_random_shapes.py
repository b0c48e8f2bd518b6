"""Conformance over shapes nobody chose: each fixed seed draws a model (vocabulary 260 to
256k, n_ff/n_embd 1 to 8, heads, head dims 64 to 256, dense or MoE with 4 to 64 experts,
sliding window, MLA) and context settings (tests/synth_shapes.py), writes it as a small
GGUF with random weights, loads it in real llama.cpp and checks the KV, compute and output
buffers against rigcheck's: within 1 % plus llama.cpp's two-decimal print.

bench/memory_conformance.py runs the same with fresh seeds.
"""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))

import memory_conformance  # noqa: E402

SEEDS = list(range(20))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_shape_buffers_match_llamacpp(tmp_path, seed):
    row = memory_conformance.run_seed(seed, str(tmp_path))
    for key in ("kv", "compute", "output"):
        assert abs(row["error"][key]) <= 0.01, (
            f"seed {seed} ({row['kind']}, {row['shape']}, {row['ctx']}): {key} rigcheck "
            f"{row['rigcheck'][key]:.3f} MiB, llama.cpp {row['llama.cpp'][key]:.2f} MiB")


def test_seeds_cover_every_kind_and_setting():
    """The fixed seeds reach every writer, both attention paths, both cache types,
    several sequences, MoE widths and small and large vocabularies."""
    import synth_shapes
    draws = [synth_shapes.draw(s) for s in SEEDS]
    assert {k for k, _, _ in draws} == {"llama", "qwen3moe", "gemma3", "deepseek2"}
    assert any("n_expert" in kw and kind == "llama" for kind, kw, _ in draws)
    assert {c["flash_attn"] for _, _, c in draws} == {True, False}
    assert {c["type"] for _, _, c in draws} == {"f16", "q8_0"}
    assert max(c["n_seq_max"] for _, _, c in draws) > 1
    vocabs = [kw["n_vocab"] for _, kw, _ in draws]
    assert min(vocabs) < 1000 and max(vocabs) > 30000
