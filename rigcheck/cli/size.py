"""rigcheck size MODEL --build B: the exact file size of one build, before download."""

from __future__ import annotations

from .. import units
from ..model.resolve import load_model
from ..quant import recipes
from ..quant.summary import size_report
from ..report.table import table


def register(sub):
    p = sub.add_parser(
        "size", help="exact file size of a build (Q4_K_M, mlx-4bit, native, a mix...)",
        description="The exact size of a quantized build of MODEL, from its tensor list: total bytes, "
                    "bits per weight, and bytes by role and by storage type.",
        epilog="Examples:\n"
               "  rigcheck size deepseek-v4-flash --build Q4_K_M\n"
               "  rigcheck size deepseek-v4-flash --build experts=IQ2_XS,default=Q8_0 --json\n"
               "  rigcheck size model.gguf                 # the file as it is\n"
               "  rigcheck size unsloth/gpt-oss-20b-GGUF:Q4_K_M   # a published file, exact\n"
               "  rigcheck size model.gguf --build Q2_K --tensors\n"
               "Builds: " + ", ".join(recipes.build_names()) + ", or role=TYPE mixes "
               "(roles: experts, shared, attn, ffn, embed, output, router, norm, indexer, compressor, default).")
    p.add_argument("model", help="catalogue id, Hub repo (org/name[@rev][:file-or-tag]; a published file is "
                                 "sized from its headers), .gguf, config.json or model folder")
    p.add_argument("--build", "-b", default=None, help="build name or mix (default for a .gguf: the file as is)")
    p.add_argument("--mtp", action="store_true", help="keep multi-token-prediction layers")
    p.add_argument("--tensors", action="store_true", help="list every tensor with its type")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def run(args) -> int:
    model = load_model(args.model)
    from ..model.sources.hub_models import published_build, published_fields
    b = (published_build(model, args.build) if not args.mtp else None) or \
        recipes.build(model, args.build, include_mtp=args.mtp)
    rep = dict(size_report(b, tensors=args.tensors), **({"published": False} | published_fields(b)))
    if args.json:
        from . import emit_json
        emit_json(rep)
        return 0
    from ..report.size_text import render_size
    print(render_size(model.id, b, rep, tensors=args.tensors))
    return 0
