"""The measurement catalogue (rigcheck/data/measurements.csv) and what a row means.

``rows_from_dicts()`` makes MeasuredRows of the catalogue's dicts (the orchestration reads
the file: rigcheck/plan/check/data.py). ``pools_for()`` turns model facts, a Rig, an offload
description and a context into the pools a decoded token reads. ``sample_of()`` makes a
calibration Sample of a row, ``nearest()`` ranks rows as evidence for an estimate and
``same_setup()`` picks the rows that measured exactly the setup being estimated. Pure: no
module here reads a file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from . import (LEGACY_BEFORE, PREFILL_SINCE, UBATCH, PoolRead, PrefillCase, backend_of, blackwell_fp4, device_family,
               lead_device, maturity_of, native_fp4, prefill_driver_key, vulkan_driver)
from .facts import ModelFacts, facts_from_build, facts_from_params, prompt_case_fields, prompt_flops
from ...notes import Note

# Disk read bandwidth used for mmap streaming when the rig says nothing about its disk:
# a PCIe 4.0 x4 NVMe's sequential rating (~7 GB/s); page-fault reads reach a fraction of
# it (speed.PRIOR_EFF ('cpu','disk')).
DEFAULT_DISK_BW = 7.0e9
# Host-to-GPU link used for prefill with offloaded weights when the rig names none:
# PCIe 4.0 x16, 32 GB/s per direction.
DEFAULT_PCIE_BW = 32.0e9
# Share of system RAM that can hold the page cache of mmap-streamed weights.
RAM_CACHE_SHARE = 0.85

# Average bits per weight of build names, for rows whose model is not in the catalogue
# (from the file sizes their sources give: Llama-3-8B Q4_K_M 4.92 GB / 8.03B = 4.9 bpw,
# gpt-oss-120b MXFP4 63.4 GB / 116.8B = 4.34, ds4 q2 86.7 GB / 284B = 2.44, ...).
BPW = {"Q4_0": 4.5, "Q4_K_M": 4.9, "Q5_K_M": 5.7, "Q6_K": 6.6, "Q8_0": 8.5, "F16": 16.0, "BF16": 16.0,
       "MXFP4": 4.34, "mlx-4bit": 4.5, "mlx-6bit": 6.5, "mlx-8bit": 8.5, "mlx-mixed_4_6": 4.7,
       "ds4-q2": 2.44, "ds4-q4": 4.6, "IQ1_S": 1.56, "UD-IQ1_S": 1.56, "UD-Q2_K_XL": 2.53, "NVFP4": 4.5,
       "GPTQ-Int4": 4.25, "AutoRound-INT4": 4.25, "MXFP4+FP8": 4.39}


@dataclass(frozen=True)
class MeasuredRow:
    """One row of the measurement catalogue."""

    model: str
    build: str
    runtime: str
    version: str
    rig: str
    offload: str
    context: int
    decode_tok_s: float | None
    prefill_tok_s: float | None
    prefill_tokens: int | None
    source: str
    date: str
    notes: str
    params_b: float | None = None
    active_b: float | None = None
    weights_gb: float | None = None
    fit: bool = True
    origin: str = "catalogue"          # catalogue | mine (the user's own measurement)
    # filled by the loader that parsed the rig (rigcheck.plan.check.data): the devices the
    # rig names and the setup key (evidence.setup_key); empty when the rig did not parse
    devices: frozenset = frozenset()
    setup: str = ""

    @property
    def source_group(self) -> str:
        """The site a row came from (leave-one-source-out groups rows by this)."""
        first = self.source.split(" ;")[0].split(" (")[0].strip()
        m = re.match(r"(https?://github\.com/[^/]+/[^/\s]+)(/(issues|pull|discussions)/\d+)?", first)
        if m:
            return m.group(0)
        return first.split(" ")[0]


def _f(text: str) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def rows_from_dicts(dicts) -> tuple[MeasuredRow, ...]:
    """MeasuredRows of the measurement catalogue's rows (dicts of strings)."""
    out = []
    for r in dicts:
        out.append(MeasuredRow(
            model=r["model"].strip(), build=r["build"].strip(), runtime=r["runtime"].strip(),
            version=r["version"].strip(), rig=r["rig"].strip(), offload=r["offload"].strip() or "none",
            context=int(float(r["context"] or 0)), decode_tok_s=_f(r["decode_tok_s"]),
            prefill_tok_s=_f(r["prefill_tok_s"]), prefill_tokens=int(float(r["prefill_tokens"])) if r["prefill_tokens"].strip() else None,
            source=r["source"].strip(), date=r["date"].strip(), notes=r["notes"].strip(),
            params_b=_f(r["params_b"]), active_b=_f(r["active_b"]), weights_gb=_f(r["weights_gb"]),
            fit=r["fit"].strip().lower() != "no"))
    return tuple(out)


