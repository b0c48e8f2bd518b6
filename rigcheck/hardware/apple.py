"""macOS: how much unified memory the GPU may wire (the "wired limit").

Metal reports the limit as ``recommendedMaxWorkingSetSize``; llama.cpp and MLX treat it
as the GPU's memory. No open source states the default, so these fractions come from
values measured in public logs (research/runtime-memory.md §5.4, checked 2026-11-28):

- macOS 13-15: RAM up to 32 GB -> 2/3 of RAM (16 GB -> 10.67 GiB, 32 GB -> 21.33 GiB);
  above -> 3/4 (36 GB -> 27 GiB, 64 GB -> 48 GiB, 128 GB -> 96 GiB).
- macOS 26: larger: 32 GB M4 24.96 GiB (78 %), 36 GB M3 Max 28.08 GiB (78 %), 64 GB
  M3 Max 51.84 GiB (81 %), 128 GB M5 Max 107.52 GiB (84 %) (antirez/ds4 PR #893/#909
  discussion). Sizes between are interpolated on these points.

``sudo sysctl iogpu.wired_limit_mb=N`` raises it until reboot (0 = macOS default);
read the live value with ``sysctl iogpu.wired_limit_mb`` (0 means "default").
"""

from __future__ import annotations

GiB = 2**30
MiB = 2**20

# macOS 26: measured (RAM GiB, limit GiB) points
_MACOS26_POINTS = ((32, 24.96), (36, 28.08), (64, 51.84), (128, 107.52))

SOURCE = ("measured recommendedMaxWorkingSetSize values in public logs (llama.cpp, MLX, antirez/ds4 PR #893/#909), checked 2026-11-28")


def _fraction_26(ram_gib: float) -> float:
    pts = _MACOS26_POINTS
    if ram_gib <= pts[0][0]:
        return pts[0][1] / pts[0][0]
    if ram_gib >= pts[-1][0]:
        return pts[-1][1] / pts[-1][0]
    for (r0, l0), (r1, l1) in zip(pts, pts[1:]):
        if r0 <= ram_gib <= r1:
            f0, f1 = l0 / r0, l1 / r1
            return f0 + (f1 - f0) * (ram_gib - r0) / (r1 - r0)
    raise AssertionError("unreachable")


def wired_limit_default(ram_bytes: int, macos_major: int | None = None) -> int:
    """The default GPU wired limit in bytes for a Mac with ``ram_bytes`` of unified memory.

    ``macos_major`` is the macOS version (13, 14, 15, 26); None means 13-15 (the
    conservative, most documented rule: 2/3 up to 32 GiB, 3/4 above).
    """
    if ram_bytes <= 0:
        return 0
    ram_gib = ram_bytes / GiB
    if macos_major is not None and macos_major >= 26:
        return int(ram_bytes * _fraction_26(ram_gib))
    frac = 2 / 3 if ram_gib <= 32 else 3 / 4
    return int(ram_bytes * frac)


def wired_limit_from_sysctl(value_mb: int | None, ram_bytes: int, macos_major: int | None = None) -> int:
    """The effective limit given ``sysctl iogpu.wired_limit_mb`` (MiB; 0 or None = default)."""
    if value_mb:
        return min(int(value_mb) * MiB, ram_bytes)
    return wired_limit_default(ram_bytes, macos_major)


def raise_command(ram_bytes: int, keep_free_bytes: int = 8 * GiB) -> str:
    """The command that lets the GPU wire all but ``keep_free_bytes`` of RAM (lasts until reboot)."""
    mb = max(0, (ram_bytes - keep_free_bytes) // MiB)
    return f"sudo sysctl iogpu.wired_limit_mb={mb}"
