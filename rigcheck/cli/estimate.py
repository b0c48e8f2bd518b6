"""rigcheck estimate: decode and prefill speed of a model build on a rig, as ranges with evidence."""

from __future__ import annotations

from ..runtimes import HELP_NAMES

import argparse

from ..errors import InputError

EPILOG = """Examples:
  rigcheck estimate llama-3.1-8b-instruct --build Q4_K_M --rig rtx-4090
  rigcheck estimate qwen3-30b-a3b --build Q4_K_M --rig m4-max-128 --runtime mlx --ctx 32768
  rigcheck estimate gpt-oss-120b --build MXFP4_MOE --rig rtx-4090+64GB --offload experts=ram
  rigcheck estimate deepseek-v4-flash --build ds4-q2 --rig m3-ultra-256 --runtime ds4 --json
  rigcheck estimate gpt-oss-20b --build MXFP4_MOE --rig strix-halo-128 --backend rocm
  rigcheck estimate llama-3.1-8b-instruct --build Q4_K_M --rig arc-a770 --backend vulkan --os linux
  rigcheck estimate model.gguf --build file                # this machine, a local file
  rigcheck estimate unsloth/gpt-oss-20b-GGUF:Q4_K_M --rig rtx-4090   # a published file, as published

--offload words: auto (default: the placement rigcheck would choose), none, split, tp, cpu,
experts=ram, experts=ram:A/B, layers=ram:A/B, mmap. Your own 'rigcheck bench' results for
the model are shown beside the prediction.
"""



