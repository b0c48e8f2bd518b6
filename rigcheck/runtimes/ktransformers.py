"""KTransformers: CPU+GPU hybrid MoE inference (kt-kernel), served through SGLang.

Attention and shared parts run on the GPU from the original safetensors; routed experts
run on the CPU from converted or GGUF weights (``--kt-weight-path``) with AMX/AVX512
kernels, and ``--kt-num-gpu-experts`` keeps some experts on the GPU. This follows the
kt-kernel tutorials (KTransformers v0.5+, SGLang integration since 2025-10).
"""

from __future__ import annotations

from ..memory import kv_sglang
from ..memory.buffers import MiB
from ..memory.rules import RuntimeMemory

from . import Runtime, join, split_flags


def command(*, model_id, build_name, build_file, ctx, flags, parallel=None, platform=None,
            tp: int = 1, cpu_threads: int | None = None, gpu_experts: int = 0,
            kt_method: str | None = None, **_):
    args: list = ["python", "-m", "sglang.launch_server", "--model", model_id,
                  "--kt-weight-path", build_file or f"./{str(model_id).rsplit('/', 1)[-1]}-cpu-weights",
                  "--kt-num-gpu-experts", int(gpu_experts),
                  "--tp", int(tp), "--context-length", ctx]
    if cpu_threads:
        args += ["--kt-cpuinfer", int(cpu_threads)]
    if kt_method:
        args += ["--kt-method", kt_method]
    if parallel:
        args += ["--max-running-requests", int(parallel)]
    args += split_flags(flags)
    return "pip install -U kt-kernel\n" + join(args)


MEMORY = RuntimeMemory("ktransformers", layout="sglang", cache_types=kv_sglang.CACHE_TYPES,
                       default_cache_type="auto", parallel=1, split="tp", gpu_reserve=1024 * MiB,
                       strategy="tp_experts_in_ram",
                       source="kvcache-ai/ktransformers (experts on CPU, SGLang-based server)")

RUNTIME = Runtime(
    name="ktransformers",
    label="KTransformers",
    aliases=("kt", "kt-kernel", "k-transformers"),
    formats=("safetensors", "gguf"),
    platforms=("cuda", "cpu"),
    homepage="https://github.com/kvcache-ai/ktransformers",
    build_command=command,
    memory=MEMORY,
    default_for=(),
    launch_with_others=False,
    serve_url="http://127.0.0.1:30000",    # it serves through sglang.launch_server
)
