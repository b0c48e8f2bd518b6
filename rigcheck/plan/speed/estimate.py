"""The speed Estimate of a placement: decode and prefill ranges with their evidence (pure).

The callers pass the data: the fitted constants (a Calibration, from
rigcheck/data/speed_calibration.json, written by ``bench/speed_accuracy.py
--write-calibration``) and the measurement rows (evidence). rigcheck/plan/check/data.py
loads both once; nothing here reads a file.

    estimate(placement, rig, runtime, ctx, model, build, calib=..., rows=...) -> Estimate
    estimate_offload(model, build, rig, runtime, ctx, offload="none", calib=..., rows=...) -> Estimate

When rows measured the same setup (model, build, runtime, devices, placement class) the
decode estimate starts from them, moved to the asked context (and from an older runtime
generation) by the model's own ratio, with the range the cross-validated errors of such
anchored estimates give. Otherwise it is the fitted physical model (per-device efficiency
where the device has measurements, else its family's), and the notes say what it was
generalised from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .evidence import (DEFAULT_DISK_BW, device_fp4, EvidenceRow, Layout, host_family, nearest, pools_for, prefill_case,
                       prefill_depth, setup_key, ubatch_of)
from .. import modes
from . import (LEGACY_BEFORE, NATIVE_FP4_GAIN, PREFILL_SINCE, Calibration, PoolRead, PrefillCase, Range, anchored_mid, backend_of,
               decode_seconds, device_family, fallback_level, lead_device, maturity_of, prefill_known, prefill_range, prefill_seconds, range_around, spread_class,
               spread_of, vulkan_driver)
from .cpu import default_threads, floor_seconds, simd_class, threads_in
from .facts import ModelFacts, facts_from_build, prompt_flops
from ...notes import Note


UNKNOWN_CPU_WIDEN = 1.5
KV_DEFAULT_BYTES = 2.0      # the KV read of ModelFacts is at F16


@dataclass
class Estimate:
    """decode_tok_s / prefill_tok_s: Range (prefill None when the device's compute peak is
    unknown). evidence: nearest measured rows (with source). inputs: what went in, with
    ``basis``: 'measured' (from measurements of this setup) or 'model' (generalised)."""

    decode_tok_s: Range
    prefill_tok_s: Range | None
    evidence: list[EvidenceRow] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)        # Note objects (words in report/notes.py)


# ---- calibration file ------------------------------------------------------------------

def calibration_to_json(cal: Calibration) -> dict:
    return {
        "eff": {f"{f}/{k}": v for (f, k), v in sorted(cal.eff.items())},
        "fixed_s": cal.fixed_s, "hybrid_s": cal.hybrid_s, "hop_s": cal.hop_s, "tp_s": cal.tp_s,
        "runtime": cal.runtime, "maturity": cal.maturity,
        "spread": {k: list(v) for k, v in cal.spread.items()},
        "prefill_eff": cal.prefill_eff, "prefill_runtime": cal.prefill_runtime,
        "prefill_spread": list(cal.prefill_spread), "pcie_eff": cal.pcie_eff, "meta": cal.meta,
        "fixed_backend": dict(sorted(cal.fixed_backend.items())),
        "eff_backend": dict(sorted(cal.eff_backend.items())),
        "eff_driver": dict(sorted(cal.eff_driver.items())),
        "prefill_backend": dict(sorted(cal.prefill_backend.items())),
        "device_eff": dict(sorted(cal.device_eff.items())), "arch_eff": dict(sorted(cal.arch_eff.items())),
        "fixed_rt": dict(sorted(cal.fixed_rt.items())), "legacy_fixed": cal.legacy_fixed,
        "spread_far": {k: list(v) for k, v in cal.spread_far.items()},
        "spread_none": {k: list(v) for k, v in cal.spread_none.items()},
        "prefill_device": dict(sorted(cal.prefill_device.items())),
        "prefill_spread_far": list(cal.prefill_spread_far),
        "prefill_spread_anchored": list(cal.prefill_spread_anchored),
        "prefill_vendor": dict(sorted(cal.prefill_vendor.items())),
        "prefill_family": dict(sorted(cal.prefill_family.items())),
        "prefill_float": dict(sorted(cal.prefill_float.items())),
        "prefill_attn": dict(sorted(cal.prefill_attn.items())), "prefill_m0": cal.prefill_m0,
        "prefill_intensity": cal.prefill_intensity, "prefill_q_rows": dict(sorted(cal.prefill_q_rows.items())),
        "prefill_driver": dict(sorted(cal.prefill_driver.items())),
    }


def calibration_from_json(d: dict) -> Calibration:
    return Calibration(
        eff={tuple(k.split("/", 1)): float(v) for k, v in d.get("eff", {}).items()},
        fixed_s=d.get("fixed_s", {}), hybrid_s=d.get("hybrid_s", 0.004), hop_s=d.get("hop_s", 0.0005),
        tp_s=d.get("tp_s", {}), runtime=d.get("runtime", {}), maturity=d.get("maturity", {}),
        spread={k: tuple(v) for k, v in d.get("spread", {}).items()},
        prefill_eff=d.get("prefill_eff", {}), prefill_runtime=d.get("prefill_runtime", {}),
        prefill_spread=tuple(d.get("prefill_spread", (-0.5, 0.5))), pcie_eff=d.get("pcie_eff", 0.7),
        meta=d.get("meta", {}), device_eff=d.get("device_eff", {}), arch_eff=d.get("arch_eff", {}),
        fixed_rt=d.get("fixed_rt", {}), legacy_fixed=d.get("legacy_fixed", 1.0),
        spread_far={k: tuple(v) for k, v in d.get("spread_far", {}).items()},
        spread_none={k: tuple(v) for k, v in d.get("spread_none", {}).items()},
        prefill_device=d.get("prefill_device", {}), fixed_backend=d.get("fixed_backend", {}),
        eff_backend=d.get("eff_backend", {}), eff_driver=d.get("eff_driver", {}),
        prefill_backend=d.get("prefill_backend", {}), prefill_spread_far=tuple(d.get("prefill_spread_far", ())),
        prefill_spread_anchored=tuple(d.get("prefill_spread_anchored", ())),
        prefill_vendor=d.get("prefill_vendor", {}), prefill_family=d.get("prefill_family", {}),
        prefill_float=d.get("prefill_float", {}), prefill_attn=d.get("prefill_attn", {}),
        prefill_m0=float(d.get("prefill_m0", 32.0)), prefill_intensity=float(d.get("prefill_intensity", 300.0)),
        prefill_q_rows=d.get("prefill_q_rows", {}), prefill_driver=d.get("prefill_driver", {}))


# ---- estimates -------------------------------------------------------------------------------

def _kv_scale(cache_type: str | None) -> float:
    """KV bytes per element at the cache type memory sizing chose, over the F16 of ModelFacts."""
    if not cache_type:
        return 1.0
    try:
        from ...quant.types import storage_type
        return storage_type(cache_type).bpw / 8 / KV_DEFAULT_BYTES
    except Exception:  # noqa: BLE001 - a cache type the table does not know reads as F16
        return 1.0


def _generalised_note(calib: Calibration, pools: list[PoolRead], runtime: str) -> Note:
    by = calib.meta.get("rows_by", {})
    dev = lead_device(pools)
    fam = next((p.family for p in pools if p.kind in ("gpu", "unified") and p.bytes_per_token > 0), "cpu")
    fam_word = {"cpu": "CPU-only", "nvidia": "NVIDIA GPU", "amd": "AMD GPU", "intel": "Intel GPU",
                "apple": "Apple Silicon", "nvidia-soc": "NVIDIA SoC", "amd-soc": "AMD SoC"}.get(fam, fam)
    n_dev = by.get("device", {}).get(dev, 0)
    return Note("generalised", family_rows=by.get("family", {}).get(fam, 0), family=fam_word, device=dev or "",
                device_rows=n_dev if calib.knows_device(dev) else 0, runtime_rows=by.get("runtime", {}).get(runtime, 0),
                runtime=runtime, level=fallback_level(calib, dev, fam))


def _finish(facts: ModelFacts, pools_at, parallel: str, link: str, runtime: str, ctx: int,
            lead: str, peak: float | None, offloaded: float, link_bw: float | None, rig, model_id: str,
            build_name: str, offload_word: str, calib: Calibration, rows, notes: list, extra: dict,
            int8: float | None = None, backend: str = "", os_name: str = "") -> Estimate:
    maturity = maturity_of(facts.arch, runtime)
    pools = pools_at(ctx)
    backend = backend or backend_of(runtime, lead)
    # the machine's OS names the Vulkan driver where that matters (speed.vulkan_driver: Linux is
    # Mesa's ANV on Intel, Windows Intel's own); unknown: the fitted average of both
    driver = vulkan_driver(backend, lead, os_name) if os_name else ""
    t_mid = decode_seconds(pools, runtime, maturity, parallel, link, calib, arch=facts.arch, backend=backend,
                           driver=driver)
    if driver:
        notes.append(Note("vulkan_driver", driver=driver.split(":", 1)[1], os=os_name,
                          factor=float(calib.eff_driver.get(driver, 1.0))))
    setup = setup_key(model_id, build_name, runtime, rig, offload_word)
    same = [r for r in rows if r.setup == setup and r.decode_tok_s and r.fit]
    klass = spread_class(pools, parallel, maturity)
    lead_fam = next((p.family for p in pools if p.kind in ("gpu", "unified") and p.bytes_per_token > 0), "cpu")
    if same:
        measured = []
        for r in same:
            # the run's own backend (no backend asked or known: none, not moved between backends)
            # and the Vulkan driver it ran on, where it says ('' off Vulkan)
            run_backend = backend_of(runtime, lead, r.version) if backend else ""
            run_driver = vulkan_driver(run_backend, lead, f"{r.version} {r.notes}")
            # each row at its own context and thread count (speed.cpu: a run's notes may name one)
            measured.append((r.decode_tok_s, decode_seconds(pools_at(r.context, threads_in(r.notes)), runtime,
                                                            maturity, parallel, link, calib,
                                                            legacy=r.date < LEGACY_BEFORE, arch=facts.arch,
                                                            backend=run_backend, driver=run_driver)))
        mid = anchored_mid(measured, t_mid)
        dec = range_around(mid, *spread_of(calib, "anchored", ""))
        ctxs = sorted({r.context for r in same})
        basis = "measured"
        old = sum(1 for r in same if r.date < LEGACY_BEFORE)
        notes.append(Note("from_setup", rows=len(same), contexts=ctxs, ctx=ctx, legacy_rows=old,
                          legacy_factor=float(calib.legacy_fixed)))
    else:
        mid = 1.0 / t_mid
        dec = range_around(mid, *spread_of(calib, klass, lead_device(pools), lead_fam))
        basis = "model"
        notes.append(_generalised_note(calib, pools, runtime))
    cpu = rig.node.cpu
    if lead == "cpu" and (cpu is None or cpu.verified == "detected") and basis == "model":
        # CPU decode of small models can be compute-bound, and an unknown CPU gives no
        # compute figure; a detected RAM bandwidth is a one-thread copy test. Both widen
        # the range by x1.5 each way.
        dec = Range(dec.low / UNKNOWN_CPU_WIDEN, dec.mid, dec.high * UNKNOWN_CPU_WIDEN)
        notes.append(Note("unknown_cpu_widened", factor=UNKNOWN_CPU_WIDEN))
    prompt = min(ctx, 4096) or 512
    flops = prompt_flops(facts, prompt)
    gpus = rig.node.gpus if lead != "cpu" else ()
    lay = Layout(pools, parallel, link, lead, peak, offloaded, link_bw, int8_ops=int8,
                 fp4_mma=bool(gpus) and device_fp4(gpus[0]))
    case = prefill_case(facts, lay, runtime, backend, maturity, prompt, text=os_name)
    if case.driver:
        notes.append(Note("prefill_vulkan_driver", driver=case.driver.split(":", 1)[1], os=os_name,
                          factor=float(calib.prefill_driver.get(case.driver, 1.0))))
    pre, pre_basis = _prefill(facts, lay, case, runtime, maturity, lead, same_pre := [
        r for r in rows if r.setup == setup and r.prefill_tok_s and r.prefill_tokens and r.fit
        and r.date >= PREFILL_SINCE], calib, notes, prompt)
    if pre is None:
        notes.append(Note("no_prefill_peak"))
    if maturity != "mature":
        notes.append(Note("young_kernels", runtime=runtime, maturity=maturity, arch=facts.arch,
                          factor=float(calib.maturity.get(maturity, 1))))
    devs = {d.id for n in rig.nodes for d in n.devices} | ({rig.node.cpu.id} if rig.node.cpu else set())
    ev = nearest(rows, model_id, devs, runtime, offload_word, setup=setup, build=build_name)
    notes.extend(_disagreements(ev, dec, ctx, extra.get("threads")))
    inputs = {
        "basis": basis, "setup": setup, "same_setup_rows": len(same),
        "pools": [{"kind": p.kind, "family": p.family, "device": p.device, "bytes_per_token": int(p.bytes_per_token),
                   "bandwidth_bytes_s": p.bandwidth_bytes_s, "efficiency": calib.eff_of(p.family, p.kind, p.device)}
                  for p in pools],
        "parallel": parallel, "link": link, "runtime": runtime, "backend": backend, "maturity": maturity,
        "context": ctx,
        "spread_class": "anchored" if same else klass, "model_tok_s": 1.0 / t_mid,
        # the level of the fit's hierarchy the decode range stands on: device / family / none
        "range_level": "anchored" if same else fallback_level(calib, lead_device(pools), lead_fam),
        "active_weight_bytes": int(facts.active_weight_bytes), "kv_read_bytes": int(sum(
            p.bytes_per_token for p in pools) - facts.active_weight_bytes),
        "active_params": int(facts.active_params), "prefill_flops_per_token": flops, "peak_flops": peak,
        "prefill_basis": pre_basis, "prefill_prompt": prompt, "same_setup_prefill_rows": len(same_pre),
        "prefill_matrix_peak": case.matrix_peak, "int8_ops": int8,
        "calibration": {"fitted": calib.meta.get("fitted", False), "rows": calib.meta.get("rows"),
                        "accuracy": calib.meta.get("loso_decode")},
        **extra,
    }
    return Estimate(dec, pre, ev, inputs, notes)


def _prefill(facts: ModelFacts, lay: Layout, case: PrefillCase, runtime: str, maturity: str, lead: str,
             same: list, calib: Calibration, notes: list, prompt: int) -> tuple[Range | None, str]:
    """Prefill range and its basis: 'measured' when rows measured the prefill of this very
    setup (each moved to the asked prompt by the model's own ratio, averaged in log space),
    else 'model' (the fitted physics, with a note of what it generalised from)."""
    pre = prefill_range(case, calib)
    if pre is None:
        return None, "none"
    t_target = prefill_seconds(case, calib)
    # prefill kernels differ by backend far more than decode's: runs of the asked backend,
    # when there are any, are the setup's measurements
    same = [r for r in same if backend_of(runtime, lead, r.version) == case.backend] or same
    # ... and those at the asked micro-batch (a -ub sweep's other points are moved by the model)
    same = [r for r in same if min(r.prefill_tokens, ubatch_of(r.notes)) == case.batch] or same
    if same:
        measured, before_fp4 = [], 0
        for r in same:
            depth = prefill_depth(r.notes, r.context, r.prefill_tokens)
            rc = prefill_case(facts, lay, runtime, backend_of(runtime, lead, r.version) if case.backend else "",
                              maturity, r.prefill_tokens, depth, ubatch_of(r.notes), r.date, r.version,
                              f"{r.version} {r.notes}")
            measured.append((r.prefill_tok_s, prefill_seconds(rc, calib)))
            before_fp4 += case.fp4_mma and not rc.fp4_mma
        mid = anchored_mid(measured, t_target)
        lo_q, hi_q = calib.prefill_spread_anchored or calib.prefill_spread
        notes.append(Note("prefill_from_setup", rows=len(same), prompts=sorted({r.prefill_tokens for r in same}),
                          prompt=prompt, before_fp4=int(before_fp4), fp4_gain=NATIVE_FP4_GAIN))
        return range_around(mid, lo_q, hi_q, floor=0.10), "measured"
    by = calib.meta.get("prefill_rows_by", {})
    notes.append(Note("prefill_generalised", device=case.device or "", backend=case.backend_key,
                      device_rows=by.get("device", {}).get(case.device, 0) if prefill_known(case, calib) else 0,
                      family=case.family, family_rows=by.get("family", {}).get(case.family, 0),
                      backend_rows=by.get("backend", {}).get(case.backend_key, 0)))
    return pre, "model"


def _disagreements(evidence: list[EvidenceRow], dec: Range, ctx: int, threads: int | None = None) -> list[Note]:
    """Why a measurement of this very setup, shown beside the estimate, lies outside its range:
    reasons (other_context, other_threads, old_runtime, speculative, not_fitted, disagree) and
    their values.
    ``threads``: the CPU threads the estimate assumed (None: not a CPU-thread estimate)."""
    out = []
    for e in evidence:
        if "same setup" not in e.match or not e.decode_tok_s or dec.contains(e.decode_tok_s):
            continue
        why = []
        if e.context and (e.context > 2 * ctx or ctx > 2 * e.context):
            why.append("other_context")
        row_threads = threads_in(e.notes) if threads else None
        if row_threads and row_threads != threads:
            why.append("other_threads")
        if e.date and e.date < LEGACY_BEFORE:
            why.append("old_runtime")
        note = (e.notes or "").lower()
        if any(w in note for w in ("speculative", "mtp", "nextn", "eagle", "draft")):
            why.append("speculative")
        if not e.fit and not why:
            why.append("not_fitted")
        out.append(Note("measured_outside", tok_s=float(e.decode_tok_s), source=e.source, date=e.date,
                        measured_ctx=int(e.context or 0), ctx=ctx, reasons=why or ["disagree"],
                        measured_threads=int(row_threads or 0), threads=int(threads or 0)))
    return out


def estimate_offload(model, build, rig, runtime: str = "llama.cpp", ctx: int = 4096, offload: str = "none", *,
                     calib: Calibration, rows=(), backend: str = "", threads: int | None = None,
                     os_name: str = "") -> Estimate:
    """Estimate for a placement written as an offload word (none, split, tp, cpu,
    experts=ram[:A/B], layers=ram:A/B, mmap), the same words the measurement catalogue uses.
    ``backend``: the ggml backend (cuda, rocm, vulkan, metal, sycl, cpu); default: the one the
    runtime uses on that device family, or none named (the fit's unnamed-backend efficiency).
    ``threads``: the CPU threads of a CPU-only run (default: llama.cpp's, speed.cpu).
    ``os_name``: the machine's OS (linux, windows), which names the Vulkan driver where the fit
    has a factor for it (speed.vulkan_driver); '' = not known (the average driver)."""
    facts = facts_from_build(model, build)
    lay = pools_for(facts, rig, offload, ctx, threads=threads)
    return _finish(facts, lambda c, t=None: pools_for(facts, rig, offload, c, threads=t or threads).pools,
                   lay.parallel, lay.link, runtime, ctx,
                   lay.lead_family, lay.peak_flops, lay.offloaded_bytes, lay.link_bandwidth, rig, model.id,
                   build.name, offload, calib, rows, list(lay.notes),
                   {"offload": offload, "threads": _threads_used(lay.pools, rig, threads)}, int8=lay.int8_ops,
                   backend=backend, os_name=os_name)


def _threads_used(pools: list[PoolRead], rig, threads: int | None) -> int | None:
    """The CPU threads a CPU-only estimate assumed (None when no pool is read by CPU threads)."""
    if not any(p.floor_s for p in pools):
        return None
    return threads or default_threads(rig.node)


def estimate(placement, rig, runtime: str, ctx: int, model, build, *, calib: Calibration, rows=(),
             backend: str = "", threads: int | None = None, os_name: str = "") -> Estimate:
    """Estimate for a Placement (rigcheck.plan.placement): each PoolUse becomes a pool that
    reads its ``active_bytes_per_token`` plus its KV at ``ctx`` (at the placement's cache
    type), at the bandwidth of the device (or RAM, or disk) behind it. In a CPU-only
    placement the pools read by the CPU threads (``threads``, default llama.cpp's) take at
    least speed.cpu.floor_seconds. ``os_name``: as for estimate_offload."""
    facts = facts_from_build(model, build)
    mode = getattr(placement, "mode", "gpu")
    if mode == "no_fit":
        raise ValueError("no speed for a placement that does not fit")
    node = rig.node
    uses = list(getattr(placement, "placement", []) or [])
    accel = [d for n in rig.nodes for d in n.gpus]
    kv_total = sum(getattr(u, "kv_bytes", 0) or 0 for u in uses)
    kv_scale = _kv_scale(getattr(placement, "cache_type", None))
    cpu_id = node.cpu.id if node.cpu else ""
    hybrid = any(u.kind in ("gpu", "unified") for u in uses) and mode != "cpu"
    offloaded = 0.0
    for u in uses:
        if u.kind == "ram":
            offloaded += float(getattr(u, "weight_bytes", 0) or getattr(u, "used_bytes", 0) or 0)

    cpu_peak = node.cpu.fp16_flops if node.cpu else None

    simd = simd_class(node.cpu or next((d for d in node.devices if d.unified), None))

    def floor(b: float, t: int | None) -> float:
        """The CPU threads' least time for a pool of a CPU-only placement reading ``b`` bytes."""
        if hybrid or not facts.active_weight_bytes:
            return 0.0
        weights = facts.active_params * min(b / facts.active_weight_bytes, 1.0)
        return floor_seconds(b, weights, t or threads or default_threads(node), facts.weight_type, simd)

    def pools_at(c: int, t: int | None = None) -> list[PoolRead]:
        kv_read = facts.kv_read(c) * kv_scale
        attn = facts.attn_flops(c)
        out: list[PoolRead] = []
        gi = 0
        for u in uses:
            b = float(getattr(u, "active_bytes_per_token", 0) or 0)
            share = (getattr(u, "kv_bytes", 0) or 0) / kv_total if kv_total else 0.0
            b += kv_read * share
            if u.kind in ("gpu", "unified") and (accel or u.kind == "unified"):
                dev = _device_of(u, accel, gi, node)
                gi += 1
                if mode == "cpu":
                    out.append(PoolRead(b, dev.bandwidth_bytes_s, "unified" if dev.unified else "gpu", "cpu", dev.id,
                                        attn * share, cpu_peak, floor(b, t)))
                else:
                    out.append(PoolRead(b, dev.bandwidth_bytes_s, "unified" if dev.unified else "gpu",
                                        device_family(dev.vendor, dev.kind), dev.id, attn * share, dev.fp16_flops))
            elif u.kind == "ram":
                out.append(PoolRead(b, node.ram_bandwidth_bytes_s, "ram", host_family(node, hybrid),
                                    cpu_id, attn * share, cpu_peak, floor(b, t)))
            elif u.kind == "disk":
                out.append(PoolRead(b, getattr(u, "bandwidth_bytes_s", None) or DEFAULT_DISK_BW, "disk", "cpu"))
        return out

    pools = pools_at(ctx)
    n_acc = sum(1 for p in pools if p.kind in ("gpu", "unified"))
    parallel = getattr(placement, "parallel", None) or ("layer" if n_acc > 1 else "single")
    if parallel not in ("single", "layer", "tensor"):
        parallel = "tensor" if "tensor" in str(parallel) else "layer"
    link = "network" if len(rig.nodes) > 1 else ("nvlink" if node.link and node.link.kind == "nvlink" else "pcie")
    lead = next((p.family for p in pools if p.kind in ("gpu", "unified")), "cpu")
    if lead == "cpu":
        peak = node.cpu.fp16_flops if node.cpu else None
        int8 = getattr(node.cpu, "int8_ops", None) if node.cpu else None
    elif parallel == "tensor":
        peak = sum(d.fp16_flops or 0 for d in accel) or None
        int8 = sum(getattr(d, "int8_ops", None) or 0 for d in accel) or None
    else:
        peak = accel[0].fp16_flops if accel else None
        int8 = getattr(accel[0], "int8_ops", None) if accel else None
    link_bw = node.link.bandwidth_bytes_s if node.link and node.link.kind == "pcie" else 32.0e9
    word = modes.mode(mode).offload or "none"
    return _finish(facts, pools_at, parallel, link, runtime, ctx, lead, peak, offloaded, link_bw if offloaded else None,
                   rig, model.id, build.name, word, calib, rows, [],
                   {"mode": mode, "cache_type": getattr(placement, "cache_type", None),
                    "threads": _threads_used(pools, rig, threads)}, int8=int8, backend=backend, os_name=os_name)


def _device_of(use, accel, index, node):
    dev = getattr(use, "device", None)
    if dev is not None and getattr(dev, "bandwidth_bytes_s", None):
        return dev
    dev_id = getattr(use, "device_id", None)
    for d in accel:
        if dev_id and d.id == dev_id:
            return d
    if accel:
        return accel[min(index, len(accel) - 1)]
    return node.devices[0]
