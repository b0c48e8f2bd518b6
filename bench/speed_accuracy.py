"""Cross-validated accuracy of rigcheck's speed estimates, and the calibration they come from.

Two splits, each the way a new user meets rigcheck:

* leave one source out (LOSO): for each source (a site, repository or issue thread) the
  constants are fitted to every other source's rows and that source's rows are predicted;
* leave one device out (LODO): the same with every row of one lead device held out (a
  device nobody has measured yet, the common case for a new GPU); devices that differ only
  in memory size (strix-halo-64 / -128, m3-ultra-96 / 256 / 512) are one chip and leave
  together (chip_of).

A held-out row is predicted as ``rigcheck estimate`` would: from the training rows that
measured the same setup (model, build, runtime, devices, placement class) when there are
any, else by the fitted model. Printed per split: median |pred/meas - 1|, the share within
2x (symmetric: 0.5x counts as outside), and the share inside the 80% range, overall and by
runtime, device family and placement class; then the same for prefill. The range a row is
judged against is the one rigcheck would print for it, its bounds computed from the other
groups' held-out errors only (nested, so coverage is not in-sample: split-conformal bounds of
errors weighted by how correlated one group's errors are, see intervals), at the level of
the fit's hierarchy the estimate stood on (speed.fallback_level): the device's own rows, its
family's (other chips measured), or none (nobody measured the family: that interval comes
from a third split, leave one device family out, whose accuracy is not reported).

    python bench/speed_accuracy.py                      # the report (about a minute)
    python bench/speed_accuracy.py --rows               # ... and every held-out prediction
    python bench/speed_accuracy.py --write-calibration  # also refit on all rows and write
                                                        # rigcheck/data/speed_calibration.json
"""

from __future__ import annotations

import os

# One BLAS thread: the fits solve small systems, and on a shared 2-core machine a threaded
# BLAS spins far longer than it computes (set before numpy is imported).
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rigcheck.plan.check.data import catalogue_facts, measurement_rows  # noqa: E402
from rigcheck.plan.speed import (DEFAULT, anchored_mid, decode_seconds, fallback_level, prefill_known,  # noqa: E402
                                 prefill_seconds, calibrate)
from rigcheck.plan.speed.evidence import facts_for_row, sample_of  # noqa: E402
from rigcheck.plan.speed.estimate import calibration_to_json  # noqa: E402

LO_Q, HI_Q = 0.10, 0.90        # the 80% interval
MIN_CLASS = 8                  # a class's interval is shrunk toward the overall one as if that were this many errors


def build_samples(rows=None):
    """Calibration samples of the measurement rows (those marked fit=no, or whose rig or
    model cannot be read, are listed as skipped)."""
    from rigcheck.hardware.spec import parse_rig
    samples, skipped = [], []
    for row in (measurement_rows() if rows is None else rows):
        if not row.fit:
            skipped.append((row, "marked fit=no"))
            continue
        try:
            rig = parse_rig(row.rig)
        except Exception as e:  # noqa: BLE001
            skipped.append((row, f"rig: {e}"))
            continue
        facts = facts_for_row(row, catalogue_facts)
        if facts is None:
            skipped.append((row, "model/build unknown and no parameter figures"))
            continue
        gpu_mem = sum((d.memory_bytes or 0) for n in rig.nodes for d in n.gpus)
        if (row.offload in ("none", "split", "tp") and gpu_mem and facts.total_bytes > 1.02 * gpu_mem):
            skipped.append((row, f"labelled all on the GPUs but its weights ({facts.total_bytes / 1e9:.1f} GB) exceed "
                                 f"their memory ({gpu_mem / 1e9:.1f} GB): it must have spilled; left out of the fit"))
            continue
        try:
            samples.append(sample_of(row, facts, rig))
        except Exception as e:  # noqa: BLE001
            skipped.append((row, f"pools: {e}"))
    return samples, skipped


