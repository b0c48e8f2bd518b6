"""A Build as plain data for reports: the JSON fields of ``rigcheck size`` and ``builds``."""

from __future__ import annotations

from .build import Build


def size_report(b: Build, tensors: bool = False) -> dict:
    """Stable field names: file_bytes, bits_per_weight, bytes_by_role, bytes_by_type,
    weights_bytes, header_bytes, header_estimated, notes (+ tensors when asked)."""
    out = {
        "model": b.model.id,
        "build": b.name,
        "recipe": b.recipe,
        "container": b.container,
        "file_bytes": b.file_bytes,
        "file_gb": round(b.file_bytes / 1e9, 3),
        "file_gib": round(b.file_bytes / 2**30, 3),
        "bits_per_weight": round(b.bits_per_weight, 4),
        "weights_bytes": b.weights_bytes,
        "header_bytes": b.header_bytes,
        "header_estimated": b.header_estimated,
        "bytes_by_role": dict(sorted(b.bytes_by_role().items(), key=lambda kv: -kv[1])),
        "bytes_by_type": dict(sorted(b.bytes_by_type().items(), key=lambda kv: -kv[1])),
        "notes": list(b.notes),
    }
    if tensors:
        out["tensors"] = [{"name": t.name, "shape": list(t.shape), "role": str(t.role), "type": ty, "bytes": n}
                          for t, ty, n in b.items()]
    return out
