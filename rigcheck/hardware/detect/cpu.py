"""The CPU and system RAM: /proc/cpuinfo, /proc/meminfo (or psutil), ``dmidecode -t memory``.

Memory speed and channels come from dmidecode, which needs root; without it they are
unknown (say so; ``rigcheck rig --measure-bandwidth`` measures instead). Parsers are pure
functions, tested on recorded real output (tests/fixtures/hardware/).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ...notes import Note
from .common import run_tool

KiB = 2**10
MiB = 2**20
GiB = 2**30


def parse_cpuinfo(text: str) -> dict:
    """/proc/cpuinfo -> {'model': 'AMD EPYC 7763 64-Core Processor', 'logical': 2, 'vendor': 'AuthenticAMD'}."""
    model = None
    vendor = None
    logical = 0
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "processor":
            logical += 1
        elif key in ("model name", "hardware", "cpu model") and model is None and value.strip():
            model = value.strip()
        elif key == "vendor_id" and vendor is None:
            vendor = value.strip()
    return {"model": model, "logical": logical, "vendor": vendor}


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo -> {'MemTotal': bytes, 'MemAvailable': bytes, ...} (values in kB -> bytes)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"(\w+):\s+(\d+)(?:\s+kB)?", line)
        if m:
            out[m.group(1)] = int(m.group(2)) * (KiB if "kB" in line else 1)
    return out


@dataclass(frozen=True)
class MemoryModule:
    size_bytes: int
    type: str
    speed_mt_s: int | None             # configured speed if known, else rated
    rated_mt_s: int | None
    data_width_bits: int | None
    locator: str = ""
    bank_locator: str = ""


@dataclass(frozen=True)
class MemorySystem:
    """What dmidecode says about the installed RAM."""

    modules: tuple[MemoryModule, ...] = ()
    type: str | None = None
    speed_mt_s: int | None = None
    channels: int | None = None
    bandwidth_bytes_s: float | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def total_bytes(self) -> int:
        return sum(m.size_bytes for m in self.modules)


def _size(text: str) -> int | None:
    m = re.match(r"(\d+)\s*(KB|MB|GB|TB|kB|KiB|MiB|GiB|TiB)", text.strip())
    if not m:
        return None
    unit = m.group(2).lower().rstrip("b").rstrip("i")
    return int(m.group(1)) * {"k": KiB, "m": MiB, "g": GiB, "t": 2**40}[unit]


def _speed(text: str | None) -> int | None:
    m = re.match(r"(\d+)\s*(MT/s|MHz)", (text or "").strip())
    return int(m.group(1)) if m else None


def _channel_key(mod: MemoryModule) -> str:
    for text in (mod.bank_locator, mod.locator):
        m = re.search(r"(P\d+\s+)?CHANNEL\s*([A-Z0-9]+)", text, re.I)
        if m:
            return (m.group(1) or "").strip().upper() + "CH" + m.group(2).upper()
        m = re.search(r"(?:Controller(\d+)-)?(?:Channel|DIMM_?|ChannelA?)([A-H])\d?", text, re.I)
        if m:
            return f"{m.group(1) or ''}CH{m.group(2).upper()}"
    return mod.locator or mod.bank_locator


def parse_dmidecode(text: str) -> MemorySystem:
    """``dmidecode -t memory`` (or ``-t 17``) -> installed modules and the memory system.

    Channels = distinct channels with a module (from 'Bank Locator: P0 CHANNEL A' or
    'Locator: DIMM_A1'); bandwidth = sum over channels of data width x configured speed.
    """
    mods = []
    for block in re.split(r"\n(?=Handle )", text):
        head = [ln.strip() for ln in block.strip().splitlines()[:2]]
        if "Memory Device" not in head:
            continue  # other DMI types, incl. 'Memory Device Mapped Address'
        f = {}
        for line in block.splitlines():
            k, sep, v = line.strip().partition(":")
            if sep:
                f.setdefault(k.strip(), v.strip())
        size = _size(f.get("Size", ""))
        if not size:
            continue  # 'No Module Installed'
        rated = _speed(f.get("Speed"))
        conf = _speed(f.get("Configured Memory Speed") or f.get("Configured Clock Speed"))
        width = re.match(r"(\d+)", f.get("Data Width", ""))
        mods.append(MemoryModule(size_bytes=size, type=f.get("Type", "Unknown"), speed_mt_s=conf or rated,
                                 rated_mt_s=rated, data_width_bits=int(width.group(1)) if width else None,
                                 locator=f.get("Locator", ""), bank_locator=f.get("Bank Locator", "")))
    if not mods:
        return MemorySystem(notes=(Note("dmidecode_no_modules"),))
    notes = []
    channels: dict[str, MemoryModule] = {}
    for m in mods:
        channels.setdefault(_channel_key(m), m)
    speeds = [m.speed_mt_s for m in mods if m.speed_mt_s]
    speed = min(speeds) if speeds else None
    bw = None
    if speed:
        bw = sum(((m.data_width_bits or 64) / 8) * speed * 1e6 for m in channels.values())
    types = sorted({m.type for m in mods})
    if any(m.speed_mt_s and m.rated_mt_s and m.speed_mt_s < m.rated_mt_s for m in mods):
        notes.append(Note("memory_below_rated"))
    return MemorySystem(modules=tuple(mods), type="/".join(types), speed_mt_s=speed, channels=len(channels),
                        bandwidth_bytes_s=bw, notes=tuple(notes))


def cpu_threads() -> int:
    """Logical CPUs this process may run on (what ``nproc`` prints)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def memory_totals() -> dict[str, int]:
    """{'total': bytes, 'available': bytes}: /proc/meminfo, else psutil."""
    p = Path("/proc/meminfo")
    if p.exists():
        info = parse_meminfo(p.read_text())
        if "MemTotal" in info:
            return {"total": info["MemTotal"], "available": info.get("MemAvailable", info.get("MemFree", 0))}
    try:
        import psutil
        vm = psutil.virtual_memory()
        return {"total": int(vm.total), "available": int(vm.available)}
    except ImportError:
        return {}


def cpu_model() -> str | None:
    p = Path("/proc/cpuinfo")
    if p.exists():
        model = parse_cpuinfo(p.read_text(errors="replace"))["model"]
        if model:
            return model
    import platform
    return platform.processor() or None


def memory_system() -> MemorySystem | None:
    """dmidecode's view of the RAM, or None when dmidecode is missing or not allowed (needs root)."""
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return None
    text = run_tool(["dmidecode", "-t", "memory"])
    return parse_dmidecode(text) if text else None
