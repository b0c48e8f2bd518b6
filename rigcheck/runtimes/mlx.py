"""MLX (mlx-lm) on Apple Silicon: MLX-format builds (``mlx-community/...``, 3/4/6/8-bit).

``mlx_lm.server`` serves an OpenAI-compatible API; the KV cache grows as the context
does, so there is no context flag (``--max-kv-size`` would make a rotating cache that
forgets). When a build needs more than macOS lets the GPU wire by default, the command
raises the limit with ``sysctl iogpu.wired_limit_mb`` first. A fork-only architecture
runs through the fork's package (for DeepSeek V4: mlx-vlm). Memory rules:
research/runtime-memory.md §5.
"""

from __future__ import annotations

from ..memory import kv_mlx
from ..memory.rules import RuntimeMemory

from . import Runtime, join, q, split_flags


def fork_build(repo: str, branch: str, platform: str | None) -> str:
    ref = f"@{branch}" if branch else ""
    return join(["pip", "install", "-U", f"git+{repo}{ref}"])


def command(*, model_id, build_name, build_file, ctx, flags, parallel=None, platform=None,
            fork=None, wired_limit_mb: int | None = None, **_):
    model = build_file or model_id
    lines = []
    if wired_limit_mb:
        lines.append(f"sudo sysctl iogpu.wired_limit_mb={int(wired_limit_mb)}")
    extra = split_flags(flags)
    if fork is not None and fork.fork_repo and "mlx-vlm" in fork.fork_repo:
        lines.append(join(["python", "-m", "mlx_vlm.generate", "--model", model,
                           "--max-tokens", 512, "--prompt", "Hello"] + extra))
        return "\n".join(lines)
    if fork is None:
        lines.append("pip install -U mlx-lm")
    lines.append(join(["mlx_lm.server", "--model", model, "--port", 8080] + extra))
    lines.append(f"# the KV cache grows with the conversation; planned context {int(ctx)} tokens")
    return "\n".join(lines)


MEMORY = RuntimeMemory("mlx", layout="mlx", cache_types=kv_mlx.CACHE_TYPES, default_cache_type="bf16", parallel=1,
                       split="none", cpu_offload=False, needs_apple=True, strategy="whole",
                       source="ml-explore/mlx-lm models/cache.py")

RUNTIME = Runtime(
    name="mlx",
    label="MLX (mlx-lm)",
    aliases=("mlx-lm", "mlx_lm", "mlxlm", "apple-mlx"),
    formats=("mlx",),
    platforms=("metal",),
    homepage="https://github.com/ml-explore/mlx-lm",
    build_command=command,
    fork_build=fork_build,
    memory=MEMORY,
    default_for=("mlx",),
    serve_url="http://127.0.0.1:8080",     # mlx_lm.server --port default (mlx_lm/server.py)
)
