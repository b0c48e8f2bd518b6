"""Text rendering of ``rigcheck memory``: a Placement (plan/placement). No arithmetic."""

from __future__ import annotations

from .. import units
from .notes import text


def render_memory(model_id: str, build_name: str, pl) -> str:
    out = [f"{model_id}  {build_name}  {pl.runtime}  ctx {pl.ctx:,}  x{pl.parallel_seqs}  KV {pl.cache_type}"]
    for what, n in (("weights", pl.weights_bytes), ("KV cache", pl.kv_bytes), ("compute + output", pl.compute_bytes),
                    ("reserve", pl.overhead_bytes), ("total", pl.total_bytes)):
        out.append(f"  {what:<18}{units.both(n):>28}")
    out.append(f"  placement: {pl.mode}  fits: {'yes' if pl.fits else 'no'}  headroom {units.gib(pl.headroom)}")
    for u in pl.placement:
        cap = f" of {units.gib(u.capacity_bytes)}" if u.capacity_bytes else ""
        out.append(f"    {u.device:<36}{u.kind:<8}{units.gib(u.bytes):>12}{cap}")
    if pl.flags:
        out.append("  flags: " + " ".join(pl.flags))
    out.extend(f"  note: {text(n)}" for n in pl.notes)
    return "\n".join(out)
