"""vLLM: a datacenter server for safetensors builds (BF16, FP8, FP4, AWQ, GPTQ) on CUDA and ROCm.

``--gpu-memory-utilization`` is the share of each GPU's *total* memory vLLM may take
(weights + KV + graphs); the KV cache gets what is left after profiling. Tensor parallel
(``--tensor-parallel-size``) splits every layer across GPUs. Memory rules:
research/runtime-memory.md §6.1-6.2.
"""

from __future__ import annotations

from ..memory import kv_vllm
from ..memory.rules import RuntimeMemory

from . import Runtime, join, split_flags, tp_settings


def command(*, model_id, build_name, build_file, ctx, flags, parallel=None, platform=None,
            tp: int = 1, gpu_memory_utilization: float = 0.92, kv_cache_dtype: str | None = "fp8",
            **_):
    args: list = ["vllm", "serve", build_file or model_id, "--max-model-len", ctx,
                  "--tensor-parallel-size", int(tp),
                  "--gpu-memory-utilization", f"{gpu_memory_utilization:.2f}"]
    if kv_cache_dtype:
        args += ["--kv-cache-dtype", kv_cache_dtype]
    if parallel:
        args += ["--max-num-seqs", int(parallel)]
    args += split_flags(flags)
    return join(args)


def launch_settings(pl) -> dict:
    """Tensor-parallel size, KV cache dtype and gpu_memory_utilization the placement was sized with."""
    out = tp_settings(pl)
    if "gpu_memory_utilization" in (pl.settings or {}):
        out["gpu_memory_utilization"] = pl.settings["gpu_memory_utilization"]
    return out

MEMORY = RuntimeMemory("vllm", layout="vllm", cache_types=kv_vllm.CACHE_TYPES, default_cache_type="auto", parallel=1,
                       split="tp", cpu_offload=False, gpu_memory_utilization=0.92, strategy="tp",
                       source="vllm/config/cache.py, vllm/v1/worker/gpu_worker.py")

RUNTIME = Runtime(
    name="vllm",
    label="vLLM",
    aliases=("v-llm", "vllm-serve"),
    formats=("safetensors",),
    platforms=("cuda", "rocm"),
    homepage="https://github.com/vllm-project/vllm",
    build_command=command,
    memory=MEMORY,
    default_for=("safetensors",),
    launch_settings=launch_settings,
    serve_url="http://127.0.0.1:8000",     # vllm serve --port default
)