def fit_all(samples):
    return calibrate.fit(samples, DEFAULT)


# ---- one held-out prediction ---------------------------------------------------------------

def t_model(s, cal) -> float:
    return decode_seconds(s.pools, s.runtime, s.maturity, s.parallel, s.link, cal, legacy=s.legacy, arch=s.arch,
                          backend=s.backend, driver=s.driver)


def predict_decode(s, cal, train_by_setup) -> tuple[float, str]:
    """(tok/s, interval class) for held-out ``s``, as rigcheck estimate would give it."""
    t = t_model(s, cal)
    same = [x for x in train_by_setup.get(s.setup, ()) if x.decode_tok_s]
    if same:
        return anchored_mid([(x.decode_tok_s, t_model(x, cal)) for x in same], t), "anchored"
    return 1.0 / t, s.klass


def t_prefill(s, cal) -> float:
    return prefill_seconds(s.prefill_case, cal)


def predict_prefill(s, cal, train_by_setup=None) -> tuple[float | None, str]:
    """(prefill tok/s, interval class) for held-out ``s``, as rigcheck estimate would give it:
    from the training rows that measured the prefill of the same setup ('anchored'), else the
    fitted model ('near' when the device has prefill rows in the fold, else 'far')."""
    if not calibrate._prefill_ok(s):
        return None, ""
    t = t_prefill(s, cal)
    same = [x for x in (train_by_setup or {}).get(s.setup, ()) if calibrate._prefill_ok(x)]
    same = [x for x in same if x.backend == s.backend] or same     # as rigcheck estimate picks them
    same = [x for x in same if x.prefill_case.batch == s.prefill_case.batch] or same
    if same:
        return anchored_mid([(x.prefill_tok_s, t_prefill(x, cal)) for x in same], t), "anchored"
    return 1.0 / t, "near" if prefill_known(s.prefill_case, cal) else "far"


@dataclasses.dataclass
class Held:
    s: object
    group: str
    dec: float | None
    klass: str            # interval class: anchored, gpu, cpu, hybrid, multi, new_arch, disk
    known: bool           # the lead device had rows of its own in the training fold
    pre: float | None
    pre_klass: str = ""   # prefill interval class: anchored, near (device has prefill rows), far
    level: str = ""       # decode fallback level in the fold's fit (speed.fallback_level): device, family, none

    @property
    def range_level(self) -> str:
        """The level whose interval rigcheck prints for this row: 'device' for an anchored
        estimate or a device the fold measured, else the fold's fallback level."""
        return "device" if self.known or self.klass == "anchored" else self.level


def cross_validate(samples, group_of) -> list[Held]:
    groups = defaultdict(list)
    for s in samples:
        groups[group_of(s)].append(s)
    out = []
    for g in sorted(groups):
        train = [s for s in samples if group_of(s) != g]
        cal = fit_all(train)
        by_setup = defaultdict(list)
        for s in train:
            by_setup[s.setup].append(s)
        for s in groups[g]:
            d, k = predict_decode(s, cal, by_setup) if s.decode_tok_s else (None, s.klass)
            p, pk = predict_prefill(s, cal, by_setup)
            out.append(Held(s, g, d, k, cal.knows_device(s.device), p, pk,
                            level=fallback_level(cal, s.device, family_of(s))))
    return out


def loso(samples) -> list[Held]:
    return cross_validate(samples, lambda s: s.source)


def chip_of(device_id: str) -> str:
    """The chip a catalogue device is: devices that differ only in memory size (strix-halo-64
    and -128, m3-ultra-96/256/512) are one chip, the same silicon at the same rated bandwidth
    and compute; the key is the catalogue name without its memory figure ('... 128GB') and
    those ratings, so a leave-one-device-out fold holds out every memory size of a chip."""
    return _chips().get(device_id, device_id)


