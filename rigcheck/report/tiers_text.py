"""Text rendering of ``rigcheck tiers``: the tier table. No arithmetic."""

from __future__ import annotations

from .. import units
from .check_text import speed_range
from .notes import text
from .table import table


def render_tiers(rep) -> str:
    out = [f"rigcheck tiers: {rep['model']['id']}  (context {rep['ctx']:,} tokens)", "", rep["model"]["line"], ""]
    rows = []
    for t in rep["tiers"]:
        rows.append([t["label"], t["rig"], t["best_build"] or "none fits",
                     units.gb(t["total_bytes"], 1) if t.get("total_bytes") else "-",
                     t.get("where") or "-", speed_range(t.get("decode_tok_s")), t["verdict"]])
    out.append(table(rows, ["tier", "rig", "best build", "memory", "where", "decode tok/s", "verdict"],
                     "lllrlrl"))
    diffs = [t for t in rep["tiers"] if t.get("article")]
    if diffs:
        out.append("")
        out.append("Against the article (June 2026):")
        for t in diffs:
            a = t["article"]
            out.append(f"  {t['label']}: article said {a['best']!s}, {a['speed']!s}, {a['verdict']!s}")
            for d in t.get("differences", []):
                out.append(f"    - {d}")
    for n in rep.get("notes", []):
        out.append(f"note: {text(n)}")
    return "\n".join(out)
