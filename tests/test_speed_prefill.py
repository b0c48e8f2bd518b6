"""Prefill estimates (issue 13), tried on real catalogue rows: a setup whose prefill was
measured starts from that measurement; one held out of the fit and of the evidence says what
it generalised from (its device, else its family and backend, with the wider range of a
device nobody measured); the physics terms move the way the hardware says."""

from __future__ import annotations

import dataclasses
import math
import os
import random
import sys

import pytest

from rigcheck.hardware.spec import parse_rig
from rigcheck.model.resolve import load_model
from rigcheck.plan.check.data import catalogue_facts, measurement_rows, speed_calibration
from rigcheck.plan.speed import backend_of, calibrate, device_family
from rigcheck.plan.speed.estimate import estimate_offload
from rigcheck.plan.speed.evidence import prefill_depth
from rigcheck.quant.recipes import build as make_build
from rigcheck.report.notes import text

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import speed_accuracy as sa  # noqa: E402


def _usable(r) -> bool:
    """A row whose prefill the estimate can be asked for as measured: a prompt from an empty
    cache (no pp@depth), all on the accelerators, a catalogue model, the current kernels, a
    device whose compute peak the catalogue knows."""
    return bool(r.fit and r.prefill_tok_s and r.prefill_tokens and r.setup and r.offload == "none"
                and r.date >= "2024-06" and prefill_depth(r.notes, r.context, r.prefill_tokens) == 0
                and r.prefill_tokens <= 4096
                and catalogue_facts(r.model, r.build) is not None
                and parse_rig(r.rig).node.devices[0].fp16_flops)      # a device with no compute peak: no prefill


@pytest.fixture(scope="module")
def rows():
    return measurement_rows()


@pytest.fixture(scope="module")
def samples():
    return sa.build_samples()[0]


def _draw(rows, n, seed):
    pool = sorted((r for r in rows if _usable(r)), key=lambda r: (r.setup, r.prefill_tokens, r.source, r.date))
    return random.Random(seed).sample(pool, min(n, len(pool)))


def _estimate(row, calib, rows):
    model = load_model(row.model)
    b = make_build(model, row.build)
    # the estimate's prompt is min(ctx, 4096) tokens from an empty cache; the backend the row ran
    return estimate_offload(model, b, parse_rig(row.rig), row.runtime, row.prefill_tokens, row.offload, calib=calib,
                            rows=rows, backend=_backend(row))


def _backend(r):
    rig = parse_rig(r.rig)
    return backend_of(r.runtime, device_family(rig.node.devices[0].vendor, rig.node.devices[0].kind), r.version)


def _same(rows, r):
    """The rows the estimate starts from: the setup's prefill figures, those of the row's
    backend when there are any, and of those the ones at the estimate's micro-batch (llama.cpp's
    512, or the prompt if shorter) when there are any."""
    from rigcheck.plan.speed import UBATCH
    from rigcheck.plan.speed.evidence import ubatch_of
    same = [x for x in rows if x.setup == r.setup and x.fit and x.prefill_tok_s and x.prefill_tokens
            and x.date >= "2024-06"]
    same = [x for x in same if _backend(x) == _backend(r)] or same
    asked = min(r.prefill_tokens, UBATCH)
    return [x for x in same if min(x.prefill_tokens, ubatch_of(x.notes)) == asked] or same


def test_a_measured_prefill_lands_on_its_measurement(rows):
    """Asked at the prompt a row measured, the prefill of a setup with one prefill figure is
    that figure (within 10%); of one with several, inside their spread; the note says so."""
    cal = speed_calibration()
    checked = 0
    for r in _draw(rows, 12, seed=13):
        est = _estimate(r, cal, rows)
        same = _same(rows, r)
        assert est.inputs["prefill_basis"] == "measured", (r, est.notes)
        note = next(n for n in est.notes if n.code == "prefill_from_setup")
        assert note.values["rows"] == len(same) and text(note).startswith("prefill from "), est.notes
        figures = {x.prefill_tok_s for x in same}
        # the one figure the estimate starts from: the drawn row's own, or, for a row at another
        # micro-batch than the estimate's, the setup's figure at the estimate's micro-batch
        fig = next(iter(figures))
        if len(figures) == 1 and note.values["before_fp4"]:
            # measured before MXFP4 ran on Blackwell's FP4 tensor cores: moved to today's kernels,
            # faster (by less than the GEMMs' gain), and the note says so
            from rigcheck.plan.speed import NATIVE_FP4_GAIN
            assert fig < est.prefill_tok_s.mid <= NATIVE_FP4_GAIN * 1.10 * fig, r
            assert "FP4 tensor cores (PR #17906)" in text(note), text(note)
        elif len(figures) == 1:
            assert est.prefill_tok_s.mid == pytest.approx(fig, rel=0.10), r
            checked += 1
        else:
            assert 0.5 * min(figures) <= est.prefill_tok_s.mid <= 2.0 * max(figures), (r, figures)
        assert est.prefill_tok_s.low <= est.prefill_tok_s.mid <= est.prefill_tok_s.high
    assert checked >= 3


