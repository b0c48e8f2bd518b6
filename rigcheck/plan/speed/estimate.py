"""The speed Estimate of a placement: decode and prefill ranges with their evidence.

This module joins the pure arithmetic (``speed``) to the bundled data: the fitted
constants (``rigcheck/data/speed_calibration.json``, written by
``bench/speed_accuracy.py --write-calibration``) and the measurement catalogue (evidence).

    estimate(placement, rig, runtime, ctx, model, build) -> Estimate
    estimate_offload(model, build, rig, runtime, ctx, offload="none") -> Estimate
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from .evidence import DEFAULT_DISK_BW, EvidenceRow, load_measurements, nearest, pools_for
from .. import modes
from . import (DEFAULT, Calibration, PoolRead, Range, decode_range, device_family, maturity_of,
                    prefill_flops_per_token, prefill_range)
from .facts import ModelFacts, facts_from_build


UNKNOWN_CPU_WIDEN = 1.5


@dataclass
class Estimate:
    """decode_tok_s / prefill_tok_s: Range (prefill None when the device's compute peak is
    unknown). evidence: nearest measured rows (with source). inputs: what went in."""

    decode_tok_s: Range
    prefill_tok_s: Range | None
    evidence: list[EvidenceRow] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# ---- calibration file ------------------------------------------------------------------

def calibration_to_json(cal: Calibration) -> dict:
    return {
        "eff": {f"{f}/{k}": v for (f, k), v in sorted(cal.eff.items())},
        "fixed_s": cal.fixed_s, "hybrid_s": cal.hybrid_s, "hop_s": cal.hop_s, "tp_s": cal.tp_s,
        "runtime": cal.runtime, "maturity": cal.maturity,
        "spread": {k: list(v) for k, v in cal.spread.items()},
        "prefill_eff": cal.prefill_eff, "prefill_runtime": cal.prefill_runtime,
        "prefill_spread": list(cal.prefill_spread), "pcie_eff": cal.pcie_eff, "meta": cal.meta,
    }


def calibration_from_json(d: dict) -> Calibration:
    return Calibration(
        eff={tuple(k.split("/", 1)): float(v) for k, v in d.get("eff", {}).items()},
        fixed_s=d.get("fixed_s", {}), hybrid_s=d.get("hybrid_s", 0.004), hop_s=d.get("hop_s", 0.0005),
        tp_s=d.get("tp_s", {}), runtime=d.get("runtime", {}), maturity=d.get("maturity", {}),
        spread={k: tuple(v) for k, v in d.get("spread", {}).items()},
        prefill_eff=d.get("prefill_eff", {}), prefill_runtime=d.get("prefill_runtime", {}),
        prefill_spread=tuple(d.get("prefill_spread", (-0.5, 0.5))), pcie_eff=d.get("pcie_eff", 0.7),
        meta=d.get("meta", {}))


@functools.lru_cache(maxsize=1)
def load_calibration() -> Calibration:
    """The bundled fitted constants, or the physical priors when the file is missing."""
    from ... import catalogue
    d = catalogue.speed_calibration()
    return DEFAULT if d is None else calibration_from_json(d)


# ---- estimates -------------------------------------------------------------------------------

def _finish(facts: ModelFacts, pools: list[PoolRead], parallel: str, link: str, runtime: str, ctx: int,
            lead: str, peak: float | None, offloaded: float, link_bw: float | None, rig, model_id: str,
            offload_class: str, calib: Calibration, notes: list[str], extra: dict) -> Estimate:
    maturity = maturity_of(facts.arch, runtime)
    dec = decode_range(pools, runtime, maturity, parallel, link, calib)
    cpu = rig.node.cpu
    if lead == "cpu" and (cpu is None or cpu.verified == "detected"):
        # CPU decode of small models can be compute-bound, and an unknown CPU gives no
        # compute figure; a detected RAM bandwidth is a one-thread copy test. Both widen
        # the range by x1.5 each way.
        dec = Range(dec.low / UNKNOWN_CPU_WIDEN, dec.mid, dec.high * UNKNOWN_CPU_WIDEN)
        notes.append("CPU not in the catalogue: its compute limit is unknown, so the range is widened x1.5")
    flops = prefill_flops_per_token(facts.active_params, facts.n_layer, facts.n_head, facts.head_dim, min(ctx, 4096) or 512)
    pre = prefill_range(flops, peak, lead, runtime, offloaded, link_bw, maturity=maturity, calib=calib)
    if pre is None:
        notes.append("prefill not estimated: the device's FP16 compute peak is not in the catalogue")
    if maturity != "mature":
        young = {"fork": "young (fork-era) kernels", "new": "new kernels"}.get(maturity, f"{maturity} kernels")
        notes.append(f"{runtime} has {young} for this architecture ({facts.arch}): speed x"
                     f"{calib.maturity.get(maturity, 1):.2f} of a mature runtime, fitted on this "
                     "architecture's measurements")
    devs = {d.id for n in rig.nodes for d in n.devices} | ({rig.node.cpu.id} if rig.node.cpu else set())
    ev = nearest(load_measurements(), model_id, devs, runtime, offload_class)
    inputs = {
        "pools": [{"kind": p.kind, "family": p.family, "bytes_per_token": int(p.bytes_per_token),
                   "bandwidth_bytes_s": p.bandwidth_bytes_s, "efficiency": calib.eff_of(p.family, p.kind)}
                  for p in pools],
        "parallel": parallel, "link": link, "runtime": runtime, "maturity": maturity, "context": ctx,
        "active_weight_bytes": int(facts.active_weight_bytes), "kv_read_bytes": int(facts.kv_read(ctx)),
        "active_params": int(facts.active_params), "prefill_flops_per_token": flops, "peak_flops": peak,
        "calibration": {"fitted": calib.meta.get("fitted", False), "rows": calib.meta.get("rows"),
                        "accuracy": calib.meta.get("loso_decode")},
        **extra,
    }
    return Estimate(dec, pre, ev, inputs, notes)


def estimate_offload(model, build, rig, runtime: str = "llama.cpp", ctx: int = 4096, offload: str = "none",
                     calib: Calibration | None = None) -> Estimate:
    """Estimate for a placement written as an offload word (none, split, tp, cpu,
    experts=ram[:A/B], layers=ram:A/B, mmap), the same words the measurement catalogue uses."""
    calib = calib or load_calibration()
    facts = facts_from_build(model, build)
    lay = pools_for(facts, rig, offload, ctx)
    return _finish(facts, lay.pools, lay.parallel, lay.link, runtime, ctx, lay.lead_family, lay.peak_flops,
                   lay.offloaded_bytes, lay.link_bandwidth, rig, model.id, offload, calib, list(lay.notes),
                   {"offload": offload})




def estimate(placement, rig, runtime: str, ctx: int, model, build, calib: Calibration | None = None) -> Estimate:
    """Estimate for a Placement (rigcheck.plan.placement): each PoolUse becomes a pool that
    reads its ``active_bytes_per_token`` plus its KV at ``ctx``, at the bandwidth of the
    device (or RAM, or disk) behind it."""
    calib = calib or load_calibration()
    facts = facts_from_build(model, build)
    mode = getattr(placement, "mode", "gpu")
    if mode == "no_fit":
        raise ValueError("no speed for a placement that does not fit")
    node = rig.node
    uses = list(getattr(placement, "placement", []) or [])
    accel = [d for n in rig.nodes for d in n.gpus]
    kv_total = sum(getattr(u, "kv_bytes", 0) or 0 for u in uses)
    kv_read = facts.kv_read(ctx)
    pools: list[PoolRead] = []
    gi = 0
    offloaded = 0.0
    for u in uses:
        kind = u.kind
        b = float(getattr(u, "active_bytes_per_token", 0) or 0)
        if kv_total:
            b += kv_read * (getattr(u, "kv_bytes", 0) or 0) / kv_total
        if kind in ("gpu", "unified") and (accel or kind == "unified"):
            dev = _device_of(u, accel, gi, node)
            gi += 1
            fam = device_family(dev.vendor, dev.kind) if mode != "cpu" else "cpu"
            pools.append(PoolRead(b, dev.bandwidth_bytes_s, "unified" if dev.unified else "gpu", fam))
        elif kind == "ram":
            pools.append(PoolRead(b, node.ram_bandwidth_bytes_s, "ram", "cpu"))
            offloaded += float(getattr(u, "weight_bytes", 0) or getattr(u, "used_bytes", 0) or 0)
        elif kind == "disk":
            pools.append(PoolRead(b, getattr(u, "bandwidth_bytes_s", None) or DEFAULT_DISK_BW, "disk", "cpu"))
    if mode == "cpu":
        pools = [PoolRead(p.bytes_per_token, p.bandwidth_bytes_s, p.kind, "cpu") for p in pools]
    n_acc = sum(1 for p in pools if p.kind in ("gpu", "unified"))
    parallel = getattr(placement, "parallel", None) or ("layer" if n_acc > 1 else "single")
    if parallel not in ("single", "layer", "tensor"):
        parallel = "tensor" if "tensor" in str(parallel) else "layer"
    link = "network" if len(rig.nodes) > 1 else ("nvlink" if node.link and node.link.kind == "nvlink" else "pcie")
    lead = next((p.family for p in pools if p.kind in ("gpu", "unified")), "cpu")
    if lead == "cpu":
        peak = node.cpu.fp16_flops if node.cpu else None
    elif parallel == "tensor":
        peak = sum(d.fp16_flops or 0 for d in accel) or None
    else:
        peak = accel[0].fp16_flops if accel else None
    link_bw = node.link.bandwidth_bytes_s if node.link and node.link.kind == "pcie" else 32.0e9
    return _finish(facts, pools, parallel, link, runtime, ctx, lead, peak, offloaded, link_bw if offloaded else None,
                   rig, model.id, (modes.mode(mode).offload or "none"), calib, [], {"mode": mode})


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
