"""Speed: decode and prefill estimates as ranges (pure arithmetic, no I/O).

Decode is memory-bound. For one token, each memory pool (a GPU's VRAM, system RAM, a
unified-memory SoC, a disk being streamed through mmap) reads its share of the active
weights plus the KV cache at the current context, at that pool's effective bandwidth::

    time per token = (fixed + sum over pools of bytes_read / (bandwidth x efficiency))
                     x runtime factor / maturity factor

* ``efficiency`` depends on the device family (NVIDIA, AMD, Apple, ...) and the pool kind
  (GPU memory, system RAM read by the CPU, disk).
* ``fixed`` is the per-token cost that does not shrink with bytes (kernel launches,
  sampling, synchronisation); a hybrid GPU+CPU token pays an extra hand-over cost.
* Layer split across GPUs: each GPU reads its layers in turn, so the times add (this is
  what the pool sum does) plus a small hop per extra GPU. Tensor parallel: the GPUs read
  at once, so the slowest pool counts, plus a per-token all-reduce cost over the link.
* ``maturity``: a runtime running an architecture it supports only in a fork or a new
  port (e.g. DeepSeek V4 in ds4 or llama.cpp branches, compute-bound in routing and
  indexer kernels) runs well below the bandwidth roofline; fitted factor per level.
* Weights that do not fit in RAM are streamed from disk through mmap: that pool's
  bandwidth is the disk's, which is what makes speed collapse by 10-30x.

Prefill is compute-bound. Per prompt token::

    time = gemm / (matrix peak x e) x (1 + m0 / batch)          dense weights
         + gemm_experts / (matrix peak x e) x (1 + m0 / (batch x k/E))   routed experts
         + attention / (FP16 peak x e_attn[backend])
         + attention / (rows a KV pass serves[backend] x bandwidth)   (the KV cache re-read; ggml)
         + weights read per micro-batch / (batch x bandwidth)      (tiny prompts)
         + offloaded bytes / (link bandwidth x micro-batch)        (weights in RAM)

* the matrix peak is the INT8 one for quantized weights where the device has integer matrix
  units and the kernels use them (llama.cpp's CUDA and ROCm MMQ, the CPU; runtimes with their
  own kernels), else FP16 (F16/BF16 weights, Vulkan, SYCL, Metal; see INT8_MMQ);
* the KV term: flash attention reads the cache once per block of query rows (CUDA: once per
  group of blocks sweeping it in step, through L2), and the K+V bytes x heads per KV head x
  context of a token equal its attention FLOPs (PRIOR_Q_ROWS);
* ``batch`` is the micro-batch (-ub, 512 by default; a measurement's own where it names one);
* ``e`` = backend efficiency (CUDA, ROCm, Vulkan, Metal, SYCL, CPU, other runtimes) x
  vendor x family x device x runtime factors, each shrunk toward 1 in the fit, so a device
  with no rows falls back to its family, a family with none to its vendor and backend
  (device -> family -> vendor -> backend), x a backend factor for F16/BF16 weights;
* ``m0``: the batch at which a weight GEMM reaches half its efficiency; a routed expert sees
  only batch x k/E of the micro-batch's tokens, which is why MoE prefill reaches a fraction
  of a dense model's efficiency.

The constants (``Calibration``) are fitted to the bundled measurements by
``rigcheck.plan.speed.calibrate`` and stored in ``rigcheck/data/speed_calibration.json``; the
fit, its priors and the accuracy it reaches are described there and printed by
``bench/speed_accuracy.py``. Nothing here reads files: callers pass a Calibration.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

POOL_KINDS = ("gpu", "unified", "ram", "disk")
FAMILIES = ("nvidia", "amd", "intel", "apple", "nvidia-soc", "amd-soc", "cpu")
MATURITY = ("mature", "new", "fork")
PARALLEL = ("single", "layer", "tensor")

def maturity_of(arch: str, runtime: str) -> str:
    """How mature ``runtime``'s kernels are for the architecture ``arch``: ``new`` or
    ``fork`` where the architecture table says so (e.g. DeepSeek V4: a dedicated engine
    whose kernels are compute-bound on routing/indexer, and llama.cpp WIP branches with
    flash attention disabled, loftllc.dev 2026-04-27), else ``mature``."""
    from ...model.families.archs import arch as arch_row
    return arch_row(arch or "").maturity.get(runtime or "", "mature")


def device_family(vendor: str, kind: str) -> str:
    """The speed family of a device: vendor plus discrete GPU vs unified SoC vs CPU."""
    v = (vendor or "").strip().lower()
    k = (kind or "").strip().lower()
    if k == "cpu":
        return "cpu"
    if v == "apple":
        return "apple"
    if k == "soc":
        return "nvidia-soc" if v == "nvidia" else "amd-soc" if v == "amd" else "apple"
    if v in ("nvidia", "amd", "intel"):
        return v
    return "nvidia"


@dataclass(frozen=True)
class Range:
    """A speed as low / mid / high tokens per second. Never one invented number."""

    low: float
    mid: float
    high: float

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    def scaled(self, k: float) -> "Range":
        return Range(self.low * k, self.mid * k, self.high * k)


@dataclass(frozen=True)
class PoolRead:
    """What one memory pool reads per decoded token.

    kind: gpu | unified | ram | disk. bytes_per_token: weights actually read (each at its
    own storage type) plus the KV cache read at the context. bandwidth_bytes_s: the
    pool's rated bandwidth (or a measured one). family: the device family doing the
    reading (for ``ram`` and ``disk`` pools: ``cpu``, whatever GPU sits beside it).
    """

    bytes_per_token: float
    bandwidth_bytes_s: float
    kind: str = "gpu"
    family: str = "nvidia"
    device: str = ""          # catalogue id of the device doing the read (per-device efficiency)
    # attention compute this pool's device does per token (grows with the context) and
    # the device's dense FP16 peak; both 0/None where unknown
    flops_per_token: float = 0.0
    peak_flops: float | None = None
    # the least time the CPU threads reading this pool take per token (speed.cpu.floor_seconds:
    # too few threads to reach the bandwidth, or a dequantization they cannot keep up with); 0 = none
    floor_s: float = 0.0


@dataclass(frozen=True)
class Calibration:
    """Fitted speed constants (see rigcheck.plan.speed.calibrate for the fit).

    eff[(family, kind)]: share of rated bandwidth reached when decoding.
    fixed_s[family]: per-token fixed cost of the family that runs the graph.
    hybrid_s: extra per-token cost when a token crosses GPU and CPU.
    hop_s: per extra GPU in a layer split; tp_s[link]: per-token all-reduce cost.
    runtime[rt]: time factor (1 = llama.cpp). maturity[level]: speed factor (1 = mature).
    spread: (q_low, q_high) of log(measured / predicted) on held-out rows, per class.
    prefill_eff[family]: summary share of the matrix peak a dense prompt reaches on that family
    (for callers that need one figure, e.g. a cluster's TTFT); the prefill model uses prefill_backend, _vendor,
    _family, _device, _runtime, _float, _attn and prefill_m0 (see prefill_efficiency).
    """

    eff: dict = field(default_factory=dict)
    fixed_s: dict = field(default_factory=dict)
    hybrid_s: float = 0.004
    hop_s: float = 0.0005
    tp_s: dict = field(default_factory=dict)
    runtime: dict = field(default_factory=dict)
    maturity: dict = field(default_factory=dict)
    spread: dict = field(default_factory=dict)
    prefill_eff: dict = field(default_factory=dict)
    prefill_runtime: dict = field(default_factory=dict)
    prefill_spread: tuple = (-0.5, 0.5)
    pcie_eff: float = 0.7
    meta: dict = field(default_factory=dict)
    # the hierarchical part: per-device efficiency multipliers (shrunk toward 1, i.e.
    # toward the device's family), per-runtime multipliers on the fixed per-token cost,
    # the fixed-cost factor of runs before 2024-06, and the ranges used when the lead
    # device has no measurement of its own (spread_far, from leave-one-device-out) or
    # when the estimate starts from measurements of the same setup (spread['anchored']).
    device_eff: dict = field(default_factory=dict)
    arch_eff: dict = field(default_factory=dict)      # arch_key(arch, runtime) -> speed factor
    fixed_rt: dict = field(default_factory=dict)
    legacy_fixed: float = 1.0
    spread_far: dict = field(default_factory=dict)
    # the ranges of a lead device whose family has no measurement either (the efficiency and
    # fixed cost are the physical priors of speed.PRIOR_*): from leave-one-family-out errors
    spread_none: dict = field(default_factory=dict)
    prefill_device: dict = field(default_factory=dict)
    prefill_spread_far: tuple = ()
    # per llama.cpp backend (cuda, rocm, vulkan, metal, sycl, cpu): multipliers on the
    # fixed per-token cost and on prefill efficiency, shrunk toward 1 (the average backend)
    fixed_backend: dict = field(default_factory=dict)
    prefill_backend: dict = field(default_factory=dict)
    # per backend: multiplier on the bandwidth efficiency of the accelerators' pools (SYCL's
    # decode kernels reach about half the bandwidth Vulkan's do on the same Arc card)
    eff_backend: dict = field(default_factory=dict)
    # per Vulkan driver of a family (speed.vulkan_driver: 'intel:mesa', 'intel:vendor', ...): a further
    # multiplier on the accelerators' bandwidth efficiency, shrunk toward 1 (the backend's average)
    eff_driver: dict = field(default_factory=dict)
    # the prefill hierarchy (see prefill_efficiency): vendor and family factors, the factor
    # of F16/BF16 weights per backend, attention efficiency per backend ('' = all backends)
    # and the half-efficiency batch of a weight GEMM
    prefill_vendor: dict = field(default_factory=dict)
    prefill_family: dict = field(default_factory=dict)
    prefill_float: dict = field(default_factory=dict)
    prefill_attn: dict = field(default_factory=dict)
    prefill_m0: float = 32.0
    # per Vulkan driver of a vendor ('amd:vendor', 'amd:mesa', ...; prefill_driver_key): factor on
    # the prompt GEMMs' efficiency, shrunk toward 1 (the driver unknown)
    prefill_driver: dict = field(default_factory=dict)
    prefill_intensity: float = 300.0
    # query rows one pass over the KV cache serves, per backend key (speed.prior_q_rows)
    prefill_q_rows: dict = field(default_factory=dict)
    prefill_spread_anchored: tuple = ()   # 80% interval of prefill estimates anchored on the same setup

    def eff_of(self, family: str, kind: str, device: str = "") -> float:
        if (family, kind) in self.eff:
            e = self.eff[(family, kind)]
        elif kind == "attn":
            return PRIOR_ATTN_EFF
        elif kind in ("ram", "disk"):
            e = self.eff.get(("cpu", kind), PRIOR_EFF[("cpu", kind)])
        else:
            e = PRIOR_EFF.get((family, kind), 0.7)
        return e * self.device_eff.get(device, 1.0) if device else e

    def knows_device(self, device: str) -> bool:
        return bool(device) and device in self.device_eff


# Physical priors used before (and as the anchor of) the fit. Sources: DESIGN.md "How
# speed behaves" (fixed 2.5-6 ms on GPUs; bandwidth close to rated on GPUs and Apple;
# desktop RAM about half of rated), ubergarm r1-ktransformers-guide (~225 of 332 GB/s
# measured on 8-ch DDR5). Disk: random 4K-64K reads through page faults reach well under
# the sequential rating; 0.3 of rated is the prior, with nothing in the data to fit it.
PRIOR_EFF = {
    ("nvidia", "gpu"): 0.8, ("amd", "gpu"): 0.7, ("intel", "gpu"): 0.6,
    ("apple", "unified"): 0.75, ("nvidia-soc", "unified"): 0.75, ("amd-soc", "unified"): 0.7,
    ("cpu", "ram"): 0.55, ("cpu", "disk"): 0.3,
    # system RAM read by the CPU for a GPU-led token (experts / layers offloaded): the CPU
    # threads compute on what they read while the GPU waits, so less of the rated
    # bandwidth is reached than in a CPU-only run (issue 13: RAM offload was
    # over-predicted ~2.5x with the CPU-only efficiency)
    ("host", "ram"): 0.35,
    # RAM of a two-socket node read by threads on both sockets: remote-node reads cross
    # the socket link (issue 13: two-socket runs were over-predicted ~2.7x)
    ("cpu-numa", "ram"): 0.25, ("host-numa", "ram"): 0.2,
    # a unified-memory pool read by the CPU (Apple CPU-only runs)
    ("cpu", "unified"): 0.5,
}
# Share of the FP16 peak reached by decode attention (one query row against the whole
# cache: matrix-vector work, far from peak). Long-context decode falls off faster than
# the KV bytes alone say (issue 13: Qwen3.5-122B at 80K on an M4 Max, MiniMax M2.1 at
# 146K on an M3 Ultra, 2.4-2.9x over-predicted); fitted per family as eff[(family, 'attn')].
PRIOR_ATTN_EFF = 0.05

# A host pool that reads less than this per token (the input-embedding row llama.cpp keeps
# on the CPU) is a lookup, not a GPU/CPU hand-over.
HYBRID_MIN_BYTES = 1e6
PRIOR_FIXED_S = {"nvidia": 0.003, "amd": 0.004, "intel": 0.005, "apple": 0.004,
                 "nvidia-soc": 0.004, "amd-soc": 0.005, "cpu": 0.002}
PRIOR_MATURITY = {"mature": 1.0, "new": 0.5, "fork": 0.4}
PRIOR_TP_S = {"nvlink": 0.002, "pcie": 0.004, "network": 0.010}
PRIOR_PREFILL_EFF = {"nvidia": 0.35, "amd": 0.25, "intel": 0.2, "apple": 0.4,
                     "nvidia-soc": 0.35, "amd-soc": 0.3, "cpu": 0.3}

DEFAULT = Calibration(
    eff=dict(PRIOR_EFF), fixed_s=dict(PRIOR_FIXED_S), tp_s=dict(PRIOR_TP_S),
    runtime={}, maturity=dict(PRIOR_MATURITY), spread={}, prefill_eff=dict(PRIOR_PREFILL_EFF),
    prefill_runtime={}, meta={"fitted": False})


# ---- decode -------------------------------------------------------------------------

def _lead_family(pools: list[PoolRead]) -> str:
    """The family that runs the graph: the first GPU/unified pool, else cpu."""
    for p in pools:
        if p.kind in ("gpu", "unified"):
            return p.family
    return "cpu"


def spread_class(pools: list[PoolRead], parallel: str = "single", maturity: str = "mature") -> str:
    """Which residual spread applies: offload, multi-GPU, new architecture, CPU, plain. A host
    pool that only looks up the input embedding (under HYBRID_MIN_BYTES a token) is no
    offload: the decode model's hybrid term ignores it too."""
    kinds = {p.kind for p in pools if p.bytes_per_token > 0
             and (p.kind not in ("ram", "disk") or p.bytes_per_token >= HYBRID_MIN_BYTES or len(pools) == 1)}
    if "disk" in kinds:
        return "disk"
    if maturity != "mature":
        return "new_arch"
    if "ram" in kinds and kinds & {"gpu", "unified"}:
        return "hybrid"
    if kinds <= {"ram"} or _lead_family(pools) == "cpu":
        return "cpu"
    if parallel in ("layer", "tensor") and len(pools) > 1:
        return "multi"
    return "gpu"


# Runs dated before this ran older runtimes: llama.cpp added CUDA graphs in 2024-05 (PR #6766),
# so their per-token fixed cost was higher (Calibration.legacy_fixed) ...
LEGACY_BEFORE = "2024-06"
# ... and llama.cpp's CUDA prefill changed with tensor-core MMQ (PR #7676, 2024-06): prefill
# figures from before describe other kernels, evidence but neither fitted nor used as the
# start of an estimate.
PREFILL_SINCE = "2024-06"

GGML_RUNTIMES = ("llama.cpp", "ollama", "lmstudio", "ik_llama.cpp")
BACKENDS = ("cuda", "rocm", "vulkan", "metal", "sycl", "ipex", "cpu")


def backend_of(runtime: str, family: str, version: str = "") -> str:
    """The ggml backend a run used: named in its version text (``b8123 Vulkan``), else the
    one a llama.cpp-family runtime uses on that family by default (CUDA on NVIDIA, Metal on
    Apple, the CPU alone), else '' (unknown: the average backend)."""
    if runtime not in GGML_RUNTIMES:
        return ""
    v = (version or "").lower()
    # IPEX-LLM ships its own SYCL kernels (oneDNN GEMMs): not the SYCL backend of llama.cpp
    for word, name in (("ipex", "ipex"), ("vulkan", "vulkan"), ("radv", "vulkan"), ("amdvlk", "vulkan"), ("rocm", "rocm"),
                       ("hip", "rocm"), ("cuda", "cuda"), ("metal", "metal"), ("sycl", "sycl")):
        if word in v:
            return name
    return {"nvidia": "cuda", "nvidia-soc": "cuda", "apple": "metal", "cpu": "cpu"}.get(family, "")


# The Vulkan driver under a GPU, as a run's text names it or its OS implies: Mesa's (ANV for Intel,
# RADV for AMD, NVK for NVIDIA) or the vendor's own (Intel's and AMD's Windows drivers, AMDVLK,
# NVIDIA's). The two compile the same SPIR-V shaders differently and llama.cpp picks its
# mat-vec kernels per driver (ggml-vulkan's ggml_vk_should_use_mmvq: MMVQ off on Intel's Windows
# driver since PR #20672, tuned for Mesa on Xe2 in PR #23056), so decode reaches a different share
# of the bandwidth: the same Arc A770 and build decode Llama-3-8B Q4_K_M at 32 vs 52 tok/s,
# gpt-oss-20b at 36 vs 62 and Llama-2-7B Q4_0 at 44 vs 56 on Linux (ANV) vs Windows (llama.cpp
# PR #19988, savvadesogle, b8191). Intel has no other Vulkan driver on Linux, so Linux = Mesa
# there; an AMD Linux run is Mesa unless it names AMDVLK; NVIDIA is its own driver unless NVK.
# Words are matched whole, in the row's version and notes.
VULKAN_DRIVER_WORDS = {
    "mesa": ("mesa", "anv", "radv", "nvk"),
    "vendor": ("amdvlk", "amd proprietary", "windows", "win11", "win-vulkan"),
    "linux": ("linux", "ubuntu", "fedora", "debian", "arch linux", "cachyos", "xe driver"),
}


# Prompt processing depends on the driver on AMD too: AMDVLK (AMD's open driver, discontinued in
# 2025; its Windows driver shares its compiler) against Mesa's RADV, on one machine and one day:
# gemma-3-27b BF16 pp512 9.3 vs 123 tok/s, Llama-2-7B Q4_0 347 (AMDVLK) vs 1,338 (RADV) on Strix
# Halo (kyuz0/amd-strix-halo-toolboxes logs, 2026-02 and 2026-05); gpt-oss-20b on an RX 7900 XTX
# under both (Orion-zhen/llama-bench-dashboard). Prefill has a driver factor per vendor for these.
# The families whose Vulkan driver matters, each fact once: the phases ('decode', 'prefill') that
# carry a factor per driver. In each of them a Linux run that names no driver is Mesa's (above).
VULKAN_DRIVER_TABLE = {
    "intel": ("decode", "prefill"),
    "amd": ("prefill",),
    "amd-soc": ("prefill",),
}


def vulkan_driver(backend: str, family: str, text: str, phase: str = "decode") -> str:
    """The Vulkan driver of a run, '{family}:mesa' or '{family}:vendor' (VULKAN_DRIVER_WORDS), '' when
    the run is not Vulkan, its family's driver carries no factor in ``phase`` (VULKAN_DRIVER_TABLE)
    or its text does not tell."""
    if backend != "vulkan" or phase not in VULKAN_DRIVER_TABLE.get(family, ()):
        return ""
    t = (text or "").lower()

    def said(kind):
        return any(re.search(r"(?<![a-z0-9])" + re.escape(w) + r"(?![a-z0-9])", t) for w in VULKAN_DRIVER_WORDS[kind])
    mesa, vendor, linux = said("mesa"), said("vendor"), said("linux")
    if mesa and not vendor:
        return f"{family}:mesa"
    if vendor and not mesa:
        return f"{family}:vendor"
    if linux and not mesa and not vendor:
        return f"{family}:mesa"
    return ""


def arch_key(arch: str, runtime: str) -> str:
    """The key of an architecture's own speed factor in a runtime (Calibration.arch_eff)."""
    return f"{arch}@{runtime}"


def decode_seconds(pools: list[PoolRead], runtime: str = "llama.cpp", maturity: str = "mature",
                   parallel: str = "single", link: str = "pcie", calib: Calibration = DEFAULT,
                   legacy: bool = False, arch: str = "", backend: str = "", driver: str = "") -> float:
    """Mid estimate of the seconds one decoded token takes (see the module docstring).
    ``legacy``: a run before 2024-06 (older per-token overheads). ``arch``: the
    architecture, for its fitted factor in this runtime (1 when it has none). ``driver``: the
    Vulkan driver (vulkan_driver; '' = not known, the backend's average)."""
    pools = [p for p in pools if p.bytes_per_token > 0]
    if not pools:
        return float("nan")
    lead = _lead_family(pools)
    fixed = calib.fixed_s.get(lead, PRIOR_FIXED_S.get(lead, 0.004)) * calib.fixed_rt.get(runtime, 1.0)
    fixed *= calib.fixed_backend.get(backend, 1.0) if backend else 1.0
    if legacy:
        fixed *= calib.legacy_fixed
    terms = []
    for p in pools:
        if p.bandwidth_bytes_s is None or p.bandwidth_bytes_s <= 0:
            raise ValueError(f"pool {p.kind} has no bandwidth")
        be = calib.eff_backend.get(backend, 1.0) if backend and p.kind in ("gpu", "unified") else 1.0
        be *= calib.eff_driver.get(driver, 1.0) if driver and p.kind in ("gpu", "unified") else 1.0
        read = p.bytes_per_token / (p.bandwidth_bytes_s * calib.eff_of(p.family, p.kind, p.device) * be)
        terms.append(max(read, p.floor_s) + attn_seconds(p, calib))
    accel = [t for t, p in zip(terms, pools) if p.kind in ("gpu", "unified")]
    host = [t for t, p in zip(terms, pools) if p.kind in ("ram", "disk")]
    crossing = any(p.kind in ("ram", "disk") and p.bytes_per_token >= HYBRID_MIN_BYTES for p in pools)
    if parallel == "tensor" and len(accel) > 1:
        body = max(accel) + sum(host) + calib.tp_s.get(link, PRIOR_TP_S.get(link, 0.004))
    else:
        body = sum(terms)
        if parallel == "layer" and len(accel) > 1:
            body += calib.hop_s * (len(accel) - 1)
    if crossing and accel:
        body += calib.hybrid_s
    t = fixed + body
    t *= calib.runtime.get(runtime, 1.0)
    t /= calib.maturity.get(maturity, PRIOR_MATURITY.get(maturity, 1.0))
    if arch:
        t /= calib.arch_eff.get(arch_key(arch, runtime), 1.0)
    return t


def attn_seconds(p: PoolRead, calib: Calibration) -> float:
    """Attention compute time of one pool for one token (0 without flops or a peak)."""
    if not p.flops_per_token or not p.peak_flops:
        return 0.0
    return p.flops_per_token / (p.peak_flops * calib.eff_of(p.family, "attn"))


def lead_device(pools: list[PoolRead]) -> str:
    """The device whose efficiency dominates: the first accelerator, else the CPU pool's."""
    for p in pools:
        if p.kind in ("gpu", "unified") and p.bytes_per_token > 0:
            return p.device
    for p in pools:
        if p.bytes_per_token > 0:
            return p.device
    return ""


# How far a decode estimate falls back in the hierarchy of the fit (device -> family ->
# physical prior): the device's own efficiency, its family's (other chips of the family were
# measured), or the priors alone (nobody measured the family). Each level has its own range.
DECODE_LEVELS = ("device", "family", "none")


def fallback_level(calib: Calibration, device: str, family: str = "") -> str:
    """The level of the decode hierarchy an estimate of ``device`` (of speed family ``family``)
    stands on: 'device' when the fit had rows of that device, 'family' when it had rows of
    other devices of its family (or the family is not known), else 'none'. Which families had
    rows is read from the fit's own counts (meta['rows_by']['family'])."""
    if calib.knows_device(device):
        return "device"
    fams = calib.meta.get("rows_by", {}).get("family")
    if not family or fams is None or fams.get(family, 0) > 0:
        return "family"
    return "none"


def spread_of(calib: Calibration, klass: str, device: str, family: str = "") -> tuple[float, float]:
    """The 80% interval (log ratios) of a class at the estimate's fallback level: the near one
    when the lead device has measurements of its own in the fit, the far one (devices nobody
    measured, from leave-one-device-out and leave-one-source-out errors) when its family has,
    else the one of unmeasured families (leave-one-family-out errors)."""
    near = calib.spread.get(klass) or calib.spread.get("all") or (-0.35, 0.35)
    if klass == "anchored" or not calib.spread_far:
        return tuple(near)
    level = fallback_level(calib, device, family)
    if level == "device":
        return tuple(near)
    far = calib.spread_far.get(klass) or calib.spread_far.get("all") or near
    if level == "none" and calib.spread_none:
        return tuple(calib.spread_none.get(klass) or calib.spread_none.get("all") or far)
    return tuple(far)


def decode_range(pools: list[PoolRead], runtime: str = "llama.cpp", maturity: str = "mature",
                 parallel: str = "single", link: str = "pcie", calib: Calibration = DEFAULT,
                 arch: str = "", backend: str = "") -> Range:
    """Decode tokens/s for a placement given as pools; the range is the 80% interval of
    cross-validated errors for this class of placement (wider when the lead device has no
    measurement of its own, wider still when its family has none), at least +-10%."""
    mid = 1.0 / decode_seconds(pools, runtime, maturity, parallel, link, calib, arch=arch, backend=backend)
    lo_q, hi_q = spread_of(calib, spread_class(pools, parallel, maturity), lead_device(pools), _lead_family(pools))
    return range_around(mid, lo_q, hi_q)


def range_around(mid: float, lo_q: float, hi_q: float, floor: float = 0.10) -> Range:
    lo_q, hi_q = min(lo_q, -floor), max(hi_q, floor)
    return Range(mid * math.exp(lo_q), mid, mid * math.exp(hi_q))


def anchored_mid(measured: list[tuple[float, float]], t_target: float) -> float:
    """Decode tok/s of a setup from measurements of that same setup: each (tok/s
    measured, model seconds per token at that measurement's context and runtime version)
    is moved to the target by the model's ratio, and the moved values are averaged in
    log space."""
    logs = [math.log(m * t_row / t_target) for m, t_row in measured if m > 0 and t_row > 0]
    return math.exp(sum(logs) / len(logs))


# ---- prefill ------------------------------------------------------------------------

# The parent of a device family in the prefill hierarchy (device -> family -> vendor ->
# backend): a family with no measurement of its own falls back to its vendor's kernels.
VENDOR_OF = {"nvidia": "nvidia", "nvidia-soc": "nvidia", "amd": "amd", "amd-soc": "amd", "intel": "intel",
             "apple": "apple", "cpu": "cpu"}
# Tokens per micro-batch of llama.cpp's prompt processing (-ub default 512).
UBATCH = 512
# Prior of the prefill efficiency of a backend against the matrix peak it runs at, of the
# attention part against the FP16 peak, and of the batch at which a weight matrix reaches half
# its GEMM efficiency (a routed expert sees only batch x k/E of a micro-batch's tokens).
PRIOR_PREFILL_BACKEND = 0.3
PRIOR_PREFILL_ATTN = 0.15
PRIOR_PREFILL_M0 = 32.0
# FLOP a prompt's weight GEMMs do per byte of memory traffic (tiles re-read from memory):
# the term GEMM flops / (bandwidth x intensity) is what holds back a device whose compute
# peak is high against its bandwidth (a unified-memory SoC)
PRIOR_PREFILL_INTENSITY = 300.0
# Flash attention reads the KV cache once per block of query rows; a prompt token brings one
# query row per attention head, and (K + V bytes at F16) x heads-per-KV-head x context equals
# the attention FLOPs of that token, so the cache traffic per prompt token is attention FLOPs /
# rows one read of the cache from DRAM serves (bytes). From the kernels of llama.cpp's tested
# version (ggml/src/ggml-vulkan/ggml-vulkan.cpp, ggml/src/ggml-cuda/fattn*.cu*):
# * Vulkan: a prompt's rows are not folded over GQA (ggml_vk_flash_attn: only N <= 8), and a
#   workgroup takes block_rows query rows of one head: coopmat1 16 (get_fa_tuning_params_coopmat1;
#   the path where the driver exposes KHR cooperative matrices with full subgroups:
#   coopmat1_fa_support), scalar 8 at head sizes up to 64 (128 on a discrete RDNA GPU; row_split 1)
#   and 16 above (row_split 4), halved where the cache has under 1,024
#   entries, D & 8 or on Intel (get_fa_tuning_params_scalar), coopmat2 (NVIDIA) 32-64: 16.
# * CUDA: the mma kernel serves 64 rows per block for a prompt (fattn.cu
#   ggml_cuda_flash_attn_ext_mma_f16_switch_ncols1: ncols1 x ncols2 = 64 once the micro-batch has
#   over 32/ncols2 tokens; ncols2 = the GQA ratio up to 8), at 2 blocks per SM
#   (fattn-mma-f16.cuh, config ncols 64: nthreads 128, occupancy 2). On compute capability 8.9 and
#   newer it always runs stream-k (fattn-common.cuh launch_fattn: should_use_stream_k): a grid of
#   2 x SMs blocks, each a contiguous run of the work ordered KV block fastest, then query tile,
#   GQA group, KV head (fattn-mma-f16.cuh flash_attn_ext_f16: kbc). The blocks on one KV head that
#   start at the same point of the sweep over its cache read the same K/V tiles together and
#   DRAM serves them once (L2). On a 48-SM GB10 with a 512- or 2,048-token micro-batch of a GQA-8
#   model: 96 blocks, 12 or 24 per KV head (8 or 4 KV heads) in 3 phases, so 4-8 blocks per read:
#   64 x 4 = 256 rows (the lower end; more SMs put more blocks in step). The rest (HIP's mma and
#   tile kernels, SYCL, Metal, CPU) 64 rows per block, no sharing assumed.
# Fitted per backend (Calibration.prefill_q_rows), shrunk toward these priors.
# Only for llama.cpp-family runtimes, whose kernels these are: MLX, vLLM or SGLang attention
# (FlashAttention, FlashMLA) is taken at its fitted compute efficiency alone.
PRIOR_Q_ROWS = {"vulkan": 16.0, "cuda": 256.0}


def prior_q_rows(backend_key: str) -> float:
    return PRIOR_Q_ROWS.get(backend_key, 64.0)


# Weights read per micro-batch are read at about this share of the rated bandwidth.
PREFILL_READ_EFF = 0.7


# The ggml backends whose prompt GEMMs on quantized weights run on integer matrix units:
# CUDA's and ROCm's MMQ kernels (int8 MMA / MFMA / WMMA tiles) and the CPU's int8 dot
# products (VNNI / AMX). Vulkan and SYCL dequantize the weight tiles and multiply in F16 on
# the F16 matrix units (cooperative matrices, XMX), Metal has no integer matrix units: their
# quantized prompts run at the FP16 peak. An unnamed backend of a llama.cpp-family run (an
# AMD or Intel GPU: ROCm, Vulkan or SYCL) is taken at the FP16 peak too. Runtimes with their
# own kernels keep the INT8 convention of the fit (vLLM's, SGLang's quantized GEMMs).
INT8_MMQ = ("cuda", "rocm", "cpu")


# Blackwell's FP4 tensor cores in llama.cpp's CUDA MMQ: MXFP4 (and NVFP4) weights multiply on
# them natively (PR #17906, merged by 2026-01: PR #18736 of 2026-01-10 fixes its tests; in the
# tested version's ggml-cuda, BLACKWELL_MMA_AVAILABLE for compute capability 12.x: GeForce /
# RTX PRO Blackwell and GB10; the HBM parts, B200 / B300 at 10.x, are not among them). The PR
# measured gpt-oss-20b MXFP4 prompts 1.26-1.27x faster (pp512-pp8192, RTX PRO 6000 Blackwell)
# than the INT8 path the fit's rows ran: that factor on the efficiency, for runs since then and
# for estimates (no date).
NATIVE_FP4_GAIN = 1.26
NATIVE_FP4_SINCE = "2026-01"
NATIVE_FP4_TYPES = ("MXFP4", "NVFP4")


def blackwell_fp4(vendor: str, fp4_flops: float | None, memory_type: str | None) -> bool:
    """Whether a device has the FP4 MMA llama.cpp's CUDA kernels use (compute capability 12.x:
    an NVIDIA part with FP4 tensor cores and no HBM; see NATIVE_FP4_GAIN)."""
    return ((vendor or "").strip().lower() == "nvidia" and bool(fp4_flops)
            and not (memory_type or "").strip().upper().startswith("HBM"))


def native_fp4(runtime: str, backend: str, weight_type: str, device_fp4: bool, date: str = "",
               version: str = "") -> bool:
    """Whether a prompt's GEMMs ran on Blackwell's native FP4 path (NATIVE_FP4_GAIN): a
    llama.cpp-family CUDA run of MXFP4/NVFP4 weights on such a device, dated since the PR
    merged (or naming it in its version), or an estimate (no date)."""
    if runtime not in GGML_RUNTIMES or backend != "cuda" or not device_fp4:
        return False
    if not any(t in (weight_type or "").upper() for t in NATIVE_FP4_TYPES):
        return False
    return not date or date >= NATIVE_FP4_SINCE or "native mxfp4" in (version or "").lower()


def int8_mmq(runtime: str, backend: str) -> bool:
    """Whether a run's quantized prompt GEMMs reach the INT8 matrix peak (see INT8_MMQ)."""
    if runtime in GGML_RUNTIMES:
        return backend in INT8_MMQ
    return True


@dataclass(frozen=True)
class PrefillCase:
    """What one prompt token costs and what runs it.

    gemm_flops: 2 x active parameters; attn_flops: attention at the average context the
    prompt sees. expert_share: share of gemm_flops in routed experts, each of which sees only
    ``batch x expert_frac`` of a micro-batch's ``batch`` tokens (k of E experts per token).
    float_weights: F16/BF16 weights (a dense GEMM), else quantized (llama.cpp's MMQ kernels
    run on integer matrix units: the INT8 peak where the device has one).
    weights_bytes: weights read once per micro-batch (dense plus the experts it touches), at
    ``bandwidth_bytes_s``; offloaded_bytes: weights copied from RAM per micro-batch.
    """

    gemm_flops: float
    attn_flops: float = 0.0
    peak_flops: float | None = None           # dense FP16 peak
    int8_ops: float | None = None             # dense INT8 peak
    family: str = "nvidia"
    runtime: str = "llama.cpp"
    backend: str = ""
    device: str = ""
    maturity: str = "mature"
    float_weights: bool = False
    expert_share: float = 0.0
    expert_frac: float = 1.0
    batch: int = UBATCH
    weights_bytes: float = 0.0
    bandwidth_bytes_s: float | None = None
    offloaded_bytes: float = 0.0
    link_bandwidth_bytes_s: float | None = None
    fp4_mma: bool = False                     # MXFP4/NVFP4 on Blackwell's FP4 MMA (native_fp4)
    driver: str = ""                          # prefill_driver_key: the Vulkan driver, where known

    @property
    def matrix_peak(self) -> float | None:
        """The peak the weight GEMMs run at: INT8 for quantized weights where the device has
        integer matrix units and the kernels use them, else FP16 (see INT8_MMQ)."""
        if not self.float_weights and self.int8_ops and int8_mmq(self.runtime, self.backend):
            return self.int8_ops
        return self.peak_flops

    @property
    def backend_key(self) -> str:
        """The backend's key in the fit: its name; 'ggml' for a llama.cpp-family run whose
        backend nobody named (AMD and Intel GPUs run ROCm, Vulkan or SYCL); 'other' for the
        runtimes with their own kernels (MLX, vLLM, ds4, ...), told apart by runtime."""
        return self.backend or ("ggml" if self.runtime in GGML_RUNTIMES else "other")

    @property
    def vendor(self) -> str:
        return VENDOR_OF.get(self.family, self.family)

    @property
    def float_key(self) -> str:
        """The key of the F16/BF16 factor (Calibration.prefill_float): the backend's, and its Vulkan
        driver's where known (BF16 GEMMs without the driver's bfloat16 support run a slow path:
        every Vulkan BF16 row in the catalogue is AMDVLK, gemma-3-27b BF16 pp512 9.3 tok/s against
        123 under RADV the same day, kyuz0/amd-strix-halo-toolboxes)."""
        return f"{self.backend_key}/{self.driver}" if self.driver else self.backend_key

    @property
    def expert_batch(self) -> float:
        return max(self.batch * self.expert_frac, 1.0)


def prefill_flops_per_token(active_params: float, n_layer: int = 0, n_head: int = 0,
                            head_dim: int = 0, ctx: int = 0) -> float:
    """FLOP per prompt token: 2 x active parameters (one multiply-add each) plus attention
    scores and weighted sum, 4 x layers x heads x head_dim x the average context seen."""
    return 2.0 * active_params + 4.0 * n_layer * n_head * head_dim * (ctx / 2.0)


def prefill_efficiency(case: PrefillCase, calib: Calibration) -> float:
    """Share of the matrix peak the weight GEMMs reach at a full batch: the backend's
    efficiency x the vendor's, family's, device's and runtime's factors (each shrunk toward 1
    in the fit) x the backend's factor for F16/BF16 weights."""
    e = calib.prefill_backend.get(case.backend_key, PRIOR_PREFILL_BACKEND)
    e *= calib.prefill_vendor.get(case.vendor, 1.0) * calib.prefill_family.get(case.family, 1.0)
    e *= calib.prefill_device.get(case.device, 1.0) if case.device else 1.0
    e *= calib.prefill_runtime.get(case.runtime, 1.0)
    if case.float_weights:
        e *= calib.prefill_float.get(case.float_key, 1.0)
    if case.fp4_mma:
        e *= NATIVE_FP4_GAIN
    if case.driver:
        e *= calib.prefill_driver.get(case.driver, 1.0)
    return e


def prefill_driver_key(backend: str, family: str, text: str) -> str:
    """The prompt's Vulkan driver, keyed by vendor ('amd:vendor' for AMDVLK on a Radeon card or
    Strix Halo alike; VULKAN_DRIVER_TABLE), '' when not known."""
    d = vulkan_driver(backend, family, text, "prefill")
    return f"{VENDOR_OF.get(family, family)}:{d.split(':', 1)[1]}" if d else ""


def prefill_terms(case: PrefillCase, calib: Calibration = DEFAULT) -> dict:
    """Seconds per prompt token, by term: dense GEMMs, expert GEMMs (at their smaller batch),
    attention, the weight read per micro-batch and the weights copied over the link."""
    peak = case.matrix_peak
    e = prefill_efficiency(case, calib)
    m0 = calib.prefill_m0
    full = case.batch / (case.batch + m0)
    part = case.expert_batch / (case.expert_batch + m0)
    g = case.gemm_flops / (peak * e)
    attn_e = calib.prefill_attn.get(case.backend_key, calib.prefill_attn.get("", PRIOR_PREFILL_ATTN))
    out = {"gemm": g * (1 - case.expert_share) / full, "experts": g * case.expert_share / part,
           "attn": case.attn_flops / (case.peak_flops * attn_e) if case.attn_flops else 0.0,
           "read": 0.0, "link": 0.0}
    if case.weights_bytes and case.bandwidth_bytes_s:
        out["read"] = case.weights_bytes / case.batch / (case.bandwidth_bytes_s * PREFILL_READ_EFF)
    if case.bandwidth_bytes_s:
        out["read"] += case.gemm_flops / (case.bandwidth_bytes_s * calib.prefill_intensity)
    if case.attn_flops and case.bandwidth_bytes_s and case.runtime in GGML_RUNTIMES:
        rows = calib.prefill_q_rows.get(case.backend_key) or prior_q_rows(case.backend_key)
        out["attn"] += case.attn_flops / rows / (case.bandwidth_bytes_s * PREFILL_READ_EFF)
    if case.offloaded_bytes and case.link_bandwidth_bytes_s:
        out["link"] = case.offloaded_bytes / (case.link_bandwidth_bytes_s * calib.pcie_eff) / UBATCH
    return out


def prefill_seconds(case: PrefillCase, calib: Calibration = DEFAULT) -> float:
    """Mid estimate of the seconds one prompt token takes (the sum of prefill_terms, over the
    maturity factor of young kernels)."""
    t = sum(prefill_terms(case, calib).values())
    return t / calib.maturity.get(case.maturity, PRIOR_MATURITY.get(case.maturity, 1.0))


def prefill_known(case: PrefillCase, calib: Calibration) -> bool:
    """Whether the fit had prefill measurements of this very device."""
    return bool(case.device) and case.device in calib.prefill_device


def prefill_range(case: PrefillCase, calib: Calibration = DEFAULT) -> Range | None:
    """Prefill tokens/s, or None when the device's compute peak is not known. The range is
    the 80% interval of cross-validated errors (the leave-one-device-out one when the
    device has no prefill measurement of its own)."""
    if not case.matrix_peak or not case.peak_flops or case.gemm_flops <= 0:
        return None
    mid = 1.0 / prefill_seconds(case, calib)
    lo_q, hi_q = calib.prefill_spread
    if calib.prefill_spread_far and not prefill_known(case, calib):
        lo_q, hi_q = calib.prefill_spread_far
    return range_around(mid, lo_q, hi_q, floor=0.15)
