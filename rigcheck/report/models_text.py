"""Text rendering of ``rigcheck models``: the model catalogue, from the rows ``models --json``
prints. No arithmetic."""

from __future__ import annotations

from .. import units
from .table import table


def render_models(data: list[dict]) -> str:
    body = [[r["id"], r["family"], units.params(r["total_params"]),
             units.params(r["active_params"]) if r["active_params"] != r["total_params"] else "dense",
             r["license"], r["released"]] for r in data]
    return (table(body, ["id", "family", "total", "active", "license", "released"], "llrrll")
            + f"\n\n{len(data)} models; active = parameters read per token, without the input embedding")