@functools.lru_cache(maxsize=1)
def _chips() -> dict:
    from rigcheck.hardware.catalog import devices
    by = defaultdict(list)
    for d in devices():
        base = re.sub(r"\s*\b\d+(\.\d+)?\s*(GB|GiB)\b", "", d.name).strip()
        by[(base, d.bandwidth_bytes_s, d.gpu_cores, d.fp16_flops)].append(d.id)
    return {i: "+".join(sorted(ids)) for ids in by.values() for i in ids}


def lodo(samples) -> list[Held]:
    """Leave one chip out: every memory size of the held-out device goes with it."""
    return cross_validate(samples, lambda s: chip_of(s.device) if s.device else "?")


def lofo(samples) -> list[Held]:
    """Leave one device family out (every row led by an NVIDIA GPU, then every AMD SoC row, ...):
    the errors of estimates for a family nobody measured, which is where a held-out chip that is
    the only one of its family (Strix Halo, DGX Spark) falls; its rows give the 'none' level's
    interval, not its reported accuracy."""
    return cross_validate(samples, lambda s: "family:" + family_of(s))


# ---- intervals ---------------------------------------------------------------------------------

def icc(pairs) -> float:
    """Intra-class correlation of (group, value) pairs (one-way ANOVA, ICC(1)): the share of
    the values' variance that is shared within a group. Held-out errors of one group (a source,
    a chip) share one fold's miss, so they are not independent draws; 0 when fewer than two
    groups or no spread within them."""
    by = defaultdict(list)
    for g, v in pairs:
        by[g].append(v)
    n, k = sum(len(v) for v in by.values()), len(by)
    if k < 2 or n <= k:
        return 0.0
    grand = sum(sum(v) for v in by.values()) / n
    means = {g: sum(v) / len(v) for g, v in by.items()}
    msb = sum(len(v) * (means[g] - grand) ** 2 for g, v in by.items()) / (k - 1)
    msw = sum((x - means[g]) ** 2 for g, v in by.items() for x in v) / (n - k)
    n0 = (n - sum(len(v) ** 2 for v in by.values()) / n) / (k - 1)
    between = max(0.0, (msb - msw) / n0)
    return between / (between + msw) if between + msw > 0 else 0.0


def _upper(vw, f) -> float:
    """Split-conformal upper bound at level ``f`` of (value, weight) pairs: the smallest value
    whose cumulative weight reaches f x (1 + 1/n_eff) of the total (the ceil((n+1)f)-th of n
    equal weights: an empirical quantile of n held-out errors covers less than f of the next
    one), n_eff the Kish effective count; the largest value when that exceeds the total."""
    vw = sorted(vw)
    total = sum(w for _, w in vw)
    n_eff = total * total / sum(w * w for _, w in vw)
    target, acc = min(1.0, f * (1 + 1 / n_eff)) * total, 0.0
    for v, w in vw:
        acc += w
        if acc >= target * (1 - 1e-12):
            return v
    return vw[-1][0]


def _weighted(items) -> tuple[list, float]:
    """((log ratio, weight) pairs, Kish effective count) of ``items`` (log ratio, group, rho):
    each error weighted by 1 / (1 + (n_g - 1) rho), n_g its group's errors among ``items`` and
    rho the intra-class correlation of its split (icc): the design effect of correlated
    errors, so a group counts as many independent errors as its correlation allows (rho 0:
    every row; rho 1: every group once) and one chip or source with many rows does not set the
    tails alone."""
    n = defaultdict(int)
    for _, g, _ in items:
        n[g] += 1
    vw = [(r, 1.0 / (1.0 + (n[g] - 1) * rho)) for r, g, rho in items]
    total = sum(w for _, w in vw)
    return vw, (total * total / sum(w * w for _, w in vw) if vw else 0.0)


def _interval(items) -> tuple[float, float]:
    """(lo, hi) of the 80% interval of ``items`` (log ratio, group, rho): split-conformal bounds
    (_upper, the lower one mirrored) of the errors weighted as _weighted does."""
    vw, _ = _weighted(items)
    return -_upper([(-v, w) for v, w in vw], 1 - LO_Q), _upper(vw, HI_Q)