# ---- pools of a placement described by an offload string --------------------------------

@dataclass
class Layout:
    """What pools_for returns: the pools, how accelerators combine, and prefill inputs."""

    pools: list[PoolRead]
    parallel: str = "single"
    link: str = "pcie"
    lead_family: str = "cpu"
    peak_flops: float | None = None
    offloaded_bytes: float = 0.0
    link_bandwidth: float | None = None
    notes: list[str] = field(default_factory=list)
    int8_ops: float | None = None       # the lead device's INT8 peak (summed in tensor parallel)
    fp4_mma: bool = False               # the lead device has the FP4 MMA of speed.blackwell_fp4


def _share(spec: str) -> float:
    m = re.fullmatch(r"(\d+)/(\d+)", spec.strip())
    if not m or int(m.group(2)) == 0:
        raise ValueError(f"bad share '{spec}'")
    return min(int(m.group(1)) / int(m.group(2)), 1.0)


def host_family(node, hybrid: bool) -> str:
    """The efficiency family of system RAM read by the CPU: in a CPU-only run (``cpu``) or
    for a GPU-led token whose experts/layers sit in RAM (``host``); ``-numa`` on a node
    with more than one socket."""
    base = "host" if hybrid else "cpu"
    return base + "-numa" if (getattr(node, "sockets", 1) or 1) > 1 else base


def _accelerators(rig) -> list:
    return [d for node in rig.nodes for d in node.gpus]


