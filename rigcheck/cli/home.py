"""`rigcheck` alone: this machine, and the catalogue models that run well on it."""

from __future__ import annotations


def run_home(args) -> int:
    from .. import units
    from ..hardware import detect
    from ..plan.check.alternatives import alternatives_for
    from ..plan.check import rig_summary
    from ..report.check_text import speed_range
    from ..report.table import table
    rig = detect()
    rs = rig_summary(rig)
    picks = alternatives_for(None, rig, 8192, limit=10, max_tries=100)
    if getattr(args, "json", False):
        from . import emit_json
        emit_json({"rig": rs, "ctx": 8192, "models": picks})
        return 0
    print(f"rigcheck: this machine is {rs['spec']} ({rs['platform']})")
    for d in rs["devices"]:
        print(f"  {d['kind']}: {d['name']}" + (f", {units.both(d['memory_bytes'], 1)}" if d.get("memory_bytes") else ""))
    print(f"  RAM: {units.both(rs['ram_bytes'], 1)}")
    for n in rs["notes"]:
        print(f"  note: {n}")
    print()
    if not picks:
        print("No catalogue model runs well here at 8K context (Q4_K_M). Try 'rigcheck check MODEL' for details.")
        return 0
    metric = next((p["quality_metric"] for p in picks if p.get("quality_metric")), "quality score")
    print(f"Catalogue models that run well here (Q4_K_M, 8K context), ranked by {metric}:")
    rows = [[p["model"], units.gb(p["file_bytes"], 1), speed_range(p.get("decode_tok_s"), mid=False), p["verdict"],
             "-" if p.get("quality") is None else f"{p['quality']:g}"] for p in picks]
    print(table(rows, ["model", "file", "decode tok/s", "verdict", "score"], "lrrlr"))
    print("\nNext: 'rigcheck check MODEL' for every build of one model; 'rigcheck tiers MODEL' for the hardware tiers.")
    return 0

