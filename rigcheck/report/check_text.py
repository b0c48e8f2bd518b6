"""Text rendering of ``rigcheck check``: the CheckReport. No arithmetic."""

from __future__ import annotations

from .. import units
from .notes import text
from .table import table


def _where(b) -> str:
    """'GPU 31.2 GB + RAM 60.1 GB'; several GPUs as one sum ('8 GPUs 1,127.7 GB')."""
    kinds: dict[str, list[int]] = {}
    for p in b.placement:
        if p.get("bytes"):
            kinds.setdefault(p.get("kind") or p["device"], []).append(p["bytes"])
    parts = []
    for kind, sizes in kinds.items():
        label = {"gpu": "GPU", "ram": "RAM", "unified": "unified", "disk": "disk"}.get(kind, kind)
        many = f"{len(sizes)} {label}s " if len(sizes) > 1 and kind == "gpu" else f"{label} "
        parts.append(f"{many}{units.gb(sum(sizes), 1)}")
    return " + ".join(parts) if parts else "-"


def speed_range(r: dict | None, mid: bool = True) -> str:
    """'6.8-15.3 (~9.0)' tokens/s from a {low, mid, high} range; '-' when there is none."""
    if not r:
        return "-"
    text = f"{units.rate(r['low'])}-{units.rate(r['high'])}"
    return text + (f" (~{units.rate(r['mid'])})" if mid else "")


def build_rows(builds, marked: bool = False) -> list[list[str]]:
    """One row per build; ``marked``: the name says whether the file is published or computed."""
    rows = []
    for b in builds:
        name = f"{b.name} ({'published' if b.published else 'computed'})" if marked else b.name
        rows.append([name, units.gb(b.file_bytes, 1), f"{units.gib(b.file_bytes, 1)}", f"{b.bits_per_weight:.2f}",
                     units.gb(b.total_bytes, 1), _where(b), speed_range(b.decode_tok_s), b.verdict])
    return rows


