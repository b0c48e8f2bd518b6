"""Text rendering of ``rigcheck builds``: the standard (and published) builds of a model, from
the rows ``builds --json`` prints. No arithmetic."""

from __future__ import annotations

from .. import units
from .notes import text
from .table import table


def render_builds(model_id: str, rs: list[dict]) -> str:
    out = []
    out.append(f"{model_id}: standard builds (GB = 10^9 bytes, GiB = 2^30 bytes)")
    any_pub = any(r["published"] for r in rs)
    head = ["build", "GB", "GiB", "bpw", "recipe"] + (["", "files"] if any_pub else [])
    body = []
    for r in rs:
        row = [r["build"], units.gb(r["file_bytes"]), units.gib(r["file_bytes"]), f"{r['bits_per_weight']:.2f}",
               r["recipe"]]
        if any_pub:
            fs = r["files"]
            where = "" if not fs else (fs[0]["path"] if len(fs) == 1 else f"{fs[0]['path']} (+{len(fs) - 1} parts)")
            row += ["published" if r["published"] else "computed", where]
        body.append(row)
    out.append(table(body, head, "lrrrl" + ("ll" if any_pub else "")))
    for r in rs:
        for n in r["notes"]:
            if not text(n).startswith(("GGUF metadata estimated", "above 50 GB", "safetensors headers")):
                out.append(f"note ({r['build']}): {text(n)}")
    if any_pub:
        out.append("published: a file in the repo, sized from its headers (exact); computed: what rigcheck's recipe "
                   "would make.")
    out.append("GGUF metadata is estimated for models without a GGUF; files above 50 GB are usually split into shards.")
    return "\n".join(out)
