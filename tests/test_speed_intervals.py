"""How bench/speed_accuracy.py turns held-out errors into the 80% ranges rigcheck prints:
split-conformal bounds (an empirical quantile of n held-out errors covers less than 80% of the
next one), errors weighted by how correlated one group's errors are (icc: one source or chip
with many rows does not set the tails alone), classes shrunk toward the overall interval by
their effective count, and a prefill range for an unmeasured device never narrower than the
measured one's."""

from __future__ import annotations

import math
import os
import sys
from types import SimpleNamespace

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))

import speed_accuracy as sa  # noqa: E402


def test_the_upper_bound_is_the_split_conformal_order_statistic():
    # n exchangeable errors: the bound at 0.9 that covers the next one with probability >= 0.9
    # is the ceil((n + 1) 0.9)-th smallest (the empirical 90th percentile is a lower one)
    for n in (9, 19, 49, 99):
        vals = [(float(i), 1.0) for i in range(1, n + 1)]
        assert sa._upper(vals, 0.9) == math.ceil((n + 1) * 0.9)
    # fewer than 9: no order statistic reaches it, the largest error stands
    assert sa._upper([(float(i), 1.0) for i in range(1, 6)], 0.9) == 5.0


def test_the_interval_is_symmetric_in_its_tails():
    items = [(float(i), ("s", f"g{i}"), 0.0) for i in range(-9, 10)]      # 19 errors, one a group
    lo, hi = sa._interval(items)
    assert lo == -hi == -(math.ceil(20 * 0.9) - 10)


def test_icc_reads_how_much_of_the_spread_is_shared_within_groups():
    shared = [(g, float(g)) for g in range(5) for _ in range(4)]                # all spread between groups
    assert sa.icc(shared) == 1.0
    within = [(g, float(i)) for g in range(5) for i in range(4)]                # identical groups
    assert sa.icc(within) == 0.0
    assert sa.icc([("only", 1.0), ("only", 2.0)]) == 0.0                        # one group: nothing to read
    mixed = [(g, g + 0.5 * i) for g in range(6) for i in range(3)]
    assert 0.0 < sa.icc(mixed) < 1.0


def test_correlated_rows_of_one_group_count_as_fewer_errors():
    # one source of 40 rows all near 0, ten one-row sources spread to +-1
    big = [(0.01 * (i % 5), ("s", "big"), None) for i in range(40)]
    small = [(x, ("s", f"one{i}"), None) for i, x in enumerate([-1.0, -0.8, -0.6, -0.4, -0.2, 0.2, 0.4, 0.6, 0.8, 1.0])]

    def with_rho(rho):
        return [(r, g, rho) for r, g, _ in big + small]

    vw0, n0 = sa._weighted(with_rho(0.0))
    assert all(w == 1.0 for _, w in vw0) and n0 == 50
    vw1, n1 = sa._weighted(with_rho(1.0))
    assert sum(w for (_, w), (_, g, _) in zip(vw1, with_rho(1.0)) if g == ("s", "big")) == pytest.approx(1.0)
    assert n1 == pytest.approx(11 ** 2 / (40 / 40 ** 2 + 10))       # Kish: (sum w)^2 / sum w^2
    lo0, hi0 = sa._interval(with_rho(0.0))
    lo1, hi1 = sa._interval(with_rho(1.0))
    assert hi1 - lo1 > hi0 - lo0          # the one-row sources now set the tails


def test_a_class_of_few_errors_stays_near_the_overall_interval():
    base = [("gpu", 0.05 * ((i * 7) % 21 - 10), ("s", f"g{i}"), 0.0) for i in range(200)]
    few = [("hybrid", -2.0 + 0.01 * i, ("s", f"h{i}"), 0.0) for i in range(3)]
    many = [("cpu", -2.0 + 0.01 * i, ("s", f"c{i}"), 0.0) for i in range(200)]
    t = sa.intervals(base + few + many)
    own_few = sa._interval([(r, g, rho) for _, r, g, rho in few])
    own_many = sa._interval([(r, g, rho) for _, r, g, rho in many])
    # three errors: a weight of 3 / (3 + MIN_CLASS) on their own interval
    a = 3 / (3 + sa.MIN_CLASS)
    assert t["hybrid"][0] == a * own_few[0] + (1 - a) * t["all"][0]
    # two hundred: nearly its own
    assert abs(t["cpu"][0] - own_many[0]) < 0.05 * abs(own_many[0] - t["all"][0])


def _pre(group, source, device, meas, pred, klass):
    s = SimpleNamespace(prefill_tok_s=meas, source=source, device=device,
                        prefill_case=SimpleNamespace(key=(source, device, pred)))
    return SimpleNamespace(s=s, group=group, pre=pred, pre_klass=klass)


def test_an_unmeasured_devices_prefill_range_is_never_narrower_than_a_measured_ones(monkeypatch):
    # the LODO (far) errors are tight, the LOSO (near) ones wide on the low side
    monkeypatch.setattr(sa.calibrate, "unique_prefill", lambda xs: list(xs))
    near = [_pre(f"src{i}", f"src{i}", f"d{i % 4}", 100.0, 100.0 * math.exp(0.6 - 0.1 * i), "near") for i in range(12)]
    far = [_pre(f"d{i}", f"src{i}", f"d{i}", 100.0, 100.0 * math.exp(0.02 * (i - 6)), "far") for i in range(12)]
    n_iv = sa.prefill_interval("near", near, far)
    f_iv = sa.prefill_interval("far", near, far)
    only_far = sa.prefill_intervals(far, klass="far")
    assert only_far[0] > n_iv[0]                      # the case the envelope is for
    assert f_iv[0] == n_iv[0] and f_iv[1] == max(only_far[1], n_iv[1])
    assert sa.prefill_interval("anchored", near, far) == n_iv      # no anchored errors: the near one
