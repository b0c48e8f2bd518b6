"""``rigcheck rig [SPEC]``: what rigcheck sees, for a rig spec or (no SPEC) this machine."""

from __future__ import annotations

import sys

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily: start-up time matters for every command
    from ..hardware.device import Device, Node, Rig


def register(subparsers):
    p = subparsers.add_parser(
        "rig", help="show a rig (a spec, a catalogue id, or this machine)",
        description="Show what rigcheck sees: devices, memory, bandwidth and compute of a rig. "
                    "With no SPEC, detect this machine.",
        epilog="Examples:\n"
               "  rigcheck rig                              # this machine\n"
               "  rigcheck rig --measure-bandwidth          # and time its RAM bandwidth\n"
               "  rigcheck rig rtx-5090+128GB\n"
               "  rigcheck rig '2x rtx-3090+64GB ddr4-3200'\n"
               "  rigcheck rig m4-max-128 --json\n"
               "  rigcheck rig '2 nodes x 8x h200 ib-400g'\n"
               "  rigcheck rig tier-128gb-unified\n"
               "\nSpecs: DEVICE[+DEVICE][+RAM] [ddr5-6000[xCHANNELS]] [cpu-only] [LINK]; "
               "'N nodes x ...' for several machines. RAM like 128GB means 128 GiB modules.",
    )
    p.add_argument("spec", nargs="?", metavar="SPEC", help="rig spec or catalogue id (default: this machine)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--measure-bandwidth", action="store_true",
                   help="time a memory copy on this machine (a few seconds, 2 GiB of RAM)")
    return p


def _dev_json(d: Device | None) -> dict | None:
    if d is None:
        return None
    return {"id": d.id, "name": d.name, "kind": d.kind, "vendor": d.vendor,
            "memory_bytes": d.memory_bytes, "bandwidth_bytes_s": d.bandwidth_bytes_s,
            "fp16_flops": d.fp16_flops, "fp8_flops": d.fp8_flops, "fp4_flops": d.fp4_flops,
            "unified": d.unified, "gpu_cores": d.gpu_cores, "verified": d.verified,
            "source": d.source, "checked": d.checked}


def rig_json(rig: Rig) -> dict:
    """The stable JSON form of a rig (fields read by other commands' checks)."""
    def node(n: Node) -> dict:
        return {"devices": [_dev_json(d) for d in n.devices], "cpu": _dev_json(n.cpu),
                "sockets": n.sockets, "cpu_threads": n.cpu_threads,
                "ram_bytes": n.ram_bytes, "ram_bandwidth_bytes_s": n.ram_bandwidth_bytes_s,
                "ram_type": n.ram_type, "ram_assumed": n.ram_assumed,
                "gpu_budget_bytes": n.gpu_budget_bytes, "gpu_memory_bytes": n.gpu_memory_bytes,
                "cpu_only": n.cpu_only, "unified": n.unified,
                "link": n.link.id if n.link else None, "os": n.os}
    return {"spec": rig.spec, "source": rig.source, "nodes": [node(n) for n in rig.nodes],
            "link": ({"id": rig.link.id, "name": rig.link.name, "bandwidth_bytes_s": rig.link.bandwidth_bytes_s}
                     if rig.link else None),
            "notes": list(rig.notes)}


def run(args) -> int:
    from ..hardware import detect, parse_rig

    if args.spec:
        rig = parse_rig(args.spec)
    else:
        progress = None if args.json else (lambda msg: print(f"  measuring: {msg}", file=sys.stderr))
        rig = detect(measure_bandwidth=args.measure_bandwidth, progress=progress)
    if args.json:
        from . import emit_json
        emit_json(rig_json(rig))
    else:
        from ..report.rig_text import render_rig
        print(render_rig(rig))
    return 0
