"""Prices with dates and sources: devices (from devices.csv) and RAM (rigcheck/data/ram_prices.csv).

Prices move fast (DDR5 roughly quadrupled from mid-2025 to mid-2026); every answer
carries its date and source so a report can say how old it is.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..errors import InputError
from .catalog import get_device

GiB = 2**30


@dataclass(frozen=True)
class Price:
    usd: float            # for RAM: USD per GiB (midpoint of the quoted range)
    date: str             # YYYY-MM or YYYY-MM-DD (or a phrase from the source)
    source: str
    item: str = ""
    usd_low: float | None = None
    usd_high: float | None = None


def device_price(device_id: str) -> Price | None:
    """The catalogue price of a device (USD, with date and source), or None if not known."""
    d = get_device(device_id)
    if d.price_usd is None:
        return None
    return Price(usd=d.price_usd, date=d.price_date or "", source=d.source, item=d.name)


@functools.lru_cache(maxsize=1)
def _ram_rows() -> tuple[dict, ...]:
    from .. import catalogue
    return catalogue.ram_prices()


def ram_prices(memory_type: str | None = None) -> list[Price]:
    """All RAM price points (per GiB), oldest first; ``memory_type`` 'DDR4'/'DDR5' filters."""
    out = []
    for r in _ram_rows():
        if memory_type and not r["memory_type"].upper().startswith(memory_type.upper()):
            continue
        cap = float(r["capacity_gib"])
        lo, hi = float(r["price_low"]) / cap, float(r["price_high"]) / cap
        out.append(Price(usd=(lo + hi) / 2, date=r["price_date"], source=r["source"],
                         item=r["item"], usd_low=lo, usd_high=hi))
    out.sort(key=lambda p: p.date)
    return out


def ram_price_per_gib(date: str | None = None, memory_type: str = "DDR5") -> Price:
    """RAM price per GiB at ``date`` (YYYY-MM[-DD]; None = the newest point): the newest
    price point on or before that date. Raises InputError when there is none."""
    if memory_type.upper() not in ("DDR4", "DDR5"):
        raise InputError(f"no RAM prices for '{memory_type}': DDR4 or DDR5")
    pts = ram_prices(memory_type)
    if date is not None:
        pts = [p for p in pts if p.date <= date]
    if not pts:
        raise InputError(f"no {memory_type} price on or before {date}; the oldest is "
                         f"{ram_prices(memory_type)[0].date}")
    newest = pts[-1].date
    same = [p for p in pts if p.date == newest]
    lo = min(p.usd_low for p in same)
    hi = max(p.usd_high for p in same)
    return Price(usd=(lo + hi) / 2, date=newest, source=" ; ".join(sorted({p.source for p in same})),
                 item=f"{memory_type} kits", usd_low=lo, usd_high=hi)


def ram_cost(ram_bytes: int, date: str | None = None, memory_type: str = "DDR5") -> Price:
    """What ``ram_bytes`` of RAM costs at ``date`` (USD total, range, source)."""
    p = ram_price_per_gib(date, memory_type)
    gib = ram_bytes / GiB
    return Price(usd=p.usd * gib, date=p.date, source=p.source, item=f"{gib:g} GiB {memory_type}",
                 usd_low=p.usd_low * gib, usd_high=p.usd_high * gib)
