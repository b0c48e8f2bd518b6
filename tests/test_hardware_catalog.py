"""The device catalogue: every row sourced and dated; the article's tier devices present with bandwidth."""

from __future__ import annotations

import csv
import re
from importlib import resources

import pytest

from rigcheck.errors import UnknownNameError
from rigcheck.hardware import devices, get_device, get_link, links, parse_rig, tiers
from rigcheck.hardware.catalog import find_device

GiB = 2**30
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def rows():
    text = (resources.files("rigcheck") / "data" / "devices.csv").read_text()
    return list(csv.DictReader(ln for ln in text.splitlines() if not ln.startswith("#")))


def test_every_row_has_source_date_and_honest_mark():
    for r in rows():
        assert r["source"].strip(), r["id"]
        assert DATE.match(r["checked"]), r["id"]
        assert r["verified"] in ("S", "D", "M"), r["id"]
        if r["verified"] == "S":
            assert "http" in r["source"], f"{r['id']}: 'seen in a source' needs the source's address"


def test_ids_are_unique_lowercase_dashed():
    ids = [d.id for d in devices()] + [ln.id for ln in links()]
    assert len(ids) == len(set(ids))
    for i in ids:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i), i


def test_accelerators_have_memory_and_bandwidth():
    for d in devices("gpu") + devices("soc"):
        assert d.memory_bytes and d.memory_bytes >= 8 * GiB, d.id
        assert d.bandwidth_bytes_s and 60e9 <= d.bandwidth_bytes_s <= 10e12, d.id


def test_cpu_bandwidth_is_channels_times_8_bytes_times_speed():
    x = get_device("xeon-gold-6138")
    assert (x.mem_channels, x.mem_mt_s) == (6, 2666)
    assert x.bandwidth_bytes_s == 6 * 8 * 2666e6
    assert get_device("epyc-9654").bandwidth_bytes_s == 12 * 8 * 4800e6


def test_every_device_of_the_article_tiers_is_in_the_catalogue_with_sourced_bandwidth():
    seen = set()
    for tier in tiers():
        for spec in tier.rigs:
            for dev in parse_rig(spec).node.devices:
                seen.add(dev.id)
                assert dev.bandwidth_bytes_s, dev.id
                assert dev.verified in ("S", "D"), f"{dev.id} bandwidth is not from a source"
                assert "http" in dev.source
    # named in the article's table and text
    for want in ("rtx-5090", "rtx-4090", "rtx-3090", "rtx-pro-6000", "m4-max-128", "strix-halo-128",
                 "dgx-spark", "m3-ultra-256", "m2-ultra-192"):
        assert want in seen, want


@pytest.mark.parametrize("spec_id,gbs", [
    ("m4-max-36", 410), ("m4-max-128", 546), ("m3-max-36", 307.2), ("m3-max-96", 307.2),
    ("m3-max-128", 409.6), ("m3-pro-18", 153.6), ("m2-max-96", 409.6), ("m1-16", 68.25),
    ("m3-ultra-512", 819.2), ("m4-pro-64", 273), ("m5-max-128", 614), ("m2-ultra-192", 819.2),
])
def test_apple_bandwidth_per_chip_variant(spec_id, gbs):
    d = get_device(spec_id)
    assert d.bandwidth_bytes_s == gbs * 1e9 and d.unified and d.kind == "soc"


def test_every_apple_chip_m1_to_m5_in_every_tier_has_memory_options():
    for gen in ("m1", "m2", "m3", "m4", "m5"):
        for tier in ("", "-pro", "-max") + (("-ultra",) if gen in ("m1", "m2", "m3") else ()):
            base = gen + tier
            opts = [d for d in devices("soc") if re.fullmatch(re.escape(base) + r"-\d+", d.id)]
            assert len(opts) >= 2, base
            for d in opts:
                assert d.memory_bytes == int(d.id.rsplit("-", 1)[1]) * GiB


def test_lookup_forgives_case_spacing_and_vendor_words():
    assert get_device("RTX 4090").id == "rtx-4090"
    assert get_device("NVIDIA GeForce RTX 4090").id == "rtx-4090"
    assert get_device("  Rtx_3080_Ti ").id == "rtx-3080-ti"
    assert get_device("gb10").id == "dgx-spark"
    assert get_device("Apple M4 Max 128").id == "m4-max-128"
    assert find_device("rtx-9090") is None


def test_unknown_device_suggests_closest():
    with pytest.raises(UnknownNameError) as e:
        get_device("rtx-9090")
    assert "rtx-5090" in e.value.suggestions
    assert "\n" not in str(e.value)


def test_links_per_direction():
    assert get_link("pcie4-x16").bandwidth_bytes_s == 31.5e9
    assert get_link("pcie5").bandwidth_bytes_s == 63e9
    assert get_link("ib-400g").bandwidth_bytes_s == 50e9
    assert get_link("tb5").bandwidth_bytes_s == 10e9
    assert get_link("nvlink4").bandwidth_bytes_s == 450e9
    with pytest.raises(UnknownNameError):
        get_link("pcie9")


def test_price_rows_carry_dates():
    for d in devices():
        if d.price_usd is not None:
            assert d.price_date, d.id


def test_every_catalogue_row_has_the_header_columns():
    """A notes cell with an unquoted comma shifts every later column: catch it."""
    import csv
    from importlib import resources
    text = (resources.files("rigcheck") / "data" / "devices.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(line for line in text.splitlines() if line and not line.startswith("#")))
    bad = [r[0] for r in rows[1:] if len(r) != len(rows[0])]
    assert not bad, f"rows with a wrong column count: {bad}"