def intervals(items) -> dict:
    """{class: (lo, hi)} of log(measured / predicted) from (class, log ratio, group, rho)
    items: the overall interval (_interval) and each class's, shrunk toward the overall one by
    its effective count of errors (_weighted): weight n_eff / (n_eff + MIN_CLASS), so a class
    of a few errors, or of many rows from one or two sources, stays near the overall interval
    and one measured often enough takes its own."""
    by = defaultdict(list)
    for k, r, g, rho in items:
        by[k].append((r, g, rho))
        by["all"].append((r, g, rho))
    if not by:
        return {}
    allq = _interval(by["all"])
    out = {"all": allq}
    for k, v in by.items():
        if k == "all":
            continue
        own = _interval(v) if len(v) >= 2 else allq
        n_eff = _weighted(v)[1]
        a = n_eff / (n_eff + MIN_CLASS)
        out[k] = (a * own[0] + (1 - a) * allq[0], a * own[1] + (1 - a) * allq[1])
    return out


def decode_pairs(held, far: bool | None = None, level: str | None = None, rho: float = 0.0, split: str = ""):
    """(class, log ratio, group, rho) of held-out decode predictions: the near ones (device
    known or anchored), the far ones (device unknown, not anchored), or all (far=None);
    ``level``: only those at that range level (Held.range_level: device, family, none); the
    group is (split, the row's fold), rho the split's intra-class correlation (decode_icc)."""
    out = []
    for h in held:
        if not h.dec:
            continue
        is_far = not h.known and h.klass != "anchored"
        if (far is None or far == is_far) and (level is None or h.range_level == level):
            out.append((h.klass, math.log(h.s.decode_tok_s / h.dec), (split, h.group), rho))
    return out


def decode_icc(held) -> float:
    """icc of a split's held-out decode log errors by fold."""
    return icc([(h.group, math.log(h.s.decode_tok_s / h.dec)) for h in held if h.dec])


def level_tables(near_source, far_source, none_source=None, exclude=None) -> dict:
    """{level: {class: (lo, hi)}}: the intervals rigcheck prints at each fallback level, each
    from held-out errors at that level (leaving out group ``exclude`` of any split, from the
    errors and from each split's intra-class correlation): 'device' from LOSO errors of
    measured devices and anchored setups; 'family' from the family-level errors of both splits
    (a device nobody measured, from LODO; one only its own source measured, from LOSO); 'none'
    from leave-one-family-out errors (no family given: the family table)."""
    near_k, far_k = _keep(near_source, exclude), _keep(far_source, exclude)
    rho_n, rho_f = decode_icc(near_k), decode_icc(far_k)
    near = intervals(decode_pairs(near_k, far=False, rho=rho_n, split="near"))
    fam = intervals(decode_pairs(far_k, level="family", rho=rho_f, split="far")
                    + decode_pairs(near_k, level="family", rho=rho_n, split="near"))
    fam = fam or near
    none = {}
    if none_source is not None:
        none_k = _keep(none_source, exclude)
        none = intervals(decode_pairs(none_k, level="none", rho=decode_icc(none_k), split="none"))
    return {"device": near, "family": fam, "none": none or fam}


def _keep(held, exclude):
    return [h for h in held if not in_group(h, exclude)]


def coverage(held, near_source, far_source, none_source=None) -> list[bool]:
    """Whether each held-out row lies inside the interval rigcheck would print for it, the
    interval's percentiles taken from the other groups' errors only (level_tables). near_source /
    far_source / none_source: the LOSO / LODO / leave-one-family-out results."""
    return [i for _, i in coverage_rows(held, near_source, far_source, none_source)]


