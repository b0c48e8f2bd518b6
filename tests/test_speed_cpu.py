"""CPU decode physics (rigcheck/plan/speed/cpu.py): thread counts, the threads' floor, and how
the estimate, the fit and the CLI use them."""

from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
import pytest

from rigcheck.cli import main
from rigcheck.hardware.catalog import get_device
from rigcheck.hardware.device import Node
from rigcheck.hardware.spec import parse_rig
from rigcheck.model.resolve import load_model
from rigcheck.plan.check.data import catalogue_facts, measurement_rows, speed_data
from rigcheck.plan.speed import DEFAULT, PoolRead, decode_seconds
from rigcheck.plan.speed import cpu
from rigcheck.plan.speed.calibrate import _DecodeDesign
from rigcheck.plan.speed.estimate import estimate_offload
from rigcheck.plan.speed.evidence import pools_for
from rigcheck.quant.recipes import build as make_build

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("RIGCHECK_HOME", str(tmp_path))


@pytest.mark.parametrize("text, n", [("llama-bench tg128; threads=8; fa=1", 8), ("8 threads; pp512 at 16 threads", 8),
                                     ("run with -t 12 on node 0", 12), ("--threads 4", 4), ("thread opened 2024-12", None),
                                     ("", None), ("threads=0", None)])
def test_threads_in_notes(text, n):
    assert cpu.threads_in(text) == n


def test_default_threads_are_llamacpp_cores():
    """llama.cpp's default (common_cpu_get_num_math): performance cores on a hybrid Intel part,
    all physical cores otherwise, both sockets; a detected machine's own count wins."""
    assert cpu.default_threads(parse_rig("core-i9-14900k").node) == 8        # 8P+16E in the catalogue notes
    assert cpu.default_threads(parse_rig("ryzen-9-7950x").node) == 16
    two = parse_rig("2x epyc-9654+768GB").node
    assert cpu.default_threads(two) == 2 * cpu.physical_cores(two.cpu)
    assert cpu.default_threads(Node(cpu=get_device("ryzen-9-7950x"), cpu_threads=2)) == 2
    assert cpu.default_threads(Node()) is None


def test_floor_scales_with_threads_and_dequant_cost():
    w, b = 8e9, 5e9
    one, two = (cpu.floor_seconds(b, w, n, "Q5_K_S", "avx512") for n in (1, 2))
    assert math.isclose(one, 2 * two)
    assert cpu.floor_seconds(b, w, None, "Q5_K_S") == 0.0
    # wider SIMD multiplies faster; an unknown type takes its class's slowest figure
    assert cpu.floor_seconds(b, w, 4, "Q4_K_M", "avx512") < cpu.floor_seconds(b, w, 4, "Q4_K_M", "avx2")
    assert cpu.rate("IQ2_KT", "avx2") == min(cpu.RATE["avx2"].values())
    # with few weights per byte (BF16) a single core is held by its streaming bandwidth
    assert math.isclose(cpu.floor_seconds(16e9, 8e9, 1, "BF16", "avx512"), 16e9 / cpu.PER_CORE_BW)


def test_simd_classes():
    assert cpu.simd_class(get_device("ryzen-9-7950x")) == "avx512"
    assert cpu.simd_class(get_device("core-i9-14900k")) == "avx2"
    assert cpu.simd_class(get_device("xeon-platinum-8480")) == "avx512"
    assert cpu.simd_class(get_device("m2-max-64")) == "neon"
    assert cpu.simd_class(None) == "avx2"


def test_decode_takes_the_slower_of_read_and_floor():
    p = PoolRead(5e9, 80e9, "ram", "cpu", "")
    read = decode_seconds([p], calib=DEFAULT)
    slow = decode_seconds([PoolRead(5e9, 80e9, "ram", "cpu", "", floor_s=10 * read)], calib=DEFAULT)
    fast = decode_seconds([PoolRead(5e9, 80e9, "ram", "cpu", "", floor_s=read / 10)], calib=DEFAULT)
    assert fast == read and slow > 9 * read


def _est(rig, threads, ctx=512, model="llama-3.1-8b-instruct", build="Q5_K_S"):
    m = load_model(model)
    return estimate_offload(m, make_build(m, build), parse_rig(rig), "llama.cpp", ctx, "cpu", threads=threads,
                            **speed_data())


def test_estimate_with_fewer_threads_is_slower_until_bandwidth_binds():
    rig = "core-ultra-9-285k+64GB ddr5-6400"     # no measurements of its own: the model, not an anchor
    mids = [_est(rig, n).decode_tok_s.mid for n in (1, 2, 4, 8)]
    assert mids[0] < mids[1] < mids[2] <= mids[3]
    assert math.isclose(mids[1] / mids[0], 2.0, rel_tol=0.02)    # compute-bound at 1-2 threads
    default = _est(rig, None)
    assert default.inputs["threads"] == 8 and math.isclose(default.decode_tok_s.mid, mids[3])
    # a GPU placement reads no CPU threads
    m = load_model("llama-3.1-8b-instruct")
    gpu = estimate_offload(m, make_build(m, "Q4_K_M"), parse_rig("rtx-4090"), "llama.cpp", 512, "none",
                           **speed_data())
    assert gpu.inputs["threads"] is None


