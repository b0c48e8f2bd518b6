"""Ollama: GGUF through its bundled llama-server (since 2026-05-29, ollama#16031).

Context length and GPU layers are model parameters, so the command writes a small
Modelfile (``PARAMETER num_ctx``, and ``num_gpu`` when the plan fixes the layer count),
creates a local model from it and runs it. Server-wide settings are environment
variables of ``ollama serve``: ``OLLAMA_FLASH_ATTENTION``, ``OLLAMA_KV_CACHE_TYPE``,
``OLLAMA_NUM_PARALLEL``. Ollama has no switch for expert offload (``--n-cpu-moe``,
``-ot``); llama-server's ``--fit`` decides, and the command says so.
Memory rules: research/runtime-memory.md §4.
"""

from __future__ import annotations

from ..memory.buffers import OLLAMA_MIN_MEMORY
from ..memory.rules import RuntimeMemory

import re

from . import Runtime, join, q, split_flags

_NGL = {"-ngl", "--n-gpu-layers", "--gpu-layers"}


def local_name(model_id: str, build_name: str) -> str:
    """A valid Ollama model name from a repo id and a build name."""
    base = str(model_id).rstrip("/").rsplit("/", 1)[-1]
    name = f"{base}-{build_name}" if build_name else base
    name = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.")
    return name or "model"


def hub_source(published: dict) -> tuple[list[str], str]:
    """Where a published file comes from in the Modelfile, and the lines that fetch it:
    ``hf.co/REPO:TAG`` when the tag names exactly this file (the Hub's Ollama integration,
    huggingface.co/docs/hub/ollama: ``ollama run hf.co/{username}/{repository}:{quantization}``);
    a file the tag would not single out is downloaded and named by path. Ollama loads no
    split GGUF (the Hub answers 'The specified tag is a sharded GGUF. Ollama does not
    support this yet', ollama/ollama#5245): the parts are downloaded and merged into one
    file with llama.cpp's ``llama-gguf-split --merge FIRST OUT`` (tools/gguf-split/README.md)."""
    from . import at_main, hf_download, tag_picks
    files = published["files"]
    if len(files) > 1:
        from ..model.sources.gguf import SPLIT_NAME
        merged = SPLIT_NAME.sub(r"\1.gguf", files[0].rsplit("/", 1)[-1])
        return ([hf_download(published),
                 "# Ollama loads no split GGUF (ollama/ollama#5245): merge the parts into one file",
                 join(["llama-gguf-split", "--merge", files[0], merged])], "./" + merged)
    if tag_picks(published) and at_main(published):
        return [], f"hf.co/{published['repo']}:{published['tag']}"
    return [hf_download(published)], "./" + files[0]      # a path, as the Modelfile docs write one


def command(*, model_id, build_name, build_file, ctx, flags, parallel=None, platform=None,
            kv_cache_type: str | None = None, published: dict | None = None, **_):
    argv = split_flags(flags)
    num_gpu, rest, i = None, [], 0
    while i < len(argv):
        if argv[i] in _NGL and i + 1 < len(argv):
            num_gpu = int(argv[i + 1])
            i += 2
            continue
        rest.append(argv[i])
        i += 1

    pre: list[str] = []
    if published:
        pre, source = hub_source(published)
    elif build_file:
        source = build_file
    elif ":" in str(model_id) and "/" not in str(model_id):
        source = model_id                       # an Ollama library tag, e.g. qwen3:30b-a3b
    else:
        source = f"hf.co/{model_id}:{build_name}" if build_name else f"hf.co/{model_id}"
    name = local_name(model_id, build_name)

    env = ["OLLAMA_FLASH_ATTENTION=1"]
    if kv_cache_type:
        env.append(f"OLLAMA_KV_CACHE_TYPE={q(kv_cache_type)}")
    if parallel:
        env.append(f"OLLAMA_NUM_PARALLEL={int(parallel)}")

    lines = pre + [" ".join(env) + " ollama serve &",
             "cat > Modelfile <<'EOF'",
             f"FROM {source}",
             f"PARAMETER num_ctx {ctx}"]
    if num_gpu is not None:
        lines.append(f"PARAMETER num_gpu {num_gpu}")
    lines += ["EOF",
              join(["ollama", "create", name, "-f", "Modelfile"]),
              join(["ollama", "run", name])]
    if rest:
        lines.append("# Ollama has no option for: " + join(rest)
                     + " (its llama-server --fit decides what goes to the GPU)")
    return "\n".join(lines)


def launch_settings(pl) -> dict:
    """OLLAMA_KV_CACHE_TYPE from the sized cache type (one type for K and V)."""
    cache = pl.cache_type or ""
    return {"kv_cache_type": cache.split("/")[0]} if cache and cache != "f16" else {}

MEMORY = RuntimeMemory("ollama", layout="llamacpp", cache_types=("f16", "q8_0", "q4_0"), default_cache_type="f16",
                       parallel=1, gpu_reserve=OLLAMA_MIN_MEMORY["cuda"],
                       source="ollama llm/llama_server.go, ml/device.go, envconfig/config.go")

RUNTIME = Runtime(
    name="ollama",
    label="Ollama",
    aliases=("ollama-server",),
    formats=("gguf",),
    platforms=("cuda", "rocm", "metal", "vulkan", "cpu"),
    homepage="https://github.com/ollama/ollama",
    build_command=command,
    memory=MEMORY,
    default_for=(),
    launch_settings=launch_settings,
    serve_url="http://127.0.0.1:11434",    # OLLAMA_HOST default (docs/faq.md)
)
