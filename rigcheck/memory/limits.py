"""OS limits on what the GPU may use in unified memory.

- macOS: the GPU wired limit (Metal ``recommendedMaxWorkingSetSize``), by default a share of
  RAM (rigcheck.hardware.apple.wired_limit_default), raised with
  ``sudo sysctl iogpu.wired_limit_mb=N`` until reboot (research/runtime-memory.md §5.4).
- AMD Strix Halo: the GPU-addressable part set in firmware / by the driver (the device
  catalogue's ``gpu_budget_bytes``).
- NVIDIA DGX Spark (GB10): one pool; the GPU can address nearly all of it.
A detected machine's live value wins over these defaults (``Node.gpu_budget_bytes``).
"""

from __future__ import annotations

from ..hardware import apple

MiB = 2**20
GiB = 2**30
OS_RESERVE = 8 * GiB      # what to leave the OS when raising the wired limit


def gpu_budget(ram_bytes: int, *, apple_silicon: bool, live_bytes: int | None = None,
               device_budget: int | None = None, macos_major: int | None = None) -> int:
    """Bytes of unified memory the GPU may hold."""
    if live_bytes:
        return int(live_bytes)
    if apple_silicon:
        return apple.wired_limit_default(ram_bytes, macos_major)
    return int(device_budget or ram_bytes)


def wired_limit_advice(need_bytes: int, ram_bytes: int) -> str | None:
    """The sysctl line that lets the GPU wire ``need_bytes`` (plus 1 GiB), or None when even
    RAM minus an 8 GiB OS reserve is not enough."""
    want = need_bytes + 1 * GiB
    if want > ram_bytes - OS_RESERVE:
        return None
    mb = -(-want // MiB)
    return f"sudo sysctl iogpu.wired_limit_mb={mb}"
