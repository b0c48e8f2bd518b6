"""Memory: KV caches per attention kind and runtime layout, runtime buffers, OS limits.

    kv.py           the shared words (KVCache, KVPart) and input checks
    kv_llamacpp.py  llama.cpp (also Ollama, LM Studio, ik_llama.cpp)
    kv_vllm.py      vLLM        kv_sglang.py  SGLang     kv_mlx.py  mlx-lm     kv_ds4.py  ds4
    buffers.py      compute / output buffers, per-GPU reserves, vLLM and SGLang budgets
    limits.py       OS limits: macOS wired limit, unified-memory GPU budgets
    runtimes.py     runtime name -> layout, cache types, defaults
"""

from .kv import KVCache, KVPart  # noqa: F401
