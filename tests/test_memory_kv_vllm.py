"""vLLM's KV need, from its own planner rules (rigcheck.memory.kv_vllm), against the figures
vLLM itself printed (tests/fixtures/vllm/published_kv.json, each with its thread and quote),
and the rules' properties over random layer shapes.

Tolerance: none beyond vLLM's own printing. vLLM prints GiB with two decimals, so a quoted
"X GiB" matches when rigcheck's byte count prints as X, and a quoted integer (an estimated
maximum length, a block count) matches when some byte count that prints as the quoted
available memory gives exactly that integer under rigcheck's arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from rigcheck.memory import kv_vllm
from rigcheck.memory.kv import cdiv
from rigcheck.model.model import AttnKind, LayerAttention, Model
from rigcheck.model.resolve import load_model

GiB = 2**30
CASES = json.loads((Path(__file__).parent / "fixtures" / "vllm" / "published_kv.json").read_text())["cases"]
CHECKS = [(c, chk) for c in CASES for chk in c["checks"]]


def shown(b: int) -> float:
    """vLLM's format_gib: GiB to two decimals."""
    return round(b / GiB, 2)


def printable_as(gib: float) -> tuple[float, float]:
    """The byte range that vLLM prints as ``gib``."""
    return (gib - 0.005) * GiB, (gib + 0.005) * GiB


@pytest.mark.parametrize("case,check", CHECKS, ids=[f"{c['id']}:{k['kind']}" for c, k in CHECKS])
def test_published_vllm_figure(case, check):
    model = load_model(case["model"])
    need = lambda n: kv_vllm.kv_cache(model, n, n_seq=1, **case["kw"]).bytes  # noqa: E731
    if check["kind"] == "needed_gib":
        assert shown(need(check["ctx"])) == check["gib"]
    elif check["kind"] == "estimated_max_len":
        n = check["tokens"]
        lo, hi = printable_as(check["available_gib"])
        # estimate_max_model_len returns n exactly when need(n) <= available < need(n + 1)
        assert max(lo, need(n)) < min(hi, need(n + 1))
        avail = (max(lo, need(n)) + min(hi, need(n + 1))) // 2
        assert kv_vllm.max_model_len(model, int(avail), upper=check["max_model_len"], **case["kw"]) == n
    elif check["kind"] == "block_bytes":
        assert kv_vllm.v4_block_bytes(model, **_block_kw(case["kw"])) == check["bytes"]
    elif check["kind"] == "blocks_in_gib":
        block = kv_vllm.v4_block_bytes(model, **_block_kw(case["kw"]))
        lo, hi = printable_as(check["gib"])
        # some budget that prints as the quoted GiB makes exactly that many blocks
        assert check["blocks"] * block < hi and (check["blocks"] + 1) * block > lo
    elif check["kind"] == "tokens_in_gib":
        n = check["tokens"]
        lo, hi = printable_as(check["gib"])
        assert max(lo, need(n)) < min(hi, need(n + 16))           # n tokens fit, one block more does not
    else:
        raise AssertionError(check["kind"])


def _block_kw(kw: dict) -> dict:
    return {k: v for k, v in kw.items() if k in ("cache_type", "tp", "block_size", "fp4_indexer", "version")}


def test_v4_flash_need_is_vllms_layer_tuples():
    """The 6.66 GiB by hand from vLLM's DeepSeek V4 rules: 22 layer tuples (approximate gcd of
    the groups' tuple counts 21, 43, 21, 20) of 37,440 + 8,640 + 1,728 bytes (the C4 entry,
    indexer and C128 pages, 576-aligned), charged for every group's blocks: 118 compressed
    blocks of 256 tokens, two raw-window groups of 259 blocks, 4,099 C4 state blocks and 2,065
    C128 state blocks with 16,384 tokens in flight."""
    model = load_model("deepseek-v4-flash")
    kc = kv_vllm.kv_cache(model, 30000, cache_type="fp8", tp=2, version="0.25")
    assert kc.bytes == 22 * (37440 + 8640 + 1728) * (118 + 2 * 259 + 4099 + 2065)
    assert kc.bytes == sum(p.bytes for p in kc.parts) == sum(kc.layer_bytes)
    # the compressed entries are a sliver of it; vLLM charges the rest as pages
    entries = sum(p.bytes for p in kc.parts if p.name in ("csa", "hca", "indexer"))
    assert entries < 0.02 * kc.bytes and kc.part_bytes("page_padding") > 0


