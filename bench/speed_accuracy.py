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
judged against is the one rigcheck would print for it, with its percentiles computed from
the other groups' held-out errors only (nested, so coverage is not in-sample), at the level of
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
MIN_CLASS = 8                  # fewer held-out errors than this: the split's overall interval


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

def _q(v, f):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(f * (len(v) - 1)))))]


def intervals(pairs) -> dict:
    """{class: (q10, q90)} of log(measured / predicted) from (class, log ratio) pairs; a
    class with fewer than MIN_CLASS errors takes the overall interval."""
    by = defaultdict(list)
    for k, r in pairs:
        by[k].append(r)
        by["all"].append(r)
    if not by:
        return {}
    allq = (_q(by["all"], LO_Q), _q(by["all"], HI_Q))
    return {k: ((_q(v, LO_Q), _q(v, HI_Q)) if len(v) >= MIN_CLASS else allq) for k, v in by.items()}


def decode_pairs(held, far: bool | None = None, level: str | None = None):
    """(class, log ratio) of held-out decode predictions: the near ones (device known or
    anchored), the far ones (device unknown, not anchored), or all (far=None); ``level``: only
    those at that range level (Held.range_level: device, family, none)."""
    out = []
    for h in held:
        if not h.dec:
            continue
        is_far = not h.known and h.klass != "anchored"
        if (far is None or far == is_far) and (level is None or h.range_level == level):
            out.append((h.klass, math.log(h.s.decode_tok_s / h.dec)))
    return out


def level_tables(near_source, far_source, none_source=None, exclude=None) -> dict:
    """{level: {class: (q10, q90)}}: the intervals rigcheck prints at each fallback level, each
    from held-out errors at that level (leaving out group ``exclude`` of any split):
    'device' from LOSO errors of measured devices and anchored setups; 'family' from the
    family-level errors of both splits (a device nobody measured, from LODO; one only its own
    source measured, from LOSO); 'none' from leave-one-family-out errors (no family given: the
    family table)."""
    keep = (lambda hs: [h for h in hs if not in_group(h, exclude)])
    near = intervals(decode_pairs(keep(near_source), far=False))
    fam = intervals(decode_pairs(keep(far_source), level="family") + decode_pairs(keep(near_source), level="family"))
    fam = fam or near
    none = intervals(decode_pairs(keep(none_source), level="none")) if none_source is not None else {}
    return {"device": near, "family": fam, "none": none or fam}


def coverage(held, near_source, far_source, none_source=None) -> list[bool]:
    """Whether each held-out row lies inside the interval rigcheck would print for it, the
    interval's percentiles taken from the other groups' errors only (level_tables). near_source /
    far_source / none_source: the LOSO / LODO / leave-one-family-out results."""
    return [i for _, i in coverage_rows(held, near_source, far_source, none_source)]


def coverage_rows(held, near_source, far_source, none_source=None) -> list[tuple]:
    """(held row, inside its range) for each held-out decode, in coverage()'s order."""
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
    return inside


def in_group(h, g) -> bool:
    """Whether held-out result ``h`` belongs to group ``g`` of either split: its own group, its
    source or its chip. The intervals of one split's row are built from the other split's
    errors too (near from LOSO, far from LODO), and a LOSO row's own LODO error must not be
    among those its range comes from."""
    return g is not None and (h.group == g or h.s.source == g or chip_of(h.s.device or "?") == g)


def prefill_intervals(held, exclude=None, klass=None):
    """(q10, q90) of held-out prefill log errors (leaving out group ``exclude`` of either split;
    of one interval class, or all)."""
    v = [math.log(h.s.prefill_tok_s / h.pre) for h in calibrate.unique_prefill(held)
         if h.pre and not in_group(h, exclude) and (klass is None or h.pre_klass == klass)]
    return (_q(v, LO_Q), _q(v, HI_Q)) if len(v) >= MIN_CLASS else None


