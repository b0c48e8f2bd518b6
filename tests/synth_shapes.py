"""Model shapes and context settings drawn at random from a seed, for conformance runs
against real llama.cpp (tests/test_memory_random_shapes.py, bench/memory_conformance.py).

``draw(seed)`` returns (kind, writer keyword arguments, context spec). Ranges (the issue's):
vocabulary 260 to 256k (log-uniform; the synthetic SentencePiece vocabulary needs its 3
specials and 256 byte tokens), n_ff / n_embd from 1 to 8, head dims 64 to 256, heads and
KV heads (GQA groups that divide), dense and MoE with 4 to 64 experts, sliding windows,
MLA; contexts 256 to 16k, micro-batches 32 to 1024, flash attention on and off, f16 and
q8_0 caches, 1 to 4 sequences, unified or not. File sizes stay under ~100 MB so a run of
many seeds fits a small machine.
"""

from __future__ import annotations

import math
import random

KINDS = ("llama", "llama_moe", "qwen3moe", "gemma3", "deepseek2")
MAX_PARAMS = 40_000_000


def _log_uniform(r: random.Random, lo: int, hi: int) -> int:
    return int(round(math.exp(r.uniform(math.log(lo), math.log(hi)))))


def draw(seed: int) -> tuple[str, dict, dict]:
    r = random.Random(seed)
    kind = KINDS[seed % len(KINDS)] if seed < 1000 else r.choice(KINDS)
    n_layer = r.randint(2, 6)
    head_dim = r.choice([64, 80, 96, 128, 160, 192, 256])
    n_head_kv = r.choice([1, 1, 2, 4])
    n_head = n_head_kv * r.choice([1, 2, 4])
    n_embd = r.choice([64, 96, 128, 192, 256, 320, 384, 512])
    ratio = r.uniform(1, 8)
    # the vocabulary: log-uniform, but the two embedding tables must fit the budget
    v_cap = max(260, min(262144, MAX_PARAMS // (3 * n_embd)))
    n_vocab = _log_uniform(r, 260, v_cap)
    kw: dict = dict(n_layer=n_layer, n_vocab=n_vocab, seed=seed)
    if kind in ("llama", "llama_moe"):
        # llama.cpp's llama graph needs head_dim == n_embd / n_head == n_rot
        n_embd = n_head * head_dim
        kw.update(n_embd=n_embd, n_head=n_head, n_head_kv=n_head_kv, n_ff=max(16, int(n_embd * ratio) // 16 * 16))
        if kind == "llama_moe":
            n_expert = r.randint(4, 64)
            kw.update(n_expert=n_expert, n_expert_used=r.randint(1, min(8, n_expert)),
                      n_ff=max(16, int(n_embd * r.uniform(0.25, 2)) // 16 * 16))
        kind = "llama"
    elif kind == "qwen3moe":
        n_expert = r.randint(4, 64)
        kw.update(n_embd=n_embd, n_head=n_head, n_head_kv=n_head_kv, head_dim=head_dim, n_expert=n_expert,
                  n_expert_used=r.randint(1, min(8, n_expert)),
                  n_ff_exp=max(16, int(n_embd * r.uniform(0.25, 2)) // 16 * 16))
    elif kind == "gemma3":
        kw.update(n_embd=n_embd, n_head=n_head, n_head_kv=n_head_kv, head_dim=head_dim,
                  n_ff=max(16, int(n_embd * ratio) // 8 * 8), sliding_window=r.choice([32, 64, 128, 256, 512, 1024]))
        kw["n_layer"] = r.randint(2, 8)
    else:  # deepseek2: MLA + MoE + shared experts, leading dense layers
        n_expert = r.randint(4, 64)
        kw.update(n_embd=n_embd, n_head=r.choice([1, 2, 4, 8]), q_lora_rank=r.choice([32, 64, 128, 256]),
                  kv_lora_rank=r.choice([32, 64, 128, 256, 512]), qk_nope=r.choice([32, 64, 128]),
                  qk_rope=r.choice([16, 32, 64]), v_head_dim=r.choice([32, 64, 128]),
                  n_ff=max(16, int(n_embd * ratio) // 16 * 16), n_ff_exp=max(16, int(n_embd * r.uniform(0.25, 2)) // 16 * 16),
                  n_expert=n_expert, n_expert_used=r.randint(1, min(8, n_expert)), n_shared=r.randint(1, 2),
                  n_dense_lead=r.randint(0, min(2, n_layer - 1)))
    fa = r.random() < 0.7
    widths = [kw.get("head_dim", head_dim if kind == "llama" else 0)]
    if "kv_lora_rank" in kw:
        widths = [kw["kv_lora_rank"] + kw["qk_rope"]]
    q8_ok = all(w % 32 == 0 for w in widths)      # llama.cpp refuses a q8_0 cache whose head rows split a block
    ctx = dict(n_ctx=r.choice([256, 512, 768, 1024, 2048, 3000, 4096, 8192, 16384]),
               n_ubatch=r.choice([32, 64, 128, 256, 512, 512, 1024]), flash_attn=fa,
               type=r.choice(["f16", "q8_0"]) if fa and q8_ok else "f16", n_seq_max=r.choice([1, 1, 1, 2, 4]),
               kv_unified=r.random() < 0.3, swa_full=r.random() < 0.3)
    return kind, kw, ctx
