"""Text rendering of ``rigcheck estimate``: the decode and prefill ranges with what they stand
on. No arithmetic."""

from __future__ import annotations

from ..units import rate
from .notes import text


def render_estimate(out: dict, est) -> str:
    lines = []
    d = est.decode_tok_s
    lines.append(f"{out['model']} {out['build']} on {out['rig']} ({out['runtime']}, ctx {out['ctx']:,}, "
                 f"placement {out['offload']})")
    basis = est.inputs.get("basis")
    lines.append(f"  decode  {rate(d.low)}-{rate(d.high)} tok/s (mid {rate(d.mid)}; 80% range, "
                 + ("from measurements of this setup)" if basis == "measured" else "generalised by the model)"))
    if est.prefill_tok_s:
        p = est.prefill_tok_s
        lines.append(f"  prefill {rate(p.low)}-{rate(p.high)} tok/s (mid {rate(p.mid)})")
    for n in est.notes:
        lines.append(f"  note: {text(n)}")
    mine = out["my_measurements"]
    if mine:
        lines.append("  your measurements:")
        for r in mine:
            dd = r.decode_tok_s["median"] if r.decode_tok_s else None
            lines.append(f"    {r.created[:10]} {r.build or '?'} {r.runtime} on {r.rig}: decode "
                         f"{rate(dd) if dd else '-'} tok/s ({r.repeats} repeats)")
    if est.evidence:
        lines.append("  measured elsewhere (nearest):")
        for e in est.evidence:
            dd = rate(e.decode_tok_s) if e.decode_tok_s else "-"
            same = " (this setup)" if "same setup" in e.match else ""
            at = f" at context {e.context:,}" if e.context else ""
            lines.append(f"    {e.model} {e.build} {e.runtime} on {e.rig}{same}: decode {dd} tok/s{at}  "
                         f"[{e.source}, {e.date}]")
    return "\n".join(lines)
