"""Ask the real llama.cpp (llama-cpp-python 0.3.36) what it allocates, in a child process.

``measure(spec)`` loads a GGUF with the given context parameters and returns the KV, RS,
compute and output buffer sizes llama.cpp logs (MiB), plus the context parameters it
really used. ``graph(spec)`` also returns the reserve graph itself, read from
``llama_graph_reserve`` (the C++ symbol of src/llama-ext.h) through ctypes: every node and
leaf with its op, type, ne, nb, sources and view source, so a test can compare rigcheck's
graph with llama.cpp's node by node.

Each call runs this file as a script in a fresh interpreter, so a crash or a large
allocation never reaches the test process. Used by the memory tests and by
bench/memory_conformance.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

MiB = 2**20
_BUF = re.compile(r"(\S+)\s+(KV|RS|compute|output) buffer size =\s+([0-9.]+) MiB")
TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8, "iq4_nl": 20, "bf16": 30}
RESERVE_SYMBOL = "_Z19llama_graph_reserveP13llama_contextjjj"   # llama_graph_reserve(llama_context*, u32, u32, u32)


def _ctypes_graph(ctx, n_tokens: int, n_seqs: int) -> dict:
    import ctypes
    import os

    import llama_cpp
    from llama_cpp import llama_cpp as L

    class T(ctypes.Structure):
        pass

    T._fields_ = [("type", ctypes.c_int), ("buffer", ctypes.c_void_p), ("ne", ctypes.c_int64 * 4),
                  ("nb", ctypes.c_size_t * 4), ("op", ctypes.c_int), ("op_params", ctypes.c_int32 * 16),
                  ("flags", ctypes.c_int32), ("src", ctypes.POINTER(T) * 10), ("view_src", ctypes.POINTER(T)),
                  ("view_offs", ctypes.c_size_t), ("data", ctypes.c_void_p), ("name", ctypes.c_char * 64),
                  ("extra", ctypes.c_void_p), ("padding", ctypes.c_char * 8)]

    class G(ctypes.Structure):
        _fields_ = [("size", ctypes.c_int), ("n_nodes", ctypes.c_int), ("n_leafs", ctypes.c_int),
                    ("nodes", ctypes.POINTER(ctypes.POINTER(T))), ("grads", ctypes.c_void_p),
                    ("grad_accs", ctypes.c_void_p), ("leafs", ctypes.POINTER(ctypes.POINTER(T)))]

    base = ctypes.CDLL(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml-base.so"))
    base.ggml_op_name.restype = ctypes.c_char_p
    base.ggml_op_name.argtypes = [ctypes.c_int]
    base.ggml_type_name.restype = ctypes.c_char_p
    base.ggml_type_name.argtypes = [ctypes.c_int]
    reserve = getattr(L._lib, RESERVE_SYMBOL)
    reserve.restype = ctypes.POINTER(G)
    reserve.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32]
    g = reserve(ctx, n_tokens, n_seqs, n_tokens).contents
    ids: dict[int, int] = {}
    recs: dict[int, dict] = {}

    def tid(p):
        if not p:
            return None
        a = ctypes.addressof(p.contents)
        if a in ids:
            return ids[a]
        i = ids[a] = len(ids)
        t = p.contents
        rec = recs[i] = dict(name=t.name.decode("utf-8", "replace"), op=base.ggml_op_name(t.op).decode(),
                             type=base.ggml_type_name(t.type).decode().upper(), ne=list(t.ne), nb=list(t.nb),
                             flags=t.flags, external=bool(t.buffer or t.data), view_offs=t.view_offs)
        srcs = [tid(s) if s else None for s in t.src]
        while srcs and srcs[-1] is None:
            srcs.pop()
        rec["src"] = srcs
        rec["view_src"] = tid(t.view_src) if t.view_src else None
        return i

    nodes = [tid(g.nodes[i]) for i in range(g.n_nodes)]
    leafs = [tid(g.leafs[i]) for i in range(g.n_leafs)]
    return {"nodes": nodes, "leafs": leafs, "tensors": [recs[i] for i in range(len(recs))]}


def _worker(spec: dict) -> dict:
    import ctypes

    import llama_cpp

    lines: list[str] = []

    @llama_cpp.llama_log_callback
    def _log(level, text, user_data):  # noqa: ARG001
        lines.append(text.decode("utf-8", "replace"))

    llama_cpp.llama_log_set(_log, ctypes.c_void_p(0))
    if spec.get("high_level"):
        llm = llama_cpp.Llama(spec["path"], n_ctx=spec["n_ctx"], type_k=TYPES[spec["type"]],
                              type_v=TYPES[spec["type"]], flash_attn=spec["flash_attn"],
                              n_ubatch=spec["n_ubatch"], n_threads=1, verbose=True)
        cp = llm.context_params
        del llm
        out_graph = None
    else:
        llama_cpp.llama_backend_init()
        mp = llama_cpp.llama_model_default_params()
        mp.n_gpu_layers = 0
        model = llama_cpp.llama_model_load_from_file(spec["path"].encode(), mp)
        assert model, "llama.cpp could not load the model"
        cp = llama_cpp.llama_context_default_params()
        cp.n_ctx = spec["n_ctx"]
        cp.n_batch = spec.get("n_batch", cp.n_batch)
        cp.n_ubatch = spec["n_ubatch"]
        cp.n_seq_max = spec.get("n_seq_max", 1)
        cp.kv_unified = spec.get("kv_unified", False)
        cp.swa_full = spec.get("swa_full", False)
        cp.type_k = cp.type_v = TYPES[spec["type"]]
        cp.flash_attn_type = (llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if spec["flash_attn"]
                              else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED)
        cp.n_threads = cp.n_threads_batch = 1
        ctx = llama_cpp.llama_init_from_model(model, cp)
        assert ctx, "llama.cpp could not create the context: " + "".join(lines)[-1500:]
        text_before = len(lines)
        out_graph = None
        if spec.get("graph"):
            n_tokens = min(cp.n_ctx, cp.n_ubatch)
            out_graph = _ctypes_graph(ctx, n_tokens, cp.n_seq_max)
        del lines[text_before:]
        llama_cpp.llama_free(ctx)
        llama_cpp.llama_model_free(model)
    text = "".join(lines)
    out: dict = {"kv": 0.0, "rs": 0.0, "compute": 0.0, "output": 0.0, "lines": {}}
    for m in _BUF.finditer(text):
        key = {"KV": "kv", "RS": "rs", "compute": "compute", "output": "output"}[m.group(2)]
        out[key] += float(m.group(3))
        out["lines"][key] = out["lines"].get(key, 0) + 1      # each line is rounded to 0.01 MiB
    out["params"] = {"n_ctx": cp.n_ctx, "n_batch": cp.n_batch, "n_ubatch": cp.n_ubatch,
                     "n_seq_max": cp.n_seq_max, "kv_unified": bool(cp.kv_unified), "swa_full": bool(cp.swa_full),
                     "flash_attn": cp.flash_attn_type == llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED}
    out["fa_line"] = re.findall(r"flash_attn\s+=\s+(\w+)", text)
    if out_graph is not None:
        out["graph"] = out_graph
    return out


def rigcheck_buffers(path: str, got: dict, cache_type: str) -> dict:
    """rigcheck's KV, compute and output buffers (MiB) for the parameters llama.cpp used."""
    from rigcheck.memory import buffers, kv_llamacpp
    from rigcheck.model.resolve import load_model

    model = load_model(path)
    p = got["params"]
    kc = kv_llamacpp.kv_cache(model, p["n_ctx"], cache_type_k=cache_type, n_seq_max=p["n_seq_max"],
                              kv_unified=p["kv_unified"], n_batch=p["n_batch"], n_ubatch=p["n_ubatch"],
                              swa_full=p["swa_full"], flash_attn=p["flash_attn"])
    cp = kv_llamacpp.cparams(model, p["n_ctx"], n_seq_max=p["n_seq_max"], kv_unified=p["kv_unified"],
                             n_batch=p["n_batch"], n_ubatch=p["n_ubatch"])
    comp = buffers.llamacpp_compute(model, cp.n_ubatch, cp.n_ctx_seq, flash_attn=p["flash_attn"], backend="cpu",
                                    n_seq_max=cp.n_seq_max, kv_unified=cp.kv_unified, swa_full=p["swa_full"],
                                    cache_type_k=cache_type, n_batch=cp.n_batch)
    return {"kv": kc.bytes / MiB, "compute": comp.bytes / MiB,
            "output": buffers.llamacpp_output(model, cp.n_seq_max) / MiB, "model": model}


