"""Text rendering of bare ``rigcheck``: this machine and what runs well on it."""

from __future__ import annotations

from .. import units
from .check_text import speed_range
from .notes import text
from .table import table


def render_home(rep: dict) -> str:
    rs, picks = rep["rig"], rep["models"]
    who = rs["spec"] if rs["spec"].startswith("this machine") else f"this machine is {rs['spec']}"
    out = [f"rigcheck: {who} ({rs['platform']})"]
    for d in rs["devices"]:
        out.append(f"  {d['kind']}: {d['name']}" + (f", {units.both(d['memory_bytes'], 1)}" if d.get("memory_bytes") else ""))
    out.append(f"  RAM: {units.both(rs['ram_bytes'], 1)}")
    out.extend(f"  note: {text(n)}" for n in rs["notes"])
    out.append("")
    ctx = f"{rep['ctx'] // 1024}K"
    if not picks:
        out.append(f"No catalogue model runs well here at {ctx} context (Q4_K_M). Try 'rigcheck check MODEL' for details.")
        return "\n".join(out)
    metric = next((p["quality_metric"] for p in picks if p.get("quality_metric")), "quality score")
    out.append(f"Catalogue models that run well here (Q4_K_M, {ctx} context), ranked by {metric}:")
    rows = [[p["model"], units.gb(p["file_bytes"], 1), speed_range(p.get("decode_tok_s"), mid=False), p["verdict"],
             "-" if p.get("quality") is None else f"{p['quality']:g}"] for p in picks]
    out.append(table(rows, ["model", "file", "decode tok/s", "verdict", "score"], "lrrlr"))
    out.append("\nNext: 'rigcheck check MODEL' for every build of one model; 'rigcheck tiers MODEL' for the hardware tiers.")
    return "\n".join(out)
