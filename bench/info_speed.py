"""Wall time of `rigcheck info MODEL` (a fresh process each time, start-up included) for
every model in the catalogue. Usage: python bench/info_speed.py [--runs N]"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def time_info(model_id: str, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rigcheck", "info", model_id], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3, help="runs per model; the best is printed")
    args = ap.parse_args()
    from rigcheck.model.catalog import all_cards
    times = []
    for c in all_cards():
        s = time_info(c.id, args.runs)
        times.append(s)
        print(f"{c.id:36} {s * 1000:7.0f} ms")
    print(f"{'max':36} {max(times) * 1000:7.0f} ms   ({len(times)} models, best of {args.runs})")


if __name__ == "__main__":
    main()