def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("estimate", help="decode / prefill speed as a range, with the measurements behind it",
                              description="Estimate decode and prefill tokens/s for a model build on a rig.",
                              epilog=EPILOG)
    p.add_argument("model", metavar="MODEL", help="catalogue id or a model file")
    p.add_argument("--build", default=None, help="build name (Q4_K_M, MXFP4_MOE, mlx-4bit, ds4-q2, file...); "
                                                "default: the GGUF file itself (a local file, or the Hub file "
                                                "org/name-GGUF:TAG names)")
    p.add_argument("--rig", default=None, help="rig spec (default: this machine)")
    p.add_argument("--runtime", default="llama.cpp", help=f"runtime (default llama.cpp): {HELP_NAMES} (aliases forgiven)")
    p.add_argument("--ctx", type=int, default=None,
                   help="context in tokens at which to decode (default 32768, or the model's maximum)")
    p.add_argument("--offload", default="auto", type=offload_word,
                   help="placement word (default auto): " + ", ".join(OFFLOAD_WORDS))
    add_speed_options(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def add_speed_options(p, command: bool = False) -> None:
    """--backend and --threads, for estimate and check (``command``: check also puts -t N in
    llama.cpp's command)."""
    p.add_argument("--backend", default=None, type=backend_word,
                   help="llama.cpp backend the run uses (cuda, rocm, vulkan, metal, sycl, ipex, cpu); default: the "
                        "runtime's usual one on that device (CUDA on NVIDIA, Metal on Apple), else none named")
    p.add_argument("--os", default=None, type=os_word, dest="os_name", metavar="OS",
                   help="the machine's OS, linux or windows: through Vulkan it names the driver (Linux: Mesa's "
                        "ANV on Intel, RADV on AMD; Windows: the vendor's), which Intel decode and AMD and Intel "
                        "prefill depend on" +
                        ("; default: this machine's OS when no --rig is given" if command else "; default: unknown"))
    p.add_argument("--threads", default=None, type=threads_word,
                   help="CPU threads llama.cpp runs with (-t N" + (", added to its command" if command else "")
                        + "); default: llama.cpp's own, the physical (performance) cores")


OS_NAMES = ("linux", "windows")


def this_os() -> str:
    """This machine's OS as --os names it ('' for any other)."""
    import platform
    name = platform.system().lower()
    return name if name in OS_NAMES else ""


def os_word(text: str) -> str:
    """An --os name, checked: linux or windows (closest suggested)."""
    import difflib
    word = text.strip().lower()
    if word in OS_NAMES:
        return word
    from ..text import shown
    near = difflib.get_close_matches(word, OS_NAMES, n=1)
    raise argparse.ArgumentTypeError(f"unknown OS '{shown(text)}'" + (f"; did you mean {near[0]}?" if near else "")
                                     + " (choose linux or windows)")


def threads_word(text: str) -> int:
    """A --threads count, checked: a whole number from 1 to 4096."""
    word = text.strip()
    if word.isdigit() and 1 <= int(word) <= 4096:
        return int(word)
    from ..text import shown
    raise argparse.ArgumentTypeError(f"--threads takes a whole number of threads from 1 to 4096, not '{shown(text)}'")


def backend_word(text: str) -> str:
    """A --backend name, checked: one of plan.speed.BACKENDS (closest names suggested)."""
    import difflib
    from ..plan.speed import BACKENDS
    word = text.strip().lower()
    if word in BACKENDS:
        return word
    from ..text import shown
    near = difflib.get_close_matches(word, BACKENDS, n=2)
    raise argparse.ArgumentTypeError(f"unknown backend '{shown(text)}'" + (f"; did you mean {' or '.join(near)}?" if near
                                     else "") + f" (choose one of: {', '.join(BACKENDS)})")


OFFLOAD_WORDS = ("auto", "none", "split", "tp", "cpu", "mmap", "experts=ram", "experts=ram:A/B", "layers=ram:A/B")


def offload_word(text: str) -> str:
    """An --offload word, checked (issue 14): one of OFFLOAD_WORDS, A/B a share of layers."""
    import re
    word = text.strip().lower()
    m = re.fullmatch(r"(experts|layers)=ram(?::(\d{1,4})/(\d{1,4}))?", word)
    if word in OFFLOAD_WORDS[:7] or (m and (m.group(2) or m.group(1) == "experts")
                                     and (not m.group(2) or 0 < int(m.group(3)) and int(m.group(2)) <= int(m.group(3)))):
        return word
    from ..text import shown
    raise argparse.ArgumentTypeError(f"unknown placement '{shown(text)}'; choose one of: {', '.join(OFFLOAD_WORDS)} "
                                     "(A of B layers, e.g. experts=ram:36/48)")


def _rig(spec: str | None):
    if spec:
        from ..hardware.spec import parse_rig
        return parse_rig(spec)
    from ..hardware.detect import detect
    return detect(measure_bandwidth=True)


def _auto_offload(model, build, rig, ctx: int, runtime: str = "llama.cpp") -> tuple[str, object | None]:
    """The placement rigcheck would choose (rigcheck.plan.placement): ("", Placement)."""
    from ..plan.placement import plan
    return "", plan(build, ctx=ctx, runtime=runtime, rig=rig)


def run(args) -> int:
    from ..model.resolve import load_model
    from ..plan.speed.estimate import estimate, estimate_offload
    from ..plan.check.data import speed_data
    from ..measure.store import StoreUnavailable, my_measurements
    from ..notes import Note
    from .. import runtimes
    args.runtime = runtimes.get(args.runtime).name     # the one registry: aliases as in every command
    model = load_model(args.model)
    from ..memory.kv import resolve_ctx
    args.ctx = resolve_ctx(model, args.ctx)
    from ..quant.recipes import build as make_build
    from ..model.sources.hub_models import published_build, published_fields
    b = published_build(model, args.build) or make_build(model, args.build)
    rig = _rig(args.rig)
    placement = None
    offload = args.offload
    if offload == "auto":
        offload, placement = _auto_offload(model, b, rig, args.ctx, args.runtime)
    try:
        if placement is not None:
            est = estimate(placement, rig, args.runtime, args.ctx, model, b, backend=args.backend or "",
                           threads=args.threads, os_name=args.os_name or "", **speed_data())
        else:
            est = estimate_offload(model, b, rig, args.runtime, args.ctx, offload, backend=args.backend or "",
                                   threads=args.threads, os_name=args.os_name or "", **speed_data())
    except ValueError as e:
        raise InputError(str(e)) from e
    try:
        mine = my_measurements(model.id, None)
    except StoreUnavailable as e:             # the estimate goes on without them, and says so
        mine = []
        est.notes.append(Note("store_unavailable", error=str(e)))
    out = {"model": model.id, "build": b.name, "rig": rig.spec, "runtime": args.runtime, "ctx": args.ctx,
           "offload": offload or getattr(placement, "mode", ""),
           "decode_tok_s": est.decode_tok_s, "prefill_tok_s": est.prefill_tok_s,
           "evidence": est.evidence, "my_measurements": mine, "inputs": est.inputs, "notes": est.notes,
           **({"published": False} | published_fields(b))}
    if args.json:
        from . import emit_json
        emit_json(out)
        return 0
    from ..report.estimate_text import render_estimate
    print(render_estimate(dict(out, build=b.name + " (published)") if out.get("published") else out, est))
    return 0
