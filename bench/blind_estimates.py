"""Blind test: `rigcheck estimate`, run as a new user would, against measurements it has not seen.

The input is a CSV in rigcheck/data/measurements.csv's format (same header line; lines that
start with '#' are comments), holding rows that are NOT in the catalogue. For each row one
fresh process runs

    rigcheck estimate MODEL --build B --rig RIG [--runtime RT] [--ctx N] [--offload O] \
        [--backend BE] --json

(the backend only for llama.cpp-based runtimes, and only where the row's version names one:
Vulkan, ROCm/HIP, SYCL, Metal, CUDA; the offload only where the row states a placement word),
and the measured decode (and prefill, at the row's prompt length) is compared with the
printed low / mid / high: per row the ratio measured/mid and whether it lies inside
[low, high]; then the summary: median |mid/measured - 1|, the share within 2x (symmetric:
max(mid/meas, meas/mid) <= 2), the share inside the range, overall and by device family,
placement, runtime, source and basis (measured setup / generalised). Rows that `estimate` refuses
(unknown model or rig, a build it cannot make...) are counted with the reason it printed.

    python bench/blind_estimates.py bench/data/blind_rows.csv          # table + summary (the kept blind set)
    python bench/blind_estimates.py ROWS.csv --auto-offload            # let rigcheck place
    python bench/blind_estimates.py ROWS.csv --json out.json           # also write the results
    PYTHONPATH=/path/to/other/checkout python bench/blind_estimates.py ROWS.csv   # another version

The rigcheck that runs is the one `python -m rigcheck` imports from a neutral directory
(PYTHONPATH first, else the installed one); the script prints its location.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

REQUIRED = ("model", "build", "runtime", "version", "rig", "offload", "context",
            "decode_tok_s", "prefill_tok_s", "prefill_tokens", "source", "date")

# the llama.cpp backend a row's version string names (first match wins)
_BACKENDS = (("vulkan", "vulkan"), ("radv", "vulkan"), ("amdvlk", "vulkan"), ("rocm", "rocm"),
             ("hip", "rocm"), ("sycl", "sycl"), ("metal", "metal"), ("cuda", "cuda"))
# runtimes that run llama.cpp's backends (the ones --backend is meant for)
LLAMACPP_RUNTIMES = ("llama.cpp", "ik_llama.cpp", "ollama", "lmstudio", "")
_OFFLOAD_WORDS = re.compile(r"^(none|split|tp|cpu|mmap|experts=ram(:\d+/\d+)?|layers=ram(:\d+/\d+)?)$")


class RowsError(Exception):
    """The rows file cannot be read as measurements.csv rows."""


@dataclass
class Row:
    line: int
    model: str
    build: str
    runtime: str
    version: str
    rig: str
    offload: str
    context: int | None
    decode: float | None
    prefill: float | None
    prefill_tokens: int | None
    source: str
    date: str
    notes: str = ""


@dataclass
class Result:
    row: Row
    refused: str | None = None          # the line estimate printed when it refused
    decode: dict | None = None          # {"low", "mid", "high"}
    prefill: dict | None = None
    family: str = "?"
    basis: str = "?"
    prefill_basis: str = "?"
    extra: dict = field(default_factory=dict)


def _num(text: str, line: int, name: str, integer: bool = False):
    text = text.strip()
    if not text:
        return None
    try:
        v = float(text)
    except ValueError:
        raise RowsError(f"line {line}: {name} {text!r} is not a number") from None
    if not math.isfinite(v) or v < 0:
        raise RowsError(f"line {line}: {name} {text!r} must be a finite number >= 0")
    return int(round(v)) if integer else v


def read_rows(lines) -> list[Row]:
    """Rows of a measurements.csv-format text (an iterable of lines)."""
    numbered = [(i, ln) for i, ln in enumerate(lines, 1) if ln.strip() and not ln.lstrip().startswith("#")]
    if not numbered:
        raise RowsError("no header line and no rows")
    reader = csv.reader([ln for _, ln in numbered])
    header = next(reader)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RowsError(f"header lacks column(s) {', '.join(missing)} (use measurements.csv's header)")
    col = {c: header.index(c) for c in header}
    rows = []
    for (line, _), rec in zip(numbered[1:], reader):
        if len(rec) != len(header):
            raise RowsError(f"line {line}: {len(rec)} fields, the header has {len(header)}")
        g = lambda c: rec[col[c]].strip() if c in col else ""  # noqa: E731
        rows.append(Row(line=line, model=g("model"), build=g("build"), runtime=g("runtime"),
                        version=g("version"), rig=g("rig"), offload=g("offload"),
                        context=_num(g("context"), line, "context", integer=True),
                        decode=_num(g("decode_tok_s"), line, "decode_tok_s"),
                        prefill=_num(g("prefill_tok_s"), line, "prefill_tok_s"),
                        prefill_tokens=_num(g("prefill_tokens"), line, "prefill_tokens", integer=True),
                        source=g("source"), date=g("date"), notes=g("notes")))
    return rows


def backend_of(version: str) -> str | None:
    v = version.lower()
    for word, backend in _BACKENDS:
        if re.search(rf"(?<![a-z0-9]){word}(?![a-z0-9])", v):   # '_' separates words here
            return backend
    return None


def estimate_args(row: Row, ctx: int | None, use_offload: bool = True) -> list[str]:
    """The `rigcheck estimate` arguments a user with this row's setup would type."""
    args = ["estimate", row.model, "--build", row.build, "--rig", row.rig, "--json"]
    if row.runtime:
        args += ["--runtime", row.runtime]
    if ctx:
        args += ["--ctx", str(ctx)]
    if use_offload and _OFFLOAD_WORDS.match(row.offload):
        args += ["--offload", row.offload]
    be = backend_of(row.version) if row.runtime in LLAMACPP_RUNTIMES else None
    if be:
        args += ["--backend", be]
    return args


