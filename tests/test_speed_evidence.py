"""Estimates that use the evidence (issue 13), tried on real catalogue rows drawn at random
(seeded) and held out: a setup that was measured starts from its measurements; one that was
not says what it generalised from; the hierarchical fit gives a measured device its own
efficiency and an unmeasured one its family's; ranges are the stated intervals."""

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
from rigcheck.plan.speed import (Calibration, PoolRead, calibrate, decode_range, decode_seconds, spread_of)
from rigcheck.plan.speed.estimate import estimate, estimate_offload
from rigcheck.quant.recipes import build as make_build
from rigcheck.report.notes import text

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import speed_accuracy as sa  # noqa: E402

GB = 1e9


def _usable(r) -> bool:
    if not (r.fit and r.decode_tok_s and r.setup):
        return False
    if r.offload not in ("none", "split", "cpu") and not r.offload.startswith("experts=ram"):
        return False
    return catalogue_facts(r.model, r.build) is not None


@pytest.fixture(scope="module")
def rows():
    return measurement_rows()


@pytest.fixture(scope="module")
def samples():
    return sa.build_samples()[0]


def _draw(rows, n, seed):
    pool = sorted((r for r in rows if _usable(r)), key=lambda r: (r.setup, r.context, r.source, r.date))
    return random.Random(seed).sample(pool, min(n, len(pool)))


def _estimate(row, calib, rows, ctx=None):
    model = load_model(row.model)
    b = make_build(model, row.build)
    return estimate_offload(model, b, parse_rig(row.rig), row.runtime, row.context if ctx is None else ctx,
                            row.offload, calib=calib, rows=rows)


def test_a_measured_setup_starts_from_its_measurements(rows):
    """At the measured context, the estimate of a setup measured once is that measurement
    (within 10%); of one measured several times, within the spread of its measurements."""
    cal = speed_calibration()
    for r in _draw(rows, 14, seed=13):
        est = _estimate(r, cal, rows)
        same = [x for x in rows if x.setup == r.setup and x.fit and x.decode_tok_s]
        assert est.inputs["basis"] == "measured", (r, est.notes)
        setup = next(n for n in est.notes if n.code == "from_setup")
        assert setup.values["rows"] == len(same) and text(setup).startswith(f"from {len(same)} measurement"), est.notes
        at_ctx = [x.decode_tok_s for x in same if x.context == r.context]
        if len(same) == 1 and r.date < "2024-06":
            # moved to today's runtime generation, which the note says: faster, not slower
            assert r.decode_tok_s <= est.decode_tok_s.mid <= 1.5 * r.decode_tok_s, r
            assert setup.values["legacy_rows"] >= 1 and "before 2024-06" in text(setup)
        elif len(same) == 1:
            assert est.decode_tok_s.mid == pytest.approx(r.decode_tok_s, rel=0.10), r
        elif len({x.context for x in same}) == 1 and all(x.date >= "2024-06" for x in same):
            # several runs of one setup at one context: their mean, inside their spread
            assert 0.9 * min(at_ctx) <= est.decode_tok_s.mid <= 1.1 * max(at_ctx), (r, at_ctx, est.decode_tok_s)
        else:
            # runs at several contexts, moved to one: the longer context is not the faster
            lo_ctx, hi_ctx = min(x.context for x in same), max(x.context for x in same)
            if hi_ctx > lo_ctx:
                assert _estimate(r, cal, rows, ctx=lo_ctx).decode_tok_s.mid >= \
                    _estimate(r, cal, rows, ctx=hi_ctx).decode_tok_s.mid
        assert any("same setup" in e.match for e in est.evidence)


def test_the_cli_lands_on_an_exact_measurement(rows, capsys):
    """rigcheck estimate, as a user types it, at the context a catalogue row was measured."""
    import json
    from rigcheck.cli import main
    for r in _draw([x for x in rows if x.offload == "none" and x.date >= "2024-06"], 4, seed=7):
        same = [x for x in rows if x.setup == r.setup and x.fit and x.decode_tok_s]
        if len(same) != 1:
            continue
        assert main(["estimate", r.model, "--build", r.build, "--rig", r.rig, "--runtime", r.runtime,
                     "--ctx", str(max(r.context, 1)), "--offload", "none", "--json"]) == 0
        d = json.loads(capsys.readouterr().out)
        assert d["decode_tok_s"]["mid"] == pytest.approx(r.decode_tok_s, rel=0.10), r
        assert d["inputs"]["basis"] == "measured"