def prefill_coverage(pre, near_source, far_source) -> list[bool]:
    """Whether each held-out prefill lies inside the interval rigcheck would print for it: the
    anchored and near intervals from LOSO errors, the far one from LODO errors, each from the
    other groups only."""
    out = []
    for h in pre:
        src = far_source if h.pre_klass == "far" else near_source
        iv = (prefill_intervals(src, exclude=h.group, klass=h.pre_klass)
              or prefill_intervals(src, exclude=h.group) or (-0.5, 0.5))
        floor = 0.10 if h.pre_klass == "anchored" else 0.15
        out.append(h.pre * math.exp(min(iv[0], -floor)) <= h.s.prefill_tok_s <= h.pre * math.exp(max(iv[1], floor)))
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
    judged = coverage_rows(held, near_source, far_source, none_source)
    inside_list = [i for _, i in judged]
    cov = {id(h): i for h, i in judged}
    rows = [h for h in held if h.dec]
    print(f"\nDecode, {name} ({len({h.group for h in held})} groups)")
    print(f"  overall                 {stats([(h.dec, h.s.decode_tok_s) for h in rows], inside_list)}")
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
    pin = prefill_coverage(pre, near_source, far_source)
    print(f"Prefill, {name} (unique prefill figures with a known prompt length, dated 2024-06 or later)")
    print(f"  overall                 {stats([(h.pre, h.s.prefill_tok_s) for h in pre], pin)}")
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
            "prefill_n": len(pre),
            "prefill_median_err": round(statistics.median(abs(h.pre / h.s.prefill_tok_s - 1) for h in pre), 4) if pre else None,
            "prefill_within_2x": round(sum(max(h.pre / h.s.prefill_tok_s, h.s.prefill_tok_s / h.pre) <= 2 for h in pre)
                                       / len(pre), 4) if pre else None,
            "prefill_coverage_80": round(sum(pin) / len(pin), 4) if pin else None}


def calibration_from(samples, held_loso, held_lodo, held_lofo=None):
    """The constants fitted to every row, with the intervals of the cross-validated errors per
    fallback level (level_tables): near ones from LOSO (device known or anchored), far ones
    (family measured) from the family-level errors of LODO and LOSO, those of a family nobody
    measured from leave-one-family-out."""
    cal = fit_all(samples)
    tables = level_tables(held_loso, held_lodo, held_lofo)
    near, far = tables["device"], tables["family"] if (held_loso or held_lodo) else {}
    none = tables["none"] if held_lofo else {}
    pre_near = prefill_intervals(held_loso, klass="near") or prefill_intervals(held_loso) or cal.prefill_spread
    pre_far = prefill_intervals(held_lodo, klass="far") or prefill_intervals(held_lodo) or pre_near
    pre_anch = prefill_intervals(held_loso, klass="anchored") or pre_near
    return dataclasses.replace(cal, spread=near, spread_far=far, spread_none=none, prefill_spread=tuple(pre_near),
                               prefill_spread_far=tuple(pre_far), prefill_spread_anchored=tuple(pre_anch))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write-calibration", action="store_true")
    ap.add_argument("--rows", action="store_true", help="print every held-out decode prediction (LOSO)")
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
    if args.rows:
        print("\nLOSO held-out decode predictions, worst first:")
        for h in sorted((h for h in held_loso if h.dec), key=lambda h: -abs(math.log(h.s.decode_tok_s / h.dec))):
            r = h.s.meta["row"]
            print(f"  {h.dec / h.s.decode_tok_s:5.2f}x  pred {h.dec:7.1f} meas {h.s.decode_tok_s:7.1f}  [{h.klass}] "
                  f"{r.model} {r.build} {r.runtime} {r.rig} {r.offload} ctx={r.context}")
    if args.write_calibration:
        cal = calibration_from(samples, held_loso, held_lodo, held_lofo)
        cal = dataclasses.replace(cal, meta={
            **cal.meta, "fitted": True, "rows": len(samples), "sources": len({s.source for s in samples}),
            "exact_rows": exact, "written_by": "bench/speed_accuracy.py --write-calibration",
            "fit": "rigcheck.plan.speed.calibrate.fit (hierarchical log least squares with priors)",
            "interval": "80% (10th-90th percentile of cross-validated log errors per placement class and "
                        "fallback level: device measured / family measured / family unmeasured)",
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
