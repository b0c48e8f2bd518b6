"""The bundled device catalogue: rigcheck/data/devices.csv, read once, lazily.

One row per device; rows of kind ``link`` are interconnects. A row whose id contains
``{mem}`` (Apple chips) stands for one device per entry of its ``memory_gib`` column
(``36/96``): ``m3-max-30c-{mem}`` ... Every row carries ``source``, ``checked`` (date)
and ``verified`` (S seen in a source, D derived from sourced facts, M from memory).

Public: ``get_device(name)``, ``get_link(name)``, ``devices()``, ``links()``,
``match_device(name, memory_bytes)`` (detection: a tool's GPU name to a catalogue device).
"""

from __future__ import annotations

import functools
import re

from ..errors import UnknownNameError
from .device import Device, Link

GiB = 2**30


# words that vendors put in front of product names; dropped before matching
_VENDOR_WORDS = {"nvidia", "geforce", "amd", "intel", "apple", "tm", "r", "corporation",
                 "graphics", "generation", "edition", "workstation", "w"}


def norm(name: str) -> str:
    """'NVIDIA GeForce RTX 4090' -> 'nvidia-geforce-rtx-4090'; case and spacing forgiven."""
    s = name.strip().lower().replace("+", "-plus")
    s = re.sub(r"\((tm|r)\)", " ", s)
    s = re.sub(r"[^a-z0-9.]+", "-", s)
    return s.strip("-")


def _num(text: str) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def _int(text: str) -> int | None:
    v = _num(text)
    return int(v) if v is not None else None


@functools.lru_cache(maxsize=1)
def _rows() -> tuple[dict, ...]:
    from .. import catalogue
    return catalogue.devices()


def _price_for(row: dict, mem_gib: float | None) -> float | None:
    """A row's price, but for a chip with memory options only for the option the price
    was quoted for: a price date such as '2026-05 (96GB)' names it."""
    m = re.search(r"\((\d+)\s*GB\)", row["price_date"])
    if "{mem}" in row["id"] and m and mem_gib is not None and float(m.group(1)) != mem_gib:
        return None
    return _num(row["price_usd"])


def _device(row: dict, mem_gib: float | None, llc_mib: float | None = None) -> Device:
    mem = row["memory_gib"].strip()
    dev_id = row["id"].strip()
    name = row["name"].strip()
    if "{mem}" in dev_id:
        label = f"{mem_gib:g}"
        dev_id, name = dev_id.replace("{mem}", label), name.replace("{mem}", label)
    elif mem:
        mem_gib = float(mem)
    aliases = tuple(a.strip().replace("{mem}", f"{mem_gib:g}" if mem_gib else "")
                    for a in row["aliases"].split(";") if a.strip())
    bw = _num(row["bandwidth_gb_s"])
    ch, mts = _int(row["mem_channels"]), _int(row["mem_mt_s"])
    if bw is None and ch and mts:
        bw = ch * 8 * mts / 1000  # GB/s = channels x 8 bytes x MT/s
    tf = lambda k: (_num(row[k]) * 1e12) if _num(row[k]) is not None else None  # noqa: E731
    budget = _num(row["gpu_budget_gib"])
    return Device(
        id=dev_id, name=name, kind=row["kind"].strip(), vendor=row["vendor"].strip(),
        memory_bytes=int(mem_gib * GiB) if mem_gib else None,
        bandwidth_bytes_s=bw * 1e9 if bw is not None else None,
        fp16_flops=tf("fp16_tflops"), fp8_flops=tf("fp8_tflops"), fp4_flops=tf("fp4_tflops"),
        int8_ops=tf("int8_tops"),
        unified=row["unified"].strip().lower() in ("1", "true", "yes"),
        tdp_w=_num(row["tdp_w"]), price_usd=_price_for(row, mem_gib),
        price_date=(row["price_date"].strip() or None) if _price_for(row, mem_gib) is not None else None,
        memory_type=row["memory_type"].strip() or None,
        gpu_cores=row["gpu_cores"].strip() or None,
        mem_channels=ch, mem_mt_s=mts,
        gpu_budget_bytes=int(budget * GiB) if budget else None,
        release_year=_int(row["release_year"]), aliases=aliases,
        source=row["source"].strip(), checked=row["checked"].strip(),
        verified=row["verified"].strip(), notes=row["notes"].strip(),
        llc_bytes=int(llc_mib * 2**20) if llc_mib else None,
    )


@functools.lru_cache(maxsize=1)
def _llc() -> dict[str, float]:
    """Last-level cache in MiB (2^20 bytes) by devices.csv row id (rigcheck/data/device_cache.csv)."""
    from .. import catalogue
    return {r["id"].strip(): float(r["llc_mib"]) for r in catalogue.device_caches()}


