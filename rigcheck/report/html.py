"""The report as one self-contained HTML page: inline CSS and inline SVG, no scripts,
no external assets, so it opens offline and can be mailed as one file.

``render_html(report)`` takes a plain dict (no arithmetic is done here beyond scaling
the charts). Every text value is HTML-escaped; sizes are printed through
``rigcheck.units``. Fields marked optional may be missing or None.

Input schema::

    {
      "title": str,                         # optional, default "rigcheck: <model> on <rig>"
      "generated": str,                     # optional, e.g. "2026-11-28"
      "ctx": int,                           # optional, the context the check used
      "runtime": str,                       # optional, e.g. "llama.cpp"
      "model": {"name": str, "id": str, ...},    # shown as a key/value table;
                                                 # "name" (or "id") titles the page
      "rig": {"name": str, ...},                 # likewise
      "builds": [{
          "name": str,                      # "IQ2_XS-XL", "Q4_K_M", "mlx-4bit"
          "file_bytes": int,                # download size
          "total_bytes": int,               # memory needed at ctx
          "weights_bytes": int, "kv_bytes": int, "compute_bytes": int, "overhead_bytes": int,
          "placement": [{"device": str, "bytes": int, "capacity_bytes": int}],  # one per pool
          "fits": bool,
          "mode": str,                      # optional: plan/modes.py's mode; with it the
                                            # "Fits" cell follows the mode's verdict class
          "bits_per_weight": float,         # optional
          "decode_tok_s": {"low": float, "mid": float, "high": float},   # optional
          "verdict": {"label": str, "reasons": [str]} | str,
          "quality_note": str,              # optional
          "commands": {runtime_name: str},  # optional, multi-line commands allowed
      }],
      "best": str | None,                   # name of the recommended build
      "alternatives": [str | {"model": str, "build": str, "verdict": str, "note": str}],
      "upgrade": [str | {"label": str, "cost_usd": float, "note": str,
                         "source": str, "price_date": str}],
      "decode_vs_ctx": [{"ctx": int, "low": float, "mid": float, "high": float}],
      "decode_build": str,                  # optional: which build decode_vs_ctx is for
      "sources": [str],                     # optional
    }

Chart colours are fixed (``COLORS``) so tests can find them in a screenshot.
"""

from __future__ import annotations

import math
from html import escape

from ..plan.modes import MODES, mode
from ..units import gb, rate

COLORS = {
    "weights": "#3b6fb6",
    "kv": "#e8833a",
    "compute": "#5aa469",
    "overhead": "#9b6bb3",
    "mid": "#d1495b",
    "band": "#d1495b",
    "capacity": "#222222",
}
DEVICE_COLORS = ["#2a9d8f", "#c9a227", "#8d6e63", "#607d8b", "#6d597a"]
PARTS = [("weights", "weights"), ("kv", "KV cache"), ("compute", "compute buffers"),
         ("overhead", "reserve (runtime and OS)")]
VERDICT_COLORS = {"no": "#b03a2e", "not practical": "#ca6f1e", "borderline": "#b7950b",
                  "runs": "#1f8a4c", "comfortable": "#145a32"}


def fit_text(mode_name: str | None, fits: bool = True) -> str:
    """The 'Fits' cell: the placement mode's verdict class decides (plan/modes.py), so a build
    that only streams from disk says "no" beside its verdict "no"."""
    m = mode(mode_name or "no_fit")
    if not fits or m.verdict == "none":
        return "no" if m.name == "no_fit" else f"no: {m.label}"
    return f"yes: {m.label}"