def pools_for(facts: ModelFacts, rig, offload: str = "none", ctx: int = 0, threads: int | None = None) -> Layout:
    """The pools one decoded token reads when ``facts`` runs on ``rig`` placed as
    ``offload`` says (see the measurement catalogue header for the words). ``threads``: the
    CPU threads of a CPU-only run (default: llama.cpp's, speed.cpu.default_threads)."""
    node = rig.node
    off = (offload or "none").strip().lower()
    accel = _accelerators(rig) if off not in ("cpu", "mmap") else []
    kv = facts.kv_read(ctx)
    attn = facts.attn_flops(ctx)
    active = facts.active_weight_bytes
    notes: list[str] = []
    host_bw = node.ram_bandwidth_bytes_s
    unified = [d for d in node.devices if d.unified]
    cpu_id = node.cpu.id if node.cpu else ""
    cpu_peak = node.cpu.fp16_flops if node.cpu else None
    if off in ("cpu", "mmap") or not accel:
        from . import cpu as cpu_physics
        n_thr = threads or cpu_physics.default_threads(node)
        if unified:
            dev = unified[0]
            floor = cpu_physics.floor_seconds(active + kv, facts.active_params, n_thr, facts.weight_type,
                                              cpu_physics.simd_class(dev))
            pools = [PoolRead(active + kv, dev.bandwidth_bytes_s, "unified", "cpu", dev.id, attn, cpu_peak, floor)]
        else:
            floor = cpu_physics.floor_seconds(active + kv, facts.active_params, n_thr, facts.weight_type,
                                              cpu_physics.simd_class(node.cpu))
            pools = [PoolRead(active + kv, host_bw, "ram", host_family(node, False), cpu_id, attn, cpu_peak, floor)]
        if off == "mmap":
            # the always-read weights stay in the page cache; routed experts (or, for a
            # dense model, the rest of the weights) share what RAM is left
            ram = (node.ram_bytes or 0) * RAM_CACHE_SHARE
            streamed = facts.expert_bytes if facts.moe else facts.total_bytes
            always = facts.dense_bytes if facts.moe else 0.0
            miss = max(0.0, 1.0 - max(ram - always, 0.0) / streamed) if streamed else 0.0
            from_disk = miss * (active - always)
            p = pools[0]
            share = (active - from_disk + kv) / (active + kv) if active + kv else 1.0
            pools = [PoolRead(active - from_disk + kv, p.bandwidth_bytes_s, p.kind, p.family, p.device, attn, cpu_peak,
                              p.floor_s * share),
                     PoolRead(from_disk, DEFAULT_DISK_BW, "disk", "cpu")]
            notes.append(Note("streamed_from_disk", fraction=float(miss)))
        cpu = node.cpu
        return Layout(pools, "single", "pcie", "cpu", cpu.fp16_flops if cpu else None, notes=notes,
                      int8_ops=getattr(cpu, "int8_ops", None) if cpu else None)

    host_bytes = 0.0
    resident_host = 0.0
    if off.startswith("experts=ram"):
        s = _share(off.split(":", 1)[1]) if ":" in off else 1.0
        host_bytes = s * facts.expert_frac * facts.expert_bytes
        resident_host = s * facts.expert_bytes
    elif off.startswith("layers=ram"):
        s = _share(off.split(":", 1)[1])
        host_bytes = s * active
        resident_host = s * facts.total_bytes
    on_accel = active - host_bytes + kv
    n = len(accel)
    fam = device_family(accel[0].vendor, accel[0].kind)
    kind = "unified" if accel[0].unified else "gpu"
    pools = [PoolRead(on_accel / n, d.bandwidth_bytes_s, kind, device_family(d.vendor, d.kind), d.id, attn / n,
                      d.fp16_flops) for d in accel]
    if host_bytes:
        pools.append(PoolRead(host_bytes, host_bw, "ram", host_family(node, True), cpu_id))
    multi_node = len(rig.nodes) > 1
    if off == "tp" and n > 1:
        parallel = "tensor"
        link = "network" if multi_node else ("nvlink" if node.link and node.link.kind == "nvlink" else "pcie")
        peak = sum(d.fp16_flops or 0 for d in accel) or None
        int8 = sum(getattr(d, "int8_ops", None) or 0 for d in accel) or None
    else:
        parallel = "layer" if n > 1 else "single"
        link = "network" if multi_node else "pcie"
        peak = accel[0].fp16_flops
        int8 = getattr(accel[0], "int8_ops", None)
    link_bw = node.link.bandwidth_bytes_s if node.link and node.link.kind == "pcie" else DEFAULT_PCIE_BW
    return Layout(pools, parallel, link, fam, peak, resident_host, link_bw if resident_host else None, notes,
                  int8_ops=int8, fp4_mma=device_fp4(accel[0]))


def device_fp4(device) -> bool:
    """speed.blackwell_fp4 of a catalogue device."""
    return blackwell_fp4(device.vendor, getattr(device, "fp4_flops", None), getattr(device, "memory_type", None))


# ---- rows as calibration samples ----------------------------------------------------------