@functools.lru_cache(maxsize=1)
def _catalogue() -> tuple[dict[str, Device], dict[str, Link], dict[str, str]]:
    devs: dict[str, Device] = {}
    links: dict[str, Link] = {}
    link_aliases: dict[str, list[str]] = {}
    for row in _rows():
        if row["kind"].strip() == "link":
            ln = Link(id=row["id"].strip(), name=row["name"].strip(),
                      kind=row["vendor"].strip(),  # for links the vendor column holds the link kind
                      bandwidth_bytes_s=float(row["bandwidth_gb_s"]) * 1e9,
                      source=row["source"].strip(), checked=row["checked"].strip(),
                      verified=row["verified"].strip(), notes=row["notes"].strip())
            links[ln.id] = ln
            link_aliases[ln.id] = [a.strip() for a in row["aliases"].split(";") if a.strip()]
            continue
        llc = _llc().get(row["id"].strip())
        if "{mem}" in row["id"]:
            for opt in row["memory_gib"].split("/"):
                d = _device(row, float(opt), llc)
                devs[d.id] = d
        else:
            d = _device(row, None, llc)
            devs[d.id] = d
    index: dict[str, str] = {}
    for d in devs.values():
        for key in (d.id, d.name, *d.aliases):
            index.setdefault(norm(key), d.id)
    for ln in links.values():
        for key in (ln.id, *link_aliases[ln.id]):
            index.setdefault(norm(key), ln.id)
    return devs, links, index


def devices(kind: str | None = None) -> list[Device]:
    """All catalogue devices (of one kind: gpu, soc, cpu), in file order."""
    return [d for d in _catalogue()[0].values() if kind is None or d.kind == kind]


def links() -> list[Link]:
    """All catalogue links (PCIe, NVLink, InfiniBand, Ethernet, Thunderbolt)."""
    return list(_catalogue()[1].values())


def _lookup(name: str) -> str | None:
    index = _catalogue()[2]
    key = norm(name)
    if key in index:
        return index[key]
    stripped = "-".join(t for t in key.split("-") if t not in _VENDOR_WORDS)
    return index.get(stripped)


def find_device(name: str) -> Device | None:
    """The device called ``name`` (id, alias or full name; case and spacing forgiven), or None."""
    hit = _lookup(name)
    return _catalogue()[0].get(hit) if hit else None


def get_device(name: str) -> Device:
    """The catalogue device ``name``; raises UnknownNameError with the closest ids."""
    dev = find_device(name)
    if dev is None:
        raise UnknownNameError("device", name, _catalogue()[0].keys(),
                               hint="'rigcheck rigs' lists them")
    return dev


def find_link(name: str) -> Link | None:
    hit = _lookup(name)
    return _catalogue()[1].get(hit) if hit else None


def get_link(name: str) -> Link:
    """The catalogue link ``name`` (pcie4-x16, nvlink4, ib-400g, 100gbe, tb5 ...)."""
    ln = find_link(name)
    if ln is None:
        raise UnknownNameError("link", name, _catalogue()[1].keys())
    return ln


def match_device(name: str, memory_bytes: int | None = None, kinds=("gpu", "soc")) -> Device | None:
    """The catalogue device a tool's product name refers to, or None.

    ``'NVIDIA GeForce RTX 3090 Ti'`` -> rtx-3090-ti: first an exact id/alias/name match,
    then the longest catalogue id whose words all appear in the name; ties (and the
    3060 8 GB / 12 GB kind of split) are settled by the memory size closest to
    ``memory_bytes``. An exact hit whose memory is far from ``memory_bytes`` goes through
    the word match too: 'NVIDIA GeForce RTX 4060 Ti' is the 16 GB card's alias, and a tool
    that saw 8 GB means rtx-4060-ti-8gb.
    """
    dev = find_device(name)
    exact = dev if dev is not None and dev.kind in kinds else None
    if exact is not None and not (memory_bytes and exact.memory_bytes
                                  and abs(exact.memory_bytes - memory_bytes) > 0.2 * exact.memory_bytes):
        return exact
    words = set(t for t in norm(name).split("-") if t not in _VENDOR_WORDS)
    best: list[tuple[int, float, Device]] = []
    for d in devices():
        if d.kind not in kinds:
            continue
        for key in (d.id, *d.aliases):
            toks = [t for t in norm(key).split("-") if t not in _VENDOR_WORDS]
            # memory suffixes ('12gb') are optional in tool names
            need = [t for t in toks if not re.fullmatch(r"\d+gb", t)]
            if need and all(t in words for t in need):
                mem_gap = (abs((d.memory_bytes or 0) - memory_bytes)
                           if memory_bytes and d.memory_bytes else 0.0)
                best.append((len(need), -mem_gap, d))
                break
    if not best:
        return exact
    best.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return best[0][2]
