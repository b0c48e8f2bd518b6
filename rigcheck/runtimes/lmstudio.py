"""LM Studio: a desktop app with a llama.cpp engine (GGUF) and, on Macs, an MLX engine.

The ``lms`` CLI downloads (``lms get``) and loads a model with a context length and a
GPU share (``--gpu max|off|0..1``); ``lms load --estimate-only`` prints LM Studio's own
memory estimate. Expert offload is a load setting (``numCpuExpertLayersRatio``) with no
CLI flag. Memory rules: research/runtime-memory.md §7.
"""

from __future__ import annotations

from ..memory.buffers import LLAMACPP_FIT_MARGIN
from ..memory.rules import RuntimeMemory, llamacpp_like

from . import Runtime, join, split_flags


def command(*, model_id, build_name, build_file, ctx, flags, parallel=None, platform=None,
            gpu: str = "max", **_):
    argv = split_flags(flags)
    if "--gpu" in argv and argv.index("--gpu") + 1 < len(argv):
        k = argv.index("--gpu")
        gpu = argv[k + 1]
        argv = argv[:k] + argv[k + 2:]
    lines = []
    if build_file:
        lines.append(join(["lms", "import", build_file]))
        key = build_file.rsplit("/", 1)[-1]
    else:
        key = f"{model_id}@{build_name.lower()}" if build_name else model_id
        lines.append(join(["lms", "get", key]))
    load = ["lms", "load", key, "--context-length", ctx, "--gpu", gpu]
    lines.append(join(load + ["--estimate-only"]))
    lines.append(join(load))
    if argv:
        lines.append("# LM Studio has no CLI flag for: " + join(argv)
                     + " (set 'MoE experts on CPU' in the load settings)")
    return "\n".join(lines)


MEMORY = RuntimeMemory("lmstudio", **llamacpp_like(parallel=1, gpu_reserve=LLAMACPP_FIT_MARGIN,
                      source="LM Studio 0.4 (llama-server engine; MLX engine on Macs)"))

RUNTIME = Runtime(
    name="lmstudio",
    label="LM Studio",
    aliases=("lm-studio", "lm studio", "lms", "lm_studio"),
    formats=("gguf", "mlx"),
    platforms=("cuda", "rocm", "metal", "vulkan", "cpu"),
    homepage="https://lmstudio.ai",
    build_command=command,
    memory=MEMORY,
    default_for=(),
    serve_url="http://127.0.0.1:1234",     # lms server start default port (LM Studio docs)
)
