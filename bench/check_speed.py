"""Wall time of `rigcheck check` for every catalogue model on every preset rig.

Goal (issue 7): under 1 s per check, start-up included. Each check runs as a fresh
process, as a user would run it. Prints one line per (model, rig) and a summary.

    python bench/check_speed.py            # every model x the five tier rigs
    python bench/check_speed.py --quick    # five models x five rigs
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="five models only")
    args = ap.parse_args()
    from rigcheck.hardware import tiers
    from rigcheck.model import catalog
    rigs = [t.rigs[0] for t in tiers()]
    models = [c.id for c in catalog.all_cards()]
    if args.quick:
        models = ["deepseek-v4-flash", "qwen3-30b-a3b", "gpt-oss-120b", "llama-3.1-70b-instruct", "gemma-3-270m"]
    times = []
    slow = []
    for m in models:
        for r in rigs:
            t0 = time.perf_counter()
            p = subprocess.run([sys.executable, "-m", "rigcheck", "check", m, "--rig", r],
                               capture_output=True, text=True)
            dt = time.perf_counter() - t0
            times.append(dt)
            status = "ok" if p.returncode == 0 else f"exit {p.returncode}: {p.stderr.strip()[:80]}"
            print(f"{dt:6.2f} s  {m:<40} {r:<32} {status}", flush=True)
            if dt >= 1.0:
                slow.append((dt, m, r))
    print()
    print(f"{len(times)} checks: median {statistics.median(times):.2f} s, max {max(times):.2f} s, "
          f"{len(slow)} at or over 1 s")
    for dt, m, r in sorted(slow, reverse=True)[:10]:
        print(f"  slow: {dt:.2f} s {m} on {r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