def cache_alike(model, path: str, n_ctx: int = 1024, n_ubatch: int = 256) -> dict:
    """Load ``path`` in llama.cpp (f16 cache, flash attention) and size the same cache with
    rigcheck for the parameters llama.cpp used: both KV and recurrent-state buffers (MiB),
    the tolerance of llama.cpp's two-decimal prints, and the names of rigcheck's parts."""
    from rigcheck.memory import kv_llamacpp

    got = measure({"path": path, "n_ctx": n_ctx, "type": "f16", "flash_attn": True,
                   "n_ubatch": n_ubatch, "n_batch": n_ubatch})
    p = got["params"]
    kc = kv_llamacpp.kv_cache(model, p["n_ctx"], n_seq_max=p["n_seq_max"], kv_unified=p["kv_unified"],
                              n_batch=p["n_batch"], n_ubatch=p["n_ubatch"], swa_full=p["swa_full"],
                              flash_attn=True)
    return {"llamacpp": got,
            "kv": sum(q.bytes for q in kc.parts if q.name != "recurrent") / MiB,
            "rs": sum(q.bytes for q in kc.parts if q.name == "recurrent") / MiB,
            "tol": 0.006 * (1 + sum(got["lines"].values())),
            "parts": [q.name for q in kc.parts]}


def measure(spec: dict, timeout: float = 300) -> dict:
    """One llama.cpp load in a child process: what it logged (MiB) and the parameters used."""
    r = subprocess.run([sys.executable, __file__, json.dumps(spec)], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"llama.cpp worker failed ({r.returncode}): {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def graph(spec: dict, timeout: float = 300) -> dict:
    return measure(dict(spec, graph=True), timeout)


if __name__ == "__main__":
    print(json.dumps(_worker(json.loads(sys.argv[1]))))
    sys.exit(0)
