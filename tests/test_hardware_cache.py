"""The last-level cache catalogue (rigcheck/data/device_cache.csv): every row names a real
devices.csv row, says where it was seen, and reaches the Device objects in MiB."""

from __future__ import annotations

import csv
import re
from importlib import resources

from rigcheck import catalogue
from rigcheck.hardware import devices

MiB = 2**20


def _rows():
    text = (resources.files("rigcheck") / "data" / "device_cache.csv").read_text(encoding="utf-8")
    return list(csv.reader(ln for ln in text.splitlines() if ln and not ln.startswith("#")))


def test_every_row_has_the_header_columns_source_date_and_mark():
    rows = _rows()
    assert all(len(r) == len(rows[0]) for r in rows[1:]), [r[0] for r in rows[1:] if len(r) != len(rows[0])]
    for r in catalogue.device_caches():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["checked"]), r["id"]
        assert r["verified"] in ("S", "D"), f"{r['id']}: a cache size from memory does not belong here"
        assert "http" in r["source"], r["id"]
        assert r["kind"] in ("l2", "infinity-cache"), r["id"]
        assert r["notes"].strip(), f"{r['id']}: say what the source says (or the rule a derived value follows)"


def test_every_row_names_a_devices_csv_row_once():
    ids = [r["id"] for r in catalogue.device_caches()]
    assert len(ids) == len(set(ids))
    dev_rows = {r["id"].strip() for r in catalogue.devices() if r["kind"].strip() in ("gpu", "soc")}
    assert set(ids) <= dev_rows, sorted(set(ids) - dev_rows)


def test_each_size_reaches_its_devices_in_bytes_and_only_those():
    sizes = {r["id"]: float(r["llc_mib"]) for r in catalogue.device_caches()}
    by_row = {}
    for r in catalogue.devices():
        by_row[r["id"].strip()] = r
    seen = 0
    for d in devices():
        row_id = next((k for k, r in by_row.items() if k == d.id or ("{mem}" in k and re.fullmatch(
            re.escape(k).replace(r"\{mem\}", r"\d+(\.\d+)?"), d.id))), None)
        want = sizes.get(row_id)
        if want is None:
            assert d.llc_bytes is None, d.id
        else:
            seen += 1
            assert d.llc_bytes == int(want * MiB), d.id
    assert seen >= len(sizes)


def test_sizes_are_plausible_last_level_caches():
    # no GPU or SoC of the catalogue's era has a last-level cache under 1 MiB or over 512 MiB;
    # a value outside is a unit slip (KiB or bytes written as MiB)
    for r in catalogue.device_caches():
        assert 1 <= float(r["llc_mib"]) <= 512, r["id"]