def _run(args: list[str], timeout: float) -> tuple[dict | None, str | None]:
    try:
        p = subprocess.run([sys.executable, "-m", "rigcheck", *args], capture_output=True, text=True,
                           timeout=timeout, cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        return None, f"no answer in {timeout:.0f} s"
    if p.returncode != 0:
        lines = [ln for ln in (p.stderr or p.stdout).strip().splitlines() if ln.strip()]
        why = lines[-1] if lines else "(nothing printed)"
        why = why.split(" (builds:")[0]          # the list of every build name is noise here
        return None, f"exit {p.returncode}: {why[:200]}"
    try:
        return json.loads(p.stdout), None
    except json.JSONDecodeError:
        return None, "exit 0 but the output is not JSON"


def _range(d) -> dict | None:
    if isinstance(d, dict) and all(isinstance(d.get(k), (int, float)) for k in ("low", "mid", "high")):
        return {k: float(d[k]) for k in ("low", "mid", "high")}
    return None


def _family(out: dict) -> str:
    pools = (out.get("inputs") or {}).get("pools") or []
    for p in pools:
        if p.get("kind") != "ram":
            return f"{p.get('family') or '?'}:{p.get('kind') or '?'}"
    return "cpu" if pools else "?"


def evaluate(row: Row, timeout: float = 60.0, use_offload: bool = True) -> Result:
    ctx = max(row.context, 1) if row.context is not None else None
    out, err = _run(estimate_args(row, ctx, use_offload), timeout)
    if err:
        return Result(row=row, refused=err)
    res = Result(row=row, decode=_range(out.get("decode_tok_s")), prefill=_range(out.get("prefill_tok_s")),
                 family=_family(out))
    inputs = out.get("inputs") or {}
    res.basis = str(inputs.get("basis", "?"))
    res.prefill_basis = str(inputs.get("prefill_basis", "?"))
    res.extra = {"offload": out.get("offload"), "backend": inputs.get("backend"),
                 "maturity": inputs.get("maturity"), "prefill_prompt": inputs.get("prefill_prompt")}
    # prefill is estimated at a prompt of --ctx tokens: ask again at the row's prompt length
    if row.prefill and row.prefill_tokens and row.prefill_tokens != ctx:
        out2, err2 = _run(estimate_args(row, row.prefill_tokens, use_offload), timeout)
        res.prefill = _range(out2.get("prefill_tok_s")) if out2 else None
        if err2:
            res.extra["prefill_refused"] = err2
        elif out2:
            res.prefill_basis = str((out2.get("inputs") or {}).get("prefill_basis", "?"))
    return res


# ---- arithmetic on (measured, range) pairs ---------------------------------------------

def ratio(measured: float, rng: dict) -> float:
    return measured / rng["mid"]


def inside(measured: float, rng: dict) -> bool:
    return rng["low"] <= measured <= rng["high"]


def summarise(pairs: list[tuple[float, dict]]) -> dict:
    """n, median |mid/meas - 1|, median meas/mid, share within 2x (symmetric), share inside."""
    ok = [(m, r) for m, r in pairs if m and r and r["mid"] > 0]
    if not ok:
        return {"n": 0}
    errs = [abs(r["mid"] / m - 1) for m, r in ok]
    ratios = [m / r["mid"] for m, r in ok]
    return {"n": len(ok),
            "median_err": statistics.median(errs),
            "median_ratio": statistics.median(ratios),
            "within_2x": sum(max(x, 1 / x) <= 2 for x in ratios) / len(ok),
            "inside": sum(inside(m, r) for m, r in ok) / len(ok)}


def source_of(row: Row) -> str:
    """The source a row comes from, as a short key: host, plus owner/repo on GitHub."""
    u = row.source.split()[0] if row.source.split() else "?"
    m = re.match(r"https?://(?:www\.)?github\.com/([^/]+/[^/]+)", u)
    if m:
        return m.group(1)
    m = re.match(r"https?://(?:www\.)?([^/]+)", u)
    return m.group(1) if m else u


def placement_of(row: Row) -> str:
    o = row.offload or "auto"
    return o.split(":")[0]


def _fmt_summary(s: dict) -> str:
    if not s.get("n"):
        return "n=0"
    return (f"n={s['n']:3d}  median err {s['median_err']:6.1%}  median meas/mid x{s['median_ratio']:.2f}  "
            f"within 2x {s['within_2x']:6.1%}  inside range {s['inside']:6.1%}")


def report(results: list[Result], show_rows: bool = True, out=sys.stdout) -> dict:
    p = lambda *a: print(*a, file=out)  # noqa: E731
    refused = [r for r in results if r.refused]
    done = [r for r in results if not r.refused]
    if show_rows:
        p(f"{'line':>4}  {'model':<34} {'build':<10} {'runtime':<11} {'rig':<28} {'offload':<14} "
          f"{'ctx':>6}  {'decode meas':>11} {'low-mid-high':>22} {'meas/mid':>8} in  "
          f"{'prefill meas':>12} {'low-mid-high':>24} {'meas/mid':>8} in")
        for r in results:
            row = r.row
            head = (f"{row.line:4d}  {row.model[:34]:<34} {row.build[:10]:<10} {row.runtime[:11]:<11} "
                    f"{row.rig[:28]:<28} {row.offload[:14]:<14} {row.context if row.context is not None else '':>6}")
            if r.refused:
                p(f"{head}  REFUSED  {r.refused}")
                continue
            cells = []
            for meas, rng in ((row.decode, r.decode), (row.prefill, r.prefill)):
                if meas is None or rng is None:
                    cells.append(f"{'' if meas is None else format(meas, '.4g'):>11} {'-':>22} {'':>8}   ")
                    continue
                lmh = f"{rng['low']:.3g}-{rng['mid']:.3g}-{rng['high']:.3g}"
                cells.append(f"{meas:11.4g} {lmh:>22} {'x%.2f' % ratio(meas, rng):>8} "
                             f"{'y ' if inside(meas, rng) else 'n '}")
            p(f"{head}  {cells[0]}  {cells[1]}  [{r.basis}/{r.family}]")
        p("")
    p(f"rows: {len(results)}; estimated {len(done)}; refused {len(refused)}")
    reasons = defaultdict(list)
    for r in refused:
        reasons[r.refused].append(r.row.line)
    for why, lines in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
        p(f"  refused x{len(lines)} (lines {', '.join(map(str, lines))}): {why}")
    summary = {"rows": len(results), "refused": len(refused),
               "refusals": {k: v for k, v in reasons.items()}}
    for what, get in (("decode", lambda r: (r.row.decode, r.decode)),
                      ("prefill", lambda r: (r.row.prefill, r.prefill))):
        pairs = [get(r) for r in done]
        s = summarise(pairs)
        unestimated = [r.row.line for r in done if get(r)[0] and not get(r)[1]]
        summary[what] = {"all": s, "measured_but_no_estimate": unestimated}
        p(f"\n{what}: {_fmt_summary(s)}")
        if unestimated:
            p(f"  measured but no {what} range printed: {len(unestimated)} row(s) (lines "
              f"{', '.join(map(str, unestimated))})")
        for gname, key in (("device family", lambda r: r.family), ("placement", lambda r: placement_of(r.row)),
                           ("runtime", lambda r: r.row.runtime or "?"),
                           ("source", lambda r: source_of(r.row)),
                           ("basis", lambda r: r.basis if what == "decode" else r.prefill_basis)):
            groups = defaultdict(list)
            for r in done:
                groups[key(r)].append(get(r))
            summary[what][gname] = {}
            p(f"  by {gname}:")
            for k in sorted(groups):
                gs = summarise(groups[k])
                if gs.get("n"):
                    summary[what][gname][k] = gs
                    p(f"    {k:<22} {_fmt_summary(gs)}")
    worst = sorted((r for r in done if r.row.decode and r.decode),
                   key=lambda r: -abs(math.log(ratio(r.row.decode, r.decode))))[:10]
    if worst:
        p("\nworst decode misses (measured / mid):")
        for r in worst:
            p(f"  x{ratio(r.row.decode, r.decode):5.2f}  line {r.row.line}: {r.row.model} {r.row.build} "
              f"{r.row.runtime} on {r.row.rig} ({r.row.offload or 'auto'}, ctx {r.row.context}) "
              f"meas {r.row.decode:g} vs {r.decode['low']:.3g}-{r.decode['mid']:.3g}-{r.decode['high']:.3g}"
              f" [{r.basis}]")
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", help="CSV in rigcheck/data/measurements.csv's format (rows not in the catalogue)")
    ap.add_argument("--auto-offload", action="store_true",
                    help="do not pass the row's placement; let rigcheck choose (--offload auto)")
    ap.add_argument("--jobs", type=int, default=1, help="estimates run at once (default 1)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per estimate (default 60)")
    ap.add_argument("--json", metavar="FILE", help="also write the per-row results and summary as JSON")
    ap.add_argument("--quiet", action="store_true", help="summary only, no per-row table")
    args = ap.parse_args(argv)
    try:
        with open(args.rows, encoding="utf-8") as f:
            rows = read_rows(f)
    except OSError as e:
        print(f"blind_estimates: cannot read {args.rows}: {e.strerror or e}", file=sys.stderr)
        return 2
    except (RowsError, csv.Error, UnicodeDecodeError) as e:
        print(f"blind_estimates: {args.rows}: {e}", file=sys.stderr)
        return 2
    if not rows:
        print(f"blind_estimates: {args.rows}: no rows", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print("blind_estimates: --jobs must be at least 1", file=sys.stderr)
        return 2
    where = subprocess.run([sys.executable, "-c", "import rigcheck, os; print(os.path.dirname(rigcheck.__file__))"],
                           capture_output=True, text=True, cwd=tempfile.gettempdir()).stdout.strip()
    print(f"rigcheck under test: {where or '(not importable)'}")
    with ThreadPoolExecutor(max_workers=args.jobs) as ex:
        results = list(ex.map(lambda r: evaluate(r, args.timeout, not args.auto_offload), rows))
    summary = report(results, show_rows=not args.quiet)
    if args.json:
        data = {"rigcheck": where, "summary": summary,
                "rows": [{"line": r.row.line, "model": r.row.model, "build": r.row.build, "rig": r.row.rig,
                          "runtime": r.row.runtime, "offload": r.row.offload, "context": r.row.context,
                          "decode_measured": r.row.decode, "decode": r.decode,
                          "prefill_measured": r.row.prefill, "prefill": r.prefill, "refused": r.refused,
                          "family": r.family, "basis": r.basis, "source": r.row.source, **r.extra}
                         for r in results]}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
