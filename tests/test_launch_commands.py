"""Each runtime's launch command is built from the sized placement: the cache type, the
tensor-parallel size, the memory fraction and the file or Hub repo in the command are the
ones the placement was sized with (issue 11's user-visible case: a vLLM command with a
'.gguf' file name and an unsized fp8 cache)."""

from __future__ import annotations

import shlex

import pytest

from rigcheck.hardware import get_rig
from rigcheck.memory import buffers
from rigcheck.model.resolve import load_model
from rigcheck.plan.check import launch_commands
from rigcheck.plan.placement import plan
from rigcheck.quant.recipes import build


def _argv(cmd: str) -> list[str]:
    return shlex.split(cmd.splitlines()[-1])


def _opt(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


@pytest.mark.parametrize("rig_spec,cache", [("h100", "auto"), ("h100", "fp8"), ("4x h100", "auto")])
def test_vllm_and_sglang_commands_carry_the_sized_settings(rig_spec, cache):
    model = load_model("llama-3.1-70b-instruct" if rig_spec.startswith("4x") else "qwen3-8b")
    b = build(model, "native")
    rig = get_rig(rig_spec)
    pl = plan(b, ctx=32768, runtime="vllm", rig=rig, cache_type=cache)
    assert pl.fits
    cmds = launch_commands(model, b, rig, 32768, pl)
    v = _argv(cmds["vllm"])
    assert v[:3] == ["vllm", "serve", model.meta["hf_repo"]]        # the card's repo, not a .gguf name
    assert _opt(v, "--tensor-parallel-size") == str(pl.settings["tp"])
    assert _opt(v, "--gpu-memory-utilization") == f"{pl.settings['gpu_memory_utilization']:.2f}"
    assert _opt(v, "--kv-cache-dtype") == (None if cache == "auto" else cache) == (
        None if pl.cache_type == "auto" else pl.cache_type)
    assert _opt(v, "--max-model-len") == "32768"
    if rig_spec.startswith("4x"):
        assert pl.settings["tp"] > 1
    s = _argv(cmds["sglang"])
    assert _opt(s, "--model-path") == model.meta["hf_repo"]
    assert _opt(s, "--tp") == str(pl.settings["tp"])
    cap = rig.node.gpus[0].memory_bytes
    assert _opt(s, "--mem-fraction-static") == f"{buffers.sglang_mem_fraction_static(cap, tp=pl.settings['tp']):.2f}"


def test_sglang_fraction_is_sized_not_fixed():
    """SGLang's reserve grows with the GPU (at least 10 GiB above 60 GiB): its fraction on
    a 24 GB card and on a 141 GB H200 differ, and the commands say so."""
    model = load_model("qwen3-8b")
    b = build(model, "native")
    fracs = set()
    for spec in ("rtx-4090", "h200"):
        rig = get_rig(spec)
        pl = plan(b, ctx=8192, runtime="sglang", rig=rig)
        assert pl.fits
        s = _argv(launch_commands(model, b, rig, 8192, pl)["sglang"])
        assert float(_opt(s, "--mem-fraction-static")) == pytest.approx(pl.settings["mem_fraction_static"], abs=0.005)
        fracs.add(_opt(s, "--mem-fraction-static"))
    assert len(fracs) == 2


def test_llamacpp_family_commands_carry_cache_type_and_placement_flags():
    model = load_model("qwen3-30b-a3b")
    b = build(model, "Q4_K_M")
    rig = get_rig("rtx-3060-12gb+64GB")
    pl = plan(b, ctx=32768, runtime="llama.cpp", rig=rig, cache_type="q8_0")
    assert pl.fits and pl.mode == "experts_in_ram"
    cmds = launch_commands(model, b, rig, 32768, pl)
    a = _argv(cmds["llama.cpp"])
    assert _opt(a, "-m").endswith(f"{b.name}.gguf")
    assert _opt(a, "-ctk") == _opt(a, "-ctv") == "q8_0"
    assert _opt(a, "--n-cpu-moe") == pl.flags[pl.flags.index("--n-cpu-moe") + 1]
    assert _opt(a, "-c") == "32768"
    assert "OLLAMA_KV_CACHE_TYPE=q8_0" in cmds["ollama"]
    f16 = plan(b, ctx=32768, runtime="llama.cpp", rig=rig)
    assert "-ctk" not in _argv(launch_commands(model, b, rig, 32768, f16)["llama.cpp"])