def stand_in_builds(build: str) -> tuple[str, ...]:
    """Builds of the recipes that share a community mix's tensor layout, best first: an
    Unsloth dynamic mix (UD-Q6_K_XL, UD-Q8_K_XL, UD-IQ1_S) is built around the llama.cpp
    ftype it names (Q6_K, Q8_0, IQ1_S; Q4_K_XL -> Q4_K_M), then any standard ftype. Only
    the layout is taken from the stand-in (which tensors are experts, the attention of
    every layer); the bytes come from the row (facts_for_row)."""
    b = (build or "").strip().upper()
    out = []
    if b.startswith("UD-"):
        base = b[3:]
        if base.endswith("_XL"):
            base = base[:-3]
            base = {"Q8_K": "Q8_0", "Q6_K": "Q6_K", "Q2_K": "Q2_K"}.get(base, base + "_M")
        out.append(base)
    return tuple(dict.fromkeys(out + ["Q8_0", "Q4_K_M"]))


def facts_for_row(row: MeasuredRow, resolve_model=None) -> ModelFacts | None:
    """Model facts for a row: exact from the catalogue when ``resolve_model`` finds the
    model and build; when it knows the model but not the build (a community mix such as
    UD-Q6_K_XL), the model's own layout (experts, attention per layer) at the row's bytes;
    else approximate from the row's own parameter figures (no attention layout)."""
    if resolve_model is not None:
        facts = resolve_model(row.model, row.build)
        if facts is not None:
            return facts
    bpw = ((row.weights_gb * 8 / row.params_b) if row.weights_gb and row.params_b else BPW.get(row.build))
    if resolve_model is not None:
        size = row.weights_gb * 1e9 if row.weights_gb else (row.params_b * 1e9 * bpw / 8
                                                              if row.params_b and bpw else None)
        for name in stand_in_builds(row.build):
            facts = resolve_model(row.model, name)
            if facts is not None:
                return rescaled(facts, size)
    if not row.params_b or bpw is None:
        return None
    from ...model.families.archs import of_model_id
    arch = of_model_id(row.model)
    return facts_from_params(row.params_b, row.active_b or row.params_b, bpw, arch=arch)


def rescaled(facts: ModelFacts, weights_bytes: float | None) -> ModelFacts:
    """``facts`` of a stand-in build with its weight bytes scaled to a row's file size
    (unchanged when the row gives none); no longer exact."""
    from dataclasses import replace
    k = weights_bytes / facts.total_bytes if weights_bytes and facts.total_bytes else 1.0
    return replace(facts, dense_bytes=facts.dense_bytes * k, expert_bytes=facts.expert_bytes * k,
                   total_bytes=facts.total_bytes * k, exact=False)


def sample_of(row: MeasuredRow, facts: ModelFacts, rig):
    from .cpu import threads_in
    if not facts.weight_type:
        from dataclasses import replace
        facts = replace(facts, weight_type=row.build)
    lay = pools_for(facts, rig, row.offload, row.context, threads=threads_in(row.notes))
    maturity = maturity_of(facts.arch, row.runtime)
    prompt = row.prefill_tokens or 512
    # llama-bench pp@d (and sweeps that prefill a block after a deep cache) measure the
    # prompt after ``context`` cached tokens; a row whose context is about its prompt
    # length measured a prompt from empty
    depth = prefill_depth(row.notes, row.context, prompt)
    flops = prompt_flops(facts, prompt, depth)
    ubatch = ubatch_of(row.notes)
    # prefill figures are fitted only when the prompt length is known and the run is recent
    # enough (PREFILL_SINCE); older ones stay in the catalogue as evidence
    prefill_fit = row.prefill_tokens is not None and row.date >= PREFILL_SINCE
    backend = backend_of(row.runtime, lay.lead_family, row.version)
    said = f"{row.version} {row.notes}"      # what the run says of itself (its Vulkan driver, ...)
    case = prefill_case(facts, lay, row.runtime, backend, maturity, prompt, depth, ubatch, row.date, row.version, said)
    from .calibrate import Sample  # numpy: only the calibration needs it
    return Sample(pools=lay.pools, runtime=row.runtime, maturity=maturity, parallel=lay.parallel, link=lay.link,
                  decode_tok_s=row.decode_tok_s, prefill_tok_s=row.prefill_tok_s, prefill_flops_per_token=flops,
                  peak_flops=lay.peak_flops, prefill_family=lay.lead_family, offloaded_bytes=lay.offloaded_bytes,
                  link_bandwidth=lay.link_bandwidth, source=row.source_group,
                  key=f"{row.model}|{row.build}|{row.runtime}|{row.rig}|{row.offload}|{row.context}",
                  setup=setup_key(row.model, row.build, row.runtime, rig, row.offload),
                  device=lead_device(lay.pools), arch=facts.arch,
                  backend=backend, driver=vulkan_driver(backend, lay.lead_family, said),
                  prefill_case=case,
                  kind="moe" if facts.moe else "dense", legacy=row.date < LEGACY_BEFORE,
                  meta={"row": row, "exact": facts.exact, "prefill_fit": prefill_fit})


