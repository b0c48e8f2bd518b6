"""Units: the only place that turns numbers into text.

Bytes inside, always. GB = 10**9 bytes and GiB = 2**30 bytes, and every printed size
says which one it is.
"""

from __future__ import annotations

import re

from .errors import InputError

GB = 10**9
GiB = 2**30
MB = 10**6
MiB = 2**20

_SIZE_UNITS = {
    "b": 1, "": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
    "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
}


def gb(n: float, digits: int = 2) -> str:
    """'172.04 GB' (decimal)."""
    return f"{n / GB:,.{digits}f} GB"


def gib(n: float, digits: int = 2) -> str:
    """'160.22 GiB' (binary)."""
    return f"{n / GiB:,.{digits}f} GiB"


def mib(n: float, digits: int = 2) -> str:
    return f"{n / MiB:,.{digits}f} MiB"


def both(n: float, digits: int = 2) -> str:
    """'172.04 GB (160.22 GiB)'."""
    return f"{gb(n, digits)} ({gib(n, digits)})"


def size(n: float, digits: int = 1) -> str:
    """A short decimal size that picks its own scale: '512 B', '3.2 MB', '172.0 GB'."""
    for unit, scale in (("TB", 10**12), ("GB", GB), ("MB", MB), ("kB", 10**3)):
        if abs(n) >= scale:
            return f"{n / scale:,.{digits}f} {unit}"
    return f"{int(n)} B"


def params(n: float) -> str:
    """Parameter counts: '284.33B', '268.10M', '1.57T'."""
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:,.2f}{suffix}"
    return str(int(n))


def flops(x: float, digits: int = 1) -> str:
    """Compute throughput: '209.5 TFLOPS' (10^12 operations per second)."""
    return f"{x / 1e12:,.{digits}f} TFLOPS"


def rate(x: float) -> str:
    """Tokens per second, with sensible precision."""
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if x < 1 else f"{x:.1f}"


# memory is sold in binary sizes: a "64GB" kit or a "24GB" card holds 64 or 24 GiB
_MEMORY_UNITS = {"gb": GiB, "g": GiB, "gib": GiB, "tb": 2**40, "t": 2**40, "tib": 2**40, "mb": MiB, "mib": MiB}


def parse_memory(text: str | int, what: str = "memory size") -> int:
    """A memory size as sold, the one parser for rig specs (``+64GB``) and ``--ram`` /
    ``--vram``: GB, TB and MB mean GiB, TiB and MiB (a 64GB kit holds 64 GiB); GiB, TiB
    and MiB are accepted as written; a bare number is bytes. Raises InputError."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        from .text import shown
        m = re.fullmatch(r"\s*\+?\s*([0-9]{1,64})(?:\.([0-9]{1,64}))?\s*([a-zA-Z]{0,8})\s*", str(text)[:200])
        unit = m.group(3).lower() if m else ""
        if not m or (unit and unit not in _MEMORY_UNITS):
            raise InputError(f"cannot read {what} '{shown(text, 40)}': write e.g. 64GB (memory as sold, GiB) or 96GiB")
        whole, frac = m.group(1).lstrip("0"), m.group(2) or ""
        if len(whole) > 16 or len(frac) > 6:      # more digits than any memory has (2**50 bytes: 16)
            raise InputError(f"{what} '{shown(text, 40)}' is out of range or too precise (write e.g. 128GB or 1.5TB)")
        value = int(float(f"{whole or 0}.{frac or 0}") * (_MEMORY_UNITS[unit] if unit else 1))
    if value <= 0 or value > 2**50:
        from .text import shown
        raise InputError(f"{what} '{shown(text, 40)}' is out of range (more than 0 bytes and at most 1 PiB; "
                         "write e.g. 128GB)")
    return value


def memory(n: int) -> str:
    """A memory size as sold: '32 GB' for 32 GiB of modules (labelled so: 'GB as sold')."""
    if n % (2**40) == 0:
        return f"{n // 2**40} TB"
    if n % GiB == 0:
        return f"{n // GiB} GB"
    return gib(n, 1)


def parse_bytes(text: str | int | float, what: str = "size") -> int:
    """'128GB' -> 128e9, '96GiB' -> 96*2**30, '2048' -> 2048. Raises InputError."""
    if isinstance(text, (int, float)):
        value = int(text)
    else:
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
        if not m or m.group(2).lower() not in _SIZE_UNITS:
            raise InputError(f"cannot read {what} '{text}': write a number with a unit, e.g. 128GB, 96GiB or 2048 (bytes)")
        value = int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])
    if value < 0 or value > 2**60:
        raise InputError(f"{what} {text} is out of range (0 to 1 EiB)")
    return value
