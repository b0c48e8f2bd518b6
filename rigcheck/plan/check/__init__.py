"""The reality check: every standard build of a model on one rig, each with its memory,
placement, decode range, quality note, verdict and launch commands; the best choice;
what to run instead; what the next tier costs.

``check(model, rig, ctx=..., runtime=None) -> CheckReport`` is the whole computation;
the CLI renders the report as text, JSON or HTML. ``tiers(model)`` runs the same
evaluation over the article's hardware tiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import InputError, RigcheckError
from ...model import Model
from ...notes import Note
from ...quant.build import Build
from .alternatives import alternatives_for, upgrade_for
from .cluster import best_layout
from .evaluate import (BuildCheck, _evidence_dict, _runtime_for, describe_detected, evaluate,  # noqa: F401
                       headroom_fraction, is_expert_mix, launch_commands, make_builds, model_summary, pick_best,
                       quality_class, rig_summary, speed_options)


@dataclass
class CheckReport:
    model: dict
    rig: dict
    ctx: int
    builds: list[BuildCheck]
    best: str | None
    best_commands: dict[str, str]
    support: list[dict]
    alternatives: list[dict]
    upgrade: list[dict]
    measurements: list[dict]
    notes: list[str]
    decode_vs_ctx: list[dict] = field(default_factory=list)
    # several GPUs or nodes: the best vLLM/SGLang (or llama.cpp RPC) layout over all of them
    # (plan/check/cluster.best_layout), or None
    cluster: dict | None = None

    def build(self, name: str) -> BuildCheck | None:
        return next((b for b in self.builds if b.name == name), None)


def check(model: Model, rig, *, ctx: int | None = None, runtime: str | None = None,
          builds: list[str] | None = None, alternatives: bool = True, thresholds=None,
          curve: bool = False, prebuilt: list[Build] | None = None, mine: list[dict] | None = None,
          notes: list | None = None, speed: dict | None = None) -> CheckReport:
    """``curve=True`` also computes decode speed against context length (for the HTML page).
    ``prebuilt``: the model's builds, already made (the tier table checks one model on
    several rigs and builds it once). ``mine``: the user's own measurements of this model
    (rigcheck bench), read by the caller; ``notes``: the caller's notes for the report;
    ``speed``: the llama.cpp backend and CPU threads the user named (evaluate.speed_options)."""
    from ... import runtimes
    from ...memory.kv import resolve_ctx

    ctx = resolve_ctx(model, ctx)
    if runtime:
        runtime = runtimes.get(runtime).name
    rows: list[BuildCheck] = []
    notes = list(notes or [])
    made = prebuilt if prebuilt is not None else make_builds(model, builds)
    for b in made:
        rt = _runtime_for(b, rig, runtime)
        if rt is None:
            continue
        try:
            rows.append(evaluate(model, b, rig, ctx, rt, thresholds=thresholds, speed=speed))
        except InputError as e:
            notes.append(Note("build_not_evaluated", build=b.name, error=str(e)))
    if not rows:
        raise InputError(f"no build of {model.id} can be evaluated with runtime {runtime or 'any'} on this rig")
    native = next((b for b in made if b.recipe == "native"), None)
    by_name = {b.name: b for b in made}
    for r in rows:
        if r.name in by_name:
            r.quality_class = quality_class(by_name[r.name], native)
    best = pick_best(rows)
    support = [_support_dict(s) for s in runtimes.support_table(model.arch)]
    alts = []
    if alternatives and (best is None or best.rank < 3):
        alts = alternatives_for(model, rig, ctx)
    upg = upgrade_for(rows, rig)
    decode_vs_ctx = speed_vs_ctx(model, next(b for b in made if b.name == best.name), best.runtime, rig, speed) \
        if best and curve else []
    return CheckReport(model_summary(model), rig_summary(rig), ctx, rows, best.name if best else None,
                       dict(best.commands) if best else {}, support, alts, upg, list(mine or []), notes,
                       decode_vs_ctx, best_layout(model, rig, ctx, runtime=runtime))


def _support_dict(s) -> dict:
    return {"runtime": s.runtime, "status": s.status, "since": str(s.since) if s.since else None,
            "version": s.version, "note": s.note, "source": s.source, "checked": str(s.checked or "")}


def speed_vs_ctx(model: Model, b: Build, runtime: str, rig, speed: dict | None = None) -> list[dict]:
    """Decode range of a build at a ladder of context lengths."""
    from ..speed.estimate import estimate
    from .data import speed_data
    from ..placement import plan
    out = []
    top = model.n_ctx_train or 32768
    for ctx in (2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 1048576):
        if ctx > top:
            break
        try:
            pl = plan(b, ctx=ctx, runtime=runtime, rig=rig)
            if not pl.fits:
                break
            r = estimate(pl, rig, runtime, ctx, model, b, **speed_data(), **speed_options(runtime, speed)).decode_tok_s
        except (ValueError, RigcheckError):
            break
        out.append({"ctx": ctx, "low": r.low, "mid": r.mid, "high": r.high})
    return out
