"""The speed arithmetic, the fit and the measurement catalogue (no network, no GPU)."""

from __future__ import annotations

import math
import random

import pytest

from rigcheck.hardware.spec import parse_rig
from rigcheck.plan.speed import calibrate
from rigcheck.plan.check.data import measurement_rows as load_measurements
from rigcheck.plan.speed.evidence import pools_for
from rigcheck.plan.speed import (DEFAULT, PoolRead, decode_range, decode_seconds, maturity_of,
                                 prefill_flops_per_token, prefill_range, PrefillCase)
from rigcheck.plan.speed.facts import facts_from_build, facts_from_params

GB = 1e9


def gpu(bytes_, bw=1000 * GB, fam="nvidia"):
    return PoolRead(bytes_, bw, "gpu", fam)


def test_decode_is_memory_bound_plus_a_fixed_cost():
    t1 = decode_seconds([gpu(4 * GB)])
    t2 = decode_seconds([gpu(8 * GB)])
    fixed = DEFAULT.fixed_s["nvidia"]
    # the bandwidth part doubles, the fixed part does not
    assert t2 - fixed == pytest.approx(2 * (t1 - fixed))
    assert t1 == pytest.approx(fixed + 4 * GB / (1000 * GB * DEFAULT.eff_of("nvidia", "gpu")))


def test_layer_split_adds_no_speed_tensor_parallel_does():
    one = decode_range([gpu(40 * GB)])
    split = decode_range([gpu(20 * GB), gpu(20 * GB)], parallel="layer")
    tp = decode_range([gpu(20 * GB), gpu(20 * GB)], parallel="tensor")
    assert split.mid <= one.mid
    assert tp.mid > 1.5 * split.mid


def test_experts_in_ram_add_time_per_pool():
    gpu_only = decode_seconds([gpu(2 * GB)])
    hybrid = decode_seconds([gpu(2 * GB), PoolRead(3 * GB, 90 * GB, "ram", "cpu")])
    ram_part = 3 * GB / (90 * GB * DEFAULT.eff_of("cpu", "ram"))
    assert hybrid == pytest.approx(gpu_only + ram_part + DEFAULT.hybrid_s)


def test_streaming_from_disk_collapses_speed():
    ram = decode_range([PoolRead(10 * GB, 90 * GB, "ram", "cpu")])
    disk = decode_range([PoolRead(10 * GB, 7 * GB, "disk", "cpu")])
    assert 10 <= ram.mid / disk.mid <= 60


def test_new_architecture_in_a_fork_runs_below_a_mature_runtime():
    assert maturity_of("deepseek4", "llama.cpp") == "fork"
    assert maturity_of("llama", "llama.cpp") == "mature"
    mature = decode_range([gpu(8 * GB)], maturity="mature")
    fork = decode_range([gpu(8 * GB)], maturity="fork")
    assert fork.mid < 0.7 * mature.mid


def test_range_brackets_mid():
    r = decode_range([gpu(8 * GB)])
    assert r.low < r.mid < r.high


def test_prefill_from_flops():
    flops = prefill_flops_per_token(8e9)
    assert flops == 16e9
    assert prefill_range(PrefillCase(flops, peak_flops=None)) is None
    a = prefill_range(PrefillCase(flops, peak_flops=100e12))
    b = prefill_range(PrefillCase(flops, peak_flops=200e12))
    assert b.mid == pytest.approx(2 * a.mid)
    # weights streamed over PCIe once per micro-batch slow prefill down
    c = prefill_range(PrefillCase(flops, peak_flops=100e12, offloaded_bytes=60e9, link_bandwidth_bytes_s=32e9))
    assert c.mid < a.mid


def test_prefill_quantized_weights_run_at_the_int8_peak():
    """CUDA's MMQ kernels run quantized weights on integer matrix units: a GeForce card whose
    INT8 peak is 4x its FP16-with-FP32-accumulate figure prefills a Q4 model faster than its
    FP16 figure says, and an F16 build of the same model stays at the FP16 figure."""
    q = PrefillCase(16e9, peak_flops=165e12, int8_ops=660e12, backend="cuda")
    f = PrefillCase(16e9, peak_flops=165e12, int8_ops=660e12, backend="cuda", float_weights=True)
    assert q.matrix_peak == 660e12 and f.matrix_peak == 165e12
    assert prefill_range(q).mid == pytest.approx(4 * prefill_range(f).mid)


