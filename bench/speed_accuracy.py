"""Leave-one-source-out accuracy of rigcheck's speed estimates.

For each source (a site, repository or issue thread), the constants are fitted to every
other source's rows and that source's rows are predicted. Printed: median |pred/meas - 1|,
the share within 30% and within 2x, and the share inside the predicted range, overall and
by runtime, model kind and placement class; then the same for prefill.

    python bench/speed_accuracy.py                      # the report
    python bench/speed_accuracy.py --write-calibration  # also refit on all rows and write
                                                        # rigcheck/data/speed_calibration.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rigcheck.plan.speed import calibrate  # noqa: E402
from rigcheck.plan.speed.evidence import catalogue_facts, facts_for_row, load_measurements, sample_of  # noqa: E402
from rigcheck.plan.speed import DEFAULT, decode_seconds, prefill_range  # noqa: E402
from rigcheck.plan.speed.estimate import calibration_to_json  # noqa: E402


def build_samples(verbose: bool = False):
    from rigcheck.hardware.spec import parse_rig
    samples, skipped = [], []
    cache = {}
    for row in load_measurements():
        if not row.fit:
            skipped.append((row, "marked fit=no"))
            continue
        try:
            rig = parse_rig(row.rig)
        except Exception as e:  # noqa: BLE001
            skipped.append((row, f"rig: {e}"))
            continue
        key = (row.model, row.build)
        if key not in cache:
            cache[key] = catalogue_facts(row.model, row.build)
        facts = facts_for_row(row, lambda m, b: cache[(m, b)])
        if facts is None:
            skipped.append((row, "model/build unknown and no parameter figures"))
            continue
        try:
            samples.append(sample_of(row, facts, rig))
        except Exception as e:  # noqa: BLE001
            skipped.append((row, f"pools: {e}"))
    return samples, skipped


def loso(samples):
    """(sample, predicted decode tok/s, predicted prefill tok/s or None) held out by source."""
    groups = defaultdict(list)
    for s in samples:
        groups[s.source].append(s)
    out = []
    for src, held in groups.items():
        train = [s for s in samples if s.source != src]
        cal = calibrate.fit(train, DEFAULT)
        for s in held:
            d = 1.0 / decode_seconds(s.pools, s.runtime, s.maturity, s.parallel, s.link, cal) if s.decode_tok_s else None
            p = None
            if s.prefill_tok_s and s.peak_flops and s.prefill_flops_per_token > 0:
                r = prefill_range(s.prefill_flops_per_token, s.peak_flops, s.prefill_family, s.runtime,
                                  s.offloaded_bytes, s.link_bandwidth, maturity=s.maturity, calib=cal)
                p = r.mid if r else None
            out.append((s, d, p))
    return out


def stats(pairs):
    errs = [abs(p / m - 1) for p, m in pairs]
    ratio = [max(p / m, m / p) for p, m in pairs]
    if not errs:
        return "n=0"
    return (f"n={len(errs):3d}  median err {statistics.median(errs):5.1%}  within 30% {sum(e <= .3 for e in errs) / len(errs):5.1%}"
            f"  within 2x {sum(r <= 2 for r in ratio) / len(ratio):5.1%}")


def spreads(results):
    """10th/90th percentile of log(measured/predicted) per placement class, held out."""
    by = defaultdict(list)
    for s, d, _ in results:
        if d:
            by[s.klass].append(math.log(s.decode_tok_s / d))
            by["all"].append(math.log(s.decode_tok_s / d))
    out = {}
    for k, v in by.items():
        v = sorted(v)
        if len(v) < 5:
            v = sorted(by["all"])
        q = lambda f: v[min(len(v) - 1, max(0, int(round(f * (len(v) - 1)))))]  # noqa: E731
        out[k] = (q(0.1), q(0.9))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write-calibration", action="store_true")
    ap.add_argument("--rows", action="store_true", help="print every held-out prediction")
    args = ap.parse_args(argv)
    samples, skipped = build_samples()
    exact = sum(1 for s in samples if s.meta["exact"])
    print(f"rows: {len(load_measurements())}; used {len(samples)} ({exact} with exact catalogue bytes, "
          f"{len(samples) - exact} from the row's parameter figures); skipped {len(skipped)}")
    for row, why in skipped:
        print(f"  skipped: {row.model} {row.build} on {row.rig}: {why}")
    results = loso(samples)
    dec = [(d, s.decode_tok_s) for s, d, _ in results if d]
    print(f"\nDecode, leave-one-source-out ({len({s.source for s in samples})} sources)")
    print(f"  overall            {stats(dec)}")
    for label, keyf in (("runtime", lambda s: s.runtime), ("kind", lambda s: s.kind), ("class", lambda s: s.klass),
                        ("lead family", lambda s: calibrate._lead(s.pools))):
        groups = defaultdict(list)
        for s, d, _ in results:
            if d:
                groups[keyf(s)].append((d, s.decode_tok_s))
        for k in sorted(groups):
            print(f"  {label:<7} {k:<13}{stats(groups[k])}")
    pre = [(p, s.prefill_tok_s) for s, _, p in results if p and s.meta["prefill_fit"]]
    old = [(p, s.prefill_tok_s) for s, _, p in results if p and not s.meta["prefill_fit"]]
    print("\nPrefill, leave-one-source-out (rows with a known prompt length, dated 2024-06 or later)")
    print(f"  overall            {stats(pre)}")
    print(f"  (older or prompt length unknown, not fitted: {stats(old)})")
    groups = defaultdict(list)
    for s, _, p in results:
        if p and s.meta["prefill_fit"]:
            groups[calibrate._lead(s.pools)].append((p, s.prefill_tok_s))
    for k in sorted(groups):
        print(f"  family  {k:<13}{stats(groups[k])}")
    sp = spreads(results)
    inside = 0
    n = 0
    for s, d, _ in results:
        if d:
            lo, hi = sp.get(s.klass, sp["all"])
            lo, hi = min(lo, -0.15), max(hi, 0.15)
            n += 1
            inside += d * math.exp(lo) <= s.decode_tok_s <= d * math.exp(hi)
    print(f"\nheld-out measurements inside the range (10th-90th held-out percentiles per class): {inside}/{n}")
    if args.rows:
        for s, d, p in sorted(results, key=lambda x: -abs(math.log(x[0].decode_tok_s / x[1])) if x[1] else 0):
            r = s.meta["row"]
            print(f"  {d / s.decode_tok_s:5.2f}x  pred {d:7.1f} meas {s.decode_tok_s:7.1f}  {r.model} {r.build} {r.runtime} "
                  f"{r.rig} {r.offload} ctx={r.context}")
    if args.write_calibration:
        cal = calibrate.fit(samples, DEFAULT)
        pre_logs = sorted(math.log(s.prefill_tok_s / p) for s, _, p in results if p and s.meta["prefill_fit"])
        pre_spread = ((pre_logs[int(0.1 * (len(pre_logs) - 1))], pre_logs[int(0.9 * (len(pre_logs) - 1))])
                      if pre_logs else cal.prefill_spread)
        cal = dataclasses.replace(cal, spread=dict(sp), prefill_spread=pre_spread, meta={"fitted": True, "rows": len(samples), "sources": len({s.source for s in samples}),
                    "exact_rows": exact, "fit": "rigcheck.plan.speed.calibrate.fit (log least squares with priors)",
                    "loso_decode": stats(dec), "loso_prefill": stats(pre), "written_by": "bench/speed_accuracy.py"})
        path = os.path.join(os.path.dirname(__file__), "..", "rigcheck", "data", "speed_calibration.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(calibration_to_json(cal), f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"wrote {os.path.normpath(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
