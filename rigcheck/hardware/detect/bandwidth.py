"""Measure memory bandwidth (opt-in: ``rigcheck rig --measure-bandwidth``).

Copies a large NumPy array a few times and reports the best rate, counting each copy as
one read plus one write. A single thread on one process: a floor for what a runtime
with many threads gets, usually well below the rated bandwidth on servers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ...units import gb

GiB = 2**30


def measure_bandwidth(size_bytes: int = GiB, repeats: int = 5,
                      progress: Callable[[str], None] | None = None) -> float:
    """Best observed copy bandwidth in bytes/s (read + write counted)."""
    import numpy as np

    try:
        from .cpu import memory_totals
        avail = memory_totals().get("available")
        if avail:
            size_bytes = max(64 * 2**20, min(size_bytes, avail // 4))
    except OSError:
        pass
    n = size_bytes // 8
    src = np.ones(n, dtype=np.float64)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # touch the pages first
    best = 0.0
    for i in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        dt = time.perf_counter() - t0
        rate = 2 * n * 8 / dt if dt > 0 else 0.0
        best = max(best, rate)
        if progress:
            progress(f"copy {i + 1}/{repeats}: {gb(rate, 1)}/s")
    return best
