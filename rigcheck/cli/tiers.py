"""rigcheck tiers: the article's hardware tier table for any model."""

from __future__ import annotations

from ..runtimes import HELP_NAMES

EPILOG = """Examples:
  rigcheck tiers deepseek-v4-flash
  rigcheck tiers qwen3-235b-a22b --ctx 8192
  rigcheck tiers gpt-oss-120b --json

Tiers (rigcheck rigs lists their rigs): 32 GB mini PC; gaming GPU 24-32 GB plus RAM;
96 GB workstation GPU; 128 GB unified memory; 192-256 GB Mac Studio. Each tier is
evaluated on its representative rig (the first listed).
"""


def register(sub):
    p = sub.add_parser("tiers", help="the article's hardware tier table for any model",
                       description="For each hardware tier: the best build, its memory, where it lives, "
                                   "decode range and verdict.", epilog=EPILOG)
    p.add_argument("model", help="catalogue id or alias, or a model file")
    p.add_argument("--ctx", type=int, help="context length in tokens (default 32768)")
    p.add_argument("--runtime", help=f"evaluate only builds this runtime loads ({HELP_NAMES})")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    return p


def tiers_report(model, *, ctx: int | None = None, runtime: str | None = None) -> dict:
    """The table behind 'tiers --json' (and 'rigcheck serve's /api/tiers)."""
    from ..errors import InputError
    from ..plan.check.tiers import tiers
    from ..config import load_thresholds
    if ctx is not None and ctx <= 0:
        raise InputError(f"--ctx must be a positive number of tokens, not {ctx}")
    return tiers(model, ctx=ctx, runtime=runtime, thresholds=load_thresholds())


def run(args) -> int:
    from ..model.resolve import load_model
    rep = tiers_report(load_model(args.model), ctx=args.ctx, runtime=args.runtime)
    if args.json:
        from . import emit_json
        emit_json(rep)
    else:
        from ..report.tiers_text import render_tiers
        print(render_tiers(rep))
    return 0
