"""Text rendering of ``rigcheck size``: one build's bytes by role, by type and per tensor."""

from __future__ import annotations

from .. import units
from .notes import text
from .table import table


def _shares(rows: dict, total: int, what: str) -> str:
    return table([[k, units.gb(v), units.gib(v), f"{100 * v / total:.1f}%"] for k, v in rows.items()],
                 [what, "GB", "GiB", "share"], "lrrr")


def render_size(model_id: str, b, rep: dict, tensors: bool = False) -> str:
    est = " (header estimated)" if b.header_estimated else ""
    out = [f"{model_id}  {b.name}  [{b.recipe}, {b.container}]",
           f"size: {units.both(b.file_bytes)}  = {b.file_bytes:,} bytes{est}",
           f"bits per weight: {b.bits_per_weight:.3f}   weights {units.gb(b.weights_bytes)}, "
           f"header {units.mib(b.header_bytes)}"]
    total = b.weights_bytes or 1
    out += ["", _shares(rep["bytes_by_role"], total, "role"), "", _shares(rep["bytes_by_type"], total, "type")]
    if tensors:
        out += ["", table([[r["name"], "x".join(map(str, r["shape"])), r["role"], r["type"], f"{r['bytes']:,}"]
                           for r in rep["tensors"]], ["tensor", "shape", "role", "type", "bytes"], "lllrr")]
    out.extend(f"note: {text(n)}" for n in b.notes)
    return "\n".join(out)
