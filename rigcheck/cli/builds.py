"""rigcheck builds MODEL: the standard builds of a model with their exact sizes."""

from __future__ import annotations

from .. import units
from ..model.resolve import load_model
from ..quant import recipes
from ..report.table import table


def register(sub):
    p = sub.add_parser(
        "builds", help="the standard builds of a model with exact sizes",
        description="The builds people download for MODEL (llama.cpp types, community and ds4 mixes, "
                    "MXFP4, the native checkpoint, MLX), each with its exact size and bits per weight.",
        epilog="Examples:\n"
               "  rigcheck builds deepseek-v4-flash\n"
               "  rigcheck builds qwen3-30b-a3b --json\n"
               "  rigcheck builds model.gguf\n")
    p.add_argument("model", help="catalogue id, .gguf, config.json or model folder")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def rows(model) -> list[dict]:
    out = []
    for name in recipes.standard_builds(model):
        b = recipes.build(model, None if name == "file" else name)
        out.append({"build": b.name, "recipe": b.recipe, "container": b.container, "file_bytes": b.file_bytes,
                    "file_gb": round(b.file_bytes / 1e9, 3), "file_gib": round(b.file_bytes / 2**30, 3),
                    "bits_per_weight": round(b.bits_per_weight, 4), "header_estimated": b.header_estimated,
                    "notes": list(b.notes)})
    return out


def run(args) -> int:
    model = load_model(args.model)
    rs = rows(model)
    if args.json:
        from . import emit_json
        emit_json({"model": model.id, "builds": rs})
        return 0
    print(f"{model.id}: standard builds (GB = 10^9 bytes, GiB = 2^30 bytes)")
    print(table([[r["build"], units.gb(r["file_bytes"]), units.gib(r["file_bytes"]), f"{r['bits_per_weight']:.2f}",
                  r["recipe"]] for r in rs], ["build", "GB", "GiB", "bpw", "recipe"], "lrrrl"))
    for r in rs:
        for n in r["notes"]:
            if not n.startswith(("GGUF metadata estimated", "above 50 GB", "safetensors headers")):
                print(f"note ({r['build']}): {n}")
    print("GGUF metadata is estimated for models without a GGUF; files above 50 GB are usually split into shards.")
    return 0
