"""Config-built inventories of catalogue models against what their publishers state."""

from __future__ import annotations

import json
import os

import pytest

from rigcheck.errors import InputError, UnknownNameError
from rigcheck.model.catalog import all_cards, card, model_of
from rigcheck.model.families import build_model
from rigcheck.model.families.deepseek_v4 import native_bytes, native_inventory
from rigcheck.model.tensor import EXPERT_ROLES, Role

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


def within(value: float, expected: float, rel: float) -> bool:
    return abs(value - expected) <= rel * expected


def test_every_card_builds_and_carries_its_sources():
    cards = all_cards()
    assert len(cards) >= 20
    for c in cards:
        assert c.source.startswith("https://") and c.checked, c.id
        m = model_of(c)
        assert m.id == c.id and m.total_params > 0 and m.n_layer > 0
        names = [t.name for t in m.tensors]
        assert len(names) == len(set(names)), f"{c.id}: duplicate tensor names"
        if c.stated.get("total_params"):
            assert c.stated.get("source"), c.id


def test_lookup_by_alias_and_repo_case_insensitive():
    assert card("V4-Flash").id == "deepseek-v4-flash"
    assert card("deepseek-ai/DeepSeek-V3").id == "deepseek-v3"
    assert card("QWEN3-30B-A3B").id == "qwen3-30b-a3b"


def test_unknown_id_suggests_closest():
    with pytest.raises(UnknownNameError) as e:
        card("deepseek-v4-flsh")
    assert "deepseek-v4-flash" in e.value.suggestions


def test_v4_flash_totals():
    m = model_of("deepseek-v4-flash")
    c = card("deepseek-v4-flash")
    # llama.cpp's own load log (independent of this code) prints 284.33 B
    assert within(m.total_params, c.stated["measured"]["total_params"], 0.0005)
    assert round(m.active_params() / 1e9, 2) == 13.27
    assert round(m.active_params(count_embedding=True) / 1e9, 2) == 13.80
    assert round(m.mtp_params / 1e9, 2) == 6.61
    assert round(m.total_params / 1e9) == c.stated["total_params"] / 1e9   # card: 284B
    assert round(m.active_params() / 1e9) == c.stated["active_params"] / 1e9  # card: 13B
    kinds = [layer.kind for layer in m.layers]
    assert kinds[:2] == ["swa", "swa"] and kinds.count("csa") == 21 and kinds.count("hca") == 20
    assert m.moe.n_hash_layers == 3 and m.n_mtp_layers == 1
    assert sum(1 for t in m.tensors if t.name.endswith("ffn_gate_tid2eid.weight")) == 3


def test_v4_flash_native_checkpoint_inventory():
    cfg = card("deepseek-v4-flash").config
    inv = native_inventory(cfg)
    # rtp-llm's checkpoint oracle test: 69,187 tensors, 1,575 under mtp.0., total_size 159,609,485,896
    assert len(inv) == 69_187
    assert sum(1 for name, _, _ in inv if name.startswith("mtp.0.")) == 1_575
    assert native_bytes(inv) == 159_609_485_896
    assert len({name for name, _, _ in inv}) == len(inv)
    dtypes = dict((name, dt) for name, _, dt in inv)
    assert dtypes["layers.0.ffn.experts.0.w1.weight"] == "I8"
    assert dtypes["layers.0.ffn.experts.0.w1.scale"] == "F8_E8M0"
    assert dtypes["layers.0.ffn.gate.tid2eid"] == "I64"
    assert dtypes["layers.5.ffn.gate.bias"] == "F32"
    no_mtp = native_inventory(cfg, include_mtp=False)
    assert len(no_mtp) == 69_187 - 1_575


def test_v4_pro():
    m = model_of("deepseek-v4-pro")
    c = card("deepseek-v4-pro")
    assert round(m.total_params / 1e9) == 1573                   # research: 1,573.0 B
    assert round(m.active_params() / 1e9, 2) == 48.85
    assert round(m.total_params / 1e12, 1) == c.stated["total_params"] / 1e12     # card: 1.6T
    assert round(m.active_params() / 1e9) == c.stated["active_params"] / 1e9     # card: 49B
    assert "swa" not in [layer.kind for layer in m.layers]


