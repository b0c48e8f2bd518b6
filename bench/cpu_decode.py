"""This machine as evidence: real llama.cpp decode on this CPU against rigcheck's prediction.

Synthetic models of several shapes (dense and MoE, 0.04-1.5B parameters by default, 3B with
--full) are written with the ``gguf`` package (tests/synth.py), quantized to Q4_K_M by real
llama.cpp (llama-cpp-python's ``llama_model_quantize``), loaded CPU-only and decoded at a
KV depth of 512 to 16K tokens (16K on the 4-layer shape; more shapes at 8-16K with --full)
with 1 and 2 threads. Each row prints the measured decode
tok/s next to the range ``rigcheck estimate FILE --build file --offload cpu --threads N``
gives for the detected rig at that thread count (the same call:
rigcheck.plan.speed.estimate.estimate_offload with the bundled calibration and
measurements; the CPU threads' floor of rigcheck/plan/speed/cpu.py), and whether it lies
inside. The summary gives, per thread count, how many rows fall inside the range and the
median measured/predicted, and the measured and predicted 2-over-1-thread speedups.

    python bench/cpu_decode.py              # default shapes, about 5-6 minutes on 2 cores
    python bench/cpu_decode.py --full       # adds a 3B dense shape and longer contexts
    python bench/cpu_decode.py --json OUT   # also write the rows as JSON

Decode is timed token by token after the context is filled (``llm.eval`` of one token),
the same way rigcheck bench measures a local file, as the fastest of 4 bursts of 4 tokens
(other work on a shared machine only slows a burst); the KV depth is the context reached.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import synth  # noqa: E402  (tests/synth.py: GGUF writers)

# name, writer, writer kwargs, KV depths (default run), depths added by --full
SHAPES = [
    # four layers: the 16K prefill that reaches the depth costs a third of the 12-layer shape's
    ("dense-4L-0.04B", "llama", dict(n_layer=4, n_embd=768, n_ff=2048, n_head=12, n_head_kv=4, n_vocab=32000),
     (512, 16384), ()),
    ("dense-0.1B", "llama", dict(n_layer=12, n_embd=768, n_ff=2048, n_head=12, n_head_kv=4, n_vocab=32000),
     (512, 4096), (16384,)),
    ("dense-0.5B", "llama", dict(n_layer=24, n_embd=1024, n_ff=4096, n_head=16, n_head_kv=4, n_vocab=32000),
     (512, 2048), (8192,)),
    ("moe-1B-a0.2B", "qwen3moe", dict(n_layer=16, n_embd=1024, n_ff_exp=512, n_expert=32, n_expert_used=4,
                                      n_head=16, n_head_kv=4, head_dim=64, n_vocab=32000),
     (512, 2048), (8192,)),
    ("dense-1.5B", "llama", dict(n_layer=28, n_embd=1536, n_ff=8960, n_head=12, n_head_kv=2, n_vocab=32000),
     (512,), (4096,)),
]
FULL_SHAPES = [
    ("dense-3B", "llama", dict(n_layer=28, n_embd=3072, n_ff=8192, n_head=24, n_head_kv=8, n_vocab=32000),
     (), (512, 4096)),
]
DECODE_TOKENS = 16
# decode is timed in bursts of DECODE_TOKENS / BURSTS tokens and the fastest burst counts: on a
# shared machine another process that takes a core for a while stalls llama.cpp's threads
# (they wait for each other), which only ever makes a burst slower
BURSTS = 4


def write_model(kind: str, kw: dict, path: str) -> str:
    if kind == "llama":
        return synth.write_llama(path, **kw)
    return synth.write_qwen3moe(path, **kw)


class _quiet_stderr:
    """llama.cpp logs every tensor it quantizes on fd 2; keep the table readable."""

    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        self.null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(self.null, 2)

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)
        os.close(self.null)


def quantize(src: str, out: str) -> None:
    with _quiet_stderr():
        _quantize(src, out)


def _quantize(src: str, out: str) -> None:
    import llama_cpp
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    p.nthread = os.cpu_count() or 2
    rc = llama_cpp.llama_model_quantize(src.encode(), out.encode(), ctypes.byref(p))
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize failed ({rc}) on {src}")


def measure(path: str, depths: list[int], seed: int = 0) -> list[dict]:
    """Decode tok/s at each KV depth with 2 then 1 threads (one context per depth)."""
    import llama_cpp
    from llama_cpp import Llama
    out = []
    for depth in depths:
        n_ctx = depth + 2 * (DECODE_TOKENS + 1) + 8
        with _quiet_stderr():
            llm = Llama(model_path=path, n_ctx=n_ctx, n_batch=512, n_ubatch=512, n_threads=2, n_threads_batch=2,
                        n_gpu_layers=0, verbose=False)
        rng = random.Random(seed)
        n_vocab = llm.n_vocab()
        prompt = [rng.randrange(300, n_vocab) for _ in range(depth)]
        t0 = time.perf_counter()
        llm.eval(prompt)
        prefill_s = time.perf_counter() - t0
        for threads in (2, 1):
            llama_cpp.llama_set_n_threads(llm.ctx, threads, threads)
            llm.eval([rng.randrange(300, n_vocab)])          # warm-up at this thread count
            best = float("inf")
            for _ in range(BURSTS):                           # other work only ever slows a burst
                t0 = time.perf_counter()
                for _ in range(DECODE_TOKENS // BURSTS):
                    llm.eval([rng.randrange(300, n_vocab)])
                best = min(best, (time.perf_counter() - t0) / (DECODE_TOKENS // BURSTS))
            out.append({"depth": depth, "threads": threads, "decode_tok_s": 1.0 / best,
                        "prefill_tok_s": depth / prefill_s if threads == 2 else None})
        llm.close()
    return out


def predict(path: str, rig, ctx: int, threads: int | None = None):
    from rigcheck.model.resolve import load_model
    from rigcheck.plan.check.data import speed_data
    from rigcheck.plan.speed.estimate import estimate_offload
    from rigcheck.quant.recipes import build as make_build
    model = load_model(path)
    b = make_build(model, "file")
    return estimate_offload(model, b, rig, "llama.cpp", ctx, "cpu", threads=threads, **speed_data()), b


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return (s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2) if n else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="add the 3B shape and the longer contexts")
    ap.add_argument("--only", default="", help="comma-separated shape names")
    ap.add_argument("--json", default="", help="write the rows to this JSON file")
    args = ap.parse_args(argv)
    from rigcheck.hardware.detect import detect
    load0 = os.getloadavg()
    rig = detect(measure_bandwidth=True)
    cpu = rig.node.cpu
    print(f"rig: {rig.spec}; CPU {cpu.name if cpu else '?'} ({rig.node.cpu_threads or os.cpu_count()} threads); "
          f"RAM bandwidth {rig.node.ram_bandwidth_bytes_s / 1e9:.1f} GB/s ({'measured' if cpu and cpu.verified == 'detected' else 'rated'})")
    shapes = SHAPES + (FULL_SHAPES if args.full else [])
    if args.only:
        keep = set(args.only.split(","))
        shapes = [s for s in shapes if s[0] in keep]
    rows = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rigcheck-cpu-decode-") as tmp:
        for name, kind, kw, depths, extra in shapes:
            depths = list(depths) + (list(extra) if args.full else [])
            if not depths:
                continue
            f16 = os.path.join(tmp, f"{name}-F16.gguf")
            q4 = os.path.join(tmp, f"{name}-Q4_K_M.gguf")
            t0 = time.perf_counter()
            write_model(kind, kw, f16)
            quantize(f16, q4)
            os.remove(f16)
            made_s = time.perf_counter() - t0
            for m in measure(q4, depths):
                est, b = predict(q4, rig, m["depth"], m["threads"])
                d = est.decode_tok_s
                print(f"    depth {m['depth']}, {m['threads']} thread(s): {m['decode_tok_s']:.1f} tok/s measured, "
                      f"{d.low:.1f}-{d.high:.1f} (~{d.mid:.1f}) predicted", flush=True)
                rows.append({"shape": name, "params_b": b.n_params / 1e9 if hasattr(b, "n_params") else None,
                             "file_gb": b.file_bytes / 1e9, "active_gb": est.inputs["active_weight_bytes"] / 1e9,
                             "kv_gb": est.inputs["kv_read_bytes"] / 1e9, "threads_assumed": est.inputs.get("threads"),
                             **m, "pred_low": d.low, "pred_mid": d.mid, "pred_high": d.high,
                             "inside": d.low <= m["decode_tok_s"] <= d.high,
                             "ratio": m["decode_tok_s"] / d.mid, "basis": est.inputs.get("basis")})
            os.remove(q4)
            print(f"  {name}: written and quantized in {made_s:.0f} s; measured {len(depths)} depths "
                  f"({time.perf_counter() - t_start:.0f} s so far)", flush=True)
    print()
    print(f"{'shape':<14} {'file GB':>7} {'weights GB/tok':>14} {'KV GB/tok':>9} {'depth':>6} {'thr':>3} {'measured':>9} "
          f"{'predicted (80% range)':>24} {'meas/mid':>8}  in range")
    for r in rows:
        rng = f"{r['pred_low']:.1f}-{r['pred_high']:.1f} (~{r['pred_mid']:.1f})"
        print(f"{r['shape']:<14} {r['file_gb']:7.2f} {r['active_gb']:14.3f} {r['kv_gb']:9.3f} {r['depth']:6d} {r['threads']:3d} "
              f"{r['decode_tok_s']:9.1f} {rng:>24} {r['ratio']:8.2f}  {'yes' if r['inside'] else 'no'}")
    print()
    for n in (2, 1):
        sel = [r for r in rows if r["threads"] == n]
        if sel:
            print(f"{n} thread(s): {sum(r['inside'] for r in sel)}/{len(sel)} inside the range; median "
                  f"measured/predicted {_median([r['ratio'] for r in sel]):.2f}")
    print(f"all: {sum(r['inside'] for r in rows)}/{len(rows)} inside the range; median measured/predicted "
          f"{_median([r['ratio'] for r in rows]):.2f}" if rows else "no rows")
    one = {(r["shape"], r["depth"]): r for r in rows if r["threads"] == 1}
    pairs = [(one[(r["shape"], r["depth"])], r) for r in rows if r["threads"] == 2 and (r["shape"], r["depth"]) in one]
    if pairs:
        sp = _median([b["decode_tok_s"] / a["decode_tok_s"] for a, b in pairs])
        sp_pred = _median([b["pred_mid"] / a["pred_mid"] for a, b in pairs])
        print(f"2 threads over 1 thread: measured median x{sp:.2f}, predicted x{sp_pred:.2f} (x2 would be "
              "compute-bound, x1 bandwidth-bound)")
    print(f"total {time.perf_counter() - t_start:.0f} s; load average at the start {load0[0]:.2f}, at the end "
          f"{os.getloadavg()[0]:.2f} (1 minute; other work on the machine slows the 2-thread runs most)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"rig": rig.spec, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
