"""Placements: the article's V4-Flash cases at 32K context, plain budgets, the CLI."""

from __future__ import annotations

import json

import pytest

from rigcheck.cli import main
from rigcheck.errors import InputError
from rigcheck.hardware.spec import parse_rig
from rigcheck.model.resolve import load_model
from rigcheck.plan.placement import plan
from rigcheck.quant.recipes import build
from rigcheck.report.notes import text

GiB = 2**30
CTX = 32768


@pytest.fixture(scope="module")
def v4():
    return load_model("deepseek-v4-flash")


def _check_pools(p):
    for u in p.placement:
        assert u.bytes == u.weights_bytes + u.kv_bytes + u.compute_bytes + u.overhead_bytes
        if p.fits and u.kind != "disk" and u.capacity_bytes:
            assert u.bytes <= u.capacity_bytes
    assert p.total_bytes == sum(u.bytes for u in p.placement)


def test_q2k_on_rtx5090_needs_experts_in_ram(v4):
    b = build(v4, "Q2_K")
    assert 100e9 < b.file_bytes < 106e9
    p = plan(b, ctx=CTX, runtime="llama.cpp", rig=parse_rig("rtx-5090+128GB"))
    assert p.fits and p.mode == "experts_in_ram"
    n = int(p.flags[p.flags.index("--n-cpu-moe") + 1])
    assert 1 <= n < v4.n_layer
    _check_pools(p)
    # n is the smallest that fits: one layer fewer in RAM overflows the GPU
    gpu = p.pool("gpu")[0]
    assert gpu.bytes <= 32 * GiB
    per_layer_exps = b.expert_bytes() / v4.n_layer
    assert gpu.bytes + per_layer_exps > 32 * GiB
    # speed helper input: routed experts read at 6/256, so RAM's bytes per token are far below its weights
    ram = p.pool("ram")[0]
    assert 0 < ram.active_bytes_per_token < ram.weights_bytes * 0.1
    ot = [n for n in p.notes if n.code == "experts_in_ram"]
    assert ot and ot[0].values["layers"] == n and "-ot" in text(ot[0])


def test_iq2_xs_xl_fits_on_rtx_pro_6000(v4):
    b = build(v4, "IQ2_XS-XL")
    assert b.file_bytes / GiB == pytest.approx(81, abs=2)
    p = plan(b, ctx=CTX, runtime="llama.cpp", rig=parse_rig("rtx-pro-6000+128GB"))
    assert p.fits and p.mode == "gpu" and p.headroom > 0
    assert p.flags[:2] == ["-ngl", "999"]
    _check_pools(p)


def test_m4_max_ds4_q2_fits_q2k_needs_wired_limit(v4):
    rig = parse_rig("m4-max-128")
    ok = plan(build(v4, "ds4-q2"), ctx=CTX, runtime="ds4", rig=rig)
    assert ok.fits and ok.mode == "unified"
    no = plan(build(v4, "Q2_K"), ctx=CTX, runtime="llama.cpp", rig=rig)
    assert not no.fits
    wired = next(n for n in no.notes if n.code == "wired_limit")
    assert "sudo sysctl iogpu.wired_limit_mb=" in text(wired)
    mb = int(wired.values["command"].split("wired_limit_mb=")[1].split()[0])
    assert 96 * 1024 < mb < 120 * 1024


def test_plain_budgets_and_cpu_only():
    m = load_model("qwen3-30b-a3b")
    b = build(m, "Q4_K_M")
    gpu = plan(b, ctx=8192, vram_bytes=24 * GiB, ram_bytes=64 * GiB, parallel=1)
    assert gpu.fits and gpu.mode in ("gpu", "experts_in_ram")
    small = plan(b, ctx=8192, vram_bytes=8 * GiB, ram_bytes=64 * GiB, parallel=1)
    assert small.fits and small.mode == "experts_in_ram" and "--n-cpu-moe" in small.flags
    cpu = plan(b, ctx=8192, ram_bytes=64 * GiB)
    assert cpu.fits and cpu.mode == "cpu"
    stream = plan(b, ctx=8192, ram_bytes=8 * GiB)
    assert stream.mode == "mmap_stream" and any(u.kind == "disk" for u in stream.placement)


