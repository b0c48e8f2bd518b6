"""Synthetic GGUFs for the memory tests (tests/synth.py's writers, by kind)."""

from __future__ import annotations

import synth


def write(kind: str, path, **kw):
    """kind: llama | qwen3moe | deepseek2 | gemma3; keyword arguments go to synth.write_<kind>."""
    return getattr(synth, f"write_{kind}")(path, **kw)