def test_prefill_int8_peak_only_where_the_kernels_use_integer_matrix_units():
    """ROCm's MMQ and the CPU's int8 dot products use the INT8 figure; Vulkan and SYCL
    dequantize to F16 tiles (FP16 figure), as does a llama.cpp run whose backend nobody named;
    runtimes with their own kernels (vLLM) keep the INT8 convention of the fit."""
    peaks = {}
    for runtime, backend in (("llama.cpp", "cuda"), ("llama.cpp", "rocm"), ("llama.cpp", "cpu"),
                             ("llama.cpp", "vulkan"), ("llama.cpp", "sycl"), ("llama.cpp", "metal"),
                             ("llama.cpp", ""), ("vllm", "")):
        peaks[(runtime, backend)] = PrefillCase(16e9, peak_flops=195e12, int8_ops=389e12, runtime=runtime,
                                                backend=backend).matrix_peak
    assert {k for k, v in peaks.items() if v == 389e12} == {("llama.cpp", "cuda"), ("llama.cpp", "rocm"),
                                                             ("llama.cpp", "cpu"), ("vllm", "")}
    assert all(v == 195e12 for k, v in peaks.items() if k[1] in ("vulkan", "sycl", "metal", "") and k[0] != "vllm")


def test_prefill_attention_reads_the_cache_once_per_block_of_query_rows():
    """Attention at depth also reads the KV cache: attention FLOPs / rows per block bytes per
    prompt token (K+V at F16 x heads per KV head x context = the FLOPs), at the device's
    bandwidth. Less bandwidth, or a backend serving fewer rows a pass (Vulkan's 16 against
    64), costs exactly that traffic's time; without attention the bandwidth changes nothing."""
    from rigcheck.plan.speed import PREFILL_READ_EFF, prefill_seconds, prior_q_rows
    base = dict(gemm_flops=6e9, attn_flops=20e9, peak_flops=60e12, backend="cuda")
    fast = PrefillCase(**base, bandwidth_bytes_s=960e9)
    slow = PrefillCase(**base, bandwidth_bytes_s=256e9)
    extra = 20e9 / prior_q_rows("cuda") / PREFILL_READ_EFF * (1 / 256e9 - 1 / 960e9)
    # the GEMMs' own memory term (prefill_intensity) moves with bandwidth too: take it out
    g = 6e9 / DEFAULT.prefill_intensity * (1 / 256e9 - 1 / 960e9)
    assert prefill_seconds(slow) - prefill_seconds(fast) == pytest.approx(extra + g, rel=1e-9)
    vk = PrefillCase(**{**base, "backend": "vulkan"}, bandwidth_bytes_s=256e9)
    assert prior_q_rows("vulkan") < prior_q_rows("cuda")
    assert prefill_seconds(vk) - prefill_seconds(slow) == pytest.approx(
        20e9 / PREFILL_READ_EFF / 256e9 * (1 / prior_q_rows("vulkan") - 1 / prior_q_rows("cuda")), rel=1e-9)
    # MLX / vLLM / SGLang attention kernels are not llama.cpp's: no such term
    mlx = dict(base, runtime="mlx", backend="")
    assert (prefill_seconds(PrefillCase(**mlx, bandwidth_bytes_s=256e9))
            - prefill_seconds(PrefillCase(**mlx, bandwidth_bytes_s=960e9))) == pytest.approx(g, rel=1e-9)
    no_attn = dict(base, attn_flops=0.0)
    assert (prefill_seconds(PrefillCase(**no_attn, bandwidth_bytes_s=256e9))
            - prefill_seconds(PrefillCase(**no_attn, bandwidth_bytes_s=960e9))) == pytest.approx(g, rel=1e-9)


def test_prefill_a_larger_micro_batch_feeds_each_expert_more_tokens():
    """-ub 2048 gives each routed expert four times the tokens of the default 512: a MoE
    prompt of 2048 tokens runs faster in one micro-batch of 2048, a dense one barely moves."""
    from rigcheck.plan.speed.facts import prompt_case_fields
    moe = facts_from_params(30.5, 3.3, 4.9)
    dense = facts_from_params(8, 8, 4.9)
    t = {}
    for name, f in (("moe", moe), ("dense", dense)):
        for ub in (512, 2048):
            c = PrefillCase(peak_flops=100e12, **prompt_case_fields(f, 2048, 0, ub))
            assert c.batch == ub
            t[(name, ub)] = 1 / prefill_range(c).mid
    assert t[("moe", 2048)] < 0.8 * t[("moe", 512)]
    assert t[("dense", 2048)] == pytest.approx(t[("dense", 512)], rel=0.1)