def coverage_rows(held, near_source, far_source, none_source=None, widths=None) -> list[tuple]:
    """(held row, inside its range) for each held-out decode, in coverage()'s order; each
    range's high / low is appended to ``widths`` when one is given."""
    inside = []
    for g in sorted({h.group for h in held}):
        tables = level_tables(near_source, far_source, none_source, exclude=g)
        for h in held:
            if h.group != g or not h.dec:
                continue
            table = tables[h.range_level]
            lo, hi = table.get(h.klass) or table.get("all", (-0.35, 0.35))
            lo, hi = min(lo, -0.10), max(hi, 0.10)
            inside.append((h, h.dec * math.exp(lo) <= h.s.decode_tok_s <= h.dec * math.exp(hi)))
            if widths is not None:
                widths.append(math.exp(hi - lo))
    return inside


def in_group(h, g) -> bool:
    """Whether held-out result ``h`` belongs to group ``g`` of either split: its own group, its
    source or its chip. The intervals of one split's row are built from the other split's
    errors too (near from LOSO, far from LODO), and a LOSO row's own LODO error must not be
    among those its range comes from."""
    return g is not None and (h.group == g or h.s.source == g or chip_of(h.s.device or "?") == g)


def prefill_intervals(held, exclude=None, klass=None):
    """(lo, hi) of the 80% interval (_interval) of held-out prefill log errors (leaving out
    group ``exclude`` of either split; of one interval class, or all), each weighted by the
    split's intra-class correlation of prefill errors by fold."""
    pre = [h for h in calibrate.unique_prefill(held) if h.pre and not in_group(h, exclude)]
    rho = icc([(h.group, math.log(h.s.prefill_tok_s / h.pre)) for h in pre])
    items = [(math.log(h.s.prefill_tok_s / h.pre), h.group, rho) for h in pre if klass is None or h.pre_klass == klass]
    return _interval(items) if len(items) >= MIN_CLASS else None


def prefill_interval(klass, near_source, far_source, exclude=None):
    """(lo, hi) of the prefill interval of interval class ``klass`` (prefill_intervals, leaving
    out group ``exclude``): 'near' from LOSO errors of devices with prefill rows, 'anchored'
    from LOSO errors of anchored estimates (else near), 'far' from LODO errors, widened on
    either side to at least the near one: a held-out chip keeps its sources' other rows in the
    fit, so LODO errors miss the source-to-source spread the near interval measures, and a new
    user of a device nobody measured is a new source too (decode's family level pools both
    splits' errors instead; for prefill that pool is no wider, the LOSO far errors being few
    and small). None when there are no errors."""
    near = prefill_intervals(near_source, exclude, "near") or prefill_intervals(near_source, exclude)
    if klass == "anchored":
        return prefill_intervals(near_source, exclude, "anchored") or near
    if klass != "far":
        return near
    far = prefill_intervals(far_source, exclude, "far") or prefill_intervals(far_source, exclude)
    if far and near:
        return (min(far[0], near[0]), max(far[1], near[1]))
    return far or near


def prefill_coverage(pre, near_source, far_source, widths=None) -> list[bool]:
    """Whether each held-out prefill lies inside the interval rigcheck would print for it
    (prefill_interval), each from the other groups' errors only (each range's high / low
    appended to ``widths`` when one is given)."""
    out = []
    for h in pre:
        iv = prefill_interval(h.pre_klass, near_source, far_source, exclude=h.group) or (-0.5, 0.5)
        floor = 0.10 if h.pre_klass == "anchored" else 0.15
        lo, hi = min(iv[0], -floor), max(iv[1], floor)
        out.append(h.pre * math.exp(lo) <= h.s.prefill_tok_s <= h.pre * math.exp(hi))
        if widths is not None:
            widths.append(math.exp(hi - lo))
    return out


# ---- report --------------------------------------------------------------------------------------