def test_a_held_out_setup_is_generalised_and_says_from_what(rows, samples):
    """Every row of a drawn setup held out of the fit and of the evidence: the estimate is
    the model's, says what it generalised from, and lands within 2x for most draws."""
    drawn = _draw(rows, 16, seed=2026)
    within = 0
    for r in drawn:
        train = [s for s in samples if s.setup != r.setup]
        cal = sa.calibration_from(train, [], [])
        kept = tuple(x for x in rows if x.setup != r.setup)
        est = _estimate(r, cal, kept)
        assert est.inputs["basis"] == "model"
        note = next(n for n in est.notes if n.code == "generalised")
        assert note.values["runtime"] == r.runtime and text(note).startswith("no measurement of this setup: generalised")
        assert not any("same setup" in e.match for e in est.evidence)
        ratio = est.decode_tok_s.mid / r.decode_tok_s
        within += 0.5 <= ratio <= 2.0
    assert within >= 0.8 * len(drawn)


def _synthetic(truth: Calibration, rng: random.Random, devices: dict[str, int]):
    """Samples made by the model with ``truth``: ``devices`` maps a device id to its rows."""
    out = []
    for dev, n in devices.items():
        for i in range(n):
            b = rng.uniform(1, 30) * GB
            bw = {"gpu-a": 1000, "gpu-b": 900, "gpu-c": 700, "gpu-d": 450}.get(dev, 800) * GB
            pools = [PoolRead(b, bw, "gpu", "nvidia", dev)]
            t = decode_seconds(pools, calib=truth) * math.exp(rng.gauss(0, 0.03))
            out.append(calibrate.Sample(pools, "llama.cpp", "mature", "single", "pcie", 1 / t, source=f"{dev}{i % 3}",
                                        device=dev))
    return out


def test_a_measured_device_gets_its_own_efficiency_a_new_one_its_family():
    """Partial pooling: with five or more rows a device's own efficiency is recovered (the
    family sits elsewhere); a device without rows gets no effect of its own."""
    truth = Calibration(eff={("nvidia", "gpu"): 0.85}, fixed_s={"nvidia": 0.002},
                        device_eff={"gpu-a": 1.0, "gpu-b": 1.0, "gpu-c": 1.0, "gpu-d": 0.7})
    rng = random.Random(5)
    got = calibrate.fit_decode(_synthetic(truth, rng, {"gpu-a": 30, "gpu-b": 30, "gpu-c": 30, "gpu-d": 6}))
    own = got.eff_of("nvidia", "gpu", "gpu-d")
    fam = got.eff_of("nvidia", "gpu")
    assert own == pytest.approx(0.85 * 0.7, rel=0.12)
    assert abs(own - 0.85 * 0.7) < abs(fam - 0.85 * 0.7)
    assert not got.knows_device("gpu-new") and got.eff_of("nvidia", "gpu", "gpu-new") == fam
    # one row pulls less than six: the effect is shrunk toward the family
    one = calibrate.fit_decode(_synthetic(truth, random.Random(5), {"gpu-a": 30, "gpu-b": 30, "gpu-c": 30, "gpu-d": 1}))
    assert abs(math.log(one.device_eff["gpu-d"])) < abs(math.log(got.device_eff["gpu-d"]))


def test_an_unmeasured_device_gets_the_far_range():
    cal = Calibration(eff={("nvidia", "gpu"): 0.8}, fixed_s={"nvidia": 0.002}, device_eff={"known": 1.1},
                      spread={"gpu": (-0.2, 0.2), "all": (-0.3, 0.3)}, spread_far={"gpu": (-0.5, 0.4)})
    near = decode_range([PoolRead(5 * GB, 1000 * GB, "gpu", "nvidia", "known")], calib=cal)
    far = decode_range([PoolRead(5 * GB, 1000 * GB, "gpu", "nvidia", "never-seen")], calib=cal)
    assert near.high / near.low == pytest.approx(math.exp(0.4))
    assert far.high / far.low == pytest.approx(math.exp(0.9))
    assert spread_of(cal, "anchored", "never-seen") == (-0.3, 0.3)     # no 'anchored' class: the overall one


