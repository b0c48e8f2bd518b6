"""A runtime's memory rules as plain data: its KV layout, the cache types it accepts,
its defaults, what it keeps free per GPU, and how it places a model. Each runtime module
(rigcheck/runtimes/<name>.py) declares its own ``RuntimeMemory``; rigcheck.memory.runtimes
sizes the KV cache by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RuntimeMemory:
    name: str
    layout: str                      # llamacpp | vllm | sglang | mlx | ds4
    cache_types: tuple[str, ...]
    default_cache_type: str
    parallel: int                    # sequences by default
    kv_unified: bool = False
    n_batch: int = 2048
    n_ubatch: int = 512
    flash_attn: bool = True
    gpu_reserve: int = 0             # kept free per GPU
    split: str = "layer"             # how it uses several GPUs: layer | tp | none
    cpu_offload: bool = True         # can keep weights in system RAM
    gpu_memory_utilization: float = 0.0
    needs_apple: bool = False
    only_arch: tuple[str, ...] = ()
    # how it places a model: llamacpp (layers and experts across GPUs and RAM), tp (tensor
    # parallel on GPUs), tp_experts_in_ram (tensor parallel, routed experts in RAM), whole
    # (the whole model in one GPU or unified pool)
    strategy: str = "llamacpp"
    source: str = ""
    extra: dict = field(default_factory=dict)




def llamacpp_like(**kw) -> dict:
    """The llama.cpp layout and cache types (llama.cpp, ik_llama.cpp, LM Studio's engine)."""
    from .cachetypes import GGML_CACHE_TYPES
    return dict(dict(layout="llamacpp", cache_types=GGML_CACHE_TYPES, default_cache_type="f16"), **kw)
