"""rigcheck's copy of llama.cpp's reserve graph, node by node, against the graph real
llama.cpp builds (read through llama_graph_reserve, tests/llamacpp_probe.py), and
ggml-alloc's plan of that real graph against the compute buffer llama.cpp logs.

The first check pins the graph builder (rigcheck/memory/ggml/graph.py): same nodes in
the same order with the same op, type and shape, and the same leafs. The second pins
the allocator (rigcheck/memory/ggml/alloc.py) independently of the builder.
"""

from __future__ import annotations

import os
import sys

import pytest

from llamacpp_probe import graph as llama_graph

HERE = os.path.dirname(os.path.abspath(__file__))
MiB = 2**20

MODELS = {
    "llama": ("llama", dict(n_layer=3, n_vocab=700, n_embd=256, n_ff=864, n_head=4, n_head_kv=2)),
    "llama_moe": ("llama", dict(n_layer=3, n_vocab=700, n_embd=256, n_ff=384, n_head=4, n_head_kv=1,
                                n_expert=8, n_expert_used=2)),
    "qwen3moe": ("qwen3moe", dict(n_layer=3, n_vocab=900, n_expert=12, n_expert_used=3)),
    "gemma3": ("gemma3", dict(n_layer=7, n_vocab=800, sliding_window=128)),
    "deepseek2": ("deepseek2", dict(n_layer=3, n_vocab=600, n_dense_lead=1)),
}

CASES = [  # model, n_ctx, n_ubatch, flash attention, cache type, n_seq_max, kv_unified, swa_full
    ("llama", 1024, 512, True, "f16", 1, False, False),
    ("llama", 1024, 256, False, "f16", 2, False, False),
    ("llama", 2048, 128, True, "q8_0", 1, False, False),
    ("llama_moe", 1024, 512, True, "f16", 1, False, False),
    ("qwen3moe", 1024, 512, True, "q8_0", 4, True, False),
    ("gemma3", 2048, 512, True, "f16", 1, False, False),
    ("gemma3", 2048, 256, False, "f16", 2, False, True),
    ("deepseek2", 1024, 512, True, "f16", 1, False, False),
    ("deepseek2", 1024, 256, False, "f16", 1, False, False),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    sys.path.insert(0, HERE)
    import synth
    d = tmp_path_factory.mktemp("graph")
    return {k: str(getattr(synth, f"write_{w}")(d / f"{k}.gguf", **kw)) for k, (w, kw) in MODELS.items()}


def _real(got: dict):
    """llama.cpp's graph as rigcheck Tensors (sources and views linked)."""
    from rigcheck.memory.ggml.tensor import Graph, Tensor
    recs = got["graph"]["tensors"]
    objs: dict[int, Tensor] = {}

    def get(i):
        if i is None:
            return None
        if i not in objs:
            r = recs[i]
            t = objs[i] = Tensor(r["op"], r["type"], r["ne"], r["nb"], external=r["external"], name=r["name"])
            t.flags = r["flags"]
            t.view_offs = r["view_offs"]
            t.src = [get(s) for s in r["src"]]
            t.view_src = get(r["view_src"])
        return objs[i]

    g = Graph()
    g.nodes = [get(i) for i in got["graph"]["nodes"]]
    g.leafs = [get(i) for i in got["graph"]["leafs"]]
    return g


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(x) for x in c))
def test_graph_matches_llamacpp_node_by_node(files, case):
    from rigcheck.memory import buffers
    from rigcheck.memory.ggml.alloc import reserve
    from rigcheck.memory.ggml.graph import GraphParams, build
    from rigcheck.memory.kv_llamacpp import cparams, swa_cells
    from rigcheck.model.resolve import load_model

    name, n_ctx, ub, fa, ct, nseq, unified, swa_full = case
    got = llama_graph(dict(path=files[name], n_ctx=n_ctx, n_ubatch=ub, flash_attn=fa, type=ct, n_seq_max=nseq,
                           kv_unified=unified, swa_full=swa_full))
    real = _real(got)
    # the allocator alone: ggml-alloc's plan of llama.cpp's own graph is the logged buffer
    assert reserve(real) / MiB == pytest.approx(got["compute"], abs=0.006)

    model = load_model(files[name])
    cp = cparams(model, n_ctx, n_seq_max=nseq, kv_unified=unified, n_ubatch=ub)
    n_tokens = min(cp.n_ctx, cp.n_ubatch)
    window = max((l.window for l in model.layers), default=0)
    gp = GraphParams(n_tokens=n_tokens, n_outputs=n_tokens, n_kv=cp.n_ctx_seq,
                     n_kv_swa=swa_cells(cp, window, swa_full) if window else 0, n_stream=cp.n_stream,
                     flash_attn=fa, type_k=ct.upper(), type_v=ct.upper())
    ours = build(model, gp).graph
    assert len(ours.nodes) == len(real.nodes)
    for i, (a, b) in enumerate(zip(real.nodes, ours.nodes)):
        assert (a.op, a.type, a.ne) == (b.op, b.type, b.ne), f"node {i}: llama.cpp {a.op} {a.name} {a.type} {a.ne}"
    own = [(t.type, t.ne) for t in real.leafs if not t.external]
    assert own == [(t.type, t.ne) for t in ours.leafs if not t.external]
    comp = buffers.llamacpp_compute(model, cp.n_ubatch, cp.n_ctx_seq, flash_attn=fa, n_seq_max=nseq,
                                    kv_unified=unified, swa_full=swa_full, cache_type_k=ct, n_batch=cp.n_batch)
    assert comp.bytes == reserve(real)
