"""Conformance with real llama.cpp (llama-cpp-python 0.3.36 on this CPU): the KV, compute
and output buffer sizes llama.cpp logs must equal rigcheck's within 1 % (and the 0.01 MiB
of llama.cpp's two-decimal print).

Each load runs in a child process (tests/llamacpp_probe.py) so memory stays bounded; it
returns the parsed buffer sizes and the context parameters llama.cpp really used, which
the test then passes to rigcheck. Shapes drawn at random are in
tests/test_memory_random_shapes.py; the graph itself, node by node, in
tests/test_memory_graph.py.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from llamacpp_probe import measure, rigcheck_buffers

HERE = os.path.dirname(os.path.abspath(__file__))
MiB = 2**20



# ---- the tests ---------------------------------------------------------------------------

SYNTH = {  # kind -> (writer, arguments): a realistic 32k vocabulary so logits weigh as in real models,
    # and small-vocabulary, wide-FFN shapes where the feed-forward intermediates set the peak
    "llama": ("llama", dict(n_vocab=32000, n_head_kv=2)),
    "qwen3moe": ("qwen3moe", dict(n_vocab=32000)),
    "deepseek2": ("deepseek2", dict(n_vocab=32000)),
    "gemma3": ("gemma3", dict(n_vocab=32000, sliding_window=256)),
    "llama_wide": ("llama", dict(n_layer=7, n_embd=320, n_ff=864, n_head=4, n_head_kv=2, n_vocab=600)),
    "mixtral_wide": ("llama", dict(n_layer=4, n_embd=256, n_ff=1792, n_head=4, n_head_kv=1, n_vocab=512,
                                   n_expert=8, n_expert_used=2)),
    "qwen3moe_wide": ("qwen3moe", dict(n_layer=4, n_embd=192, n_ff_exp=768, n_expert=32, n_expert_used=8,
                                       n_vocab=700)),
}


@pytest.fixture(scope="module")
def synth_models(tmp_path_factory):
    sys.path.insert(0, HERE)
    import synth_memory

    d = tmp_path_factory.mktemp("synth_memory")
    return {k: str(synth_memory.write(kind, d / f"{k}.gguf", **kw)) for k, (kind, kw) in SYNTH.items()}


def _rigcheck(path: str, got: dict, cache_type: str):
    r = rigcheck_buffers(path, got, cache_type)
    return r["model"], r["kv"], r["compute"], r["output"]


def _close(ours: float, theirs: float, tol: float = 0.01) -> bool:
    return abs(ours - theirs) <= tol * theirs + 0.01     # llama.cpp prints MiB with 2 decimals (per line)


CASES = [  # (model, n_ctx, cache type, flash attention, n_ubatch, n_seq_max, kv_unified, swa_full)
    ("llama", 512, "f16", True, 512, 1, False, False),
    ("llama", 4096, "q8_0", True, 512, 1, False, False),
    ("llama", 32768, "f16", True, 512, 1, False, False),
    ("llama", 8000, "q8_0", True, 256, 4, False, False),
    ("llama", 8192, "f16", False, 512, 4, True, False),
    ("qwen3moe", 512, "q8_0", True, 512, 1, False, False),
    ("qwen3moe", 16384, "f16", True, 512, 1, False, False),
    ("qwen3moe", 32768, "q8_0", True, 1024, 1, False, False),
    ("deepseek2", 512, "f16", True, 512, 1, False, False),
    ("deepseek2", 8192, "q8_0", True, 512, 1, False, False),
    ("deepseek2", 32768, "f16", True, 512, 2, False, False),
    ("gemma3", 512, "f16", True, 512, 1, False, False),
    ("gemma3", 4096, "q8_0", True, 512, 1, False, False),
    ("gemma3", 32768, "f16", True, 512, 1, False, False),
    ("gemma3", 16384, "f16", True, 512, 4, True, False),
    ("gemma3", 16384, "q8_0", True, 512, 4, False, False),
    ("gemma3", 8192, "f16", True, 512, 1, False, True),
    # the case: a 7-layer llama, n_embd 320, n_ff 864, vocab 600 (llama.cpp: 8.08 MiB at 512)
    ("llama_wide", 512, "f16", True, 512, 1, False, False),
    ("llama_wide", 4096, "f16", True, 512, 1, False, False),
    ("llama_wide", 4096, "f16", False, 256, 1, False, False),
    ("mixtral_wide", 512, "f16", True, 512, 1, False, False),
    ("mixtral_wide", 4096, "q8_0", True, 1024, 2, False, False),
    ("qwen3moe_wide", 512, "f16", True, 512, 1, False, False),
    ("qwen3moe_wide", 4096, "f16", False, 512, 1, False, False),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(x) for x in c))
def test_synthetic_buffers_match_llamacpp(synth_models, case):
    kind, n_ctx, ct, fa, ub, nseq, unified, swa_full = case
    spec = dict(path=synth_models[kind], n_ctx=n_ctx, type=ct, flash_attn=fa, n_ubatch=ub,
                n_seq_max=nseq, kv_unified=unified, swa_full=swa_full)
    got = measure(spec)
    assert got["params"]["flash_attn"] == fa and got["fa_line"][-1] == ("enabled" if fa else "disabled")
    _, kv, comp, out = _rigcheck(spec["path"], got, ct)
    assert got["kv"] > 0
    assert _close(kv, got["kv"]), f"KV: rigcheck {kv:.2f} MiB, llama.cpp {got['kv']:.2f} MiB"
    assert _close(out, got["output"]), f"output: rigcheck {out:.2f} MiB, llama.cpp {got['output']:.2f} MiB"
    assert _close(comp, got["compute"]), f"compute: rigcheck {comp:.2f} MiB, llama.cpp {got['compute']:.2f} MiB"


@pytest.mark.parametrize("n_ctx,ct", [(512, "f16"), (4096, "q8_0"), (32768, "f16"), (32768, "q8_0")])
def test_gemma3_270m_through_llama_class(gemma_gguf, n_ctx, ct):
    """The real Gemma 3 270M GGUF, loaded with llama_cpp.Llama and its own defaults
    (one sequence, full-size SWA cache, n_batch 512)."""
    got = measure(dict(path=gemma_gguf, n_ctx=n_ctx, type=ct, flash_attn=True, n_ubatch=512, high_level=True))
    model, kv, comp, out = _rigcheck(gemma_gguf, got, ct)
    assert model.n_vocab == 262144
    assert _close(kv, got["kv"]), f"KV: rigcheck {kv:.2f} MiB, llama.cpp {got['kv']:.2f} MiB"
    assert _close(comp, got["compute"]), f"compute: rigcheck {comp:.2f}, llama.cpp {got['compute']:.2f}"
    assert _close(out, got["output"])


def test_gemma3_270m_swa_cache_rule(gemma_gguf):
    """Not full-size: the 15 sliding-window layers keep pad256(512 + n_ubatch) cells."""
    got = measure(dict(path=gemma_gguf, n_ctx=16384, type="f16", flash_attn=True, n_ubatch=512))
    assert not got["params"]["swa_full"]
    model, kv, comp, out = _rigcheck(gemma_gguf, got, "f16")
    # 3 global layers x 16384 cells + 15 SWA layers x 1024 cells, K+V of 256 f16 each
    assert kv == pytest.approx((3 * 16384 + 15 * 1024) * 2 * 256 * 2 / MiB)
    assert _close(kv, got["kv"])




@pytest.mark.parametrize("kind,n_ctx", [("llama_wide", 512), ("llama_wide", 4096), ("mixtral_wide", 4096),
                                        ("qwen3moe_wide", 1024)])
def test_memory_cli_matches_llamacpp_on_wide_ffn(synth_models, capsys, kind, n_ctx):
    """`rigcheck memory FILE` on a small-vocabulary, wide-FFN model (the feed-forward
    intermediates, not the logits, set the peak) gives llama.cpp's own compute + output
    buffers; the synthetic models are trained for 2,048 tokens, so 4,096 also warns."""
    from rigcheck.cli import main
    path = synth_models[kind]
    assert main(["memory", path, "--ctx", str(n_ctx), "--parallel", "1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    got = measure(dict(path=path, n_ctx=n_ctx, type="f16", flash_attn=True, n_ubatch=512, n_seq_max=1))
    assert _close(d["compute_bytes"] / MiB, got["compute"] + got["output"], 0.01), (d["compute_bytes"] / MiB, got)
    assert _close(d["kv_bytes"] / MiB, got["kv"])
    beyond = [n for n in d["notes"] if "above the 2,048 tokens" in n["text"]]
    assert bool(beyond) == (n_ctx > 2048)