_UBATCH = re.compile(r"(?:\bn_ubatch|\bubatch|(?<![\w-])-ub)[\s=:]*(\d+)", re.I)


_PP_DEPTH = re.compile(r"\bpp\s?\d+\s?@\s?d(\d+)", re.I)


def prefill_depth(notes: str, context: int, prompt: int) -> int:
    """The cached tokens a row's prompt was processed after: the depth its notes give the
    prompt test (llama-bench ``pp2048 @ d32768``), else, for a row whose context is well past
    its prompt length (a sweep that prefills a block after a deep cache), that context; else 0."""
    m = _PP_DEPTH.search(notes or "")
    if m:
        return int(m.group(1))
    return context if context > 2 * prompt else 0


def ubatch_of(notes: str, default: int = UBATCH) -> int:
    """The micro-batch a row's prompt ran in, where its notes name one (llama-bench's
    ``n_ubatch=2048``, ``-ub 2048``, ``ubatch 2048``), else llama.cpp's default (512)."""
    m = _UBATCH.search(notes or "")
    return int(m.group(1)) if m and int(m.group(1)) > 0 else default


def prefill_case(facts: ModelFacts, lay: Layout, runtime: str, backend: str, maturity: str, prompt: int,
                 depth: int = 0, ubatch: int = UBATCH, date: str = "", version: str = "",
                 text: str = "") -> PrefillCase:
    """The PrefillCase of a ``prompt``-token prefill after ``depth`` cached tokens of
    ``facts`` placed as ``lay`` says (the lead device's peaks and bandwidth), in micro-batches
    of ``ubatch`` tokens; ``date`` / ``version``: a measured run's (none for an estimate), which
    say whether its MXFP4 GEMMs ran on Blackwell's FP4 MMA (speed.native_fp4); ``text``: what the run
    says of itself (version and notes) or the machine's OS, which may name its Vulkan driver."""
    lead = next((p for p in lay.pools if p.kind in ("gpu", "unified") and p.bytes_per_token > 0),
                next((p for p in lay.pools if p.bytes_per_token > 0), None))
    n_acc = sum(1 for p in lay.pools if p.kind in ("gpu", "unified") and p.bytes_per_token > 0) or 1
    bw = lead.bandwidth_bytes_s * (n_acc if lay.parallel == "tensor" else 1) if lead else None
    return PrefillCase(peak_flops=lay.peak_flops, int8_ops=lay.int8_ops, family=lay.lead_family, runtime=runtime,
                       backend=backend, device=lead_device(lay.pools), maturity=maturity, bandwidth_bytes_s=bw,
                       offloaded_bytes=lay.offloaded_bytes, link_bandwidth_bytes_s=lay.link_bandwidth,
                       fp4_mma=native_fp4(runtime, backend, facts.weight_type, lay.fp4_mma, date, version),
                       driver=prefill_driver_key(backend, lay.lead_family, text or version),
                       **prompt_case_fields(facts, prompt, depth, ubatch))


# ---- evidence --------------------------------------------------------------------------------

