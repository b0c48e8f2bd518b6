"""CPU decode physics: how many threads run a token and what they can do (pure, no I/O).

A CPU-only token reads its weights and KV from RAM at the RAM pool's effective bandwidth
(the fitted ``eff[('cpu', 'ram')]`` x rated), but that figure needs enough threads: each
thread streams at most about ``PER_CORE_BW`` and dequantizes + multiplies at most
``rate`` weights per second (per storage type), so ``threads`` threads take at least::

    floor = max(bytes / (threads x PER_CORE_BW), weights / (threads x rate(type)))

and the token takes max(bandwidth term, floor). With all cores of a desktop CPU the
bandwidth term wins (decode is memory-bound); with one or two threads, or a quant type whose
dequantization is dear, the floor does. The floor is not fitted (the catalogue holds too
few thread-limited rows to pin it); its constants come from measurements with stated thread
counts, each named below.

Threads: llama.cpp's default (``common_cpu_get_num_math``, common/common.cpp of the tested
llama.cpp): the physical cores, on a hybrid Intel CPU only the performance cores, on Apple
the performance cores (``hw.perflevel0.physicalcpu``); a run's notes may state another
count (``threads=8``, ``8 threads``, ``-t 8``).
"""

from __future__ import annotations

import re

# One core's streaming read bandwidth: LLaMA-3.1-8B BF16_R16 tg128 at 1 thread on a Ryzen 9
# 7950X (Zen 4) reads 3.12 tok/s x 16.06 GB = 50 GB/s (ik_llama.cpp PR #142, 2024-12-14);
# Q6_K_R4 at 1 thread, 7.07 x 6.59 GB = 47 GB/s (PR #132, 2024-12-10).
PER_CORE_BW = 50e9

# Weights one core dequantizes and multiplies per second in a decode matvec, by the core's
# SIMD class and the storage type, from tg128 of LLaMA-3.1-8B (8.03e9 weights) at 1 or 2
# threads, where the same runs at 4+ threads go 1.3-3x faster (so they are not
# bandwidth-bound), per thread:
#   avx512 (Zen 4: Ryzen 9 7950X)
#     Q5_K  4.10 tok/s at 1 thread, mainline llama.cpp b4295 (ik_llama.cpp PR #132, 2024-12-10)  32.9e9
#     Q4_K  5.73 tok/s at 1 thread, ik_llama.cpp Q4_K_S (PR #129, 2024-12-09)                     46.0e9
#     Q6_K  5.12 tok/s at 1 thread, ik_llama.cpp Q6_K (PR #132)                                    41.1e9
#   avx2 (Zen 3: Ryzen Threadripper PRO 5975WX, 8-channel DDR4)
#     Q4_K  4.60 tok/s at 2 threads, ik_llama.cpp Q4_K_S (PR #129)                                 18.5e9
#     Q6_K  4.04 tok/s at 2 threads, ik_llama.cpp Q6_K (PR #132)                                   16.2e9
#   neon (Apple M2 Max)
#     Q5_K  6.39 tok/s at 2 threads, mainline llama.cpp b4274 (PR #132)                           25.7e9
#     Q4_K 11.38 tok/s at 2 threads, ik_llama.cpp Q4_K_S (PR #129)                                 45.7e9
# Types without a figure of their own take the class's slowest figure: a floor that errs
# toward "too slow" shows up as a miss on thread-limited rows, not as a silent 2x.
RATE = {
    "avx512": {"Q4_K": 46.0e9, "Q5_K": 32.9e9, "Q6_K": 41.1e9},
    "avx2": {"Q4_K": 18.5e9, "Q6_K": 16.2e9},
    "neon": {"Q4_K": 45.7e9, "Q5_K": 25.7e9},
}
DEFAULT_SIMD = "avx2"


def simd_class(cpu) -> str:
    """The SIMD class of a CPU's cores that llama.cpp's CPU kernels use: ``neon`` on Apple,
    ``avx512`` on AMD Zen 4 and later (2022 on: Ryzen 7000, EPYC 9004, Threadripper 7000) and
    on Intel Xeon Scalable (2017 on), else ``avx2`` (Intel client cores since Alder Lake have
    AVX-512 fused off; a detected CPU outside the catalogue, or a portable llama.cpp build).
    The generation rule is a convention from vendor documents, not a per-row source."""
    if cpu is None:
        return DEFAULT_SIMD
    vendor = (getattr(cpu, "vendor", "") or "").lower()
    if vendor == "apple":
        return "neon"
    if getattr(cpu, "verified", "") == "detected":
        return DEFAULT_SIMD
    year = getattr(cpu, "release_year", None) or 0
    name = (getattr(cpu, "name", "") or "").lower()
    if vendor == "amd" and year >= 2022:
        return "avx512"
    if vendor == "intel" and "xeon" in name and year >= 2017:
        return "avx512"
    return DEFAULT_SIMD


def type_family(type_name: str) -> str:
    """The RATE key of a storage type: Q4_K_M, Q4_K_S and Q4_K -> Q4_K; others as given."""
    t = (type_name or "").strip().upper()
    m = re.match(r"^(Q[2-6]_K)", t)
    return m.group(1) if m else t


def rate(type_name: str, simd: str = DEFAULT_SIMD) -> float:
    """Weights per second one core of SIMD class ``simd`` dequantizes and multiplies for ``type_name``."""
    table = RATE.get(simd) or RATE[DEFAULT_SIMD]
    return table.get(type_family(type_name), min(table.values()))


_THREADS = (re.compile(r"\bthreads?\s*[=:]\s*(\d{1,4})\b", re.I), re.compile(r"\b(\d{1,4})\s+threads?\b", re.I),
            re.compile(r"(?:^|\s)(?:-t|--threads)\s+(\d{1,4})\b"))


def threads_in(text: str) -> int | None:
    """The thread count a run's notes state (``threads=8``, ``8 threads``, ``-t 8``), else None."""
    for pat in _THREADS:
        m = pat.search(text or "")
        if m and int(m.group(1)) > 0:
            return int(m.group(1))
    return None


def physical_cores(cpu) -> int | None:
    """The cores llama.cpp runs on by default for a catalogue CPU: its performance cores where
    the catalogue splits them (``8P+16E``), else its cores (``24 cores``); None if unknown."""
    if cpu is None or getattr(cpu, "kind", "") != "cpu":
        return None
    m = re.search(r"\b(\d{1,3})\s*P\s*\+\s*\d{1,3}\s*E\b", getattr(cpu, "notes", "") or "")
    if m:
        return int(m.group(1))
    m = re.match(r"^\s*(\d{1,4})\s*cores?\b", getattr(cpu, "gpu_cores", "") or "")
    return int(m.group(1)) if m else None


def default_threads(node) -> int | None:
    """llama.cpp's default thread count on ``node``: the CPUs this process may use on a detected
    machine, else the catalogue CPU's (performance) cores x sockets; None when unknown."""
    detected = getattr(node, "cpu_threads", None)
    if detected:
        return int(detected)
    cores = physical_cores(getattr(node, "cpu", None))
    return cores * max(getattr(node, "sockets", 1) or 1, 1) if cores else None


def floor_seconds(bytes_read: float, weights: float, threads: int | None, type_name: str = "",
                  simd: str = DEFAULT_SIMD) -> float:
    """The least time ``threads`` threads take for one token that reads ``bytes_read`` and
    multiplies ``weights`` weights of ``type_name`` (0 when the thread count is unknown)."""
    if not threads or threads <= 0:
        return 0.0
    return max(bytes_read / (threads * PER_CORE_BW), weights / (threads * rate(type_name, simd)))
