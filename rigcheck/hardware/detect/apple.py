"""Apple Silicon Macs: ``sysctl`` (hw.memsize, machdep.cpu.brand_string, iogpu.wired_limit_mb,
kern.osproductversion) and ``system_profiler SPDisplaysDataType`` (GPU cores).

Parsers are pure functions, tested on recorded real output (tests/fixtures/hardware/).
"""

from __future__ import annotations

import dataclasses
import json
import re

from .. import apple as wired
from ..catalog import devices, find_device
from ..device import Device, Node
from .common import run_tool

GiB = 2**30
SYSCTL_KEYS = ["hw.memsize", "machdep.cpu.brand_string", "hw.ncpu", "kern.osproductversion",
               "iogpu.wired_limit_mb", "hw.model"]


def parse_sysctl(text: str) -> dict[str, str]:
    """``sysctl -a`` / ``sysctl KEY ...`` output ('key: value' lines) as a dict of strings."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key and " " not in key.strip():
            value = value.strip()
            if "->" in value:  # 'sudo sysctl k=v' prints 'k: old -> new'
                value = value.rsplit("->", 1)[1].strip()
            out.setdefault(key.strip(), value)
    return out


def parse_gpu_cores(text: str) -> int | None:
    """GPU core count from ``system_profiler SPDisplaysDataType`` (text or -json)."""
    text = text.strip()
    if text.startswith("{"):
        try:
            for item in json.loads(text).get("SPDisplaysDataType", []):
                if str(item.get("sppci_cores", "")).isdigit():
                    return int(item["sppci_cores"])
        except (json.JSONDecodeError, AttributeError):
            return None
        return None
    m = re.search(r"Total Number of Cores:\s*(\d+)", text)
    return int(m.group(1)) if m else None


def chip_base(brand: str) -> str | None:
    """'Apple M4 Max' -> 'm4-max'; 'Apple M2' -> 'm2'; None for other CPUs."""
    m = re.search(r"apple\s+(m\d+)(?:\s+(pro|max|ultra))?", brand.lower())
    if not m:
        return None
    return m.group(1) + (f"-{m.group(2)}" if m.group(2) else "")


def macos_major(version: str | None) -> int | None:
    m = re.match(r"(\d+)", version or "")
    return int(m.group(1)) if m else None


def node_from_facts(sysctl: dict[str, str], gpu_cores: int | None = None) -> Node | None:
    """The Node for a Mac, from parsed sysctl values (and the GPU core count if known).

    Matches ``chip-memory`` in the catalogue (m4-max-128); the GPU budget is the live
    ``iogpu.wired_limit_mb`` when set, else the macOS default for this RAM and version.
    """
    brand = sysctl.get("machdep.cpu.brand_string", "")
    base = chip_base(brand)
    mem = sysctl.get("hw.memsize", "")
    if base is None or not mem.isdigit():
        return None
    ram = int(mem)
    mem_gib = round(ram / GiB)
    dev = find_device(f"{base}-{mem_gib}")
    if dev is None:
        # a memory size the catalogue lacks: borrow the chip's facts from a sibling with these cores
        sibs = [d for d in devices("soc") if d.id.startswith(base + "-") and d.id[len(base) + 1:].isdigit()]
        if gpu_cores:
            sibs = [d for d in sibs if str(gpu_cores) in (d.gpu_cores or "").split("/")] or sibs
        if sibs:
            dev = dataclasses.replace(sibs[-1], id=f"{base}-{mem_gib}", name=f"{brand} {mem_gib}GB",
                                      memory_bytes=ram, verified="detected",
                                      notes=f"memory size not in the catalogue; chip facts from {sibs[-1].id}")
        else:
            dev = Device(id=f"{base}-{mem_gib}", name=brand, kind="soc", vendor="Apple", memory_bytes=ram,
                         unified=True, source="detected (sysctl)", verified="detected",
                         notes="chip not in the catalogue: bandwidth unknown")
    else:
        dev = dataclasses.replace(dev, memory_bytes=ram)
    if gpu_cores:
        dev = dataclasses.replace(dev, gpu_cores=str(gpu_cores))
    limit = sysctl.get("iogpu.wired_limit_mb", "")
    major = macos_major(sysctl.get("kern.osproductversion"))
    budget = wired.wired_limit_from_sysctl(int(limit) if limit.isdigit() else None, ram, major)
    ncpu = sysctl.get("hw.ncpu", "")
    return Node(devices=(dev,), ram_bytes=ram, ram_bandwidth_bytes_s=dev.bandwidth_bytes_s,
                gpu_budget_bytes=budget, os="macos", cpu_threads=int(ncpu) if ncpu.isdigit() else None)


def detect() -> Node | None:
    """This Mac as a Node, or None when not on Apple Silicon macOS."""
    text = run_tool(["sysctl", *SYSCTL_KEYS])
    if not text:
        # some keys (iogpu.*) are missing on older macOS and make sysctl fail: ask one by one
        text = "\n".join(filter(None, (run_tool(["sysctl", k]) for k in SYSCTL_KEYS)))
    facts = parse_sysctl(text or "")
    sp = run_tool(["system_profiler", "SPDisplaysDataType"], timeout=20)
    return node_from_facts(facts, parse_gpu_cores(sp) if sp else None)
