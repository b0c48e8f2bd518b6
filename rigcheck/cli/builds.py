"""rigcheck builds MODEL: the standard builds of a model with their exact sizes; for a
Hugging Face Hub repo, the files really published there too (read from their headers)."""

from __future__ import annotations

import os

from ..model.resolve import load_model
from ..quant import recipes


def register(sub):
    p = sub.add_parser(
        "builds", help="the standard builds of a model with exact sizes; a Hub repo's published files",
        description="The builds people download for MODEL (llama.cpp types, community and ds4 mixes, "
                    "MXFP4, the native checkpoint, MLX), each with its exact size and bits per weight. "
                    "For a Hugging Face Hub repo (org/name), every GGUF file published there (split "
                    "parts joined) is listed with the exact bytes and types its headers give, marked "
                    "published; for a base repo, the files of the GGUF repos quantized from it too.",
        epilog="Examples:\n"
               "  rigcheck builds deepseek-v4-flash\n"
               "  rigcheck builds qwen3-30b-a3b --json\n"
               "  rigcheck builds model.gguf\n"
               "  rigcheck builds unsloth/gpt-oss-20b-GGUF        # what is really there\n"
               "  rigcheck builds openai/gpt-oss-20b --offline     # from the cache only\n")
    p.add_argument("model", help="catalogue id, Hub repo (org/name[@rev][:file-or-tag]), .gguf, config.json "
                                 "or model folder")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--offline", action="store_true",
                   help="use only rigcheck's Hub cache and the bundled catalogue (as HF_HUB_OFFLINE=1)")
    return p


def _row(b, published: bool) -> dict:
    files = list(b.meta.get("files") or []) if published else []
    r = {"build": b.name, "recipe": b.recipe, "container": b.container, "file_bytes": b.file_bytes,
         "file_gb": round(b.file_bytes / 1e9, 3), "file_gib": round(b.file_bytes / 2**30, 3),
         "bits_per_weight": round(b.bits_per_weight, 4), "header_estimated": b.header_estimated,
         "published": published, "files": files, "notes": list(b.notes)}
    if published and b.meta.get("repo"):
        r["repo"] = b.meta["repo"]
    if published and "header_bytes_read" in b.meta:
        r["header_bytes_read"] = b.meta["header_bytes_read"]       # 0 when answered from the cache
    return r


def published(model) -> list:
    """The published builds of a Hub model (none for other sources)."""
    from ..model.sources import hub_models
    return hub_models.published_builds(model) if hub_models.is_hub_model(model) else []


def rows(model, published_builds=None) -> list[dict]:
    pub = published(model) if published_builds is None else published_builds
    out = [_row(b, True) for b in pub]
    for name in recipes.standard_builds(model):
        if name == "native" and any(b.recipe == "native" for b in pub):
            continue          # the published checkpoint stands for it
        b = recipes.build(model, None if name == "file" else name)
        out.append(_row(b, False))
    return out


def run(args) -> int:
    if getattr(args, "offline", False):
        os.environ["HF_HUB_OFFLINE"] = "1"
    model = load_model(args.model)
    rs = rows(model)
    if args.json:
        from . import emit_json
        emit_json({"model": model.id, "builds": rs})
        return 0
    from ..report.builds_text import render_builds
    print(render_builds(model.id, rs))
    return 0


def with_published(model, names: list[str] | None = None):
    """For 'check': a Hub model's published builds, then the recipe builds whose names
    no published file takes (None for other models: check makes its own builds)."""
    pub = published(model)
    if not pub:
        return None
    from ..plan.check.evaluate import make_builds
    want = {n.lower() for n in names} if names else None
    if want is not None:
        pub = [b for b in pub if b.name.lower() in want or b.name.split(":")[-1].lower() in want]
    taken = {b.name.lower() for b in pub}
    made = [b for b in make_builds(model, names) if b.name.lower() not in taken
            and not (b.recipe == "native" and any(p.recipe == "native" for p in pub))]
    return pub + made
