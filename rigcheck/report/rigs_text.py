"""Text rendering of ``rigcheck rigs``: the device catalogue and the tier presets, from the
same dict ``rigs --json`` prints. No arithmetic."""

from __future__ import annotations

from .. import units
from .table import table

KIND_TITLES = {"gpu": "GPUs", "soc": "Unified-memory machines (SoC)", "cpu": "CPUs (memory per socket)"}


def _bw(x):
    return f"{units.gb(x, 0)}/s" if x else ""


def _memory(d: dict) -> str:
    if d.get("memory_bytes"):
        return units.gib(d["memory_bytes"], 0)
    if d.get("mem_channels"):
        return f"{d['mem_channels']}ch {(d.get('memory_type') or '').split()[0] if d.get('memory_type') else ''}-{d['mem_mt_s']}"
    return ""


def render_rigs(data: dict) -> str:
    blocks = []
    for kind in ("gpu", "soc", "cpu"):
        if kind not in data:
            continue
        rows = [[d["id"], d["name"], _memory(d), _bw(d["bandwidth_bytes_s"]),
                 units.flops(d["fp16_flops"]).removesuffix(" TFLOPS") if d["fp16_flops"] else "",
                 f"${d['price_usd']:,.0f} ({d['price_date']})" if d.get("price_usd") else "", d["verified"]]
                for d in data[kind]]
        blocks.append(f"{KIND_TITLES[kind]} ({len(rows)})\n" + table(
            rows, ["id", "name", "memory", "bandwidth", "FP16 TFLOPS", "price", "verified"], "lllrrll"))
    if "link" in data:
        rows = [[ln["id"], ln["name"], f"{_bw(ln['bandwidth_bytes_s'])} per direction", ln["verified"]]
                for ln in data["link"]]
        blocks.append(f"Links ({len(rows)})\n" + table(rows, ["id", "name", "bandwidth", "verified"]))
    if "tiers" in data:
        rows = [[t["id"], t["label"], ", ".join(t["rigs"])] for t in data["tiers"]]
        blocks.append("Tiers (the article's hardware tiers; first rig is the representative)\n"
                      + table(rows, ["id", "label", "rigs"]))
    return ("\n\n".join(blocks) + "\n\nMemory in GiB (2^30 bytes); bandwidth in GB/s (10^9 bytes/s). "
            "Use an id in a rig spec: rigcheck rig 'rtx-5090+128GB'")
