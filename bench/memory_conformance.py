"""rigcheck's llama.cpp memory model against the real llama.cpp, on shapes nobody chose.

Each seed draws a model shape and context settings (tests/synth_shapes.py), writes the
model as a small GGUF with random weights, loads it in real llama.cpp (llama-cpp-python,
in a child process) and compares the KV, compute and output buffers llama.cpp logs with
rigcheck's. Prints one line per seed and the worst relative error of each buffer (beyond the 0.005 MiB
of llama.cpp's two-decimal print).

    python bench/memory_conformance.py --seeds 50            # 50 fresh seeds (random base)
    python bench/memory_conformance.py --seeds 20 --base 0   # the seeds the tests use
    python bench/memory_conformance.py --seeds 50 --json

Needs llama-cpp-python (pip install -e '.[test]'); writes models to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, ".."))



def _beyond_rounding(ours: float, theirs: float, lines: int = 1) -> float:
    excess = max(0.0, abs(ours - theirs) - 0.005 * lines)
    return (excess if ours >= theirs else -excess) / max(theirs, 0.01)


def run_seed(seed: int, folder: str) -> dict:
    import llamacpp_probe
    import synth
    import synth_shapes

    kind, kw, ctx = synth_shapes.draw(seed)
    path = os.path.join(folder, f"seed{seed}.gguf")
    getattr(synth, f"write_{kind}")(path, **kw)
    try:
        spec = dict(path=path, **ctx)
        got = llamacpp_probe.measure(spec)
        ours = llamacpp_probe.rigcheck_buffers(path, got, ctx["type"])
    finally:
        os.remove(path)
    # llama.cpp prints MiB with two decimals: only what lies beyond that rounding is an error
    err = {k: _beyond_rounding(ours[k], got[k], got["lines"].get(k, 1)) for k in ("kv", "compute", "output")}
    return {"seed": seed, "kind": kind, "shape": kw, "ctx": ctx, "llama.cpp": {k: got[k] for k in err},
            "rigcheck": ours, "error": err}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--seeds", type=int, default=20, help="how many seeds (default 20)")
    ap.add_argument("--base", type=int, default=None, help="first seed (default: random)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if not 1 <= a.seeds <= 10_000:
        print("memory_conformance: --seeds must be between 1 and 10,000", file=sys.stderr)
        return 2
    base = a.base if a.base is not None else random.SystemRandom().randrange(1000, 10**9)
    rows = []
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as d:
        for seed in range(base, base + a.seeds):
            row = run_seed(seed, d)
            rows.append(row)
            if not a.json:
                e = row["error"]
                print(f"seed {seed:>10} {row['kind']:<9} vocab {row['shape']['n_vocab']:>6} "
                      f"ctx {row['ctx']['n_ctx']:>5} ub {row['ctx']['n_ubatch']:>4} fa {int(row['ctx']['flash_attn'])} "
                      f"{row['ctx']['type']:<4} seq {row['ctx']['n_seq_max']}  compute {row['llama.cpp']['compute']:9.2f} "
                      f"MiB ({100 * e['compute']:+.3f}%)  KV {100 * e['kv']:+.3f}%  output {100 * e['output']:+.3f}%",
                      flush=True)
    worst = {k: max(rows, key=lambda r: abs(r["error"][k])) for k in ("kv", "compute", "output")}
    summary = {k: {"worst_error": w["error"][k], "seed": w["seed"]} for k, w in worst.items()}
    if a.json:
        print(json.dumps({"base": base, "seeds": a.seeds, "rows": rows, "worst": summary}, indent=1))
    else:
        print(f"\n{a.seeds} seeds from {base} in {time.monotonic() - t0:.0f} s; worst relative error: " +
              ", ".join(f"{k} {100 * v['worst_error']:+.3f}% (seed {v['seed']})" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
