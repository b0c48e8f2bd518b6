"""rigcheck memory MODEL --build B --ctx N: the KV cache, buffers and placement of a build."""

from __future__ import annotations

from ..runtimes import HELP_NAMES

import argparse

from .. import units
from ..errors import InputError


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "memory", help="KV cache, buffers and placement of a build at a context length",
        description="What lives where, and does it fit: weights, KV cache (in the runtime's own layout), "
                    "compute and output buffers and per-GPU reserves, placed on a rig or on plain budgets.",
        epilog="Examples:\n"
               "  rigcheck memory deepseek-v4-flash --build Q2_K --ctx 32768 --rig rtx-5090+128GB\n"
               "  rigcheck memory deepseek-v4-flash --build ds4-q2 --ctx 32768 --runtime ds4 --rig m4-max-128\n"
               "  rigcheck memory qwen3-30b-a3b --build Q4_K_M --ctx 8192 --vram 24GiB --ram 64GB --json\n"
               "  rigcheck memory model.gguf --ctx 4096 --cache-type q8_0 --parallel 1\n")
    p.add_argument("model", help="catalogue id, .gguf, config.json or model folder")
    p.add_argument("--build", "-b", help="build name (default: the GGUF's own types, or Q4_K_M)")
    p.add_argument("--ctx", "-c", type=int, help="context length in tokens (default 32768, or the model's maximum)")
    p.add_argument("--runtime", "-r", default="llama.cpp",
                   help=f"{HELP_NAMES} (aliases forgiven)")
    p.add_argument("--cache-type", "-t", help="KV cache type (llama.cpp: f16, q8_0, ...; vLLM: auto, fp8)")
    p.add_argument("--parallel", "-np", type=int, help="parallel sequences (llama-server default: 4 slots sharing "
                                                         "one unified cache; --parallel 1 for one sequence)")
    p.add_argument("--ubatch", type=int, help="llama.cpp ubatch size (default 512)")
    p.add_argument("--no-flash-attn", action="store_true", help="llama.cpp with flash attention off")
    p.add_argument("--rig", help="rig id or spec, e.g. rtx-5090+128GB, m4-max-128, '2x rtx-3090+64GB' "
                                 "(default: this machine)")
    p.add_argument("--vram", help="one GPU of this size, e.g. 24GB (instead of --rig; memory as sold: GB = GiB)")
    p.add_argument("--ram", help="system RAM, e.g. 64GB, as in a rig spec's +64GB (instead of --rig)")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def _build(model, name):
    try:
        from ..quant import recipes
    except ImportError:      # pragma: no cover - recipes ships with rigcheck
        recipes = None
    if recipes is not None:
        return recipes.build(model, name)
    from ..quant.build import make_build
    return make_build(model, [t.dtype for t in model.tensors], name=name or "file", header_bytes=0)


def run(args) -> int:
    from ..model.resolve import load_model
    from ..plan.placement import plan

    if args.rig and (args.vram or args.ram):
        raise InputError("give either --rig or --vram/--ram, not both")
    model = load_model(args.model)
    from ..model.sources.hub_models import published_build, published_fields
    build = published_build(model, args.build) or _build(model, args.build)
    rig = None
    if args.rig:
        from ..hardware.spec import parse_rig
        rig = parse_rig(args.rig)
    elif not (args.vram or args.ram):
        from ..hardware.detect import detect
        rig = detect()
    vram = units.parse_memory(args.vram, "--vram") if args.vram else None
    ram = units.parse_memory(args.ram, "--ram") if args.ram else None
    from ..memory.kv import resolve_ctx
    pl = plan(build, ctx=resolve_ctx(model, args.ctx), runtime=args.runtime, rig=rig, vram_bytes=vram, ram_bytes=ram,
              cache_type=args.cache_type, parallel=args.parallel,
              flash_attn=False if args.no_flash_attn else None, ubatch=args.ubatch)
    if args.json:
        from . import emit_json
        from ..report.jsonout import to_plain
        emit_json(dict(to_plain(pl), **published_fields(build)) if published_fields(build) else pl)
        return 0
    from ..report.memory_text import render_memory
    print(render_memory(model.id, build.name + (" (published)" if published_fields(build) else ""), pl))
    return 0
