"""ik_llama.cpp: Iwan Kawrakow's llama.cpp fork, strong on CPU+GPU MoE (DeepSeek, GLM).

It is built from source, so the command clones and builds it first. Its own flags:
``-fmoe`` (fused MoE) and ``-mla 3`` for MLA models; flash attention is ``-fa``.
"""

from __future__ import annotations

from ..memory.buffers import LLAMACPP_FIT_MARGIN
from ..memory.rules import RuntimeMemory, llamacpp_like

from . import Runtime, cmake_backend_flag, ggml_cache_settings, join, split_flags

REPO = "https://github.com/ikawrakow/ik_llama.cpp"


def fork_build(repo: str, branch: str, platform: str | None) -> str:
    clone = ["git", "clone"] + (["-b", branch] if branch else []) + [repo]
    flag = cmake_backend_flag(platform)
    return "\n".join([join(clone), "cd ik_llama.cpp",
                      join(["cmake", "-B", "build"] + ([flag] if flag else [])),
                      "cmake --build build --config Release -j"])


def command(*, model_id, build_name, build_file, ctx, flags, parallel=None, platform=None,
            fork=False, mla: bool = False, cache_type: str | None = None, published: dict | None = None, **_):
    extra = split_flags(flags)
    fetch = ""
    if published:            # a published file: downloaded by path (huggingface_hub's hf CLI), all parts
        from . import hf_download
        fetch, build_file = hf_download(published) + "\n", published["files"][0]
    args: list = ["./build/bin/llama-server", "-m", build_file or f"{model_id}-{build_name}.gguf",
                  "-c", ctx]
    if not {"-ngl", "--n-gpu-layers"} & set(extra):
        args += ["-ngl", 999]
    args += ["-fa", "-fmoe"]
    if mla:
        args += ["-mla", 3]
    args += extra
    if cache_type and cache_type != "f16":
        k, _, v = cache_type.partition("/")
        args += ["-ctk", k, "-ctv", v or k]
    if parallel:
        args += ["-np", int(parallel)]
    return fork_build(REPO, "", platform) + "\n" + fetch + join(args)


MEMORY = RuntimeMemory("ik_llama.cpp", **llamacpp_like(parallel=1, gpu_reserve=LLAMACPP_FIT_MARGIN,
                      source="ikawrakow/ik_llama.cpp (llama.cpp fork, same KV layout)"))

RUNTIME = Runtime(
    name="ik_llama.cpp",
    label="ik_llama.cpp",
    aliases=("ik_llama", "ik-llama", "ikllama", "ik_llama_cpp", "ik"),
    formats=("gguf",),
    platforms=("cuda", "cpu", "metal", "vulkan"),
    homepage=REPO,
    build_command=command,
    memory=MEMORY,
    default_for=(),
    launch_settings=ggml_cache_settings,
    placement_flags=True,
    serve_url="http://127.0.0.1:8080",     # its llama-server keeps the upstream --port default
)
