"""Verdict labels from documented thresholds; the article's tiers as cases."""

import json

import pytest

from rigcheck.report.notes import text

from rigcheck.errors import InputError
from rigcheck.config import load_thresholds
from rigcheck.plan.verdict import (DEFAULT, LABELS, Thresholds, Verdict,
                                   quality_note, verdict)


def v(**kw):
    args = dict(fits=True, mode="gpu", headroom_frac=0.25, decode_mid_tok_s=30.0,
                decode_low_tok_s=25.0, bits_per_weight=4.85, support_status="mainline")
    args.update(kw)
    return verdict(**args)


# The article's tier table for DeepSeek V4-Flash (June 2026), fed with its own numbers.
def test_tier_32gb_does_not_fit():
    r = v(fits=False, mode="none", headroom_frac=0, decode_mid_tok_s=0, decode_low_tok_s=0)
    assert r.label == "no" and "does not fit" in r.reasons[0]


def test_tier_gaming_gpu_with_experts_offloaded_is_not_practical():
    r = v(mode="offload", headroom_frac=0.05, decode_mid_tok_s=6.0, decode_low_tok_s=3.0,
          bits_per_weight=2.3, support_status="fork")
    assert r.label == "not practical"
    assert any("below 10.0 tok/s" in s for s in r.reasons)
    # offloaded decode needs 10 tok/s to count as practical; on GPU memory 8 is enough
    assert v(mode="offload", headroom_frac=0.3, decode_mid_tok_s=9.0, decode_low_tok_s=7.0).label == "not practical"
    assert v(mode="gpu", headroom_frac=0.3, decode_mid_tok_s=9.0, decode_low_tok_s=7.0).label == "runs"


def test_tier_96gb_gpu_2bit_expert_build():
    # 81 GB IQ2_XS-XL on 96 GB, 8-12 tok/s: fits and runs, flagged for its 2-bit experts
    r = v(headroom_frac=0.12, decode_mid_tok_s=10.0, decode_low_tok_s=8.0, bits_per_weight=2.28)
    assert r.label == "borderline"
    assert any("quality floor" in s for s in r.reasons)
    # a rig owner who accepts 2-bit experts lowers the floor: the same build then "runs"
    assert v(headroom_frac=0.12, decode_mid_tok_s=10.0, decode_low_tok_s=8.0, bits_per_weight=2.28,
             thresholds=DEFAULT.replace(low_bpw=2.0)).label == "runs"
    # an expert-mode mix (2-bit routed experts, 8-bit elsewhere) dodges the floor: it runs,
    # and is never called comfortable
    mix = v(headroom_frac=0.12, decode_mid_tok_s=10.0, decode_low_tok_s=8.0, bits_per_weight=2.28,
            expert_mix=True)
    assert mix.label == "runs" and any("routed experts" in s for s in mix.reasons)
    assert v(headroom_frac=0.3, decode_mid_tok_s=40.0, decode_low_tok_s=30.0, bits_per_weight=2.28,
             expert_mix=True).label == "runs"


def test_unified_memory_wants_more_headroom_than_a_gpu():
    # 12% left: fine on a dedicated GPU, tight on a unified-memory budget shared with the OS
    assert v(mode="gpu", headroom_frac=0.12).label == "runs"
    r = v(mode="unified", headroom_frac=0.12)
    assert r.label == "borderline" and any("unified" in s for s in r.reasons)


def test_tier_128gb_unified_is_borderline():
    r = v(mode="unified", headroom_frac=0.04, decode_mid_tok_s=18.0, decode_low_tok_s=12.0,
          bits_per_weight=2.9, support_status="fork")
    assert r.label == "borderline"
    assert len([s for s in r.reasons if "memory left" in s or "floor" in s or "fork" in s]) == 3


def test_tier_192gb_mac_studio_q4_is_comfortable():
    r = v(mode="unified", headroom_frac=0.2, decode_mid_tok_s=25.0, decode_low_tok_s=20.0,
          bits_per_weight=4.85)
    assert r.label == "comfortable"
    assert r.reasons[0] == "all in unified memory"


