"""bench/speed_accuracy.py's leave-one-device-out split holds out a chip: the memory sizes of
one device (strix-halo-64 and -128, m3-ultra-96/256/512) leave together, read from the real
device catalogue; devices that differ in anything but memory stay apart."""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))

import speed_accuracy as sa  # noqa: E402

from rigcheck.hardware.catalog import devices, get_device  # noqa: E402


def test_memory_twins_are_one_chip():
    assert sa.chip_of("strix-halo-64") == sa.chip_of("strix-halo-128")
    assert sa.chip_of("m3-ultra-96") == sa.chip_of("m3-ultra-256") == sa.chip_of("m3-ultra-512")


def test_devices_that_differ_beyond_memory_stay_apart():
    # the 3080 12GB is another board (912 vs 760 GB/s, 8,960 vs 8,704 cores); the M3 Max comes
    # as a 30-core and a 40-core GPU
    assert sa.chip_of("rtx-3080") != sa.chip_of("rtx-3080-12gb")
    assert sa.chip_of("m3-max-36") != sa.chip_of("m3-max-48")
    assert sa.chip_of("rtx-4090") != sa.chip_of("rtx-5090")


def test_a_chip_shares_bandwidth_and_compute():
    by = {}
    for d in devices():
        by.setdefault(sa.chip_of(d.id), []).append(d)
    twins = [ds for ds in by.values() if len(ds) > 1]
    assert twins
    for ds in twins:
        assert len({(d.bandwidth_bytes_s, d.fp16_flops, d.gpu_cores, d.vendor) for d in ds}) == 1, [d.id for d in ds]
        assert len({d.memory_bytes for d in ds}) == len(ds)


def test_no_fold_keeps_a_twin_of_the_held_out_chip():
    samples, _ = sa.build_samples()
    held = sa.lodo(samples)
    chip_of_group = {}
    for h in held:
        chip_of_group.setdefault(h.group, set()).add(sa.chip_of(h.s.device) if h.s.device else "?")
    assert all(len(v) == 1 for v in chip_of_group.values())
    # both Strix Halo sizes are measured and are held out in one fold
    strix = {h.group for h in held if (h.s.device or "").startswith("strix-halo")}
    assert len(strix) == 1 and {h.s.device for h in held if h.group in strix} >= {"strix-halo-64", "strix-halo-128"}
    assert get_device("strix-halo-64").memory_bytes != get_device("strix-halo-128").memory_bytes


def test_source_agreement_measures_two_figures_of_one_setup():
    """Two figures of one real setup, the second from another source at twice the speed (decode
    and prefill), disagree by exactly 100% and are within 2x; a third at 2.5x is not."""
    import dataclasses
    samples, _ = sa.build_samples()
    s = next(x for x in samples if x.decode_tok_s and sa.calibrate._prefill_ok(x))
    cal = sa.fit_all(samples)
    twice = dataclasses.replace(s, source=s.source + "#other", decode_tok_s=2 * s.decode_tok_s,
                                prefill_tok_s=2 * s.prefill_tok_s)
    got = sa.source_agreement([s, twice], cal)
    for what in ("decode", "prefill"):
        d = got[what]["two sources"]
        assert d["pairs"] == 1 and d["setups"] == 1
        assert abs(d["median_disagreement"] - 1.0) < 1e-3 and d["within_2x"] == 1.0
        assert got[what]["one source"]["pairs"] == 0
    far = dataclasses.replace(twice, source=s.source, decode_tok_s=2.5 * s.decode_tok_s,
                              prefill_tok_s=2.5 * s.prefill_tok_s)
    got = sa.source_agreement([s, far], cal)
    assert got["decode"]["one source"]["within_2x"] == 0.0 and got["decode"]["two sources"]["pairs"] == 0
