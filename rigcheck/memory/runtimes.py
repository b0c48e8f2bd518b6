"""The memory side of each runtime: its KV cache, sized by the rules its module in
rigcheck/runtimes declares (``RuntimeMemory``, rigcheck.memory.rules).

Defaults, each from the runtime's own code or docs:
- llama.cpp = llama-server: 4 slots with a unified KV cache sized by n_ctx, batch 2048,
  ubatch 512, flash attention on where the backend has it, SWA cache not full, --fit
  margin 1024 MiB per GPU (tools/server, common/common.h, common/arg.cpp).
- Ollama: llama-server with -np OLLAMA_NUM_PARALLEL (1), OLLAMA_KV_CACHE_TYPE f16/q8_0/q4_0,
  457 MiB reserve per CUDA/ROCm GPU and 512 MiB on Metal (ml/device.go), default context
  by VRAM (server/routes.go).
- LM Studio: llama.cpp or MLX engine, one sequence.
- MLX (mlx-lm): bf16 cache in 256-token steps, --kv-bits 2..8.
- vLLM: 16-token pages, kv_cache_dtype auto|fp8, gpu_memory_utilization 0.92 (0.9 before
  2026), max_num_batched_tokens 8192.
- SGLang: token pool, mem_fraction_static by its rule.
- ds4: f32 caches, one sequence, DeepSeek V4 only.
- ik_llama.cpp: llama.cpp's layout and cache types. ktransformers: experts in RAM, the
  rest on the GPU, KV in SGLang's layout (its current server is built on SGLang).
"""

from __future__ import annotations

from ..errors import InputError, UnknownNameError
from ..model.model import Model
from . import kv_ds4, kv_llamacpp, kv_mlx, kv_sglang, kv_vllm
from .cachetypes import check_cache_type
from .kv import KVCache
from .rules import RuntimeMemory


def _table() -> dict[str, RuntimeMemory]:
    """Every runtime's memory rules, as its module declares them (rigcheck.runtimes)."""
    from .. import runtimes
    return {rt.name: rt.memory for rt in runtimes.all_runtimes() if rt.memory is not None}




def get(name: str) -> RuntimeMemory:
    """The memory rules of a runtime; the name (or alias) is resolved by the one runtime
    registry, rigcheck.runtimes, so both agree on what names exist."""
    from .. import runtimes
    canonical = runtimes.get(name).name
    table = _table()
    if canonical not in table:
        raise UnknownNameError("runtime with memory rules", str(name), list(table))
    return table[canonical]


def names() -> list[str]:
    return list(_table())


def check(rt: RuntimeMemory, cache_type: str | None) -> str:
    return check_cache_type(rt.name, cache_type or rt.default_cache_type, rt.cache_types)


def kv_cache(rt: RuntimeMemory | str, model: Model, ctx: int, *, cache_type: str | None = None,
             parallel: int | None = None, ubatch: int | None = None, flash_attn: bool | None = None,
             swa_full: bool = False, tp: int = 1) -> KVCache:
    """The KV cache of ``model`` at ``ctx`` tokens in runtime ``rt``'s own layout, for
    ``parallel`` sequences (the runtime's default when None). For llama.cpp with a
    unified cache the slots share ``ctx`` cells; elsewhere each sequence gets ``ctx``."""
    rt = get(rt) if isinstance(rt, str) else rt
    ct = check(rt, cache_type)
    n = rt.parallel if parallel is None else parallel
    if rt.only_arch and model.arch not in rt.only_arch:
        raise InputError(f"{rt.name} runs {', '.join(rt.only_arch)} models only; {model.id} is '{model.arch}'")
    if rt.layout == "llamacpp":
        unified = rt.kv_unified if parallel is None else (rt.kv_unified and parallel == rt.parallel)
        n_ctx = ctx if unified else ctx * n
        return kv_llamacpp.kv_cache(model, n_ctx, cache_type_k=ct, n_seq_max=n, kv_unified=unified,
                                    n_batch=rt.n_batch, n_ubatch=ubatch or rt.n_ubatch,
                                    flash_attn=rt.flash_attn if flash_attn is None else flash_attn,
                                    swa_full=swa_full, runtime=rt.name)
    if rt.layout == "vllm":
        return kv_vllm.kv_cache(model, ctx, cache_type=ct, n_seq=n, tp=tp, runtime=rt.name)
    if rt.layout == "sglang":
        return kv_sglang.kv_cache(model, ctx, cache_type=ct, n_seq=n, tp=tp, runtime=rt.name)
    if rt.layout == "mlx":
        bits = {"8bit": 8, "4bit": 4}.get(ct)
        return kv_mlx.kv_cache(model, ctx, kv_bits=bits, n_seq=n, runtime=rt.name)
    if rt.layout == "ds4":
        return kv_ds4.kv_cache(model, ctx, runtime=rt.name)
    raise AssertionError(rt.layout)
