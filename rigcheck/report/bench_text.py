"""Text rendering of ``rigcheck bench``: stored runs (the one just measured, or --list). No
arithmetic. Text read back from the store is escaped and cut before it is printed."""

from __future__ import annotations

from ..measure.serverbench import shown
from ..units import gb, rate
from .table import table


def _fmt(d, unit=""):
    if not d:
        return "-"
    return f"{rate(d['median'])} ({rate(d['min'])}-{rate(d['max'])}){unit}"


def render_runs(runs) -> str:
    rows = []
    for r in runs:
        rows.append([str(r.id), shown(r.created, 16), shown(r.model_id or r.model or "?", 32), shown(r.build or "-", 20),
                     shown(r.runtime or "?", 20), shown(r.rig or "?", 60), f"{r.repeats}/{r.repeats_planned or r.repeats}",
                     _fmt(r.prefill_tok_s), _fmt(r.decode_tok_s),
                     "-" if not r.ttft_s else f"{r.ttft_s['median'] * 1000:.0f} ms",
                     gb(r.peak_rss_bytes) if r.peak_rss_bytes else "-"])
    return table(rows, ["id", "when (UTC)", "model", "build", "runtime", "rig", "repeats", "prefill tok/s",
                        "decode tok/s", "TTFT", "peak RSS"])