def test_a_same_setup_measurement_outside_the_range_is_explained(rows):
    """At the command's default context (often far from the measured one) every measurement
    of this very setup shown beside the estimate is inside its range or a note says why."""
    cal = speed_calibration()
    for r in _draw(rows, 12, seed=99):
        est = _estimate(r, cal, rows, ctx=32768)
        for e in est.evidence:
            # prefill-only rows (no decode figure) have nothing to contradict
            if "same setup" in e.match and e.decode_tok_s and not est.decode_tok_s.contains(e.decode_tok_s):
                assert any(n.code == "measured_outside" and n.values["tok_s"] == e.decode_tok_s
                           and "outside this range" in text(n) for n in est.notes), (e, est.notes)


def test_kv_is_read_at_the_cache_type_memory_sizing_chose():
    from rigcheck.plan.placement import plan
    model = load_model("llama-3.1-8b-instruct")
    b = make_build(model, "Q4_K_M")
    rig = parse_rig("rtx-4090")
    pl = plan(b, ctx=32768, runtime="llama.cpp", rig=rig)
    f16 = estimate(dataclasses.replace(pl, cache_type="f16"), rig, "llama.cpp", 32768, model, b,
                   calib=speed_calibration(), rows=())
    q8 = estimate(dataclasses.replace(pl, cache_type="q8_0"), rig, "llama.cpp", 32768, model, b,
                  calib=speed_calibration(), rows=())
    assert q8.inputs["kv_read_bytes"] == pytest.approx(f16.inputs["kv_read_bytes"] * 34 / 64, rel=0.01)
    assert q8.decode_tok_s.mid > f16.decode_tok_s.mid


def test_an_embedding_row_in_ram_is_not_a_hybrid_token():
    cal = speed_calibration()
    gpu = PoolRead(2.5 * GB, 1008 * GB, "gpu", "nvidia", "rtx-4090")
    lookup = PoolRead(3060, 90 * GB, "ram", "host", "")
    experts = PoolRead(2 * GB, 90 * GB, "ram", "host", "")
    assert decode_seconds([gpu, lookup], calib=cal) == pytest.approx(decode_seconds([gpu], calib=cal), rel=1e-3)
    assert decode_seconds([gpu, experts], calib=cal) > decode_seconds([gpu], calib=cal) + cal.hybrid_s


def test_long_context_costs_attention_compute_as_well_as_kv_bytes():
    model = load_model("qwen3-30b-a3b")
    b = make_build(model, "Q4_K_M")
    rig = parse_rig("m4-max-128")
    cal = speed_calibration()
    short = estimate_offload(model, b, rig, "llama.cpp", 4096, "none", calib=cal, rows=())
    long = estimate_offload(model, b, rig, "llama.cpp", 131072, "none", calib=cal, rows=())
    bytes_only = dataclasses.replace(cal, eff={k: v for k, v in cal.eff.items() if k[1] != "attn"})
    pools = long.inputs["pools"]
    assert all(p["bytes_per_token"] > 0 for p in pools)
    # without the attention term (a huge efficiency) the long context would be faster
    no_attn = dataclasses.replace(bytes_only, eff={**bytes_only.eff, ("apple", "attn"): 1e9})
    long_no_attn = estimate_offload(model, b, rig, "llama.cpp", 131072, "none", calib=no_attn, rows=())
    assert long.decode_tok_s.mid < long_no_attn.decode_tok_s.mid < short.decode_tok_s.mid


