"""Ranges by fallback level (issue 13): an estimate for a device nobody measured stands on its
family's efficiency when other chips of the family were measured, else on the physical priors;
each level prints its own 80% interval, and bench/speed_accuracy.py judges a held-out row only
against intervals built from other groups' held-out errors."""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from types import SimpleNamespace

import pytest

from rigcheck.plan.speed import Calibration, PoolRead, calibrate, decode_range, fallback_level, spread_of

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import speed_accuracy as sa  # noqa: E402

GB = 1e9
CAL = Calibration(eff={("nvidia", "gpu"): 0.8, ("amd-soc", "unified"): 0.7}, fixed_s={"nvidia": 0.003},
                  device_eff={"known": 1.1}, meta={"rows_by": {"family": {"nvidia": 40, "apple": 9}}},
                  spread={"gpu": (-0.2, 0.2), "all": (-0.3, 0.3)}, spread_far={"gpu": (-0.4, 0.3)},
                  spread_none={"gpu": (-0.9, 0.5), "all": (-0.8, 0.6)})


def test_the_level_follows_what_the_fit_measured():
    assert fallback_level(CAL, "known", "nvidia") == "device"
    assert fallback_level(CAL, "rtx-new", "nvidia") == "family"
    assert fallback_level(CAL, "strix-next", "amd-soc") == "none"
    # no family named, or a calibration that does not say which families it had: the far range
    assert fallback_level(CAL, "strix-next", "") == "family"
    assert fallback_level(dataclasses.replace(CAL, meta={}), "strix-next", "amd-soc") == "family"


def test_each_level_prints_its_own_interval():
    assert spread_of(CAL, "gpu", "known", "nvidia") == (-0.2, 0.2)
    assert spread_of(CAL, "gpu", "rtx-new", "nvidia") == (-0.4, 0.3)
    assert spread_of(CAL, "gpu", "strix-next", "amd-soc") == (-0.9, 0.5)
    assert spread_of(CAL, "cpu", "strix-next", "amd-soc") == (-0.8, 0.6)     # the level's overall
    assert spread_of(CAL, "anchored", "strix-next", "amd-soc") == (-0.3, 0.3)
    # a calibration without the level's intervals keeps the far one
    assert spread_of(dataclasses.replace(CAL, spread_none={}), "gpu", "strix-next", "amd-soc") == (-0.4, 0.3)
    soc = decode_range([PoolRead(5 * GB, 256 * GB, "unified", "amd-soc", "strix-next")], calib=CAL)
    gpu = decode_range([PoolRead(5 * GB, 1000 * GB, "gpu", "nvidia", "rtx-new")], calib=CAL)
    assert soc.high / soc.low == pytest.approx(math.exp(1.4))
    assert gpu.high / gpu.low == pytest.approx(math.exp(0.7))


def test_a_real_fit_puts_the_only_chip_of_a_family_at_level_none():
    samples, _ = sa.build_samples()
    strix = [s for s in samples if (s.device or "").startswith("strix-halo")]
    # Strix Halo is the catalogue's only measured AMD SoC (its CPU-only rows are family cpu)
    assert "amd-soc" in {sa.family_of(s) for s in strix}
    assert all(sa.family_of(s) != "amd-soc" for s in samples if s not in strix)
    cal = calibrate.fit([s for s in samples if s not in strix])
    assert fallback_level(cal, "strix-halo-128", "amd-soc") == "none"
    rtx = [s for s in samples if s.device == "rtx-4090"]
    cal = calibrate.fit([s for s in samples if s not in rtx])
    assert fallback_level(cal, "rtx-4090", "nvidia") == "family"
    assert fallback_level(cal, "rtx-3090", "nvidia") == "device"


def _held(group, source, device, meas, pred, level, known=False):
    s = SimpleNamespace(decode_tok_s=meas, source=source, device=device)
    return sa.Held(s, group, pred, "gpu", known, None, level=level)


