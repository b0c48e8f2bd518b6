"""Text rendering of ``rigcheck rig``: what rigcheck sees of a rig. No arithmetic."""

from __future__ import annotations

from .. import units
from .notes import text


def _bw(x: float | None) -> str:
    return f"{units.gb(x, 1)}/s" if x else "unknown"


def _flops(x: float | None) -> str:
    return units.flops(x) if x else ""


def render_rig(rig) -> str:
    out = [f"Rig: {rig.spec or '(nothing known)'}   ({rig.source})"]
    if len(rig.nodes) > 1:
        out.append(f"{len(rig.nodes)} identical nodes" + (f", joined by {rig.link.name} "
                   f"({_bw(rig.link.bandwidth_bytes_s)} per direction)" if rig.link else ""))
    n = rig.node
    seen: dict[str, int] = {}
    for d in n.devices:
        seen[d.id] = seen.get(d.id, 0) + 1
    for dev_id, count in seen.items():
        d = next(x for x in n.devices if x.id == dev_id)
        label = "SoC" if d.kind == "soc" else "GPU"
        mem = units.both(d.memory_bytes) if d.memory_bytes else "memory unknown"
        extra = f" ({d.gpu_cores}-core GPU)" if d.gpu_cores and d.kind == "soc" and "/" not in d.gpu_cores and "core GPU" not in d.name else ""
        out.append(f"  {label:4} {f'{count}x ' if count > 1 else ''}{d.name}{extra}: {mem}, "
                   f"{_bw(d.bandwidth_bytes_s)}" + (f", {_flops(d.fp16_flops)} FP16" if d.fp16_flops else "")
                   + (f"  [{d.verified}]" if d.verified else ""))
    if n.cpu is not None and n.cpu.kind == "cpu":
        out.append(f"  CPU  {f'{n.sockets}x ' if n.sockets > 1 else ''}{n.cpu.name}"
                   + (f", {n.cpu_threads} threads" if n.cpu_threads else ""))
    elif n.cpu_threads:
        out.append(f"  CPU  {n.cpu_threads} threads")
    if n.ram_bytes:
        what = "unified memory" if n.unified else "RAM"
        out.append(f"  {what}: {units.both(n.ram_bytes)}, {_bw(n.ram_bandwidth_bytes_s)}"
                   + (" (assumed)" if n.ram_assumed else ""))
    if n.unified and not n.cpu_only and n.gpu_budget_bytes:
        out.append(f"  GPU may use: {units.both(n.gpu_budget_bytes)}"
                   + (" (macOS wired limit; raise with 'sudo sysctl iogpu.wired_limit_mb=N')"
                      if n.os == "macos" else ""))
    elif not n.unified and n.gpus:
        out.append(f"  VRAM total: {units.both(n.vram_bytes)}")
    if n.cpu_only:
        out.append("  GPU: none used (CPU only)")
    if n.link is not None:
        out.append(f"  GPU link: {n.link.name} ({_bw(n.link.bandwidth_bytes_s)} per direction)")
    if rig.notes:
        out.append("Notes:")
        out.extend(f"  - {text(x)}" for x in rig.notes)
    return "\n".join(out)