def test_vllm_tensor_parallel():
    """Qwen3-32B in BF16 (61 GiB): 2x RTX 3090 cannot hold it (vLLM keeps weights on the GPUs
    only); 4x can with tensor parallel 4, each GPU holding a quarter."""
    b = build(load_model("qwen3-32b"), "BF16")
    two = plan(b, ctx=8192, runtime="vllm", rig=parse_rig("2x rtx-3090+64GB"))
    assert not two.fits and two.mode == "no_fit"
    four = plan(b, ctx=8192, runtime="vllm", rig=parse_rig("4x rtx-3090+64GB"))
    assert four.fits and four.mode == "multi_gpu" and four.parallel == "tensor"
    assert four.flags == ["--tensor-parallel-size", "4"]
    assert len(four.placement) == 4 and four.placement[0].weights_bytes == b.weights_bytes // 4
    _check_pools(four)


def test_bad_input(v4):
    b = build(v4, "Q2_K")
    with pytest.raises(InputError, match="absurd"):
        plan(b, ctx=1 << 28, vram_bytes=32 * GiB)
    with pytest.raises(InputError, match="valid"):
        plan(b, ctx=CTX, vram_bytes=32 * GiB, cache_type="fp8")
    with pytest.raises(InputError):
        plan(b, ctx=-1, vram_bytes=32 * GiB)


def test_ctx_beyond_trained_is_sized_with_a_warning(capsys):
    """llama.cpp and Ollama accept a context above the trained length (with a warning):
    rigcheck sizes it the same way and warns, with the RoPE-scaling flags."""
    rc = main(["memory", "deepseek-v4-flash", "--build", "Q2_K", "--ctx", "2000000", "--rig", "rtx-5090+128GB",
               "--json"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    assert d["kv_bytes"] > 0 and any(n["code"] == "beyond_train" and "above the 1,048,576 tokens" in n["text"]
                                     and "--rope-scaling yarn" in n["text"] for n in d["notes"])
    rc = main(["memory", "deepseek-v4-flash", "--build", "Q2_K", "--ctx", "1048576", "--rig", "rtx-5090+128GB",
               "--json"])
    assert not any(n["code"] == "beyond_train" for n in json.loads(capsys.readouterr().out)["notes"])


def test_cli_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["memory", "--help"])
    assert "Examples:" in capsys.readouterr().out


def test_cli_json(capsys):
    rc = main(["memory", "deepseek-v4-flash", "--build", "Q2_K", "--ctx", "32768", "--rig", "rtx-5090+128GB", "--json"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    for k in ("weights_bytes", "kv_bytes", "compute_bytes", "overhead_bytes", "total_bytes", "placement", "fits", "flags"):
        assert k in d
    assert {"device", "bytes", "capacity_bytes"} <= set(d["placement"][0])
    assert "--n-cpu-moe" in d["flags"]


@pytest.mark.parametrize("argv,needle", [
    (["--ctx", str(1 << 28)], "absurd"),
    (["--ctx", "4096", "--cache-type", "fp8"], "valid: f32"),
    (["--ctx", "0"], "positive"),
    (["--ctx", "4096", "--parallel", "100000"], "out of range"),
    (["--ctx", "4096", "--vram", "lots"], "cannot read"),
])
def test_cli_bad_input_one_line_exit_2(capsys, argv, needle):
    rc = main(["memory", "deepseek-v4-flash", "--build", "Q2_K", *argv])
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and err.count("\n") == 1


def test_layer_split_follows_each_gpus_memory():
    """llama.cpp splits layers in proportion to GPU memory, so two equal cards carry
    about equal shares (not one full card and one half-empty one)."""
    from rigcheck.hardware import parse_rig
    from rigcheck.model.catalog import model_of
    from rigcheck.plan.placement import plan
    from rigcheck.quant.recipes import build
    b = build(model_of("llama-3.1-70b-instruct"), "Q3_K_M")
    p = plan(b, ctx=8192, rig=parse_rig("2x rtx-3090+64GB"))
    gpus = [u for u in p.placement if u.kind == "gpu"]
    assert p.fits and p.mode == "multi_gpu" and len(gpus) == 2
    a, c = sorted(u.bytes for u in gpus)
    assert a / c > 0.8
    assert "--tensor-split" in p.flags
