"""`rigcheck` alone: this machine, and the catalogue models that run well on it."""

from __future__ import annotations

HOME_CTX = 8192      # the context the home page checks at


def run_home(args) -> int:
    from ..hardware import detect
    from ..plan.check import rig_summary
    from ..plan.check.alternatives import alternatives_for
    rig = detect()
    rep = {"rig": rig_summary(rig), "ctx": HOME_CTX,
           "models": alternatives_for(None, rig, HOME_CTX, limit=10, max_tries=100)}
    if getattr(args, "json", False):
        from . import emit_json
        emit_json(rep)
        return 0
    from ..report.home_text import render_home
    print(render_home(rep))
    return 0
