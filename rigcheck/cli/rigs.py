"""``rigcheck rigs``: the device catalogue (grouped by kind) and the article's tier presets."""

from __future__ import annotations

from .. import units
from ..report.table import table

KIND_TITLES = {"gpu": "GPUs", "soc": "Unified-memory machines (SoC)", "cpu": "CPUs (memory per socket)"}


def register(subparsers):
    p = subparsers.add_parser(
        "rigs", help="list catalogue devices and tier presets",
        description="List the bundled device catalogue (GPUs, unified-memory machines, CPUs, links) "
                    "and the article's hardware tiers. Every row names its source; 'verified' is "
                    "S (seen in a source), D (derived) or M (from memory, to check).",
        epilog="Examples:\n"
               "  rigcheck rigs\n"
               "  rigcheck rigs --kind soc\n"
               "  rigcheck rigs --json\n",
    )
    p.add_argument("--kind", choices=["gpu", "soc", "cpu", "link", "tier"], help="show one group only")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def _bw(x):
    return f"{units.gb(x, 0)}/s" if x else ""


def rigs_json(want: str | None = None) -> dict:
    """What 'rigs --json' prints (and 'rigcheck serve's /api/rigs answers): devices by kind,
    links and tier presets; ``want`` keeps one group."""
    from ..hardware import devices, links, tiers
    from .rig import _dev_json
    out = {}
    for kind in ("gpu", "soc", "cpu"):
        if want in (None, kind):
            out[kind] = [dict(_dev_json(d), price_usd=d.price_usd, price_date=d.price_date,
                              tdp_w=d.tdp_w, int8_ops=d.int8_ops, mem_channels=d.mem_channels,
                              mem_mt_s=d.mem_mt_s, release_year=d.release_year, aliases=list(d.aliases))
                         for d in devices(kind)]
    if want in (None, "link"):
        out["link"] = [{"id": ln.id, "name": ln.name, "kind": ln.kind,
                        "bandwidth_bytes_s": ln.bandwidth_bytes_s, "source": ln.source,
                        "verified": ln.verified} for ln in links()]
    if want in (None, "tier"):
        out["tiers"] = [{"id": t.id, "label": t.label, "rigs": list(t.rigs),
                         "article_best_build": t.article_best_build, "article_speed": t.article_speed,
                         "article_verdict": t.article_verdict, "note": t.note, "source": t.source}
                        for t in tiers()]
    return out


def run(args) -> int:
    from ..hardware import devices, links, tiers

    want = args.kind
    if args.json:
        from . import emit_json
        emit_json(rigs_json(want))
        return 0
    blocks = []
    for kind in ("gpu", "soc", "cpu"):
        if want not in (None, kind):
            continue
        rows = []
        for d in devices(kind):
            mem = units.gib(d.memory_bytes, 0) if d.memory_bytes else (
                f"{d.mem_channels}ch {(d.memory_type or '').split()[0]}-{d.mem_mt_s}" if d.mem_channels else "")
            price = f"${d.price_usd:,.0f} ({d.price_date})" if d.price_usd else ""
            rows.append([d.id, d.name, mem, _bw(d.bandwidth_bytes_s),
                         f"{d.fp16_flops / 1e12:,.1f}" if d.fp16_flops else "", price, d.verified])
        blocks.append(f"{KIND_TITLES[kind]} ({len(rows)})\n" + table(
            rows, ["id", "name", "memory", "bandwidth", "FP16 TFLOPS", "price", "verified"], "lllrrll"))
    if want in (None, "link"):
        rows = [[ln.id, ln.name, f"{_bw(ln.bandwidth_bytes_s)} per direction", ln.verified] for ln in links()]
        blocks.append(f"Links ({len(rows)})\n" + table(rows, ["id", "name", "bandwidth", "verified"]))
    if want in (None, "tier"):
        rows = [[t.id, t.label, ", ".join(t.rigs)] for t in tiers()]
        blocks.append("Tiers (the article's hardware tiers; first rig is the representative)\n"
                      + table(rows, ["id", "label", "rigs"]))
    print("\n\n".join(blocks))
    print("\nMemory in GiB (2^30 bytes); bandwidth in GB/s (10^9 bytes/s). "
          "Use an id in a rig spec: rigcheck rig 'rtx-5090+128GB'")
    return 0