def test_a_held_out_prefill_is_generalised_and_says_from_what(rows, samples):
    """Every row of a drawn setup held out of the fit and of the evidence: the prefill is the
    model's, the note names the device (or its family and backend), and most land within 2x."""
    drawn = _draw(rows, 10, seed=2026)
    within = 0
    for r in drawn:
        train = [s for s in samples if s.setup != r.setup]
        cal = calibrate.fit(train)
        kept = tuple(x for x in rows if x.setup != r.setup)
        est = _estimate(r, cal, kept)
        assert est.inputs["prefill_basis"] == "model"
        note = next(n for n in est.notes if n.code == "prefill_generalised")
        assert text(note).startswith("no prefill measurement of this setup")
        lead = est.inputs["pools"][0]["device"]
        if note.values["device_rows"]:
            assert lead in text(note) and "own prefill efficiency" in text(note)
        else:
            assert "family" in text(note) and note.values["backend"] in text(note)
        ratio = est.prefill_tok_s.mid / r.prefill_tok_s
        within += 0.5 <= ratio <= 2.0
    assert within >= 0.6 * len(drawn)


def test_a_device_nobody_measured_falls_back_to_its_family_with_a_wider_range(rows, samples):
    """All prefill rows of one device held out: its estimate uses the family/vendor/backend
    efficiency (the note says so) and the far interval, wider than the near one."""
    r = min((x for x in rows if _usable(x) and x.rig == "rx-7900-xtx"), key=lambda x: (x.setup, x.source, x.date))
    dev = "rx-7900-xtx"
    train = [s for s in samples if s.device != dev]
    real = speed_calibration()
    near, far = real.prefill_spread, real.prefill_spread_far
    cal = dataclasses.replace(calibrate.fit(train), prefill_spread=near, prefill_spread_far=far)
    kept = tuple(x for x in rows if dev not in x.devices)
    est = _estimate(r, cal, kept)
    assert dev not in cal.prefill_device
    note = next(n for n in est.notes if n.code == "prefill_generalised")
    assert note.values["device_rows"] == 0 and "has no prefill measurement of its own" in text(note)
    p = est.prefill_tok_s
    assert p.high / p.low == pytest.approx(math.exp(max(far[1], 0.15) - min(far[0], -0.15)), rel=1e-6)
    # with the device's rows in the fit: its own efficiency and the near range, narrower
    own = _estimate(r, dataclasses.replace(calibrate.fit(samples), prefill_spread=near, prefill_spread_far=far),
                    tuple(x for x in rows if x.setup != r.setup))
    assert own.prefill_tok_s.high / own.prefill_tok_s.low == pytest.approx(
        math.exp(max(near[1], 0.15) - min(near[0], -0.15)), rel=1e-6)
    assert far[1] - far[0] > near[1] - near[0]


