"""LM Studio: a desktop app with a llama.cpp engine (GGUF) and, on Macs, an MLX engine.

The ``lms`` CLI downloads (``lms get``) and loads a model with a context length and a
GPU share (``--gpu max|off|0..1``); ``lms load --estimate-only`` prints LM Studio's own
memory estimate. Expert offload is a load setting (``numCpuExpertLayersRatio``) with no
CLI flag. Memory rules: research/runtime-memory.md §7.
"""

from __future__ import annotations

from ..memory.buffers import LLAMACPP_FIT_MARGIN
from ..memory.rules import RuntimeMemory, llamacpp_like

from . import Runtime, join, split_flags


def hub_get(published: dict) -> tuple[list[str], str]:
    """The lines that fetch a published file and the key 'lms load' takes. LM Studio
    downloads from the repo with a quant qualifier (huggingface.co/docs/hub/lmstudio:
    ``lms get https://huggingface.co/{repo}@{quant}``) and loads split GGUFs as they are;
    a file its tag would not single out (runtimes.tag_picks), or one at another revision,
    is downloaded by path and imported (``lms import``, its first part when split)."""
    from . import at_main, hf_download, tag_picks
    repo, tag, files = published["repo"], published.get("tag") or "", published["files"]
    if tag_picks(published) and at_main(published):
        return [join(["lms", "get", f"https://huggingface.co/{repo}@{tag}"])], f"{repo}@{tag.lower()}"
    return [hf_download(published), join(["lms", "import", files[0]])], files[0].rsplit("/", 1)[-1]


def command(*, model_id, build_name, build_file, ctx, flags, parallel=None, platform=None,
            gpu: str = "max", published: dict | None = None, **_):
    argv = split_flags(flags)
    if "--gpu" in argv and argv.index("--gpu") + 1 < len(argv):
        k = argv.index("--gpu")
        gpu = argv[k + 1]
        argv = argv[:k] + argv[k + 2:]
    lines = []
    if published:
        got, key = hub_get(published)
        lines += got
    elif build_file:
        lines.append(join(["lms", "import", build_file]))
        key = build_file.rsplit("/", 1)[-1]
    else:
        key = f"{model_id}@{build_name.lower()}" if build_name else model_id
        lines.append(join(["lms", "get", key]))
    load = ["lms", "load", key, "--context-length", ctx, "--gpu", gpu]
    lines.append(join(load + ["--estimate-only"]))
    lines.append(join(load))
    if argv:
        lines.append("# LM Studio has no CLI flag for: " + join(argv)
                     + " (set 'MoE experts on CPU' in the load settings)")
    return "\n".join(lines)


MEMORY = RuntimeMemory("lmstudio", **llamacpp_like(parallel=1, gpu_reserve=LLAMACPP_FIT_MARGIN,
                      source="LM Studio 0.4 (llama-server engine; MLX engine on Macs)"))

RUNTIME = Runtime(
    name="lmstudio",
    label="LM Studio",
    aliases=("lm-studio", "lm studio", "lms", "lm_studio"),
    formats=("gguf", "mlx"),
    platforms=("cuda", "rocm", "metal", "vulkan", "cpu"),
    homepage="https://lmstudio.ai",
    build_command=command,
    memory=MEMORY,
    default_for=(),
    serve_url="http://127.0.0.1:1234",     # lms server start default port (LM Studio docs)
)