def test_held_out_thread_scaling_of_the_7950x():
    """Mainline llama.cpp on a Ryzen 9 7950X at 1, 2, 4 and 8 threads (ik_llama.cpp PR #132),
    predicted with a calibration fitted without that source: the measured 1-to-4-thread
    speedup (x2.75) is compute-bound at first, then bandwidth-bound; the prediction must show
    the same shape, within 30%. (The floor's Q5_K rate is this source's 1-thread figure; what
    is held out is the bandwidth side, the 7950X's fitted efficiency, and the curve's shape.)"""
    sys.path.insert(0, os.path.join(HERE, "..", "bench"))
    import speed_accuracy
    from rigcheck.plan.speed import calibrate
    samples, _ = speed_accuracy.build_samples()
    src = "https://github.com/ikawrakow/ik_llama.cpp/pull/132"
    held = [s for s in samples if s.source == src and s.meta["row"].rig == "ryzen-9-7950x"
            and s.meta["row"].build == "Q5_K_S" and s.runtime == "llama.cpp"]
    cal = calibrate.fit([s for s in samples if s.source != src], DEFAULT)
    by = {cpu.threads_in(s.meta["row"].notes): s for s in held}
    assert {1, 2, 4, 8} <= set(by), sorted(by)
    pred = {n: 1 / speed_accuracy.t_model(s, cal) for n, s in by.items()}
    meas = {n: s.decode_tok_s for n, s in by.items()}
    assert pred[1] < pred[2] < pred[4]
    ratio = (pred[4] / pred[1]) / (meas[4] / meas[1])
    assert 0.7 < ratio < 1.3, (pred, meas)
    assert math.isclose(pred[8], pred[4], rel_tol=0.02)            # bandwidth-bound past 4 threads


def test_fit_jacobian_with_floors_matches_finite_differences():
    """The fit's analytic Jacobian stays exact where a CPU pool's floor binds (the read term
    then carries no derivative): checked on the catalogue's CPU-only rows."""
    sys.path.insert(0, os.path.join(HERE, "..", "bench"))
    import speed_accuracy
    samples, _ = speed_accuracy.build_samples()
    cpu_rows = [s for s in samples if s.klass == "cpu" and s.decode_tok_s]
    assert any(p.floor_s > 0 for s in cpu_rows for p in s.pools)
    d = _DecodeDesign(cpu_rows)
    th = d.prior + 0.05 * np.sin(np.arange(d.prior.size))
    J = d.jacobian(th)
    r0 = d.residual(th)
    eps = 1e-6
    for j in range(th.size):
        t2 = th.copy()
        t2[j] += eps
        num = (d.residual(t2) - r0) / eps
        assert np.allclose(J[:, j], num, atol=1e-4), j


def test_catalogue_cpu_rows_name_their_threads_where_thread_limited():
    """Every CPU-only catalogue row run with fewer threads than llama.cpp's default says so in
    its notes, and the fit reads the count."""
    rows = [r for r in measurement_rows() if r.offload == "cpu" and "threads" in r.notes.lower()]
    assert rows
    for r in rows:
        n = cpu.threads_in(r.notes)
        assert n and n >= 1, r.notes
        facts = catalogue_facts(r.model, r.build)
        if facts is None:
            continue
        pools = pools_for(facts, parse_rig(r.rig), "cpu", r.context, threads=n).pools
        assert pools[0].floor_s > 0


def test_cli_threads(capsys):
    rc = main(["estimate", "llama-3.1-8b-instruct", "--build", "Q5_K_S", "--rig", "core-ultra-9-285k+64GB ddr5-6400",
               "--offload", "cpu", "--ctx", "512", "--threads", "1", "--json"])
    one = json.loads(capsys.readouterr().out)
    assert rc == 0 and one["inputs"]["threads"] == 1
    assert main(["estimate", "llama-3.1-8b-instruct", "--build", "Q5_K_S", "--rig", "core-ultra-9-285k+64GB ddr5-6400",
                 "--offload", "cpu", "--ctx", "512", "--json"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert default["inputs"]["threads"] == 8
    assert one["decode_tok_s"]["mid"] < default["decode_tok_s"]["mid"]


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5", "99999"])
def test_cli_bad_threads_exit_2(capsys, bad):
    with pytest.raises(SystemExit) as e:
        main(["estimate", "llama-3.1-8b-instruct", "--build", "Q4_K_M", "--rig", "ryzen-9-7950x", "--threads", bad])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--threads" in err and err.count("\n") == 1, err
