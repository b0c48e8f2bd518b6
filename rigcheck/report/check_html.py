"""The reality check as a self-contained HTML page: CheckReport -> render_html's dict."""

from __future__ import annotations

import datetime as _dt

from .html import render_html
from .jsonout import to_plain


def report_dict(rep) -> dict:
    d = to_plain(rep)
    builds = []
    for b in d["builds"]:
        builds.append(dict(b, verdict={"label": b["verdict"], "reasons": b["reasons"]}))
    best = rep.build(rep.best) if rep.best else None
    return {
        "title": f"rigcheck: {rep.model['id']} on {rep.rig['spec']}",
        "generated": _dt.date.today().isoformat(),
        "ctx": rep.ctx,
        "runtime": best.runtime if best else "",
        "model": dict(rep.model, name=rep.model["id"]),
        "rig": dict(rep.rig, name=rep.rig["spec"]),
        "builds": builds,
        "best": rep.best,
        "alternatives": [{"model": a["model"], "build": a["build"], "verdict": a["verdict"],
                          "note": (f"{a['quality_metric']} {a['quality']:g}" if a.get("quality") is not None else "")}
                         for a in rep.alternatives],
        "upgrade": rep.upgrade,
        "decode_vs_ctx": rep.decode_vs_ctx,
        "decode_build": rep.best,
        "sources": sorted({s["source"].split(";")[0].strip() for s in rep.support if s.get("source")}),
    }


def write_html(rep, path: str) -> None:
    from ..errors import InputError
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(render_html(report_dict(rep)))
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror}") from None
