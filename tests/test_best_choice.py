"""The best choice across builds and runtimes (verdict, then quality class, then speed),
and the checkpoints as published: the user-visible cases of issue 11."""

from __future__ import annotations

import pytest

from rigcheck.hardware import get_rig
from rigcheck.model.resolve import load_model
from rigcheck.plan.check import check, quality_class
from rigcheck.quant.recipes import build

GB = 10**9


def test_v4_pro_on_8_h200_is_the_native_checkpoint_in_vllm():
    rep = check(load_model("deepseek-v4-pro"), get_rig("8x h200"), alternatives=False)
    best = rep.build(rep.best)
    assert rep.best == "native" and best.runtime == "vllm" and best.verdict in ("runs", "comfortable")
    # if it only runs (vLLM's own KV need leaves it under the margin), it is chosen for its speed
    comfortable = [b for b in rep.builds if b.verdict == "comfortable"]
    if best.verdict == "runs" and comfortable:
        assert all(best.decode_tok_s["mid"] >= 2 * b.decode_tok_s["mid"] for b in comfortable)
    q4 = rep.build("Q4_K_M")
    assert best.decode_tok_s["mid"] > q4.decode_tok_s["mid"]
    assert "vllm serve deepseek-ai/DeepSeek-V4-Pro" in rep.best_commands["vllm"]


def test_gpt_oss_best_keeps_the_mxfp4_experts():
    """Not a Q4_K_M that re-quantizes the MXFP4 experts to 6 bits per weight: the native
    checkpoint or the MXFP4_MOE GGUF, which keep them."""
    rep = check(load_model("gpt-oss-120b"), get_rig("rtx-pro-6000"), alternatives=False)
    assert rep.best in ("native", "MXFP4_MOE")
    assert rep.build(rep.best).quality_class == 2 and rep.build("Q4_K_M").quality_class == 1


def test_native_checkpoints_are_as_published():
    """gpt-oss ships MXFP4 experts (about 65 GB, not 234 GB of BF16); DeepSeek V3 and
    Kimi K2 ship FP8 with 128x128 block scales, experts included."""
    oss = build(load_model("gpt-oss-120b"), "native")
    assert {ty for t, ty, _ in oss.items() if t.is_expert} == {"FP4_E2M1_B32"}
    assert 60 * GB < oss.file_bytes < 70 * GB
    v3 = build(load_model("deepseek-v3"), "native")
    assert {ty for t, ty, _ in v3.items() if t.is_expert} == {"FP8_E4M3_T128_F32"}
    assert 660 * GB < v3.file_bytes < 690 * GB


def test_dense_model_on_a_gaming_gpu_keeps_the_fast_near_lossless_gguf():
    """The native checkpoint wins only where it is also faster: a BF16 8B on a 24 GB card
    is not picked over Q8_0 (same quality class, half the bytes per token)."""
    rep = check(load_model("llama-3.1-8b-instruct"), get_rig("rtx-4090"), alternatives=False)
    assert rep.best != "native" and rep.build(rep.best).quality_class == 2


@pytest.mark.parametrize("name,cls", [("native", 2), ("Q8_0", 2), ("Q4_K_M", 1), ("Q2_K", 0)])
def test_quality_classes(name, cls):
    m = load_model("qwen3-8b")
    assert quality_class(build(m, name), build(m, "native")) == cls


def test_cpu_only_machine_gets_what_to_run_instead():
    rep = check(load_model("deepseek-v4-flash"), get_rig("ryzen-7-8845hs+32GB"))
    assert rep.best is None or rep.build(rep.best).rank < 3
    assert rep.alternatives and all(a["verdict"] in ("runs", "comfortable") for a in rep.alternatives)


@pytest.mark.parametrize("ratio,wins", [(1.5, False), (1.99, False), (2.0, True), (4.6, True)])
def test_a_much_faster_build_that_runs_beats_a_comfortable_one(ratio, wins):
    """One verdict lower, all on fast memory, same quality class: it wins from twice the speed."""
    from rigcheck.plan.check.evaluate import BuildCheck, pick_best
    calm = BuildCheck("MXFP4_MOE", "llama.cpp", "llama.cpp", 1, 4.3, mode="gpu", verdict="comfortable",
                      decode_tok_s={"mid": 26.0}, quality_class=1, fits=True)
    quick = BuildCheck("native", "vllm", "native", 1, 4.3, mode="gpu", verdict="runs",
                       decode_tok_s={"mid": 26.0 * ratio}, quality_class=1, fits=True)
    assert pick_best([calm, quick]).name == ("native" if wins else "MXFP4_MOE")
    assert any(getattr(n, "code", "") == "chosen_for_speed" for n in quick.notes) == wins
    worse = BuildCheck("Q2_K", "vllm", "native", 1, 2.9, mode="gpu", verdict="runs",
                       decode_tok_s={"mid": 26.0 * ratio}, quality_class=0, fits=True)
    assert pick_best([calm, worse]).name == "MXFP4_MOE"          # never for a lower quality class
    slow_lane = BuildCheck("Q4_K_M", "llama.cpp", "llama.cpp", 1, 4.8, mode="gpu", verdict="borderline",
                           decode_tok_s={"mid": 26.0 * ratio * 3}, quality_class=1, fits=True)
    assert pick_best([calm, slow_lane]).name == "MXFP4_MOE"      # two verdicts lower: never
