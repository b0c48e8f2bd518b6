"""llama.cpp (``llama-server``): GGUF on CUDA, ROCm, Metal, Vulkan, SYCL and CPU.

The command puts every layer on the GPU (``-ngl 999``, unless the plan passes its own
``-ngl``) with flash attention on, and
passes the planner's placement flags through (``--n-cpu-moe N`` or ``-ot REGEX=CPU``
to keep routed experts in system RAM). Without a local file it downloads with
``-hf REPO:QUANT``. Memory rules: research/runtime-memory.md §3.
"""

from __future__ import annotations

from ..memory.buffers import LLAMACPP_FIT_MARGIN
from ..memory.rules import RuntimeMemory, llamacpp_like

from . import Runtime, ggml_fork_build, join, split_flags

_NGL = {"-ngl", "--n-gpu-layers", "--gpu-layers"}
_FA = {"-fa", "--flash-attn"}


def command(*, model_id, build_name, build_file, ctx, flags, parallel=None, platform=None,
            fork=False, binary="llama-server", cache_type: str | None = None, **_):
    exe = f"./build/bin/{binary}" if fork else binary
    args: list = [exe]
    if build_file:
        args += ["-m", build_file]
    else:
        args += ["-hf", f"{model_id}:{build_name}" if build_name else model_id]
    extra = split_flags(flags)
    args += ["-c", ctx]
    if not _NGL & set(extra):
        args += ["-ngl", 999]
    if not _FA & set(extra):
        args += ["--flash-attn", "on"]
    args += extra
    if cache_type and cache_type != "f16":
        k, _, v = cache_type.partition("/")
        args += ["-ctk", k, "-ctv", v or k]
    if parallel:
        args += ["-np", int(parallel)]
    return join(args)


MEMORY = RuntimeMemory("llama.cpp", **llamacpp_like(parallel=4, kv_unified=True, gpu_reserve=LLAMACPP_FIT_MARGIN,
                      source="llama.cpp tools/server/server.cpp, common/common.h, common/arg.cpp"))

RUNTIME = Runtime(
    name="llama.cpp",
    label="llama.cpp",
    aliases=("llamacpp", "llama-cpp", "llama-server", "llama_cpp", "ggml"),
    formats=("gguf",),
    platforms=("cuda", "rocm", "metal", "vulkan", "sycl", "cpu"),
    homepage="https://github.com/ggml-org/llama.cpp",
    build_command=command,
    fork_build=ggml_fork_build,
    memory=MEMORY,
    default_for=("gguf",),
)
