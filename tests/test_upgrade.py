"""Upgrade options: what it costs to make a build fit, with dated, sourced prices."""

import pytest

from rigcheck.plan.check.upgrade import (Option, candidates_from_catalog, money, ram_option,
                                   upgrade_options)

GB, GiB = 10**9, 2**30
RAM_PRICE = {"usd": 11.0, "date": "2026-06-03", "source": "https://example.org/ram", "usd_low": 10.0,
             "usd_high": 12.0}
PRO6000 = {"label": "RTX PRO 6000 96 GB", "memory_bytes": 96 * GiB, "usd": 8500, "price_date": "2026",
           "source": "https://example.org/pro6000", "kind": "gpu", "adds_to_fast": True}
RTX3090 = {"label": "RTX 3090 24 GB", "memory_bytes": 24 * GiB, "usd": 800, "price_date": "2026",
           "source": "https://example.org/3090", "kind": "gpu", "adds_to_fast": True}
M3ULTRA = {"label": "Mac Studio M3 Ultra 256 GB", "memory_bytes": 256 * GiB, "usd": 5599,
           "price_date": "2026-03", "source": "https://example.org/mac", "kind": "system"}


def test_money_rounding():
    assert money(679.99) == "~$680"
    assert money(8565) == "~$8,560"
    assert money(12_345) == "~$12,300"


def test_ram_option_rounds_up_to_kits_and_prices_per_gib():
    o = ram_option(22 * GiB, RAM_PRICE)
    assert o.label == "add 32 GiB of RAM" and o.adds_bytes == 32 * GiB
    assert o.cost_usd == pytest.approx(352.0) and (o.cost_low, o.cost_high) == (320.0, 384.0)
    assert o.text().startswith("add 32 GiB of RAM: ~$350 (DDR5, price of 2026-06-03, https://example.org/ram)")
    assert ram_option(33 * GiB, RAM_PRICE).label == "add 64 GiB of RAM"


def test_v4_flash_on_a_5090_with_32gb_ram():
    # IQ2_XS-XL: 86 GB with KV and buffers; the rig has 32 GB VRAM and 32 GB RAM
    opts = upgrade_options(need_fast_bytes=86 * GB, need_total_bytes=86 * GB,
                           have_fast_bytes=32 * GiB, have_ram_bytes=32 * GiB,
                           ram_price_per_gib=RAM_PRICE, candidates=[RTX3090, PRO6000, M3ULTRA])
    assert [o.kind for o in opts] == ["ram", "system", "gpu"]
    assert [o.label for o in opts] == ["add 32 GiB of RAM", "Mac Studio M3 Ultra 256 GB", "add RTX PRO 6000 96 GB"]
    # the 3090 is too small even next to the 5090 (56 GB), so it is not offered
    assert all("3090" not in o.label for o in opts)
    assert opts[2].text().startswith("add RTX PRO 6000 96 GB: ~$8,500 (price of 2026, https://example.org/pro6000)")
    assert "offloaded" in opts[0].note and "fast memory" in opts[2].note
    assert opts[0].as_dict()["cost_usd"] == pytest.approx(352.0)


def test_enough_ram_already_means_no_ram_option():
    opts = upgrade_options(86 * GB, 86 * GB, 32 * GiB, 128 * GiB, RAM_PRICE, [PRO6000])
    assert [o.kind for o in opts] == ["gpu"]


def test_a_second_card_counts_with_the_first():
    # 40 GB needed on fast memory; a 24 GB card next to a 24 GB card makes 48
    opts = upgrade_options(40 * GB, 40 * GB, 24 * GiB, 64 * GiB, RAM_PRICE, [RTX3090, PRO6000])
    assert opts[0].label == "add RTX 3090 24 GB" and opts[0].cost_usd == 800
    assert "52 GB with the current GPUs" in opts[0].note


def test_unified_memory_cannot_add_ram_and_fitting_builds_need_nothing():
    opts = upgrade_options(150 * GB, 150 * GB, 96 * GiB, 0, RAM_PRICE, [M3ULTRA], ram_upgradable=False)
    assert [o.kind for o in opts] == ["system"]
    assert upgrade_options(20 * GB, 20 * GB, 24 * GiB, 64 * GiB, RAM_PRICE, [PRO6000]) == []


def test_unpriced_candidates_are_skipped_and_limit_applies():
    free = dict(PRO6000, usd=None, label="mystery card")
    many = [dict(PRO6000, label=f"card {i}", usd=9000 + i) for i in range(6)]
    opts = upgrade_options(86 * GB, 86 * GB, 0, 0, RAM_PRICE, [free] + many, limit=3)
    assert len(opts) == 3 and all(o.label != "mystery card" for o in opts)
    assert [o.cost_usd for o in opts][1:] == [9000, 9001]


def test_option_text_without_price():
    assert Option("gpu", "some card", None).text() == "some card: price unknown"


def test_catalogue_candidates_have_dated_sourced_prices():
    cands = candidates_from_catalog()
    assert cands, "the device catalogue has no priced GPU or SoC"
    for c in cands:
        assert c["usd"] > 0 and c["memory_bytes"] > 0
        assert c["source"], c
        assert c["kind"] in ("gpu", "system")
    big = [c for c in cands if c["memory_bytes"] >= 96 * GiB and c["kind"] == "gpu"]
    assert big, "no 96 GB GPU with a price in the catalogue"


def test_with_catalogue_prices_end_to_end():
    from rigcheck.hardware.prices import ram_price_per_gib
    price = ram_price_per_gib(memory_type="DDR5")
    opts = upgrade_options(86 * GB, 86 * GB, 32 * GiB, 32 * GiB, price, candidates_from_catalog())
    assert opts[0].kind == "ram" and opts[0].label == "add 32 GiB of RAM"
    assert opts[0].price_date == price.date and opts[0].source.startswith("http")
    assert any(o.kind == "gpu" and o.cost_usd > 1000 for o in opts)