def test_v4_mxfp4_indexer_keys_still_take_fp8_pages():
    """The MXFP4 indexer's 68-byte keys sit in pages sized for the 132-byte FP8 row (vLLM
    reserved the larger row until vllm#48993, 2026-07-17): fewer bytes held, the same need."""
    model = load_model("deepseek-v4-flash")
    fp8 = kv_vllm.kv_cache(model, 30000, cache_type="fp8", tp=2, version="0.25")
    fp4 = kv_vllm.kv_cache(model, 30000, cache_type="fp8", tp=2, fp4_indexer=True, version="0.25")
    assert fp4.bytes == fp8.bytes
    assert fp4.part_bytes("indexer") * 132 == fp8.part_bytes("indexer") * 68


def test_v4_packed_planner_since_0_26():
    """vllm#48993 (v0.26+): the MXFP4 indexer's pages shrink with its rows, so its need falls;
    a block is the widest packed group, never wider than the layer tuple it replaced, and one
    request still costs a block for every page of every group; older versions keep the tuples."""
    assert not kv_vllm.packed_planner("0.25.1") and kv_vllm.packed_planner("v0.26.0")
    assert kv_vllm.packed_planner("0.33.0") and kv_vllm.packed_planner(None)
    for mid in ("deepseek-v4-flash", "deepseek-v4-pro"):
        model = load_model(mid)
        for fp4 in (False, True):
            new = kv_vllm.v4_block_bytes(model, fp4_indexer=fp4)
            old = kv_vllm.v4_block_bytes(model, fp4_indexer=fp4, version="0.25")
            assert new < old
            for ctx in (4096, 30000, 1 << 20):
                kc = kv_vllm.kv_cache(model, ctx, cache_type="fp8", fp4_indexer=fp4)
                assert kc.bytes % new == 0 and kc.bytes == sum(kc.layer_bytes) == sum(p.bytes for p in kc.parts)
                assert kc.bytes < kv_vllm.kv_cache(model, ctx, cache_type="fp8", fp4_indexer=fp4, version="0.25").bytes
        fp8 = kv_vllm.kv_cache(model, 30000, cache_type="fp8")
        fp4 = kv_vllm.kv_cache(model, 30000, cache_type="fp8", fp4_indexer=True)
        assert fp4.bytes < fp8.bytes


def test_hybrid_groups_pad_layers_like_vllm():
    """Gemma 3 27B: 52 sliding + 10 full layers of one page size; vLLM makes groups of 10
    layers (the fewest type), so the sliding layers take 6 groups: 8 padding layers."""
    model = load_model("gemma-3-27b-it")
    ctx, block = 32768, 16
    kc = kv_vllm.kv_cache(model, ctx, cache_type="auto")
    page = block * 16 * 128 * 2 * 2
    swa = cdiv(1023 + 16384, block) + 1
    assert kc.bytes == 10 * page * (cdiv(ctx, block) + 6 * swa)
    assert kc.part_bytes("page_padding") == 8 * page * swa