def test_prefill_moe_experts_see_a_fraction_of_the_batch():
    """A routed expert sees batch x k/E tokens of each micro-batch: at the same active FLOPs a
    MoE prefills slower than a dense model, the more so the sparser its routing."""
    dense = PrefillCase(6e9, peak_flops=100e12)
    moe = PrefillCase(6e9, peak_flops=100e12, expert_share=0.8, expert_frac=8 / 128)
    sparser = PrefillCase(6e9, peak_flops=100e12, expert_share=0.8, expert_frac=4 / 128)
    assert prefill_range(sparser).mid < prefill_range(moe).mid < prefill_range(dense).mid


def test_prefill_attention_grows_with_the_prompt():
    short = PrefillCase(16e9, attn_flops=1e9, peak_flops=100e12)
    long = PrefillCase(16e9, attn_flops=30e9, peak_flops=100e12)
    assert prefill_range(long).mid < prefill_range(short).mid


def test_fit_recovers_known_constants():
    """Samples made by the model itself with chosen constants: the fit must find them."""
    truth = calibrate.Calibration(
        eff={("nvidia", "gpu"): 0.9, ("apple", "unified"): 0.6, ("cpu", "ram"): 0.4},
        fixed_s={"nvidia": 0.002, "apple": 0.006, "cpu": 0.001}, hybrid_s=0.003, hop_s=0.0005,
        tp_s={"pcie": 0.004}, runtime={"mlx": 0.8}, maturity={"mature": 1.0})
    rng = random.Random(1)
    samples = []
    for i in range(400):
        b = rng.uniform(0.5, 40) * GB
        kind = i % 4
        if kind == 0:
            pools, rt = [gpu(b, rng.choice([400, 1000, 2000]) * GB)], "llama.cpp"
        elif kind == 1:
            pools, rt = [PoolRead(b, rng.choice([200, 400, 800]) * GB, "unified", "apple")], rng.choice(["llama.cpp", "mlx"])
        elif kind == 2:
            pools, rt = [PoolRead(b / 8, rng.choice([50, 90, 300]) * GB, "ram", "cpu")], "llama.cpp"
        else:
            pools, rt = [gpu(b / 4), PoolRead(b / 10, 90 * GB, "ram", "cpu")], "llama.cpp"
        t = decode_seconds(pools, rt, calib=truth)
        samples.append(calibrate.Sample(pools, rt, "mature", "single", "pcie", 1 / t, source=f"s{i % 10}"))
    got = calibrate.fit_decode(samples)
    # the data pull every constant from its physical prior to within 10% of the truth
    for key, true in ((("nvidia", "gpu"), 0.9), (("apple", "unified"), 0.6), (("cpu", "ram"), 0.4)):
        assert got.eff[key] == pytest.approx(true, rel=0.10)
        assert abs(got.eff[key] - true) < abs(DEFAULT.eff[key] - true)
    assert got.fixed_s["apple"] == pytest.approx(0.006, rel=0.25)
    assert got.runtime["mlx"] == pytest.approx(0.8, rel=0.15)
    assert abs(got.runtime["mlx"] - 0.8) < abs(1.0 - 0.8)


def test_moe_facts_read_only_the_chosen_experts():
    from rigcheck.model.resolve import load_model
    from rigcheck.quant.recipes import build
    m = load_model("qwen3-30b-a3b")
    f = facts_from_build(m, build(m, "Q4_K_M"))
    assert f.moe and f.expert_frac == pytest.approx(8 / 128)
    assert f.active_weight_bytes == pytest.approx(f.dense_bytes + f.expert_bytes / 16)
    assert f.active_weight_bytes < 0.2 * f.total_bytes
    # KV grows with the context
    assert f.kv_read(8192) == pytest.approx(2 * f.kv_read(4096))


def test_sliding_window_kv_stops_growing():
    from rigcheck.model.resolve import load_model
    from rigcheck.quant.recipes import build
    m = load_model("gemma-3-270m")
    f = facts_from_build(m, build(m, "Q4_K_M"))
    grow_small = f.kv_read(512) - f.kv_read(256)     # the 512-token windows still fill here
    grow_large = f.kv_read(65536) - f.kv_read(65024)
    assert grow_large < grow_small   # windowed layers stop adding KV past their window


