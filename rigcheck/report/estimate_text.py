"""Text rendering of ``rigcheck estimate``: the decode and prefill ranges with what they stand
on. No arithmetic."""

from __future__ import annotations

from ..units import rate
from .notes import text


def evidence_figures(e) -> str:
    """What a measurement row measured: decode at its context, prefill at its prompt length
    (and micro-batch where the row names one), or both."""
    parts = []
    if e.decode_tok_s:
        parts.append(f"decode {rate(e.decode_tok_s)} tok/s" + (f" at context {e.context:,}" if e.context else ""))
    if e.prefill_tok_s:
        how = ", ".join(x for x in (f"{e.prompt:,}-token prompt" if e.prompt else "",
                                    f"micro-batch {e.ubatch:,}" if e.ubatch else "") if x)
        parts.append(f"prefill {rate(e.prefill_tok_s)} tok/s" + (f" ({how})" if how else ""))
    return "; ".join(parts) or "no speed figure"


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
            same = " (this setup)" if "same setup" in e.match else ""
            lines.append(f"    {e.model} {e.build} {e.runtime} on {e.rig}{same}: {evidence_figures(e)}  "
                         f"[{e.source}, {e.date}]")
    return "\n".join(lines)