def stats(pairs, inside=None) -> str:
    if not pairs:
        return "n=  0"
    errs = [abs(p / m - 1) for p, m in pairs]
    ratio = [max(p / m, m / p) for p, m in pairs]
    out = (f"n={len(errs):4d}  median err {statistics.median(errs):5.1%}  within 2x "
           f"{sum(r <= 2 for r in ratio) / len(ratio):5.1%}")
    if inside is not None and inside:
        out += f"  in 80% range {sum(inside) / len(inside):5.1%}"
    return out


def family_of(s) -> str:
    return calibrate._lead(s.pools)


def report_split(name, held, near_source, far_source, none_source=None) -> dict:
    widths, pre_widths = [], []
    judged = coverage_rows(held, near_source, far_source, none_source, widths)
    inside_list = [i for _, i in judged]
    cov = {id(h): i for h, i in judged}
    rows = [h for h in held if h.dec]
    print(f"\nDecode, {name} ({len({h.group for h in held})} groups)")
    print(f"  overall                 {stats([(h.dec, h.s.decode_tok_s) for h in rows], inside_list)}"
          f"  (median range high/low x{statistics.median(widths):.2f})")
    for label, keyf in (("runtime", lambda h: h.s.runtime), ("family", lambda h: family_of(h.s)),
                        ("class", lambda h: h.klass), ("kind", lambda h: h.s.kind),
                        ("level", lambda h: h.range_level)):
        groups = defaultdict(list)
        for h in rows:
            groups[keyf(h)].append(h)
        for k in sorted(groups):
            hs = groups[k]
            print(f"  {label:<7} {k:<15} {stats([(h.dec, h.s.decode_tok_s) for h in hs], [cov[id(h)] for h in hs])}")
    pre = calibrate.unique_prefill([h for h in held if h.pre])
    pin = prefill_coverage(pre, near_source, far_source, pre_widths)
    print(f"Prefill, {name} (unique prefill figures with a known prompt length, dated 2024-06 or later)")
    print(f"  overall                 {stats([(h.pre, h.s.prefill_tok_s) for h in pre], pin)}"
          f"  (median range high/low x{statistics.median(pre_widths):.2f})")
    for label, keyf in (("runtime", lambda h: h.s.runtime), ("backend", lambda h: h.s.prefill_case.backend_key),
                        ("family", lambda h: family_of(h.s)), ("class", lambda h: h.pre_klass),
                        ("kind", lambda h: h.s.kind)):
        groups = defaultdict(list)
        for h, i in zip(pre, pin):
            groups[keyf(h)].append((h, i))
        for k in sorted(groups):
            print(f"  {label:<7} {k:<15} {stats([(h.pre, h.s.prefill_tok_s) for h, _ in groups[k]], [i for _, i in groups[k]])}")
    dec_pairs = [(h.dec, h.s.decode_tok_s) for h in rows]
    errs = sorted(abs(p / m - 1) for p, m in dec_pairs)
    by_level = {}
    for lv in sorted({h.range_level for h in rows}):
        ins = [cov[id(h)] for h in rows if h.range_level == lv]
        by_level[lv] = {"n": len(ins), "coverage_80": round(sum(ins) / len(ins), 4)}
    return {"n": len(rows), "coverage_by_level": by_level, "median_err": round(statistics.median(errs), 4) if errs else None,
            "within_2x": round(sum(max(p / m, m / p) <= 2 for p, m in dec_pairs) / len(dec_pairs), 4) if dec_pairs else None,
            "coverage_80": round(sum(inside_list) / len(inside_list), 4) if inside_list else None,
            "range_ratio_median": round(statistics.median(widths), 3) if widths else None,
            "prefill_n": len(pre),
            "prefill_median_err": round(statistics.median(abs(h.pre / h.s.prefill_tok_s - 1) for h in pre), 4) if pre else None,
            "prefill_within_2x": round(sum(max(h.pre / h.s.prefill_tok_s, h.s.prefill_tok_s / h.pre) <= 2 for h in pre)
                                       / len(pre), 4) if pre else None,
            "prefill_coverage_80": round(sum(pin) / len(pin), 4) if pin else None,
            "prefill_range_ratio_median": round(statistics.median(pre_widths), 3) if pre_widths else None}


