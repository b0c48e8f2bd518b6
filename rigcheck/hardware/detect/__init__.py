"""Detect this machine: ``detect() -> Rig`` (source ``detected``).

One module per vendor (nvidia, amd, apple) plus cpu (CPU, RAM, dmidecode) and bandwidth
(opt-in measurement). Each parser is a pure function over a tool's output; ``detect``
only runs the tools and assembles a Node. Nothing here needs root or the network; what
cannot be known is left None and said in ``Rig.notes``.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
from collections.abc import Callable

from ..catalog import find_device, match_device, norm
from ..device import Device, Node, Rig
from ..spec import format_rig
from ...notes import Note
from . import amd, apple, cpu, nvidia
from .common import DetectedGpu, to_device

GiB = 2**30

__all__ = ["detect", "detect_gpus", "DetectedGpu"]


def detect_gpus() -> list[Device]:
    """Discrete GPUs on this machine, matched to the catalogue (NVIDIA, then AMD)."""
    found = nvidia.detect() + amd.detect()
    return [to_device(g) for g in found]


def _cpu_device(model: str | None) -> Device | None:
    if not model:
        return None
    dev = match_device(model, kinds=("cpu",))
    if dev is not None:
        return dev
    return Device(id=norm(model) or "cpu", name=model, kind="cpu", vendor=model.split()[0],
                  source="detected (/proc/cpuinfo)", verified="detected",
                  notes="not in the catalogue: memory channels unknown")


def _strix_halo(model: str | None, ram: int | None) -> Device | None:
    if not model or not ram or "ryzen ai max" not in model.lower():
        return None
    for size in (128, 64, 32):
        if ram > (size - 16) * GiB:
            return find_device(f"strix-halo-{size}")
    return None


# What rigcheck assumes when nothing says how fast this machine's RAM is: dual-channel
# DDR4-3200 = 2 channels x 8 bytes x 3200 MT/s (the memory-system arithmetic in devices.csv).
ASSUMED_RAM_BW = 2 * 8 * 3200e6
# ... and what a few threads can stream of it: an assumption (about what one x86 core
# streams), used only when nothing was read or measured.
ASSUMED_PER_THREAD_BW = 10e9
_BW_FILE = "measured_bandwidth.json"


def _home() -> str:
    from ...paths import user_dir
    return user_dir()


def _remember_bandwidth(bytes_s: float) -> None:
    import datetime
    import json
    try:
        os.makedirs(_home(), exist_ok=True)
        with open(os.path.join(_home(), _BW_FILE), "w", encoding="utf-8") as f:
            json.dump({"bandwidth_bytes_s": bytes_s, "date": datetime.date.today().isoformat()}, f)
    except OSError:
        pass  # remembering is a convenience; the measurement itself was printed


def _remembered_bandwidth() -> tuple[float, str] | None:
    import json
    try:
        with open(os.path.join(_home(), _BW_FILE), encoding="utf-8") as f:
            d = json.load(f)
        bw = float(d["bandwidth_bytes_s"])
        return (bw, str(d.get("date", ""))) if 1e8 < bw < 1e13 else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def detect(measure_bandwidth: bool = False, progress: Callable[[str], None] | None = None) -> Rig:
    """This machine as a Rig: GPUs (or the unified-memory SoC), CPU, RAM and what is unknown.

    ``measure_bandwidth`` times a NumPy copy (a few seconds, 2 GiB of RAM) and uses it as
    ``ram_bandwidth_bytes_s`` when nothing better is known; ``progress`` gets status lines.
    """
    notes: list[str] = []
    node: Node | None = None
    if sys.platform == "darwin" and platform.machine() == "arm64":
        node = apple.detect()
    if node is None:
        model = cpu.cpu_model()
        totals = cpu.memory_totals()
        ram = totals.get("total")
        threads = cpu.cpu_threads()
        mem = cpu.memory_system()
        soc = _strix_halo(model, ram)
        cpu_dev = _cpu_device(model)
        ram_bw = None
        if mem is not None and mem.bandwidth_bytes_s:
            ram_bw = mem.bandwidth_bytes_s
            notes.append(Note("ram_detected", type=mem.type, speed_mt_s=mem.speed_mt_s, channels=mem.channels))
            notes.extend(mem.notes)
        else:
            notes.append(Note("ram_unknown"))
        gpus = tuple(detect_gpus())
        os_name = platform.system().lower() or None
        if soc is not None:
            node = Node(devices=(dataclasses.replace(soc, memory_bytes=ram),), ram_bytes=ram,
                        ram_bandwidth_bytes_s=soc.bandwidth_bytes_s,
                        gpu_budget_bytes=min(soc.gpu_budget_bytes or ram, ram), os=os_name,
                        cpu_threads=threads)
        else:
            node = Node(devices=gpus, cpu=cpu_dev, ram_bytes=ram, ram_bandwidth_bytes_s=ram_bw,
                        cpu_only=not gpus, os=os_name, cpu_threads=threads)
        if not gpus and soc is None:
            notes.append(Note("no_gpu_found"))
        for d in gpus:
            if d.verified == "detected":
                notes.append(Note("gpu_not_in_catalogue", name=d.name))
        if cpu_dev is not None and cpu_dev.verified == "detected":
            notes.append(Note("cpu_not_in_catalogue", name=cpu_dev.name))
    if measure_bandwidth:
        from .bandwidth import measure_bandwidth as _measure
        measured = _measure(progress=progress)
        notes.append(Note("bandwidth_measured", bytes_per_s=float(measured)))
        _remember_bandwidth(measured)
        if node.ram_bandwidth_bytes_s is None:
            node = dataclasses.replace(node, ram_bandwidth_bytes_s=measured)
    if node.ram_bandwidth_bytes_s is None:
        known = _remembered_bandwidth()
        if known:
            node = dataclasses.replace(node, ram_bandwidth_bytes_s=known[0])
            notes.append(Note("bandwidth_remembered", bytes_per_s=float(known[0]), measured_on=str(known[1])))
        else:
            threads = node.cpu_threads or 1
            bw = min(ASSUMED_RAM_BW, threads * ASSUMED_PER_THREAD_BW)
            node = dataclasses.replace(node, ram_bandwidth_bytes_s=bw)
            notes.append(Note("bandwidth_assumed", bytes_per_s=float(bw), per_thread_bytes_per_s=ASSUMED_PER_THREAD_BW))
    rig = Rig(nodes=(node,), source="detected", notes=tuple(notes))
    return dataclasses.replace(rig, spec=_detected_spec(rig))


def _detected_spec(rig: Rig) -> str:
    """The nearest spec for a detected rig: devices not in the catalogue are left out."""
    node = rig.node
    known = tuple(d for d in node.devices if d.verified != "detected")
    cpu_dev = node.cpu if (node.cpu is not None and node.cpu.verified != "detected") else None
    if node.unified:
        return format_rig(dataclasses.replace(rig, nodes=(dataclasses.replace(node, devices=known),)))
    return format_rig(dataclasses.replace(rig, nodes=(dataclasses.replace(
        node, devices=known, cpu=cpu_dev, ram_type=None, ram_assumed=False),)))
