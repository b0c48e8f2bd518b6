"""Prices with dates and sources."""

import pytest

from rigcheck.errors import InputError
from rigcheck.hardware import device_price, ram_cost, ram_price_per_gib

GiB = 2**30


def test_ram_price_at_the_articles_date():
    p = ram_price_per_gib("2026-06-03", "DDR5")
    assert p.date == "2026-06-03"
    # two quotes that day: the cheapest 32 GB kit and a top-end 64 GB listing -> a range per GiB
    assert p.usd_high == pytest.approx(374.97 / 32) and p.usd_low == pytest.approx(679.99 / 64)
    assert p.usd == pytest.approx((p.usd_low + p.usd_high) / 2)
    assert "techtimes" in p.source


def test_ram_price_rose_through_2025():
    early = ram_price_per_gib("2025-05", "DDR5").usd
    late = ram_price_per_gib("2025-12", "DDR5").usd
    assert late > 2.5 * early


def test_ram_cost_and_no_price_before_the_data():
    c = ram_cost(128 * GiB, "2026-06-03")
    assert c.usd_high == pytest.approx(4 * 374.97) and c.usd_low == pytest.approx(2 * 679.99)
    with pytest.raises(InputError):
        ram_price_per_gib("2020-01", "DDR5")
    with pytest.raises(InputError):
        ram_price_per_gib(None, "DDR3")


def test_device_prices_carry_date_and_source():
    p = device_price("rtx-4090")
    assert p.usd == 1599 and p.date.startswith("2022-10") and "http" in p.source
    assert device_price("rtx-3070") is None
    assert device_price("dgx-spark").usd == 4699
