"""Upgrade: what it would cost to reach the next verdict, from dated prices.

``upgrade_options`` is pure: it takes how much memory the build needs (on fast memory,
and in total), what the rig has, a RAM price per GiB and a list of candidate purchases
(GPUs to add or replace, whole machines), and returns the options, cheapest first:

* **add RAM** when the build fits in GPU + RAM only with more RAM (an offload build; it
  gets the model loaded, not fast): the missing bytes rounded up to whole kits, priced
  per GiB at the newest dated price;
* **a device** (a GPU, or a whole unified-memory machine) whose memory holds the build on
  fast memory, alone or next to the GPUs the rig already has (``adds_to_fast``).

Every option carries its price's date and source, because memory prices moved several
times over in 2025-2026. ``candidates_from_catalog`` builds the candidate list from the
device catalogue (rigcheck.hardware); it is the only part that reads catalogue data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ... import units

GiB = 2**30


@dataclass(frozen=True)
class Option:
    kind: str                       # "ram" | "gpu" | "system"
    label: str                      # "add 64 GiB of RAM", "RTX PRO 6000 Blackwell 96 GB"
    cost_usd: float | None
    price_date: str = ""
    source: str = ""
    item: str = ""                  # what was priced: "DDR5 kits", "RTX PRO 6000 Blackwell"
    note: str = ""                  # what it buys: "fits with experts in RAM (offload)"
    cost_low: float | None = None
    cost_high: float | None = None
    adds_bytes: int = 0

    def text(self) -> str:
        """'add 64 GiB of RAM: ~$680 (DDR5, price of 2026-06-03, https://...)'."""
        cost = money(self.cost_usd) if self.cost_usd is not None else "price unknown"
        detail = [x for x in (self.item, f"price of {self.price_date}" if self.price_date else "",
                              self.source) if x]
        s = f"{self.label}: {cost}"
        if detail:
            s += " (" + ", ".join(detail) + ")"
        if self.note:
            s += f"; {self.note}"
        return s

    def as_dict(self) -> dict:
        """The form report/html.py takes for an upgrade item."""
        return {"label": self.label, "cost_usd": self.cost_usd, "note": self.note or self.item,
                "price_date": self.price_date, "source": self.source}


def money(usd: float) -> str:
    """'~$680', '~$8,500', '~$12,300': rounded to what a price quote can support."""
    step = 10 if usd < 10_000 else 100
    return f"~${round(usd / step) * step:,.0f}"


def _price_fields(price) -> tuple[float, str, str, float | None, float | None, str]:
    """(usd, date, source, low, high, item) from a Price-like object or a dict."""
    get = (lambda k, d=None: price.get(k, d)) if isinstance(price, dict) else \
          (lambda k, d=None: getattr(price, k, d))
    return (float(get("usd")), str(get("date", "") or ""), str(get("source", "") or ""),
            get("usd_low"), get("usd_high"), str(get("item", "") or ""))


def ram_option(missing_bytes: int, price_per_gib, memory_type: str = "DDR5",
               step_gib: int = 32) -> Option:
    """Add at least ``missing_bytes`` of RAM, rounded up to ``step_gib`` kits."""
    gib = max(step_gib, math.ceil(missing_bytes / GiB / step_gib) * step_gib)
    usd, date, source, lo, hi, _ = _price_fields(price_per_gib)
    return Option(kind="ram", label=f"add {units.gib(gib * GiB, 0)} of RAM", cost_usd=usd * gib, price_date=date,
                  source=source, item=memory_type,
                  cost_low=None if lo is None else lo * gib, cost_high=None if hi is None else hi * gib,
                  adds_bytes=gib * GiB,
                  note="then it fits with weights offloaded to system RAM: it loads, slowly")


def upgrade_options(need_fast_bytes: int, need_total_bytes: int, have_fast_bytes: int,
                    have_ram_bytes: int, ram_price_per_gib=None, candidates: list[dict] | tuple = (),
                    *, ram_upgradable: bool = True, memory_type: str = "DDR5", ram_step_gib: int = 32,
                    limit: int = 4) -> list[Option]:
    """Purchases that let the build fit, cheapest first (see the module docstring).

    need_fast_bytes: what the build needs on fast memory (GPU or unified) to run without
    offload; need_total_bytes: what it needs in GPU + RAM together. have_*: the rig's.
    candidates: dicts with ``label``, ``memory_bytes``, ``usd``, ``price_date``, ``source``,
    ``kind`` ("gpu" or "system") and optionally ``adds_to_fast`` (True for a GPU that joins
    the rig's GPUs; a whole machine replaces the rig).
    """
    opts: list[Option] = []
    short_total = need_total_bytes - (have_fast_bytes + have_ram_bytes)
    if ram_upgradable and ram_price_per_gib is not None and short_total > 0 \
            and need_fast_bytes > have_fast_bytes:
        opts.append(ram_option(short_total, ram_price_per_gib, memory_type, ram_step_gib))
    if need_fast_bytes > have_fast_bytes:
        for c in candidates:
            mem = int(c["memory_bytes"])
            reach = mem + (have_fast_bytes if c.get("adds_to_fast") else 0)
            if reach < need_fast_bytes or c.get("usd") is None:
                continue
            kind = c.get("kind", "gpu")
            label = c["label"]
            if c.get("adds_to_fast") and have_fast_bytes:
                label = f"add {label}"
            opts.append(Option(kind=kind, label=label, cost_usd=float(c["usd"]),
                               price_date=str(c.get("price_date", "") or ""),
                               source=str(c.get("source", "") or ""), item=c.get("item", ""),
                               note="then it fits on fast memory" +
                                    (f" ({units.gb(reach, 0)} with the current GPUs)" if c.get("adds_to_fast") and have_fast_bytes else ""),
                               adds_bytes=mem))
    opts.sort(key=lambda o: (o.cost_usd is None, o.cost_usd or 0.0, -o.adds_bytes))
    # the cheapest of each kind first (RAM, a GPU, a machine), then the next-cheapest others
    firsts, rest, kinds = [], [], set()
    for o in opts:
        (rest if o.kind in kinds else firsts).append(o)
        kinds.add(o.kind)
    out = (firsts + rest)[:limit]
    return out


# ---- candidates from the catalogue (reads rigcheck/data via rigcheck.hardware) ------

def _parse_price(text) -> float | None:
    """The first dollar figure in a catalogue price cell ('~$8,500 (joshua8 ...)' -> 8500)."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text)
    import re
    m = re.search(r"\$?\s*([0-9][0-9,]*(?:\.[0-9]+)?)", str(text))
    return float(m.group(1).replace(",", "")) if m else None


def candidates_from_catalog(kinds: tuple[str, ...] = ("gpu", "soc"), adds_to_fast: bool = True) -> list[dict]:
    """Every catalogue device with a price, as ``upgrade_options`` candidates.

    GPUs are offered as an added card (``adds_to_fast``); unified-memory SoCs as a whole
    machine that replaces the rig.
    """
    from ...hardware.catalog import devices

    out = []
    for d in devices():
        if d.kind not in kinds or not d.memory_bytes:
            continue
        usd = _parse_price(d.price_usd)
        if usd is None:
            continue
        sold = units.memory(int(d.memory_bytes))        # the size it is sold as
        out.append({"label": f"{d.name} {sold}" if sold.replace(" ", "") not in d.name.replace(" ", "") else d.name,
                    "memory_bytes": int(d.memory_bytes), "usd": usd,
                    "price_date": d.price_date or "", "source": d.source, "item": d.name,
                    "kind": "gpu" if d.kind == "gpu" else "system", "vendor": d.vendor,
                    "adds_to_fast": adds_to_fast and d.kind == "gpu"})
    return out
