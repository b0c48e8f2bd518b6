"""SGLang: a datacenter server for safetensors builds on CUDA and ROCm.

``--mem-fraction-static`` is the share of GPU memory for weights plus the KV pool;
SGLang's own default leaves room for activations and CUDA graphs (about 0.85 on a
24 GB card, 0.84 on an 80 GB H100 per research/runtime-memory.md §6.3).
"""

from __future__ import annotations

from ..memory import kv_sglang
from ..memory.rules import RuntimeMemory

from . import Runtime, join, split_flags


def command(*, model_id, build_name, build_file, ctx, flags, parallel=None, platform=None,
            tp: int = 1, mem_fraction_static: float = 0.85, kv_cache_dtype: str | None = None,
            **_):
    args: list = ["python", "-m", "sglang.launch_server", "--model-path", build_file or model_id,
                  "--tp", int(tp), "--context-length", ctx,
                  "--mem-fraction-static", f"{mem_fraction_static:.2f}"]
    if kv_cache_dtype:
        args += ["--kv-cache-dtype", kv_cache_dtype]
    if parallel:
        args += ["--max-running-requests", int(parallel)]
    args += split_flags(flags)
    return join(args)


MEMORY = RuntimeMemory("sglang", layout="sglang", cache_types=kv_sglang.CACHE_TYPES, default_cache_type="auto",
                       parallel=1, split="tp", cpu_offload=False, strategy="tp",
                       source="sglang python/sglang/srt/server_args.py, model_runner.py")

RUNTIME = Runtime(
    name="sglang",
    label="SGLang",
    aliases=("sg-lang", "sglang-server"),
    formats=("safetensors",),
    platforms=("cuda", "rocm"),
    homepage="https://github.com/sgl-project/sglang",
    build_command=command,
    memory=MEMORY,
    default_for=(),
)