def _splits(scale_src_a=1.0, scale_src_b=1.0):
    """LOSO, LODO and leave-one-family-out results of 60 rows from sources a..f on devices
    d0..d5; the LODO and family copies of source a's (b's) rows have their errors x scale."""
    loso, lodo, lofo = [], [], []
    for i in range(60):
        src, dev = "abcdef"[i % 6], f"d{i // 10}"
        meas = 100.0
        err = math.exp(0.05 * ((i * 7) % 13 - 6))
        k = scale_src_a if src == "a" else scale_src_b if src == "b" else 1.0
        loso.append(_held(src, src, dev, meas, meas * err, "family"))
        lodo.append(_held(dev, src, dev, meas, meas * err ** k, "family"))
        lofo.append(_held("family:x", src, dev, meas, meas * err ** k, "none"))
    return loso, lodo, lofo


def test_a_rows_range_never_holds_its_own_errors_from_another_split():
    """Coverage of source a's rows under LOSO is judged against intervals from other groups'
    errors: blowing up the LODO and family-split errors of a's own rows changes nothing, while
    doing the same to source b's rows moves a's intervals (so the test can fail)."""
    def cov_a(**kw):
        loso, lodo, lofo = _splits(**kw)
        rows = sa.coverage_rows(loso, loso, lodo, lofo)
        return [(h.s.source, i) for h, i in rows if h.group == "a"], sa.level_tables(loso, lodo, lofo, exclude="a")

    base, t0 = cov_a()
    own, t1 = cov_a(scale_src_a=40.0)
    other, t2 = cov_a(scale_src_b=40.0)
    assert own == base and t1 == t0
    assert t2["family"] != t0["family"] and t2["none"] != t0["none"]
    # the family level takes both splits' family-level errors; 'none' only the family split's
    loso, lodo, lofo = _splits()
    assert sa.level_tables(loso, lodo, None)["none"] == sa.level_tables(loso, lodo, None)["family"]


def test_an_estimate_says_which_level_its_range_stands_on():
    """The real estimate on the shipped calibration: Strix Halo is measured ('device'); with
    its rows and its family's counts taken out of the calibration it falls to 'none', prints
    the unmeasured-family interval and says so in its note."""
    from rigcheck.hardware.spec import parse_rig
    from rigcheck.model.resolve import load_model
    from rigcheck.plan.check.data import speed_calibration
    from rigcheck.plan.speed.estimate import estimate_offload
    from rigcheck.quant.recipes import build as make_build
    from rigcheck.report.notes import text

    real = speed_calibration()
    model = load_model("qwen3-30b-a3b")
    b = make_build(model, "Q4_K_M")
    rig = parse_rig("strix-halo-128")

    def est(cal):
        return estimate_offload(model, b, rig, "llama.cpp", 4096, "none", calib=cal, rows=())

    known = est(real)
    assert known.inputs["range_level"] == "device"
    by = real.meta["rows_by"]
    unseen = dataclasses.replace(
        real, device_eff={k: v for k, v in real.device_eff.items() if not k.startswith("strix-halo")},
        meta={**real.meta, "rows_by": {**by, "family": {k: v for k, v in by["family"].items() if k != "amd-soc"}}})
    e = est(unseen)
    assert e.inputs["range_level"] == "none"
    lo, hi = spread_of(unseen, e.inputs["spread_class"], "strix-halo-128", "amd-soc")
    assert (lo, hi) == tuple(real.spread_none.get(e.inputs["spread_class"]) or real.spread_none["all"])
    d = e.decode_tok_s
    assert math.log(d.low / d.mid) == pytest.approx(min(lo, -0.10)) and math.log(d.high / d.mid) == pytest.approx(max(hi, 0.10))
    note = next(n for n in e.notes if n.code == "generalised")
    assert note.values["level"] == "none" and "families nobody measured" in text(note)
