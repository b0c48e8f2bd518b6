"""rigcheck check: the reality check for one model on one rig."""

from __future__ import annotations

from ..runtimes import HELP_NAMES

import argparse

EPILOG = """Examples:
  rigcheck check deepseek-v4-flash --rig rtx-5090+128GB
  rigcheck check deepseek-v4-flash --rig m4-max-128 --ctx 8192
  rigcheck check qwen3-30b-a3b                 # on this machine
  rigcheck check gpt-oss-120b --rig "2x rtx-3090+64GB" --json
  rigcheck check llama-3.1-70b-instruct --rig rtx-4090 --html report.html
  rigcheck check qwen3-30b-a3b --rig rx-7900-xtx --backend vulkan
  rigcheck check qwen3-8b --rig "ryzen-9-7950x+64GB" --threads 8
  rigcheck check qwen3-8b --rig arc-b580 --backend vulkan --os windows

Builds are evaluated with the runtime that loads them (GGUF: llama.cpp, MLX: mlx on Apple,
the native checkpoint: vLLM on NVIDIA/AMD, ds4's files: ds4). Sizes are in GB (10^9 bytes)
and GiB (2^30 bytes), always labelled. Verdicts: no / not practical / borderline / runs /
comfortable; thresholds in 'rigcheck check --help-verdicts' and rigcheck/plan/verdict.py.
"""


def register(sub):
    p = sub.add_parser("check", help="will this model run on this rig: every build, memory, speed, verdict, command",
                       description="The reality check: every standard build of MODEL on RIG (or this machine): "
                                   "file size, memory at the context, where it lives, decode range, quality, "
                                   "verdict, launch commands, what to run instead and what the next tier costs.",
                       epilog=EPILOG)
    p.add_argument("model", nargs="?", help="catalogue id or alias (see 'rigcheck models'), or a .gguf/config.json path")
    p.add_argument("--rig", help="rig spec or catalogue id (see 'rigcheck rigs'); default: this machine")
    p.add_argument("--ctx", type=int, help="context length in tokens (default 32768, or the model's maximum)")
    p.add_argument("--runtime", help=f"evaluate only builds this runtime loads ({HELP_NAMES}; aliases forgiven)")
    p.add_argument("--build", action="append", help="evaluate only this build (repeatable)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
    from .estimate import add_speed_options
    add_speed_options(p, command=True)
    p.add_argument("--help-verdicts", action="store_true", help="print how verdicts are decided and exit")
    return p


def load_rig(spec: str | None):
    from ..hardware import detect, parse_rig
    return parse_rig(spec) if spec else detect()


def check_report(model, rig, *, ctx: int | None = None, runtime: str | None = None,
                 builds: list[str] | None = None, curve: bool = False, prebuilt=None,
                 speed: dict | None = None):
    """The CheckReport behind 'check --json' (and 'rigcheck serve's /api/check): the context
    checked, the user's verdict thresholds, the decode-against-context curve when asked; a
    Hub repo's published files beside the recipe builds; ``speed``: the backend and CPU
    threads the user named."""
    from ..config import load_thresholds
    from ..errors import InputError
    from ..plan.check import check
    from .builds import with_published
    if ctx is not None and ctx <= 0:
        raise InputError(f"--ctx must be a positive number of tokens, not {ctx}")
    if prebuilt is None:
        prebuilt = with_published(model, builds)
    mine, note = my_runs(model.id)
    return check(model, rig, ctx=ctx, runtime=runtime, builds=builds, thresholds=load_thresholds(),
                 curve=curve, mine=mine, notes=[note] if note else [], prebuilt=prebuilt, speed=speed)


def my_runs(model_id: str):
    """The user's own measurements of this model (rigcheck bench) as evidence dicts, and a
    note instead when the results store cannot be read (the check goes on without them)."""
    from ..errors import RigcheckError
    from ..measure.store import my_measurements
    from ..notes import Note
    from ..plan.check.evaluate import _evidence_dict
    try:
        rows = my_measurements(model_id=model_id)
    except (RigcheckError, OSError) as e:
        return [], Note("store_unavailable", error=str(e))
    return [_evidence_dict(r) if not isinstance(r, dict) else r for r in rows], None


def run(args) -> int:
    if args.help_verdicts:
        from ..plan import verdict
        print(verdict.__doc__)
        return 0
    if not args.model:
        from .home import run_home
        return run_home(args)
    from ..model.resolve import load_model
    model = load_model(args.model)
    from .estimate import this_os
    rig = load_rig(args.rig)
    os_name = args.os_name or ("" if args.rig else this_os())      # this machine's OS when it is this machine
    rep = check_report(model, rig, ctx=args.ctx, runtime=args.runtime, builds=args.build,
                       curve=bool(args.html), speed={"backend": args.backend, "threads": args.threads,
                                                     "os_name": os_name})
    if args.html:
        from ..report.check_html import write_html
        write_html(rep, args.html)
    if args.json:
        from . import emit_json
        emit_json(rep)
    else:
        from ..report.check_text import render_check
        print(render_check(rep))
        if args.html:
            print(f"\nHTML report written to {args.html}")
    return 0