def test_plan_speed_reads_no_files():
    """Issue 11: the speed arithmetic takes its calibration and rows as arguments: no module
    of plan/speed imports a loader (the catalogue, the model resolver, the rig parser) or
    opens a file."""
    import ast
    root = os.path.join(HERE, "..", "rigcheck", "plan", "speed")
    loaders = ("catalogue", "resolve", "spec", "catalog", "detect")
    for name in sorted(os.listdir(root)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(root, name), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                parts = (node.module or "").split(".") + [a.name for a in node.names]
                assert not set(parts) & set(loaders), f"plan/speed/{name} imports {node.module} {parts}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    assert not set(a.name.split(".")) & set(loaders), f"plan/speed/{name} imports {a.name}"
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "open", f"plan/speed/{name} opens a file"


def test_the_fit_is_deterministic(samples):
    a = calibrate.fit(samples)
    b = calibrate.fit(list(samples))
    assert a.eff == b.eff and a.device_eff == b.device_eff and a.fixed_rt == b.fixed_rt


def test_cross_validated_accuracy_under_both_splits(samples):
    """The issue's goals, measured as bench/speed_accuracy.py measures them (held out by
    source and by device); coverage judged against ranges built from the other groups."""
    held = {"loso": sa.loso(samples), "lodo": sa.lodo(samples)}
    by_family = sa.lofo(samples)
    for name, hs in held.items():
        errs = sorted(abs(h.dec / h.s.decode_tok_s - 1) for h in hs if h.dec)
        within2 = [max(h.dec / h.s.decode_tok_s, h.s.decode_tok_s / h.dec) <= 2 for h in hs if h.dec]
        assert errs[len(errs) // 2] <= 0.20, name
        assert sum(within2) / len(within2) >= 0.90, name
        inside = sa.coverage(hs, held["loso"], held["lodo"], by_family)
        # an 80% interval built from other groups' errors: well away from 50% or 100%
        assert 0.65 <= sum(inside) / len(inside) <= 0.92, name


def test_a_rows_micro_batch_is_read_from_its_notes(rows):
    """llama-bench's micro-batch, as the sources write it (n_ubatch=2048, 'n_ubatch 2048',
    '-ub 2048', 'ubatch 512'), else llama.cpp's default 512; the catalogue's long-context Strix
    Halo ROCm runs that state n_ubatch=2048 (kyuz0 toolboxes) get it, in their prefill case."""
    from rigcheck.plan.speed.evidence import ubatch_of
    assert ubatch_of("fa=1, n_ubatch=2048; llama-bench model") == 2048
    assert ubatch_of("n_ubatch 1024, fa 1, mmap 0") == 1024
    assert ubatch_of("llama-server -ub 2048 -b 4096") == 2048
    assert ubatch_of("tg64 and pp2048 (ubatch 512)") == 512
    assert ubatch_of("llama-bench tg128 / pp512; club-3090 sub 300") == 512
    assert ubatch_of("") == 512
    long = [r for r in rows if "kyuz0" in r.source and "n_ubatch=2048" in r.notes]
    assert len(long) >= 10 and all(ubatch_of(r.notes) == 2048 for r in long)
    s = sa.sample_of(long[0], sa.facts_for_row(long[0], catalogue_facts), parse_rig(long[0].rig))
    assert s.prefill_case.batch == 2048


def test_a_community_mix_gets_the_models_own_layout_at_the_rows_bytes(rows):
    """An Unsloth dynamic build the recipes do not name (UD-Q4_K_XL) of a catalogue model: the
    model's tensors say which weights are experts and what attention every layer does (so a
    prompt at depth costs attention), the row's file size says the bytes; not exact."""
    from rigcheck.plan.speed.evidence import facts_for_row, stand_in_builds
    assert stand_in_builds("UD-Q6_K_XL")[0] == "Q6_K" and stand_in_builds("UD-Q8_K_XL")[0] == "Q8_0"
    assert stand_in_builds("UD-Q4_K_XL")[0] == "Q4_K_M" and stand_in_builds("UD-IQ1_S")[0] == "IQ1_S"
    r = next(r for r in rows if r.model == "glm-4.5-air" and r.build == "UD-Q4_K_XL" and r.weights_gb)
    assert catalogue_facts(r.model, r.build) is None
    f = facts_for_row(r, catalogue_facts)
    ref = catalogue_facts(r.model, "Q4_K_M")
    assert not f.exact and f.total_bytes == pytest.approx(r.weights_gb * 1e9)
    assert f.moe and f.expert_frac == ref.expert_frac and f.kv == ref.kv
    assert f.attn_flops(32768) > 0 and f.attn_flops(32768) == ref.attn_flops(32768)
    assert f.expert_bytes / f.total_bytes == pytest.approx(ref.expert_bytes / ref.total_bytes)
    # a model the catalogue does not know keeps the row's own parameter figures
    unknown = dataclasses.replace(r, model="no-such-model")
    g = facts_for_row(unknown, catalogue_facts)
    assert g is not None and not g.kv and g.active_params == pytest.approx(r.active_b * 1e9)


def test_a_prompt_measured_at_depth_says_so(rows):
    """llama-bench runs every test of a record at its depth: a pp8192 of a d4096 record (the
    Orion-zhen dashboard's JSON) prefilled after 4,096 cached tokens, though 4,096 < 2 x 8,192;
    without a stated depth, a context well past the prompt is the depth; else none."""
    from rigcheck.plan.speed.evidence import prefill_depth
    assert prefill_depth("llama-bench JSON record: tg128 @ d4096 / pp8192 @ d4096", 4160, 8192) == 4096
    assert prefill_depth("tg32 @ d32768 / pp2048 @ d32768", 32784, 2048) == 32768
    assert prefill_depth("tg32 / pp2048", 32784, 2048) == 32784
    assert prefill_depth("tg128 / pp512", 64, 512) == 0
    deep = [r for r in rows if "Orion-zhen" in r.source and "pp8192 @ d4096" in r.notes]
    assert deep and all(prefill_depth(r.notes, r.context, r.prefill_tokens) == 4096 for r in deep)
    s = [sa.sample_of(r, sa.facts_for_row(r, catalogue_facts), parse_rig(r.rig)) for r in deep[:1]][0]
    flat = dataclasses.replace(deep[0], notes="tg128 / pp8192")
    s0 = sa.sample_of(flat, sa.facts_for_row(flat, catalogue_facts), parse_rig(flat.rig))
    assert s.prefill_case.attn_flops > s0.prefill_case.attn_flops > 0


def _render(row, est):
    from rigcheck.report.estimate_text import render_estimate
    out = {"model": row.model, "build": row.build, "rig": row.rig, "runtime": row.runtime, "ctx": row.context or 4096,
           "offload": row.offload, "my_measurements": []}
    return render_estimate(out, est)


def test_a_prefill_only_measurement_is_shown_with_its_prefill_figure(rows):
    """A row that measured only a prompt (llama-bench -p without -n) is listed beside the
    estimate with its prefill figure and prompt length, not as an empty decode figure."""
    from rigcheck.units import rate
    pool = sorted((r for r in rows if r.prefill_tok_s and not r.decode_tok_s and r.prefill_tokens
                   and catalogue_facts(r.model, r.build) is not None), key=lambda r: (r.setup, r.source, r.notes))
    assert pool, "the catalogue has prefill-only rows"
    for r in random.Random(13).sample(pool, min(4, len(pool))):
        est = _estimate(r, speed_calibration(), rows, ctx=r.prefill_tokens)
        shown = [e for e in est.evidence if e.source == r.source and e.prefill_tok_s == r.prefill_tok_s]
        assert shown, (r.setup, [e.source for e in est.evidence])
        txt = _render(r, est)
        assert "decode - tok/s" not in txt
        assert f"prefill {rate(r.prefill_tok_s)} tok/s ({r.prefill_tokens:,}-token prompt" in txt, txt


def test_a_row_left_out_of_the_fit_says_so_when_it_lies_outside(rows):
    """A same-setup measurement the catalogue keeps only as evidence (fit=no: a fork's
    variant, a setup rigcheck cannot express) is not called a disagreement of fitted rows."""
    pool = sorted((r for r in rows if not r.fit and r.decode_tok_s and r.setup and r.context
                   and catalogue_facts(r.model, r.build) is not None), key=lambda r: (r.setup, r.context, r.source))
    assert pool
    seen = 0
    for r in random.Random(21).sample(pool, min(10, len(pool))):
        try:
            est = _estimate(r, speed_calibration(), rows)
        except Exception:  # noqa: BLE001 - a setup the offload words cannot express is refused
            continue
        for n in est.notes:
            if n.code == "measured_outside" and n.values["tok_s"] == r.decode_tok_s and n.values["source"] == r.source:
                seen += 1
                assert "disagree" not in n.values["reasons"], n.values
    assert seen, "no unfitted row of the sample lay outside its setup's range"
