"""Measure a GGUF file with llama.cpp (through llama-cpp-python), the way llama-bench does:
prefill N tokens in one batch, then decode M tokens one at a time, several repeats.

Tokens are fixed pseudo-random ids from the model's vocabulary (no sampling, no
tokenizer), so the timing is the model's forward pass and nothing else. Peak memory is
the process's peak resident set (getrusage) after each repeat.
"""

from __future__ import annotations

import os
import random
import resource
import sys
import time
from dataclasses import dataclass
from typing import Callable

from ..errors import FormatError, InputError


@dataclass
class FileSample:
    prefill_tok_s: float
    decode_tok_s: float
    peak_rss_bytes: int


def check_gguf(path: str) -> None:
    """One clear line if ``path`` is not a GGUF file (before llama.cpp sees it)."""
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder; give the .gguf file")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise FormatError(f"{path}: not a GGUF model file (it does not start with 'GGUF'); "
                          "'rigcheck bench' measures .gguf files, or a server with --server URL")


def _peak_rss() -> int:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r if sys.platform == "darwin" else r * 1024)


def llama_cpp_version() -> str:
    try:
        import llama_cpp
        return f"llama-cpp-python {llama_cpp.__version__}"
    except Exception:  # noqa: BLE001
        return "llama-cpp-python (unknown version)"


def load(path: str, n_ctx: int, n_threads: int | None = None, n_gpu_layers: int = -1):
    check_gguf(path)
    try:
        from llama_cpp import Llama
    except ImportError as e:
        raise InputError("measuring a .gguf file needs llama-cpp-python: pip install 'rigcheck[bench]'") from e
    try:
        return Llama(model_path=path, n_ctx=n_ctx, n_batch=min(n_ctx, 2048), n_ubatch=min(n_ctx, 512),
                     n_threads=n_threads, n_gpu_layers=n_gpu_layers, verbose=False, logits_all=False)
    except (ValueError, RuntimeError) as e:
        raise FormatError(f"{path}: llama.cpp could not load it ({e})") from e


def run(llm, prefill: int, decode: int, repeats: int, on_sample: Callable[[int, FileSample], None] | None = None,
        progress: Callable[[int, int], None] | None = None, seed: int = 0) -> list[FileSample]:
    """Measure ``repeats`` times; ``on_sample`` is called (e.g. to store it) after each."""
    n_vocab = llm.n_vocab()
    rng = random.Random(seed)
    lo = min(1000, n_vocab // 4)   # stay clear of the special tokens at the start of most vocabularies
    prompt = [rng.randrange(lo, n_vocab) for _ in range(prefill)]
    gen = [rng.randrange(lo, n_vocab) for _ in range(decode)]
    total = repeats * (prefill + decode)
    done = 0
    out = []
    # one warm-up token so the first repeat does not pay for page-ins and kernel setup
    llm.reset()
    llm.eval(prompt[:8])
    for i in range(repeats):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        t1 = time.perf_counter()
        done += prefill
        if progress:
            progress(done, total)
        for tok in gen:
            llm.eval([tok])
            done += 1
            if progress and (done % 4 == 0):
                progress(done, total)
        t2 = time.perf_counter()
        s = FileSample(prefill / (t1 - t0), decode / (t2 - t1), _peak_rss())
        out.append(s)
        if on_sample:
            on_sample(i, s)
    if progress:
        progress(total, total)
    return out
