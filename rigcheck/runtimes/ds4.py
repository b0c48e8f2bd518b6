"""ds4 (DwarfStar 4, antirez/ds4): a standalone engine for DeepSeek V4 Flash only.

It loads only the GGUFs published for it (antirez/deepseek-v4-gguf): routed experts at
2-bit (up/gate IQ2_XXS, down Q2_K; about 81 GB, for 96-128 GB machines) or 4-bit (Q4_K;
about 153 GB, for 256 GB machines), everything else at Q8_0/F16. Metal is the main
target, CUDA is supported (a DGX Spark build and a generic one), ROCm lives in the rocm branch (make rocm).
The command follows the README at commit 8d57664 (2026-05-21): build with make, fetch
the model with download_model.sh (unless a file is given), start ds4-server with ``--ctx``.
"""

from __future__ import annotations

from ..memory import kv_ds4
from ..memory.rules import RuntimeMemory

from ..model.families.archs import with_dedicated_runtime

from . import Runtime, join, split_flags

REPO = "https://github.com/antirez/ds4"

_MAKE = {"metal": "make", "cuda": "make cuda-generic", "cuda-spark": "make cuda-spark", "rocm": "make rocm",
         "cpu": "make cpu"}


def model_target(build_name: str) -> str:
    """download_model.sh target for a build: q4-imatrix for 4-bit experts, else q2-imatrix."""
    return "q4-imatrix" if "q4" in (build_name or "").lower() else "q2-imatrix"


def command(*, model_id, build_name, build_file, ctx, flags, parallel=None, platform=None, **_):
    lines = []
    if platform == "rocm":
        lines.append(join(["git", "clone", "-b", "rocm", REPO]))
    else:
        lines.append(join(["git", "clone", REPO]))
    lines.append("cd ds4")
    lines.append(_MAKE.get(platform or "metal", "make"))
    if not build_file:
        lines.append(f"./download_model.sh {model_target(build_name)}")
    args: list = ["./ds4-server", "--ctx", ctx]
    if build_file:
        args += ["-m", build_file]
    args += split_flags(flags)
    lines.append(join(args))
    return "\n".join(lines)


MEMORY = RuntimeMemory("ds4", layout="ds4", cache_types=kv_ds4.CACHE_TYPES, default_cache_type="f32", parallel=1,
                       split="none", cpu_offload=False, only_arch=with_dedicated_runtime("ds4"), gpu_reserve=0,
                       strategy="whole", source="antirez/ds4 ds4_context_memory_estimate")

RUNTIME = Runtime(
    name="ds4",
    label="ds4",
    aliases=("dwarfstar", "dwarfstar4", "antirez-ds4", "ds-4"),
    formats=("ds4-gguf",),
    platforms=("metal", "cuda", "rocm"),
    homepage=REPO,
    build_command=command,
    only_arches=with_dedicated_runtime("ds4"),
    memory=MEMORY,
    default_for=("ds4-gguf",),
)
