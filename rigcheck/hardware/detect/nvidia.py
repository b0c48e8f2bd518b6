"""NVIDIA GPUs: NVML (``nvidia-ml-py``, optional) or the ``nvidia-smi`` tool.

Parsers are pure functions over the tool's text, tested on recorded real output
(tests/fixtures/hardware/).
"""

from __future__ import annotations

import re

from .common import DetectedGpu, run_tool

MiB = 2**20
QUERY = ["nvidia-smi", "--query-gpu=index,name,memory.total,driver_version",
         "--format=csv,noheader,nounits"]


def parse_query_csv(text: str, fields: list[str] | None = None) -> list[DetectedGpu]:
    """``nvidia-smi --query-gpu=...,name,memory.total,... --format=csv[,noheader][,nounits]``.

    The field order is read from a header line when present (``name, memory.total [MiB]``);
    without one it is QUERY's order (index, name, memory.total, driver_version), or
    (name, memory.total) for two columns; ``fields`` gives the order of a noheader query.
    Memory is MiB ('24564' or '24564 MiB').
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines and "memory.total" in lines[0]:
        fields = [re.sub(r"\s*\[.*\]$", "", f.strip()) for f in lines[0].split(",")]
        lines = lines[1:]
    gpus = []
    for n, line in enumerate(lines):
        cols = [c.strip() for c in line.split(",")]
        if fields is None:
            fields = (["index", "name", "memory.total", "driver_version"][:len(cols)] if len(cols) >= 3
                      else ["name", "memory.total"])
        row = dict(zip(fields, cols))
        mem = re.match(r"(\d+)", row.get("memory.total", ""))
        if "name" not in row:
            continue
        idx = int(row["index"]) if row.get("index", "").isdigit() else n
        gpus.append(DetectedGpu(name=row["name"], memory_bytes=int(mem.group(1)) * MiB if mem else None,
                                vendor="NVIDIA", index=idx, via="nvidia-smi",
                                extra={k: v for k, v in row.items() if k not in ("name", "memory.total", "index")}))
    return gpus


_TABLE_NAME = re.compile(r"^\|\s+(\d+)\s+(.+?)\s+(On|Off)\s+\|")
_TABLE_MEM = re.compile(r"(\d+)MiB\s*/\s*(\d+)MiB")


def parse_table(text: str) -> list[DetectedGpu]:
    """The default ``nvidia-smi`` table: a GPU line ('|   0  NVIDIA GeForce RTX 4090   Off |')
    followed by a line with 'used MiB / total MiB'."""
    gpus = []
    lines = text.splitlines()
    driver = re.search(r"Driver Version:\s*([\d.]+)", text) or re.search(r"KMD Version:\s*([\d.]+)", text)
    for i, line in enumerate(lines):
        m = _TABLE_NAME.match(line)
        if not m or i + 1 >= len(lines):
            continue
        mm = _TABLE_MEM.search(lines[i + 1])
        if not mm:
            continue
        gpus.append(DetectedGpu(name=m.group(2).strip(), memory_bytes=int(mm.group(2)) * MiB,
                                vendor="NVIDIA", index=int(m.group(1)), via="nvidia-smi",
                                extra={"driver_version": driver.group(1)} if driver else {}))
    return gpus


def _nvml() -> list[DetectedGpu] | None:
    try:
        import pynvml  # nvidia-ml-py
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no driver / no GPU
        return None
    try:
        out = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            name = name.decode() if isinstance(name, bytes) else name
            mem = pynvml.nvmlDeviceGetMemoryInfo(h).total
            out.append(DetectedGpu(name=name, memory_bytes=int(mem), vendor="NVIDIA", index=i, via="nvml"))
        return out
    except Exception:  # noqa: BLE001
        return None
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


def detect() -> list[DetectedGpu]:
    """NVIDIA GPUs on this machine (empty when there are none or no driver)."""
    gpus = _nvml()
    if gpus is not None:
        return gpus
    text = run_tool(QUERY)
    return parse_query_csv(text) if text else []