# Boundaries and each rule alone
def test_thresholds_are_inclusive_at_the_good_side():
    assert v(headroom_frac=0.15).label == "comfortable"
    assert v(headroom_frac=0.149).label == "runs"
    assert v(headroom_frac=0.10).label == "runs"
    assert v(headroom_frac=0.099).label == "borderline"
    assert v(decode_mid_tok_s=20.0, decode_low_tok_s=20.0).label == "comfortable"
    assert v(decode_mid_tok_s=19.9, decode_low_tok_s=19.0).label == "runs"
    assert v(decode_mid_tok_s=8.0, decode_low_tok_s=8.0).label == "runs"
    assert v(decode_mid_tok_s=7.9, decode_low_tok_s=7.0).label == "borderline"
    assert v(decode_mid_tok_s=5.0, decode_low_tok_s=4.0).label == "borderline"
    assert v(decode_mid_tok_s=4.9, decode_low_tok_s=4.0).label == "not practical"
    assert v(bits_per_weight=4.0).label == "comfortable"
    assert v(bits_per_weight=3.9).label == "runs"
    assert v(bits_per_weight=3.0).label == "runs"
    assert v(bits_per_weight=2.99).label == "borderline"


def test_low_end_of_range_blocks_comfortable():
    r = v(decode_mid_tok_s=25.0, decode_low_tok_s=6.0)
    assert r.label == "runs" and "could drop to 6.0 tok/s" in r.reasons[-1]


def test_fork_unknown_and_none_support():
    assert v(support_status="fork").label == "borderline"
    unk = v(support_status="unknown")
    assert unk.label == "runs" and any("not in the catalogue" in s for s in unk.reasons)
    assert v(support_status="none").label == "no"


def test_fast_offload_and_cpu_can_run_but_never_comfortable():
    r = v(mode="offload", headroom_frac=0.5, decode_mid_tok_s=40, decode_low_tok_s=30)
    assert r.label == "runs" and "not all on fast memory" in r.reasons[-1]
    assert v(mode="cpu", decode_mid_tok_s=12, decode_low_tok_s=9).label == "runs"
    assert v(mode="cpu", decode_mid_tok_s=7, decode_low_tok_s=5).label == "not practical"


def test_rank_orders_labels():
    labels = [v(fits=False, mode="none").label, v(decode_mid_tok_s=3, decode_low_tok_s=2).label,
              v(support_status="fork").label, v(headroom_frac=0.12).label, v().label]
    assert labels == list(LABELS)
    assert Verdict("runs").rank > Verdict("borderline").rank


def test_bad_mode_is_a_programming_error():
    with pytest.raises(ValueError):
        v(mode="vram")


# Configuration
def test_threshold_validation():
    with pytest.raises(InputError):
        Thresholds(tight_headroom=0.2, comfortable_headroom=0.1)
    with pytest.raises(InputError):
        Thresholds(runs_tok_s=30)
    with pytest.raises(InputError, match="unknown threshold"):
        DEFAULT.replace(speed=3)


def test_load_thresholds_from_home(tmp_path):
    assert load_thresholds(str(tmp_path)) == DEFAULT
    (tmp_path / "thresholds.toml").write_text("[thresholds]\ncomfortable_tok_s = 30\nlow_bpw = 2.5\n")
    th = load_thresholds(str(tmp_path))
    assert (th.comfortable_tok_s, th.low_bpw, th.runs_tok_s) == (30.0, 2.5, 8.0)
    # CLI overrides win over the file; None means "not given"
    th2 = load_thresholds(str(tmp_path), comfortable_tok_s=25, low_bpw=None)
    assert (th2.comfortable_tok_s, th2.low_bpw) == (25.0, 2.5)
    assert v(decode_mid_tok_s=25, decode_low_tok_s=22, thresholds=th).label == "runs"


def test_load_thresholds_json_and_env(tmp_path, monkeypatch):
    (tmp_path / "thresholds.json").write_text(json.dumps({"tight_headroom": 0.05}))
    monkeypatch.setenv("RIGCHECK_HOME", str(tmp_path))
    assert load_thresholds().tight_headroom == 0.05
    (tmp_path / "thresholds.json").write_text("{not json")
    with pytest.raises(InputError, match="cannot read thresholds"):
        load_thresholds()


# Quality notes
def test_quality_notes():
    def q(*a):
        return text(quality_note(*a))
    assert "8-bit class" in q(8.5, "Q8_0")
    assert "4-bit class" in q(4.85, "Q4_K_M")
    assert "3-bit class" in q(3.9, "Q3_K_M")
    low = q(2.28, "IQ2_XS-XL")
    assert "below the ~3-bit floor" in low and "mixed-precision" in low
    plain = q(2.6, "Q2_K")
    assert "below the ~3-bit floor" in plain and "mixed-precision" not in plain
    noted = q(2.6, "ds4-q2", ["routed experts IQ2_XXS/Q2_K, the rest Q8_0"])
    assert noted.endswith("the rest Q8_0.") and "mixed-precision" in noted
    assert "1-bit class" in q(1.6, "TQ1_0")
    note = quality_note(4.85, "Q4_K_M")
    assert note.code == "quality" and note.values["quality_class"] == "4-bit"
