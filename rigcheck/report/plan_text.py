"""Text rendering of ``rigcheck plan``: the parallel layouts of one model on a cluster, from
the dict ``plan --json`` prints. No arithmetic."""

from __future__ import annotations

from .. import units
from .notes import text
from .table import table


def render_plan(p: dict, show_all: bool = False) -> str:
    r = p["rig"]
    link = r["interconnect"]
    out = [f"rigcheck plan: {p['model']} ({p['build']}, {units.gb(p['build_weights_bytes'])} of weights) on {r['spec']}",
           f"  {r['nodes']} node(s) x {r['gpus_per_node']} {r['gpu_name']} ({units.gib(r['gpu_memory_bytes'], 1)} each); "
           f"within a node: {link['within_node'] or '-'}; between nodes: {link['between_nodes'] or '-'}",
           f"  context {p['ctx']:,} tokens per request; {p['concurrency']} users for the aggregate; "
           f"TTFT for a {p['prompt_tokens']:,}-token prompt", ""]
    c = str(p["concurrency"])
    keys = sorted({"1", "8", c}, key=int)
    rows = []
    for L in p["layouts"]:
        if not L["fits"] and not show_all:
            continue
        u, a = L["decode_tok_s_per_user"], L["decode_tok_s_aggregate"]
        rows.append([L["runtime"], L["label"], f"{L['gpus']}/{L['nodes']}", units.gb(L["per_gpu_weights_bytes"], 1),
                     units.gb(max(0, L["kv_pool_bytes_per_gpu"]), 1), f"{L['kv_capacity_tokens']:,}",
                     f"{L['max_concurrency']:.2f}x", " / ".join(units.rate(u[k]) for k in keys),
                     " / ".join(units.rate(a[k]) for k in keys[1:]), f"{L['ttft_s']:.2f}",
                     "yes" if L["fits"] else "no"])
    if rows:
        out.append(table(rows, ["runtime", "layout", "GPUs/nodes", "weights/GPU", "KV/GPU", "KV tokens",
                                f"users @{p['ctx'] // 1024}K", "tok/s per user @" + "/".join(keys), "aggregate @" + "/".join(keys[1:]),
                                "TTFT s", "fits"], "llrrrrrrrrl"))
    else:
        out.append("no layout fits (--all lists them)")
    out.append("  KV/GPU = the runtime's KV pool per GPU; users = requests of the full context that fit at once "
               "(vLLM's 'Maximum concurrency'); decode = mid estimates")
    best = next((L for L in p["layouts"] if L["fits"]), None)
    if best:
        out += ["", f"Best: {best['label']} on {best['runtime']} ({best['gpus']} GPUs); "
                    f"decode {units.rate(best['decode_range_1_user']['low'])}-{units.rate(best['decode_range_1_user']['high'])} "
                    f"tok/s for one user", "Commands:"]
        for where, cmd in best["commands"].items():
            out.append(f"  # {where}")
            out.extend(f"  {line}" for line in cmd.splitlines())
        if best.get("k8s"):
            out += ["", "Kubernetes (LeaderWorkerSet):", best["k8s"]]
    if p["notes"]:
        out.append("")
        out.extend(f"note: {text(n)}" for n in p["notes"])
    return "\n".join(out)
