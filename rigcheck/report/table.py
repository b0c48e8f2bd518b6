"""Plain-text tables for the terminal."""

from __future__ import annotations


def table(rows: list[list[str]], header: list[str] | None = None, align: str | None = None) -> str:
    """Render rows as an aligned table. ``align`` is one char per column: l or r."""
    all_rows = ([header] if header else []) + [[str(c) for c in r] for r in rows]
    if not all_rows:
        return ""
    n = max(len(r) for r in all_rows)
    all_rows = [r + [""] * (n - len(r)) for r in all_rows]
    widths = [max(len(r[i]) for r in all_rows) for i in range(n)]
    align = (align or "l" * n).ljust(n, "l")
    out = []
    for j, r in enumerate(all_rows):
        cells = [c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(r, widths, align)]
        out.append("  ".join(cells).rstrip())
        if header and j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