def test_pools_for_experts_in_ram():
    f = facts_from_params(120, 5, 4.3)
    rig = parse_rig("rtx-4090+64GB ddr5-6000")
    lay = pools_for(f, rig, "experts=ram", 0)
    kinds = {p.kind: p for p in lay.pools}
    assert kinds["ram"].bytes_per_token == pytest.approx(f.expert_frac * f.expert_bytes)
    assert kinds["gpu"].bytes_per_token == pytest.approx(f.dense_bytes)
    assert kinds["ram"].bandwidth_bytes_s == pytest.approx(96e9)


def test_measurement_catalogue():
    rows = load_measurements()
    assert len(rows) >= 150
    for r in rows:
        assert r.source and r.date, r
        assert r.decode_tok_s is None or r.decode_tok_s > 0
    runtimes = {r.runtime for r in rows}
    assert {"llama.cpp", "mlx", "vllm", "ollama", "ds4"} <= runtimes
    offloads = {r.offload.split(":")[0] for r in rows}
    assert {"none", "split", "tp", "cpu", "experts=ram", "mmap"} <= offloads
    bad = []
    for spec in {r.rig for r in rows}:
        try:
            parse_rig(spec)
        except Exception:  # noqa: BLE001
            bad.append(spec)
    assert len(bad) <= 2, bad


def test_bundled_calibration_is_fitted():
    from rigcheck.plan.check.data import speed_calibration
    cal = speed_calibration()
    assert cal.meta.get("fitted") and cal.meta.get("rows", 0) >= 150
    for (fam, kind), e in cal.eff.items():
        if kind == "attn":      # decode attention: matrix-vector work, a few % of the FP16 peak
            assert 0.005 < e <= 1.0, (fam, kind, e)
            continue
        assert 0.05 < e <= 1.2, (fam, kind, e)
    assert all(0.0005 < v < 0.02 for v in cal.fixed_s.values())


def test_nearest_evidence_ties_newest_first():
    """Rows that share as much with the estimate rank newest first (nearest's docstring)."""
    from rigcheck.plan.speed.evidence import MeasuredRow, nearest
    def row(date, tok):
        return MeasuredRow("qwen3-8b", "Q4_K_M", "llama.cpp", "", "rtx-4090", "none", 4096, tok, None, None,
                           "https://example.org/" + date, date, "")
    rows = [row("2025-03-01", 100.0), row("2026-09-01", 120.0), row("2025-11-15", 110.0)]
    got = nearest(rows, "qwen3-8b", {"rtx-4090"}, "llama.cpp")
    assert [r.date for r in got] == ["2026-09-01", "2025-11-15", "2025-03-01"]


def test_an_input_embedding_lookup_in_ram_is_not_an_offload():
    """llama.cpp keeps token_embd on the CPU: one row a token (a few KiB) read from RAM. The
    range class stays 'gpu' (and the auto placement's range equals the all-on-GPU one); a
    real host share (experts in RAM) is 'hybrid'."""
    from rigcheck.cli import main
    import json
    import io
    from contextlib import redirect_stdout
    from rigcheck.plan.speed import PoolRead, spread_class
    gpu = PoolRead(5e9, 1.8e12, "gpu", "nvidia", "rtx-5090")
    assert spread_class([gpu, PoolRead(1152, 9e10, "ram", "host", "")]) == "gpu"
    assert spread_class([gpu, PoolRead(2e9, 9e10, "ram", "host", "")]) == "hybrid"
    assert spread_class([PoolRead(4e9, 9e10, "ram", "cpu", "")]) == "cpu"

    def est(*extra):
        buf = io.StringIO()
        with redirect_stdout(buf):
            assert main(["estimate", "qwen3-30b-a3b", "--build", "Q4_K_M", "--rig", "rtx-5090+128GB", "--json", *extra]) == 0
        return json.loads(buf.getvalue())
    auto, none = est(), est("--offload", "none")
    assert auto["offload"] == "gpu" and auto["inputs"]["spread_class"] == "gpu"
    ra, rn = auto["decode_tok_s"], none["decode_tok_s"]
    assert ra["high"] / ra["low"] == pytest.approx(rn["high"] / rn["low"], rel=0.02)