def test_gpt_oss_groups_are_the_layers():
    """gpt-oss-120b: 18 sliding (window 128) + 18 full layers, one page size: two groups of
    18, no padding layers, so the need is each layer's own pages."""
    model = load_model("gpt-oss-120b")
    kc = kv_vllm.kv_cache(model, 131072, cache_type="auto")
    page = 16 * 8 * 64 * 2 * 2
    assert kc.bytes == 18 * page * (131072 // 16 + cdiv(127 + 16384, 16) + 1)
    assert kc.part_bytes("page_padding") == 0


def test_plain_models_cost_their_pages():
    """One spec for every layer (Llama 3.1 8B): one group, cdiv(ctx, 16) pages per layer."""
    model = load_model("llama-3.1-8b-instruct")
    assert kv_vllm.kv_cache(model, 1000).bytes == 32 * 63 * 16 * 8 * 128 * 2 * 2


def test_plain_fp8_mla_is_576_bytes_and_dsa_656():
    """MLAAttentionSpec: FlashMLA's 656-byte entry only in fp8_ds_mla (what the DSA sparse
    backends use); plain fp8 MLA (DeepSeek V3) keeps its 576-element head in one byte each."""
    mla = LayerAttention(AttnKind.MLA, 128, 1, 576, 512, kv_lora_rank=512, rope_dim=64)
    v3 = Model("v3-hand", "deepseek_v3", "deepseek2", (), (mla,) * 61, 129280, 7168, 163840)
    assert kv_vllm.kv_cache(v3, 4096, cache_type="fp8").bytes == 61 * 4096 * 576
    assert kv_vllm.kv_cache(v3, 4096, cache_type="fp8_ds_mla").bytes == 61 * 4096 * 656
    assert kv_vllm.kv_cache(v3, 4096, cache_type="auto").bytes == 61 * 4096 * 1152


# --- properties over random shapes (hypothesis, derandomised: the same cases every run) ---

def plain_model(draw) -> Model:
    n_full = draw(st.integers(0, 12))
    n_swa = draw(st.integers(0 if n_full else 1, 40))
    kv = draw(st.sampled_from([1, 2, 4, 8, 16]))
    hd = draw(st.sampled_from([64, 128, 256]))
    win = draw(st.sampled_from([128, 512, 1024, 4096]))
    layers = [LayerAttention(AttnKind.FULL, 32, kv, hd, hd)] * n_full
    layers += [LayerAttention(AttnKind.SWA, 32, draw(st.sampled_from([kv, 2 * kv])), hd, hd, window=win)] * n_swa
    order = draw(st.permutations(layers))
    return Model("rand", "llama", "llama", (), tuple(order), 32000, 4096, 131072)


def v4_model(draw) -> Model:
    ratios = draw(st.lists(st.sampled_from([0, 4, 128]), min_size=2, max_size=50).filter(lambda r: 4 in r or 128 in r))
    layers = [LayerAttention({0: AttnKind.SWA, 4: AttnKind.CSA, 128: AttnKind.HCA}[r], 64, 1, 512, 512, window=128,
                             rope_dim=64, compress_ratio=r, index_head_dim=128 if r == 4 else 0) for r in ratios]
    return Model("rand-v4", "deepseek_v4", "deepseek4", (), tuple(layers), 129280, 4096, 1048576)


models = st.one_of(st.composite(plain_model)(), st.composite(v4_model)())
kw = st.fixed_dictionaries({"cache_type": st.sampled_from(["auto", "fp8"]),
                            "block_size": st.sampled_from([None, 16, 32, 64]),
                            "max_num_batched_tokens": st.sampled_from([512, 2048, 8192]),
                            "batches_in_flight": st.sampled_from([1, 2])})


def _kw(model, k):
    k = dict(k)
    if kv_vllm.is_v4(model) and k["block_size"]:
        k["block_size"] = 256                      # V4's compressed blocks need block // 128 rows
    return k


@settings(max_examples=150, derandomize=True, deadline=None)
@given(models, kw, st.integers(1, 300_000), st.integers(1, 300_000), st.integers(1, 8))
def test_need_is_monotone_in_context_and_sequences(model, k, a, b, n):
    k = _kw(model, k)
    lo, hi = sorted((a, b))
    one = kv_vllm.kv_cache(model, lo, **k).bytes
    assert one <= kv_vllm.kv_cache(model, hi, **k).bytes
    assert kv_vllm.kv_cache(model, lo, n_seq=n, **k).bytes == n * one >= one


@settings(max_examples=150, derandomize=True, deadline=None)
@given(models, kw, st.integers(1, 300_000))
def test_page_padding_never_shrinks_a_group(model, k, ctx):
    """Grouping charges at least what each layer's own pages hold, and the named parts add up."""
    kc = kv_vllm.kv_cache(model, ctx, **_kw(model, k))
    assert kc.part_bytes("page_padding") >= 0
    assert kc.bytes == sum(p.bytes for p in kc.parts) == sum(kc.layer_bytes)
    assert all(b >= 0 for b in kc.layer_bytes)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(models, kw, st.integers(1, 1_000_000))
def test_sliding_layers_hold_at_most_window_plus_in_flight_plus_a_block(model, k, ctx):
    k = _kw(model, k)
    kc = kv_vllm.kv_cache(model, ctx, **k)
    in_flight = k["max_num_batched_tokens"] * k["batches_in_flight"]
    block = k["block_size"] or (kv_vllm.V4_BLOCK_SIZE if kv_vllm.is_v4(model) else kv_vllm.BLOCK_SIZE)
    for p in kc.parts:
        if p.name in kv_vllm.SLIDING_PARTS:
            held = min(ctx, {"raw": 128, "swa": max((l.window for l in model.layers), default=0),
                             "csa_state": 8, "indexer_state": 8, "hca_state": 128}[p.name] - 1 + in_flight)
            biggest_block = max(block, kv_vllm.V4_SWA_BLOCK)
            assert p.cells <= held + 2 * biggest_block
    # and they stop growing once the context passes the window and the tokens in flight
    far = kv_vllm.kv_cache(model, ctx + 1_000_000, **k)
    sliding = lambda c: sum(p.bytes for p in c.parts if p.name in kv_vllm.SLIDING_PARTS)  # noqa: E731
    if ctx > 4096 + in_flight:
        assert sliding(far) == sliding(kc)


def test_estimate_is_the_longest_fitting_request():
    model = load_model("gpt-oss-120b")
    avail = int(3.5 * GiB)
    n = kv_vllm.max_model_len(model, avail, upper=131072)
    assert kv_vllm.kv_cache(model, n).bytes <= avail < kv_vllm.kv_cache(model, n + 1).bytes
    assert kv_vllm.max_model_len(model, 10, upper=131072) == 0