def test_the_cli_takes_the_backend_and_names_typos(rows, capsys):
    """--backend picks the backend's fitted efficiency (a Strix Halo prefill under ROCm and
    under Vulkan differ); a misspelt one is one line naming the closest, exit status 2."""
    import json
    from rigcheck.cli import main
    mids = {}
    for be in ("rocm", "vulkan"):
        assert main(["estimate", "gpt-oss-20b", "--build", "MXFP4_MOE", "--rig", "strix-halo-128", "--ctx", "512",
                     "--offload", "none", "--backend", be, "--json"]) == 0
        d = json.loads(capsys.readouterr().out)
        assert d["inputs"]["backend"] == be
        mids[be] = d["prefill_tok_s"]["mid"]
    assert mids["rocm"] != pytest.approx(mids["vulkan"], rel=0.02)
    with pytest.raises(SystemExit) as e:
        main(["estimate", "gpt-oss-20b", "--build", "MXFP4_MOE", "--rig", "strix-halo-128", "--backend", "vulcan"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "vulkan" in err[-1] and "Traceback" not in "\n".join(err)


def test_a_held_out_micro_batch_sweep_moves_as_the_expert_batch_says(samples):
    """PR #24546's RX 7900 XTX ROCm sweep of one MoE prompt (gemma 4 26B-A4B Q6_K, pp2048 at
    -ub 64, 512, 1024), held out of the fit: the model's speed-up from the larger micro-batch
    (each routed expert sees k/E of it) has the measured direction and size."""
    sweep = sorted((s for s in samples if "pull/24546" in s.source and s.meta["row"].model == "gemma-4-26b-a4b"),
                   key=lambda s: s.prefill_case.batch)
    assert [s.prefill_case.batch for s in sweep] == [64, 512, 1024]
    cal = calibrate.fit([s for s in samples if s.source != sweep[0].source])
    from rigcheck.plan.speed import prefill_seconds
    pred = [1 / prefill_seconds(s.prefill_case, cal) for s in sweep]
    meas = [s.prefill_tok_s for s in sweep]
    assert pred[0] < pred[1] < pred[2]
    up_pred, up_meas = pred[2] / pred[1], meas[2] / meas[1]
    assert up_pred == pytest.approx(up_meas, rel=0.25)
    assert 0.5 < (pred[1] / pred[0]) / (meas[1] / meas[0]) < 2.0


def test_mxfp4_on_blackwell_fp4_tensor_cores_is_the_native_path():
    """MXFP4 weights on a compute-capability-12 Blackwell part (FP4 tensor cores, no HBM) run
    llama.cpp's native FP4 MMA (speed.NATIVE_FP4_GAIN): an estimate of gpt-oss-20b on an
    RTX 5090 or a DGX Spark takes it, the same model on an RTX 4090 (no FP4), a B200 (HBM,
    CC 10.x), through Vulkan or in a Q4_K_M build does not, nor does a run dated before the PR."""
    from rigcheck.hardware.catalog import get_device
    from rigcheck.plan.speed import NATIVE_FP4_GAIN, native_fp4, prefill_seconds
    from rigcheck.plan.speed.evidence import device_fp4, pools_for, prefill_case
    from rigcheck.plan.speed.facts import facts_from_build
    assert device_fp4(get_device("rtx-5090")) and device_fp4(get_device("dgx-spark"))
    assert not device_fp4(get_device("rtx-4090")) and not device_fp4(get_device("b200"))
    assert native_fp4("llama.cpp", "cuda", "MXFP4_MOE", True)
    assert not native_fp4("llama.cpp", "vulkan", "MXFP4_MOE", True)
    assert not native_fp4("llama.cpp", "cuda", "Q4_K_M", True)
    assert not native_fp4("vllm", "cuda", "MXFP4_MOE", True)
    assert not native_fp4("llama.cpp", "cuda", "MXFP4_MOE", True, date="2025-08")
    assert native_fp4("llama.cpp", "cuda", "MXFP4_MOE", True, date="2025-12-19", version="b7486 + native MXFP4 PR")
    cal = speed_calibration()
    model = load_model("gpt-oss-20b")
    b = make_build(model, "MXFP4_MOE")
    facts = facts_from_build(model, b)
    for rig, native in (("rtx-5090", True), ("dgx-spark", True), ("rtx-4090", False), ("b200", False)):
        est = estimate_offload(model, b, parse_rig(rig), "llama.cpp", 4096, "none", calib=cal, rows=())
        lay = pools_for(facts, parse_rig(rig), "none", 4096)
        case = prefill_case(facts, lay, "llama.cpp", "cuda", "mature", 4096)
        assert case.fp4_mma is native, rig
        plain = dataclasses.replace(case, fp4_mma=False)
        ratio = prefill_seconds(plain, cal) / prefill_seconds(case, cal)
        if not native:
            assert ratio == pytest.approx(1.0), rig
        else:
            # only the GEMMs speed up: the whole prompt by less than the gain, by more than 1
            assert 1.0 < ratio <= NATIVE_FP4_GAIN + 1e-9, (rig, ratio)
        assert est.prefill_tok_s.mid == pytest.approx(1.0 / prefill_seconds(case, cal), rel=1e-6), rig