@pytest.mark.parametrize("cid,total_rel,active_key", [
    ("deepseek-v3", 0.005, "active_params"),
    ("qwen3-30b-a3b", 0.005, "active_params"),
    ("gpt-oss-120b", 0.005, "active_params"),
    ("llama-3.1-8b-instruct", 0.005, None),
    ("llama-3.1-70b-instruct", 0.005, None),
])
def test_stated_figures(cid, total_rel, active_key):
    m = model_of(cid)
    st = card(cid).stated
    assert within(m.total_params, st["total_params"], total_rel), (cid, m.total_params)
    if active_key:
        stated = st[active_key]
        digits = len(str(stated).rstrip("0"))          # the card's precision: 37B, 3.3B, 5.13B
        scale = 10 ** (len(str(stated)) - digits)
        # publishers differ on counting the embedding table, and on rounding or cutting the last
        # digit: accept either convention (rigcheck reports both) and either way of shortening
        ours = set()
        for n in (m.active_params(), m.active_params(count_embedding=True)):
            ours |= {round(n / scale) * scale, n // scale * scale}
        assert stated in ours, (cid, m.active_params(), m.active_params(count_embedding=True), stated)


def test_deepseek_v3_matches_official_weight_notes():
    # deepseek-ai README_WEIGHTS: 671B main, 36.6B activated (incl. 0.9B output head);
    # MTP 11.5B unique + shared 0.9B embedding + 0.9B head
    m = model_of("deepseek-v3")
    assert round(m.active_params() / 1e8) == 366
    # the HF checkpoint: 685B = 671B main + 14B MTP module
    assert within(m.total_params + m.mtp_params, 685e9, 0.005)
    assert m.moe.n_dense_layers == 3
    names = {t.name for t in m.tensors}
    assert "blk.0.attn_k_b.weight" in names and "blk.0.attn_kv_b.weight" not in names
    assert "blk.3.exp_probs_b.bias" in names and "blk.2.ffn_gate.weight" in names
    assert all(t.mtp for t in m.tensors if t.layer == 61)


def test_gpt_oss_layout():
    m = model_of("gpt-oss-120b")
    assert [layer.kind for layer in m.layers[:4]] == ["swa", "full", "swa", "full"]
    assert m.layers[0].window == 128 and m.layers[0].sinks
    names = {t.name for t in m.tensors}
    assert {"blk.0.attn_sinks.weight", "blk.0.ffn_down_exps.bias", "blk.0.attn_q.bias"} <= names


def test_qwen3_next_linear_state():
    m = model_of("qwen3-next-80b-a3b-instruct")
    kinds = [layer.kind for layer in m.layers]
    assert kinds.count("full") == 12 and kinds.count("linear") == 36 and kinds[3] == "full"
    lin = m.layers[0]
    assert lin.state_r == 3 * (32 * 128 + 2 * 16 * 128) and lin.state_s == 128 * 32 * 128


def test_roles_drive_the_active_count():
    m = model_of("qwen3-30b-a3b")
    experts = sum(t.n_elements for t in m.tensors if t.role in EXPERT_ROLES)
    embed = sum(t.n_elements for t in m.tensors if t.role == Role.EMBED)
    assert m.active_params() == m.total_params - experts + round(experts * 8 / 128) - embed


def test_shared_v4_config_files_agree_with_cards():
    """The bundled V4 cards against the reference configs in ../shared/data (CI has them
    beside the checkout)."""
    if not os.path.isdir(SHARED):
        pytest.skip("../shared/data is not beside this checkout")
    for name in ("deepseek-v4-flash", "deepseek-v4-pro"):
        path = os.path.join(SHARED, f"{name}.config.json")
        with open(path) as f:
            cfg = json.load(f)
        assert build_model(cfg, name).total_params == model_of(name).total_params


def test_missing_field_names_it():
    cfg = dict(card("qwen3-30b-a3b").config)
    del cfg["moe_intermediate_size"]
    with pytest.raises(InputError, match="moe_intermediate_size"):
        build_model(cfg, "x")


def test_unknown_architecture_lists_known():
    with pytest.raises(UnknownNameError) as e:
        build_model({"model_type": "qwen3_mo"}, "x")
    assert "qwen3_moe" in e.value.suggestions


def test_architectures_fallback():
    cfg = dict(card("llama-3.1-8b-instruct").config)
    del cfg["model_type"]
    assert build_model(cfg, "x").arch == "llama"


@pytest.mark.parametrize("cid", ["glm-4.5-air", "glm-4.6", "qwen3-next-80b-a3b-instruct"])
def test_active_without_embedding_and_head(cid):
    # Z.ai (and Qwen for Qwen3-Next) count active parameters without the embedding table
    # and the output head; the card says so in stated.active_excludes
    c = card(cid)
    m = model_of(cid)
    assert c.stated["active_excludes"] == ["embed", "output"]
    head = sum(t.n_elements for t in m.tensors if t.role == Role.OUTPUT and not t.mtp)
    assert abs((m.active_params() - head) - c.stated["active_params"]) <= 0.5e9