def source_agreement(samples, cal) -> dict:
    """How well two sources agree on one setup (model, build, runtime, devices, placement and
    backend): for every pair of figures of one setup, |log| of the ratio of their values, each
    moved to the same context / prompt by the model (value x the model's seconds per token),
    apart for pairs from two sources and pairs from one source. The cross-source disagreement is
    a floor under leave-one-source-out error: a held-out source can be predicted no closer than
    other sources measured that same setup."""
    out = {}
    for what, ok, value, t in (
            ("decode", lambda s: bool(s.decode_tok_s), lambda s: s.decode_tok_s, lambda s: t_model(s, cal)),
            ("prefill", calibrate._prefill_ok, lambda s: s.prefill_tok_s, lambda s: t_prefill(s, cal))):
        pool = [s for s in samples if ok(s)]
        if what == "prefill":
            pool = calibrate.unique_prefill(pool)
        by = defaultdict(list)
        for s in pool:
            by[(s.setup, s.backend)].append(s)
        pairs = {"two sources": [], "one source": []}
        setups = {"two sources": defaultdict(list), "one source": defaultdict(list)}
        for key, v in by.items():
            for i, a in enumerate(v):
                for b in v[i + 1:]:
                    k = "two sources" if a.source != b.source else "one source"
                    d = abs(math.log(value(a) * t(a) / (value(b) * t(b))))
                    pairs[k].append(d)
                    setups[k][key].append(d)
        out[what] = {k: {"pairs": len(v), "setups": len(setups[k]),
                         "median_disagreement": round(math.exp(statistics.median(v)) - 1, 4) if v else None,
                         # each setup counted once (the median of its pairs), so one setup measured
                         # many times does not decide the figure
                         "median_by_setup": round(math.exp(statistics.median(
                             statistics.median(x) for x in setups[k].values())) - 1, 4) if v else None,
                         "within_2x": round(sum(x <= math.log(2) for x in v) / len(v), 4) if v else None}
                     for k, v in pairs.items()}
    return out


def print_agreement(agree: dict) -> None:
    print("\nSame setup measured twice (the floor under leave-one-source-out error): median |ratio - 1| "
          "between two figures of one setup, moved to one context by the model")
    for what, by in agree.items():
        for k, d in by.items():
            if d["pairs"]:
                print(f"  {what:<8} {k:<12} pairs={d['pairs']:5d} setups={d['setups']:4d}  median disagreement "
                      f"{d['median_disagreement']:5.1%} (by setup {d['median_by_setup']:5.1%})  within 2x {d['within_2x']:5.1%}")