@dataclass(frozen=True)
class EvidenceRow:
    """A measurement shown beside an estimate, with why it is near."""

    model: str
    build: str
    runtime: str
    rig: str
    offload: str
    context: int
    decode_tok_s: float | None
    prefill_tok_s: float | None
    source: str
    date: str
    notes: str
    match: str          # what it shares with the estimate: 'model+device', 'device', ...
    origin: str = "catalogue"
    prompt: int = 0     # the prompt length of its prefill figure (pp512: 512), 0 if none
    ubatch: int = 0     # the micro-batch its notes name, 0 if they name none
    fit: bool = True    # False: kept as evidence, left out of the fit (the reason is in notes)


def nearest(rows, model_id: str, device_ids: set[str], runtime: str, offload: str = "none",
            k: int = 5, setup: str = "", build: str = "") -> list[EvidenceRow]:
    """Rank rows by how much they share with the estimate: the same setup (model, build,
    runtime, devices, placement class: ``setup``), same model (and build), same device,
    same runtime, same kind of placement. Ties: newer first."""
    scored = []
    mid = (model_id or "").lower()
    want = offload_class(offload)
    for r in rows:
        score = 0.0
        parts = []
        if setup and r.setup == setup:
            score += 10
            parts.append("same setup")
        if r.model.lower() == mid:
            score += 4
            parts.append("model")
            if build and r.build.lower() == build.lower():
                score += 1
        if r.devices & device_ids:
            score += 3
            parts.append("device")
        if r.runtime == runtime:
            score += 1
            parts.append("runtime")
        if offload_class(r.offload) == want:
            score += 0.5
        if score < 3:
            continue
        scored.append((score, r.date, r, "+".join(parts)))
    scored.sort(key=lambda x: (x[0], str(x[1] or "")), reverse=True)     # best match first; ties: newest first
    out = []
    for _score, _d, r, match in scored[:k]:
        out.append(EvidenceRow(r.model, r.build, r.runtime, r.rig, r.offload, r.context, r.decode_tok_s,
                               r.prefill_tok_s, r.source, r.date, r.notes, match, r.origin,
                               prompt=(r.prefill_tokens or 0) if r.prefill_tok_s else 0,
                               ubatch=ubatch_of(r.notes, default=0), fit=r.fit))
    return out


def offload_class(offload: str) -> str:
    """gpu (all on the accelerators, however split) | cpu | offload (experts/layers in
    RAM) | mmap: what must agree for two runs to count as the same setup."""
    off = (offload or "none").strip().lower()
    if off in ("none", "split", "tp", "gpu", "multi_gpu", "unified", ""):
        return "gpu"
    if off in ("cpu", "cpu_only"):
        return "cpu"
    if off.startswith("mmap"):
        return "mmap"
    return "offload"


def devices_key(rig, offload: str = "none") -> str:
    """The devices that did the work, as a sorted multiset of ids: the GPUs (or the CPU
    and its sockets for a CPU-only run; the GPUs and the CPU when RAM takes part)."""
    oc = offload_class(offload)
    gpus = sorted(d.id for n in rig.nodes for d in n.gpus) if oc != "cpu" else []
    cpus = []
    if oc != "gpu" or not gpus:
        cpus = [f"{n.sockets}x {n.cpu.id}" if n.sockets > 1 else n.cpu.id for n in rig.nodes if n.cpu]
        if not cpus and oc == "cpu":
            cpus = sorted(d.id for n in rig.nodes for d in n.devices if d.unified)
    return ",".join(gpus + cpus)


def setup_key(model: str, build: str, runtime: str, rig, offload: str) -> str:
    """model|build|runtime|devices|placement class: rows with one key measured one setup."""
    return "|".join([(model or "").lower(), (build or "").lower(), runtime or "", devices_key(rig, offload),
                     offload_class(offload)])


def rel_error(pred: float, meas: float) -> float:
    return abs(pred / meas - 1.0)


def log_ratio(meas: float, pred: float) -> float:
    return math.log(meas / pred)