def render_check(rep) -> str:
    out = []
    m, r = rep.model, rep.rig
    out.append(f"rigcheck: {m['id']} on {r['spec']}  ({r['source']}; context {rep.ctx:,} tokens)")
    out.append("")
    out.append(m["line"])
    out.append("")
    marked = any(b.published for b in rep.builds)
    out.append(table(build_rows(rep.builds, marked),
                     ["build", "file (GB)", "file (GiB)", "bpw", f"memory @{_ctx(rep.ctx)}", "where it lives",
                      "decode tok/s", "verdict"], "lrrrrlrl"))
    out.append("  memory = weights + KV cache + runtime buffers + reserve, in GB (10^9 bytes); "
               "decode = low-high (mid) tokens/s")
    if marked:
        out.append("  published = a file in a Hub repo, its exact bytes read from its header; "
                   "computed = a recipe's build, sized tensor by tensor")
    best = rep.build(rep.best) if rep.best else None
    nodes = rep.cluster["rig"]["nodes"] if rep.cluster else 1
    if rep.cluster and nodes > 1:
        out.append("")
        out.extend(_cluster(rep.cluster, f"Best choice across the {nodes} nodes"))
    out.append("")
    one = " on one node alone" if nodes > 1 else ""
    if best is None:
        out.append(f"Verdict: no build of this model fits{one or ' this rig'} at this context.")
    else:
        out.append(f"Best choice{one}: {best.name} with {best.runtime}: {best.verdict}")
        for why in best.reasons[:4]:
            out.append(f"  - {why}")
        if best.quality_note:
            out.append(f"  quality: {text(best.quality_note)}")
        for n in best.notes[:4]:
            out.append(f"  note: {text(n)}")
        if best.commands:
            out.append("")
            out.append("Launch commands:")
            sup = {s["runtime"]: s for s in rep.support}
            for rt, cmd in best.commands.items():
                s = sup.get(rt)
                status = f"{s['status']}" + (f" since {s['since']}" if s and s.get("since") else "") if s else ""
                out.append(f"  {rt} ({status}):" if status else f"  {rt}:")
                out.extend("    " + line for line in cmd.splitlines())
                if best.measure_commands.get(rt):
                    out.append(f"    then measure it: {best.measure_commands[rt]}")
    if rep.cluster and nodes == 1:
        out.append("")
        out.extend(_cluster(rep.cluster, "Serving several users over all the GPUs"))
    if rep.support:
        out.append("")
        out.append("Runtime support for this architecture:")
        for s in rep.support:
            since = f" since {s['since']}" if s.get("since") else ""
            src = f"  [{s['source'].split(';')[0].strip()}]" if s.get("source") else ""
            out.append(f"  {s['runtime']:<14} {s['status']}{since}{src}")
    if rep.alternatives:
        a0 = rep.alternatives[0]
        metric = a0.get("quality_metric") or "quality score"
        out.append("")
        out.append(f"What to run instead (ranked by {metric}"
                   + (f", {a0.get('quality_date')}" if a0.get("quality_date") else "") + "):")
        rows = [[a["model"], a["build"], units.gb(a["file_bytes"], 1), speed_range(a.get("decode_tok_s")), a["verdict"],
                 "-" if a.get("quality") is None else f"{a['quality']:g}"] for a in rep.alternatives]
        out.append(table(rows, ["model", "build", "file", "decode tok/s", "verdict", "score"], "lllrlr"))
        srcs = sorted({a["quality_source"] for a in rep.alternatives if a.get("quality_source")})
        if srcs:
            out.append(f"  score source: {srcs[0]}")
    if rep.upgrade:
        out.append("")
        out.append("What the next tier costs:")
        out.extend(f"  - {u['text']}" for u in rep.upgrade)
    if rep.measurements:
        out.append("")
        out.append("Your own measurements (rigcheck bench):")
        for mm in rep.measurements[:5]:
            parts = [str(mm.get(k)) for k in ("build", "runtime") if mm.get(k)]
            for key, label in (("decode_tok_s", "decode"), ("prefill_tok_s", "prefill")):
                v = mm.get(key)
                if isinstance(v, dict) and v.get("median") is not None:
                    parts.append(f"{label} {units.rate(v['median'])} tok/s "
                                 f"({units.rate(v.get('min', v['median']))}-{units.rate(v.get('max', v['median']))})")
                elif isinstance(v, (int, float)):
                    parts.append(f"{label} {units.rate(v)} tok/s")
            if mm.get("rig"):
                parts.append(f"on {mm['rig']}")
            out.append("  - " + ", ".join(parts))
    for n in rep.notes:
        out.append(f"note: {text(n)}")
    return "\n".join(out)


def _cluster(c: dict, title: str) -> list[str]:
    """The best multi-GPU / multi-node layout ('rigcheck plan' has every layout)."""
    u, a = c["decode_tok_s_per_user"], c["decode_tok_s_aggregate"]
    many = max(a, key=int)
    out = [f"{title}: {c['label']} on {c['runtime']} ({c['build']}), {c['gpus']} GPUs: "
           f"{units.gb(c['per_gpu_weights_bytes'], 1)} of weights and "
           f"{units.gb(max(0, c['kv_pool_bytes_per_gpu']), 1)} of KV per GPU, "
           f"room for {c['max_concurrency']:,.1f} requests of {c['ctx']:,} tokens at once",
           f"  decode about {units.rate(u['1'])} tok/s for one user, {units.rate(a[many])} tok/s in aggregate "
           f"for {many}; first token after {c['ttft_s']:.1f} s for a {c['ttft_prompt_tokens']:,}-token prompt",
           "  (every layout: rigcheck plan MODEL --rig SPEC)"]
    for where, cmd in c["commands"].items():
        out.append(f"  # {where}")
        out.extend(f"    {line}" for line in cmd.splitlines())
    return out


def _ctx(n: int) -> str:
    return f"{n // 1024}K" if n % 1024 == 0 and n >= 1024 else str(n)