def calibration_from(samples, held_loso, held_lodo, held_lofo=None, fitted=None):
    """The constants fitted to every row (``fitted``, where the caller has already fitted them:
    fit_all(samples)), with the intervals of the cross-validated errors per fallback level
    (level_tables): near ones from LOSO (device known or anchored), far ones (family measured)
    from the family-level errors of LODO and LOSO, those of a family nobody measured from
    leave-one-family-out."""
    cal = fitted if fitted is not None else fit_all(samples)
    tables = level_tables(held_loso, held_lodo, held_lofo)
    near, far = tables["device"], tables["family"] if (held_loso or held_lodo) else {}
    none = tables["none"] if held_lofo else {}
    pre_near = prefill_interval("near", held_loso, held_lodo) or cal.prefill_spread
    pre_far = prefill_interval("far", held_loso, held_lodo) or pre_near
    pre_anch = prefill_interval("anchored", held_loso, held_lodo) or pre_near
    return dataclasses.replace(cal, spread=near, spread_far=far, spread_none=none, prefill_spread=tuple(pre_near),
                               prefill_spread_far=tuple(pre_far), prefill_spread_anchored=tuple(pre_anch))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write-calibration", action="store_true")
    ap.add_argument("--rows", action="store_true", help="print every held-out decode prediction (LOSO)")
    ap.add_argument("--prefill-rows", choices=("loso", "lodo"),
                    help="print every held-out prefill figure of that split, worst first")
    args = ap.parse_args(argv)
    samples, skipped = build_samples()
    exact = sum(1 for s in samples if s.meta["exact"])
    print(f"rows: {len(measurement_rows())}; used {len(samples)} ({exact} with exact catalogue bytes, "
          f"{len(samples) - exact} from the row's parameter figures); skipped {len(skipped)}; "
          f"{len({s.source for s in samples})} sources, {len({s.device for s in samples})} lead devices")
    for row, why in skipped:
        print(f"  skipped: {row.model} {row.build} on {row.rig}: {why}")
    held_loso = loso(samples)
    held_lodo = lodo(samples)
    held_lofo = lofo(samples)
    res = {"loso": report_split("leave one source out", held_loso, held_loso, held_lodo, held_lofo),
           "lodo": report_split("leave one device out", held_lodo, held_loso, held_lodo, held_lofo)}
    fitted = fit_all(samples)             # every row: for the agreement and the written calibration
    res["agreement"] = source_agreement(samples, fitted)
    print_agreement(res["agreement"])
    if args.rows:
        print("\nLOSO held-out decode predictions, worst first:")
        for h in sorted((h for h in held_loso if h.dec), key=lambda h: -abs(math.log(h.s.decode_tok_s / h.dec))):
            r = h.s.meta["row"]
            print(f"  {h.dec / h.s.decode_tok_s:5.2f}x  pred {h.dec:7.1f} meas {h.s.decode_tok_s:7.1f}  [{h.klass}] "
                  f"{r.model} {r.build} {r.runtime} {r.rig} {r.offload} ctx={r.context}")
    if args.prefill_rows:
        held = held_loso if args.prefill_rows == "loso" else held_lodo
        print(f"\n{args.prefill_rows.upper()} held-out prefill predictions, worst first:")
        for h in sorted((h for h in calibrate.unique_prefill(held) if h.pre),
                        key=lambda h: -abs(math.log(h.s.prefill_tok_s / h.pre))):
            r, c = h.s.meta["row"], h.s.prefill_case
            print(f"  {h.pre / h.s.prefill_tok_s:5.2f}x  pred {h.pre:8.1f} meas {h.s.prefill_tok_s:8.1f}  "
                  f"[{h.pre_klass}] {r.model} {r.build} {r.runtime} {r.version} {r.rig} {r.offload} "
                  f"pp={r.prefill_tokens} ub={c.batch} {r.source[:60]}")
    if args.write_calibration:
        cal = calibration_from(samples, held_loso, held_lodo, held_lofo, fitted)
        cal = dataclasses.replace(cal, meta={
            **cal.meta, "fitted": True, "rows": len(samples), "sources": len({s.source for s in samples}),
            "exact_rows": exact, "written_by": "bench/speed_accuracy.py --write-calibration",
            "fit": "rigcheck.plan.speed.calibrate.fit (hierarchical log least squares with priors)",
            "interval": "80% (split-conformal 10th-90th percentile bounds of cross-validated log errors, each "
                        "weighted by its split's intra-class correlation of errors by fold, per placement class "
                        "(shrunk toward the overall interval by its effective count) and fallback level: device "
                        "measured / family measured / family unmeasured; prefill: near / anchored / far, the far "
                        "one at least as wide as the near one)",
            "loso_decode": stats([(h.dec, h.s.decode_tok_s) for h in held_loso if h.dec]),
            "loso_prefill": stats([(h.pre, h.s.prefill_tok_s) for h in calibrate.unique_prefill(held_loso) if h.pre]),
            "accuracy": res})
        path = os.path.join(os.path.dirname(__file__), "..", "rigcheck", "data", "speed_calibration.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(calibration_to_json(cal), f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"wrote {os.path.normpath(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