def page_pieces() -> dict:
    """What the static report and the 'rigcheck serve' page draw with: colours, the memory
    parts in order, and each placement mode's words and 'Fits' cell."""
    return {"colors": dict(COLORS), "device_colors": list(DEVICE_COLORS),
            "parts": [{"key": k, "label": lbl} for k, lbl in PARTS],
            "verdict_colors": dict(VERDICT_COLORS),
            "modes": {m.name: {"label": m.label, "verdict": m.verdict, "fast": m.fast,
                               "fits": fit_text(m.name)} for m in MODES}}

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;background:#fafafa;color:#1d1d1f}
main{max-width:1100px;margin:0 auto;padding:24px 32px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555;margin:0 0 16px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:14px}
th,td{border:1px solid #e1e1e1;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f1f1f3}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;color:#fff;font-weight:600;font-size:13px;white-space:nowrap}
.best{background:#fff;border:1px solid #ddd;border-left:6px solid #1f8a4c;padding:12px 16px;margin:12px 0}
.best .badge{font-size:15px}
pre{background:#1e1e1e;color:#eaeaea;padding:10px 12px;border-radius:6px;overflow-x:auto;font-size:13px;margin:6px 0 14px}
.legend span{display:inline-block;margin-right:16px;font-size:13px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-1px}
svg{background:#fff;border:1px solid #e1e1e1;display:block;margin:8px 0}
svg text{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif}
ul{margin:6px 0 0 20px;padding:0}li{margin:3px 0}
.kv td:first-child{width:220px;color:#555}
footer{margin-top:36px;color:#666;font-size:12px}
details summary{cursor:pointer;margin:6px 0}
"""


def e(x) -> str:
    """Escape any value for HTML text or attribute."""
    return escape("" if x is None else str(x), quote=True)


def _num(x, default=0.0) -> float:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return default
    return f if math.isfinite(f) else default


def note_text(n) -> str:
    """A note or reason as the JSON gives it: a string, or an object with its "text"."""
    if isinstance(n, dict):
        return str(n.get("text") or n.get("code") or "")
    return "" if n is None else str(getattr(n, "text", n))


def _verdict(v) -> tuple[str, list[str]]:
    if v is None:
        return "", []
    if isinstance(v, str):
        return v, []
    if isinstance(v, dict):
        return str(v.get("label", "")), [note_text(r) for r in v.get("reasons") or []]
    return str(getattr(v, "label", v)), [note_text(r) for r in getattr(v, "reasons", []) or []]


def badge(label: str) -> str:
    color = VERDICT_COLORS.get(label, "#555")
    return f'<span class="badge" style="background:{color}">{e(label or "?")}</span>'


# ---- charts ---------------------------------------------------------------------------

def _pool_rows(b: dict) -> int:
    return len(b.get("placement") or [])


def memory_chart(builds: list[dict], width: int = 1000) -> str:
    """Per build: a stacked bar of what the memory holds, and under it one box per pool
    (GPU, RAM, ...) drawn at the pool's capacity and filled to what the plan puts there.
    Each pool's label has its own line, with a swatch of the pool's colour, so labels of
    narrow pools never print over each other."""
    if not builds:
        return ""
    left, right, bar_h, line_h = 150, 30, 22, 15
    plot_w = width - left - right
    scale = 1.0
    for b in builds:
        caps = sum(_num(p.get("capacity_bytes")) for p in b.get("placement") or [])
        used = sum(_num(p.get("bytes")) for p in b.get("placement") or [])
        total = max(_num(b.get("total_bytes")), sum(_num(b.get(f"{k}_bytes")) for k, _ in PARTS))
        scale = max(scale, caps, used, total)
    px = plot_w / scale
    heights = [max(56, 2 * bar_h + 18 + line_h * _pool_rows(b) + 12) for b in builds]
    height = 14 + sum(heights)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="memory per build" class="memory-chart">']
    y0 = 14
    for i, b in enumerate(builds):
        name = str(b.get("name") or "")
        short = name if len(name) <= 17 else name[:16] + "…"
        out.append(f'<text x="8" y="{y0 + 16}" font-size="14" font-weight="600">{e(short)}<title>{e(name)}</title></text>')
        out.append(f'<text x="8" y="{y0 + 34}" font-size="12" fill="#555">needs {e(gb(_num(b.get("total_bytes")), 1))}</text>')
        x = left
        for key, label in PARTS:
            w = _num(b.get(f"{key}_bytes")) * px
            if w <= 0:
                continue
            out.append(f'<rect x="{x:.1f}" y="{y0}" width="{w:.1f}" height="{bar_h}" fill="{COLORS[key]}">'
                       f'<title>{e(label)}: {e(gb(_num(b.get(f"{key}_bytes"))))}</title></rect>')
            x += w
        # pools, side by side on the same scale; their labels one per line below
        x = left
        py = y0 + bar_h + 10
        ly = py + bar_h + 14
        for j, p in enumerate(b.get("placement") or []):
            cap = _num(p.get("capacity_bytes"))
            used = _num(p.get("bytes"))
            cw, uw = cap * px, min(used, cap) * px if cap else used * px
            color = DEVICE_COLORS[j % len(DEVICE_COLORS)]
            if uw > 0:
                out.append(f'<rect x="{x:.1f}" y="{py}" width="{uw:.1f}" height="{bar_h}" fill="{color}">'
                           f'<title>{e(p.get("device"))}: {e(gb(used))} of {e(gb(cap))}</title></rect>')
            if used > cap > 0:      # over capacity: show the overflow hatched in red
                ow = (used - cap) * px
                out.append(f'<rect x="{x + cw:.1f}" y="{py}" width="{ow:.1f}" height="{bar_h}" '
                           f'fill="none" stroke="#b03a2e" stroke-width="2" stroke-dasharray="4 3"/>')
            if cw > 0:
                out.append(f'<rect x="{x:.1f}" y="{py}" width="{cw:.1f}" height="{bar_h}" fill="none" '
                           f'stroke="{COLORS["capacity"]}" stroke-width="1.5"/>')
                out.append(f'<line x1="{x + cw:.1f}" y1="{y0 - 4}" x2="{x + cw:.1f}" y2="{py + bar_h + 4}" '
                           f'stroke="{COLORS["capacity"]}" stroke-width="1" stroke-dasharray="3 3"/>')
            label = f'{p.get("device", "")}: {gb(used, 1)}' + (f' of {gb(cap, 1)}' if cap > 0 else "")
            out.append(f'<rect x="{left}" y="{ly - 9}" width="9" height="9" fill="{color}"/>')
            out.append(f'<text class="pool-label" x="{left + 14}" y="{ly}" font-size="11" fill="#333">{e(label)}</text>')
            ly += line_h
            x += max(cw, uw)
        y0 += heights[i]
    out.append("</svg>")
    legend = "".join(f'<span><i style="background:{COLORS[k]}"></i>{e(lbl)}</span>' for k, lbl in PARTS)
    legend += '<span><i style="border:1.5px solid #222;width:10px;height:10px"></i>pool capacity (GPU, RAM, ...)</span>'
    return f'<div class="legend">{legend}</div>' + "".join(out)


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    start = math.ceil(lo / step) * step
    ticks, t = [], start
    while t <= hi + 1e-9:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _ctx_label(c: float) -> str:
    c = int(c)
    if c >= 1 << 20 and c % (1 << 20) == 0:
        return f"{c >> 20}M"
    if c >= 1024 and c % 1024 == 0:
        return f"{c // 1024}K"
    return f"{c:,}"


def decode_chart(points: list[dict], width: int = 1000, height: int = 340,
                 marks: tuple = ((20.0, "comfortable"), (8.0, "runs"), (5.0, "practical"))) -> str:
    """Decode speed against context length: the low-high band and the mid line."""
    pts = sorted((p for p in points or [] if _num(p.get("ctx")) > 0), key=lambda p: _num(p["ctx"]))
    if not pts:
        return ""
    left, right, top, bottom = 64, 110, 16, 44
    pw, ph = width - left - right, height - top - bottom
    xs = [_num(p["ctx"]) for p in pts]
    ymax = max(max(_num(p.get("high"), _num(p.get("mid"))) for p in pts), 1.0) * 1.1
    logx = xs[-1] / xs[0] > 8
    x0, x1 = (math.log2(xs[0]), math.log2(xs[-1])) if logx else (xs[0], xs[-1])
    span = (x1 - x0) or 1.0

    def X(c):
        v = math.log2(c) if logx else c
        return left + (v - x0) / span * pw if len(xs) > 1 else left + pw / 2

    def Y(t):
        return top + ph - max(0.0, t) / ymax * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="decode speed against context length">']
    for t in _nice_ticks(0, ymax):
        out.append(f'<line x1="{left}" y1="{Y(t):.1f}" x2="{left + pw}" y2="{Y(t):.1f}" stroke="#ececec"/>')
        out.append(f'<text x="{left - 8}" y="{Y(t) + 4:.1f}" font-size="12" text-anchor="end" fill="#444">{e(rate(t) if t else "0")}</text>')
    for c in xs:
        out.append(f'<line x1="{X(c):.1f}" y1="{top + ph}" x2="{X(c):.1f}" y2="{top + ph + 5}" stroke="#444"/>')
        out.append(f'<text x="{X(c):.1f}" y="{top + ph + 19}" font-size="12" text-anchor="middle" fill="#444">{e(_ctx_label(c))}</text>')
    out.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#444"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#444"/>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 6}" font-size="13" text-anchor="middle">context length (tokens)</text>')
    out.append(f'<text x="16" y="{top + ph / 2:.1f}" font-size="13" text-anchor="middle" '
               f'transform="rotate(-90 16 {top + ph / 2:.1f})">decode tok/s</text>')
    for val, name in marks:
        if val < ymax:
            out.append(f'<line x1="{left}" y1="{Y(val):.1f}" x2="{left + pw}" y2="{Y(val):.1f}" '
                       f'stroke="#888" stroke-dasharray="6 4"/>')
            out.append(f'<text x="{left + pw + 6}" y="{Y(val) + 4:.1f}" font-size="11" fill="#666">{e(name)} {e(rate(val))}</text>')
    upper = [(X(_num(p["ctx"])), Y(_num(p.get("high"), _num(p.get("mid"))))) for p in pts]
    lower = [(X(_num(p["ctx"])), Y(_num(p.get("low"), _num(p.get("mid"))))) for p in reversed(pts)]
    if len(pts) == 1:
        (ux, uy), (lx, ly) = upper[0], lower[0]
        upper, lower = [(ux - 6, uy), (ux + 6, uy)], [(lx + 6, ly), (lx - 6, ly)]
    poly = " ".join(f"{x:.1f},{y:.1f}" for x, y in upper + lower)
    out.append(f'<polygon points="{poly}" fill="{COLORS["band"]}" fill-opacity="0.22" stroke="none">'
               f'<title>low to high estimate</title></polygon>')
    mid = " ".join(f"{X(_num(p['ctx'])):.1f},{Y(_num(p.get('mid'))):.1f}" for p in pts)
    out.append(f'<polyline points="{mid}" fill="none" stroke="{COLORS["mid"]}" stroke-width="3"/>')
    for p in pts:
        out.append(f'<circle cx="{X(_num(p["ctx"])):.1f}" cy="{Y(_num(p.get("mid"))):.1f}" r="4" fill="{COLORS["mid"]}">'
                   f'<title>{e(_ctx_label(_num(p["ctx"])))}: {e(rate(_num(p.get("low"))))}-{e(rate(_num(p.get("high"))))} tok/s</title></circle>')
    out.append("</svg>")
    return "".join(out)


# ---- page -----------------------------------------------------------------------------

def _kv_table(d: dict) -> str:
    if not d:
        return ""
    rows = []
    for k, v in d.items():
        if isinstance(v, (list, tuple)):
            v = ", ".join(str(x.get("name", x)) if isinstance(x, dict) else str(x) for x in v)
        elif isinstance(v, dict):
            v = ", ".join(f"{a}: {b}" for a, b in v.items())
        rows.append(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>")
    return '<table class="kv">' + "".join(rows) + "</table>"


def _decode_cell(d) -> str:
    if not d:
        return "–"
    return f'{e(rate(_num(d.get("low"))))}–{e(rate(_num(d.get("high"))))} <b>({e(rate(_num(d.get("mid"))))})</b>'


def _fits_cell(b: dict) -> str:
    if b.get("mode"):
        return fit_text(b["mode"], bool(b.get("fits")))
    return "yes" if b.get("fits") else "no"


def _builds_table(builds: list[dict], best: str | None) -> str:
    head = ("<tr><th>Build</th><th>File</th><th>Memory at this context</th><th>Fits</th>"
            "<th>Decode tok/s low–high (mid)</th><th>Verdict</th><th>Quality</th></tr>")
    rows = []
    for b in builds:
        label, reasons = _verdict(b.get("verdict"))
        name = e(b.get("name")) + (" ★" if best and b.get("name") == best else "")
        bpw = b.get("bits_per_weight")
        q = (f"{_num(bpw):.2f} bpw. " if bpw is not None else "") + note_text(b.get("quality_note") or "")
        why = "<br>".join(e(r) for r in reasons)
        rows.append(
            f"<tr><td><b>{name}</b></td><td class='num'>{e(gb(_num(b.get('file_bytes')), 1))}</td>"
            f"<td class='num'>{e(gb(_num(b.get('total_bytes')), 1))}</td>"
            f"<td>{e(_fits_cell(b))}</td><td class='num'>{_decode_cell(b.get('decode_tok_s'))}</td>"
            f"<td>{badge(label)}<div style='font-size:12px;color:#555;margin-top:4px'>{why}</div></td>"
            f"<td style='font-size:13px'>{e(q)}</td></tr>")
    return "<table>" + head + "".join(rows) + "</table>"


def _item(x, keys) -> str:
    if isinstance(x, dict):
        parts = [str(x[k]) for k in keys if x.get(k) not in (None, "")]
        return e(" · ".join(parts))
    return e(x)


def _upgrade_item(u) -> str:
    if not isinstance(u, dict):
        return e(u)
    text = str(u.get("label", ""))
    if u.get("cost_usd") is not None:
        text += f": ~${_num(u['cost_usd']):,.0f}"
    extra = ", ".join(str(u[k]) for k in ("note", "price_date") if u.get(k))
    if extra:
        text += f" ({extra})"
    src = u.get("source")
    return e(text) + (f' <a href="{e(src)}">source</a>' if src and str(src).startswith("http") else
                      (f" [{e(src)}]" if src else ""))


def render_html(report: dict) -> str:
    """The whole page as a string (see the module docstring for the input schema)."""
    model = report.get("model") or {}
    rig = report.get("rig") or {}
    builds = list(report.get("builds") or [])
    best = report.get("best")
    if isinstance(best, dict):
        best = best.get("name")
    mname = model.get("name") or model.get("id") or "model"
    rname = rig.get("name") or rig.get("spec") or "this rig"
    title = report.get("title") or f"rigcheck: {mname} on {rname}"
    sub = []
    if report.get("ctx"):
        sub.append(f"context {int(_num(report['ctx'])):,} tokens")
    if report.get("runtime"):
        sub.append(f"runtime {report['runtime']}")
    if report.get("generated"):
        sub.append(f"generated {report['generated']}")
    sub.append("sizes in GB (10^9 bytes)")

    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>{e(title)}</title><meta name='viewport' content='width=device-width'>",
             f"<style>{CSS}</style></head><body><main>",
             f"<h1>{e(title)}</h1><p class='sub'>{e(' · '.join(sub))}</p>"]

    best_b = next((b for b in builds if b.get("name") == best), None)
    if best_b is not None:
        label, reasons = _verdict(best_b.get("verdict"))
        parts.append(f"<div class='best'>Best build: <b>{e(best_b.get('name'))}</b> {badge(label)}"
                     + ("<ul>" + "".join(f"<li>{e(r)}</li>" for r in reasons) + "</ul>" if reasons else "")
                     + "</div>")
    elif builds:
        parts.append("<div class='best' style='border-left-color:#b03a2e'>No build of this model runs well on this rig.</div>")

    if builds:
        parts.append("<h2>Builds</h2>" + _builds_table(builds, best))
        parts.append("<h2>Memory per build</h2>"
                     "<p class='sub'>Top bar: what the memory holds. Boxes below: each memory pool at its "
                     "capacity, filled to what the plan puts there.</p>" + memory_chart(builds))

    dvc = report.get("decode_vs_ctx") or []
    if dvc:
        which = report.get("decode_build") or best or ""
        parts.append("<h2>Decode speed against context length</h2>"
                     + (f"<p class='sub'>Build {e(which)}; the band is the low–high estimate, the line the middle.</p>" if which else "")
                     + decode_chart(dvc))

    cmd_builds = ([best_b] if best_b is not None else []) + [b for b in builds if b is not best_b]
    cmd_html = []
    for b in cmd_builds:
        cmds = b.get("commands") or {}
        if not cmds:
            continue
        block = "".join(f"<div><b>{e(rt)}</b></div><pre>{e(c)}</pre>" for rt, c in cmds.items())
        if b is best_b:
            cmd_html.append(f"<h3>{e(b.get('name'))}</h3>{block}")
        else:
            cmd_html.append(f"<details><summary>{e(b.get('name'))}</summary>{block}</details>")
    if cmd_html:
        parts.append("<h2>Commands</h2>" + "".join(cmd_html))

    alts = report.get("alternatives") or []
    if alts:
        parts.append("<h2>What runs well instead</h2><ul>"
                     + "".join(f"<li>{_item(a, ('model', 'build', 'verdict', 'note'))}</li>" for a in alts) + "</ul>")
    ups = report.get("upgrade") or []
    if ups:
        parts.append("<h2>What it would take</h2><ul>" + "".join(f"<li>{_upgrade_item(u)}</li>" for u in ups) + "</ul>")

    if model:
        parts.append("<h2>Model</h2>" + _kv_table(model))
    if rig:
        parts.append("<h2>Rig</h2>" + _kv_table(rig))
    srcs = report.get("sources") or []
    foot = "Made by rigcheck. Estimates are ranges; every catalogue fact carries its source and date."
    if srcs:
        foot += "<br>Sources: " + "; ".join(e(s) for s in srcs)
    parts.append(f"<footer>{foot}</footer></main></body></html>")
    return "".join(parts)
