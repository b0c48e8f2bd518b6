"""Time every standard build of every catalogue model (the whole `rigcheck builds` work).

    python bench/builds_speed.py
"""

from __future__ import annotations

import time

from rigcheck import units
from rigcheck.model import catalog
from rigcheck.quant import recipes


def main() -> None:
    t0 = time.perf_counter()
    cards = catalog.all_cards()
    models = [catalog.model_of(c) for c in cards]
    t_load = time.perf_counter() - t0
    n = 0
    t1 = time.perf_counter()
    lines = []
    for m in models:
        for name in recipes.standard_builds(m):
            b = recipes.build(m, name)
            n += 1
            lines.append(f"{m.id:32s} {b.name:12s} {units.gb(b.file_bytes):>12s} {units.gib(b.file_bytes):>13s} "
                         f"{b.bits_per_weight:5.2f} bpw")
    t_builds = time.perf_counter() - t1
    print("\n".join(lines))
    print(f"{len(models)} models, {n} builds: models loaded in {t_load:.3f} s, builds in {t_builds:.3f} s, "
          f"total {t_load + t_builds:.3f} s")


if __name__ == "__main__":
    main()
