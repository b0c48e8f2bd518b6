"""Shared pieces of detection: the DetectedGpu record, running a tool safely, catalogue matching."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from dataclasses import dataclass, field

from ..catalog import match_device, norm
from ..device import Device

TOOL_TIMEOUT_S = 10
MAX_OUTPUT = 4 * 2**20  # never read more than this from a tool


@dataclass(frozen=True)
class DetectedGpu:
    """One GPU as a vendor tool reports it (before catalogue matching)."""

    name: str
    memory_bytes: int | None
    vendor: str
    index: int = 0
    via: str = ""                 # nvml, nvidia-smi, rocm-smi, sysfs, ...
    extra: dict = field(default_factory=dict)


def run_tool(argv: list[str], timeout: float = TOOL_TIMEOUT_S) -> str | None:
    """stdout of a tool, or None when it is missing, fails or times out."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if p.returncode != 0:
        return None
    return p.stdout[:MAX_OUTPUT].decode("utf-8", errors="replace")


def to_device(g: DetectedGpu) -> Device:
    """The catalogue device a detected GPU is (memory from the tool), or a bare 'detected' device."""
    dev = match_device(g.name, g.memory_bytes)
    if dev is not None:
        if g.memory_bytes:
            dev = dataclasses.replace(dev, memory_bytes=g.memory_bytes)
        return dev
    return Device(id=norm(g.name) or "gpu", name=g.name, kind="gpu", vendor=g.vendor,
                  memory_bytes=g.memory_bytes, source=f"detected ({g.via})", verified="detected",
                  notes="not in the catalogue: bandwidth and compute unknown")
