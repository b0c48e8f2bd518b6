"""The article's hardware tier table for any model: each tier's representative rig
through the reality check, and, for the article's own model, what differs from it."""

from __future__ import annotations

import re

from ... import units
from ...model import Model
from . import BuildCheck, CheckReport, check, make_builds, model_summary
from ...notes import Note


def _article_verdict(text: str) -> str:
    t = text.lower()
    for word in ("not practical", "borderline", "comfortable", "runs", "no"):
        if word in t:
            return word
    return ""


def tiers(model: Model, *, ctx: int | None = None, runtime: str | None = None, thresholds=None) -> dict:
    """Each of the article's hardware tiers on its representative rig: the best build,
    its memory and placement, decode range and verdict. For DeepSeek V4-Flash (the
    article's model) each row also carries the article's claim and, where rigcheck's
    numbers or today's runtime support differ, what differs and the newer source."""
    from ...hardware import parse_rig, tiers as tier_presets
    from ...memory.kv import resolve_ctx

    ctx = resolve_ctx(model, ctx)
    article_model = model.id == "deepseek-v4-flash"
    made = make_builds(model)
    rows = []
    for t in tier_presets():
        rig = parse_rig(t.rigs[0])
        rep = check(model, rig, ctx=ctx, runtime=runtime, alternatives=False, thresholds=thresholds,
                    prebuilt=made)
        best = rep.build(rep.best) if rep.best else None
        row = {"tier": t.id, "label": t.label, "rig": t.rigs[0],
               "best_build": best.name if best else None,
               "runtime": best.runtime if best else None,
               "file_bytes": best.file_bytes if best else None,
               "total_bytes": best.total_bytes if best else None,
               "where": _where_text(best) if best else None,
               "mode": best.mode if best else "no_fit",
               "decode_tok_s": best.decode_tok_s if best else None,
               "verdict": best.verdict if best else "no",
               "reasons": best.reasons if best else ["no build fits this rig at this context"]}
        if article_model:
            row["article"] = {"best": t.article_best_build, "speed": t.article_speed,
                              "verdict": t.article_verdict, "source": t.source}
            row["differences"] = _differences(t, row, rep)
        rows.append(row)
    notes = []
    if article_model:
        notes.append(Note("article_figures", title="Running DeepSeek V4-Flash Locally: The Hardware Reality Check",
                          month="June 2026"))
    return {"model": model_summary(model), "ctx": ctx, "tiers": rows, "notes": notes}


def _where_text(b: BuildCheck) -> str:
    from ..modes import mode
    kinds = [p["kind"] for p in b.placement if p.get("bytes")]
    m = mode(b.mode)
    if m.verdict == "gpu" and kinds.count("gpu") > 1:
        return f"{m.label} ({kinds.count('gpu')} cards)"
    return m.label


def _differences(tier, row: dict, rep: CheckReport) -> list[str]:
    out = []
    av = _article_verdict(tier.article_verdict)
    if av and av != row["verdict"]:
        out.append(f"verdict: rigcheck says '{row['verdict']}', the article '{tier.article_verdict}'"
                   + (f" ({row['reasons'][0]})" if row.get("reasons") else ""))
    nums = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", tier.article_speed)]
    dec = row.get("decode_tok_s")
    if nums and dec:
        lo, hi = min(nums), max(nums)
        if "~" in tier.article_speed or len(nums) == 1:
            lo, hi = lo * 0.8, hi * 1.2
        if dec["high"] < lo or dec["low"] > hi:
            best = rep.build(rep.best)
            ev = best.evidence[0] if best and best.evidence else None
            out.append(f"speed: rigcheck estimates {units.rate(dec['low'])}-{units.rate(dec['high'])} tok/s where "
                       f"the article reported {tier.article_speed.lower()} (early fork builds, June 2026)"
                       + (f"; nearest measurement: {ev.get('decode_tok_s')} tok/s on {ev.get('hardware') or ev.get('rig')}"
                          f" ({ev.get('source')}, {ev.get('date')})" if ev else ""))
    if "fork" in (tier.article_best_build + tier.article_verdict).lower() or tier.id != "tier-32gb-mini-pc":
        for s in rep.support:
            if s["runtime"] in ("llama.cpp", "ollama", "lmstudio") and s["status"] == "mainline" and s.get("since"):
                out.append(f"runtime: the article (June 2026) found only forks; {s['runtime']} runs this "
                           f"architecture in mainline since {s['since']} ({s['source'].split(';')[0].strip()})")
                break
    return out
