"""DeepSeek V4-Flash build sizes against the article (seed/) and the released checkpoint."""

from __future__ import annotations

import json
import os

import pytest

from rigcheck.model.families import deepseek_v4
from rigcheck.quant import recipes

GB, GiB = 10**9, 2**30


@pytest.fixture(scope="module")
def cfg():
    """The V4-Flash config.json as bundled in the catalogue card (the same file as the
    reference copy in shared/data, checked by test_models_catalog)."""
    from rigcheck.model.catalog import card
    return json.loads(json.dumps(card("deepseek-v4-flash").config))


@pytest.fixture(scope="module")
def v4(cfg):
    return deepseek_v4.build(cfg, "deepseek-v4-flash")


# the article's figures and its units (research/deepseek-v4.md 4: 172/136/103 are GB, 81 and 146 GiB)
ARTICLE = [("Q4_K_M", 172, GB), ("Q3_K_M", 136, GB), ("Q2_K", 103, GB), ("IQ2_XS-XL", 81, GiB),
           ("native", 146, GiB), ("ds4-q2", 80.8, GiB)]


@pytest.mark.parametrize("name,figure,unit", ARTICLE)
def test_v4_flash_builds_match_the_article(v4, name, figure, unit):
    size = recipes.build(v4, name).file_bytes / unit
    assert abs(size - figure) / figure < 0.02, f"{name}: {size:.2f} vs the article's {figure}"


def test_native_with_mtp_is_the_released_checkpoint_byte_for_byte(v4, cfg):
    b = recipes.build(v4, "native-mtp")
    assert b.weights_bytes == deepseek_v4.native_bytes(deepseek_v4.native_inventory(cfg, include_mtp=True))
    assert b.weights_bytes == 159_609_485_896


def test_standard_builds_leave_mtp_out(v4):
    b = recipes.build(v4, "Q4_K_M")
    assert all(not t.mtp for t, _, _ in b.items())
    assert "ds4-q2" in recipes.standard_builds(v4) and "IQ2_XS-XL" in recipes.standard_builds(v4)


def test_v4_q4_k_m_follows_the_stock_rules(v4):
    b = recipes.build(v4, "Q4_K_M")
    assert b.type_of("output.weight") == "Q6_K"
    assert b.type_of("blk.0.ffn_down_exps.weight") == "Q6_K"       # use_more_bits(0, 43)
    assert b.type_of("blk.6.ffn_down_exps.weight") == "Q4_K"
    assert b.type_of("blk.0.attn_q_a.weight") == "Q4_K"             # no special case: default
    assert b.type_of("blk.0.ffn_gate_inp.weight") == "BF16"         # routers are never quantized
    assert b.type_of("blk.0.ffn_gate_tid2eid.weight") == "I32"
    n_umb = sum(1 for t, ty, _ in b.items() if t.name.endswith("ffn_down_exps.weight") and ty == "Q6_K")
    assert n_umb == 21
