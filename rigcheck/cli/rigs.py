"""``rigcheck rigs``: the device catalogue (grouped by kind) and the article's tier presets."""

from __future__ import annotations


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
                              mem_mt_s=d.mem_mt_s, memory_type=d.memory_type, release_year=d.release_year, aliases=list(d.aliases))
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
    data = rigs_json(args.kind)
    if args.json:
        from . import emit_json
        emit_json(data)
        return 0
    from ..report.rigs_text import render_rigs
    print(render_rigs(data))
    return 0
