"""The rig spec language: a short string that names a machine (or several).

    rtx-5090+128GB                      one GPU, 128 GB of system RAM
    2x rtx-3090+64GB ddr4-3200          two GPUs; RAM type and speed (dual channel)
    m4-max-128 / strix-halo-128 / dgx-spark    unified-memory machines (memory built in)
    rtx-pro-6000                        RAM not given: a default is assumed, and said so
    2 nodes x 8x h200 ib-400g           two nodes joined by a network link
    m2-max-64 cpu-only                  do not use the GPU
    2x xeon-gold-6138+768GB ddr4-2666   a dual-socket CPU-only server
    rtx-4090+ryzen-9-7950x+96GB ddr5-6000x2   GPU, named CPU, RAM, 2 channels
    tier-128-unified                    a tier preset (its representative rig)

Parts are joined by ``+`` or spaces. ``Nx DEVICE`` repeats a GPU (or a CPU: sockets).
RAM sizes are memory-module sizes: ``64GB`` means 64 GiB of DRAM, as sold (``GiB`` and
``TB`` also work). A memory system is ``ddr4-3200``/``ddr5-6000``/``lpddr5x-8000``,
optionally ``xN`` channels in the node (default: the CPU's channels x sockets, else 2);
its bandwidth is channels x 8 bytes x MT/s. A link is a catalogue link id: ``pcie4-x16``,
``nvlink4`` (between the GPUs of a node) or ``ib-400g``, ``100gbe``, ``tb5`` (between nodes).

``parse_rig(spec) -> Rig`` and ``format_rig(rig) -> str`` (canonical) round-trip:
``parse_rig(format_rig(parse_rig(s))) == parse_rig(s)``. Mistakes raise InputError with
one line and suggestions.
"""

from __future__ import annotations

import re

from ..errors import InputError, UnknownNameError
from ..notes import Note
from ..units import parse_memory
from . import apple
from .catalog import devices as _all_devices, find_device, find_link
from .device import Device, Node, Rig

GiB = 2**30
MiB = 2**20

# default RAM for a GPU rig with none given: the smallest of these >= max(32 GiB, 2 x VRAM)
_STANDARD_RAM_GIB = (32, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192)
_DEFAULT_MEM_DESKTOP = ("ddr5", 5600, 2)     # dual-channel DDR5-5600
_DEFAULT_MEM_SERVER = ("ddr5", 4800, 24)     # two sockets of 12-channel DDR5-4800 (EPYC 9004)
_MAX_COUNT = 1024

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)(gb|gib|tb|tib|mb|mib|g|t)$")
_MEM_RE = re.compile(r"^(ddr[345]|lpddr4x?|lpddr5x?)-(\d{3,5})(?:x(\d{1,3})(?:ch)?)?$")
_NODES_RE = re.compile(r"^(\d+)\s*nodes?\s*[x×*]\s*(.+)$")


def _parse_size(num: str, unit: str, token: str) -> int:
    """A RAM size token, read by the one memory-size parser (units.parse_memory)."""
    return parse_memory(f"{num}{unit}", "RAM size")


def format_ram(n: int) -> str:
    """A RAM size as a spec token: '128GB' (GiB-sized modules), '1.5TB', '24105MiB'."""
    if n % 2**40 == 0:
        return f"{n // 2**40}TB"
    if n % GiB == 0:
        return f"{n // GiB}GB"
    if n % MiB == 0:
        return f"{n // MiB}MiB"
    return f"{round(n / MiB)}MiB"


def _bw(mem: tuple[str, int, int]) -> float:
    kind, mts, channels = mem
    width = 8  # bytes per channel (64-bit DDR4/DDR5 DIMM channel; LPDDR: count 64-bit units)
    return channels * width * mts * 1e6


def _mem_token(kind: str, mts: int, channels: int | None) -> str:
    return f"{kind}-{mts}" + (f"x{channels}" if channels else "")


def _unknown_device(name: str) -> UnknownNameError:
    ids = [d.id for d in _all_devices()]
    hint = "'rigcheck rigs' lists devices"
    if re.fullmatch(r"m\d(-(pro|max|ultra))?-\d+", name):
        hint = "Apple chips are chip-memory, e.g. m4-max-128; 'rigcheck rigs' lists them"
    return UnknownNameError("device", name, ids, hint=hint)


def _tokens(spec: str) -> list[str]:
    s = re.sub(r"(?<![\w.-])(\d+)\s*[x×*]\s+(?=[a-z])", r"\1x", spec)
    return [t for t in re.split(r"[\s+]+", s) if t]


def parse_rig(spec: str) -> Rig:
    """Parse a rig spec (see the module doc) into a Rig with ``spec`` set to the canonical form."""
    if not isinstance(spec, str) or not spec.strip():
        raise InputError("empty rig spec: write e.g. rtx-5090+128GB, m4-max-128 or '2x rtx-3090+64GB'")
    if len(spec) > 300:
        raise InputError("rig spec is too long (300 characters at most)")
    text = " ".join(spec.strip().lower().split())
    from .presets import find_tier  # late import: presets parse specs too
    tier = find_tier(text)
    if tier is not None:
        rig = parse_rig(tier.rigs[0])
        return Rig(nodes=rig.nodes, link=rig.link, spec=rig.spec, source="catalogue", notes=rig.notes)

    n_nodes = 1
    m = _NODES_RE.match(text)
    if m:
        n_nodes = int(m.group(1))
        text = m.group(2)
        if not 1 <= n_nodes <= _MAX_COUNT:
            raise InputError(f"'{spec}': node count must be 1 to {_MAX_COUNT}")

    toks = _tokens(text)
    parts: list[tuple[int, Device]] = []
    ram: int | None = None
    mem: tuple[str, int, int | None] | None = None
    cpu_only = False
    node_link = net_link = None
    i = 0
    while i < len(toks):
        tok = toks[i]
        i += 1
        if tok in ("cpu-only", "cpuonly", "cpu"):
            cpu_only = True
            continue
        if (sm := _SIZE_RE.match(tok)):
            if ram is not None:
                raise InputError(f"'{spec}': RAM is given twice ('{format_ram(ram)}' and '{tok}')")
            ram = _parse_size(sm.group(1), sm.group(2), tok)
            continue
        if (mm := _MEM_RE.match(tok)):
            if mem is not None:
                raise InputError(f"'{spec}': the memory type is given twice")
            ch = int(mm.group(3)) if mm.group(3) else None
            if ch is not None and not 1 <= ch <= 64:
                raise InputError(f"'{tok}': channels must be 1 to 64")
            mts = int(mm.group(2))
            if not 400 <= mts <= 20000:
                raise InputError(f"'{tok}': memory speed {mts} MT/s is out of range")
            mem = (mm.group(1), mts, ch)
            continue
        if re.fullmatch(r"\d+[x×*]?", tok):
            raise InputError(f"'{spec}': '{tok}' needs a device after it, e.g. '2x rtx-3090+64GB'")
        count, name = 1, tok
        if (cm := re.fullmatch(r"(\d+)[x×*](.+)", tok)):
            count, name = int(cm.group(1)), cm.group(2)
            if not 1 <= count <= _MAX_COUNT:
                raise InputError(f"'{spec}': {count}x {name}: the count must be 1 to {_MAX_COUNT} "
                                 f"(leave a device out to have none of it)")
        link = find_link(name)
        if link is not None and count == 1:
            if link.kind in ("pcie", "nvlink"):
                node_link = link
            else:
                net_link = link
            continue
        dev = find_device(name)
        # forgive spaces inside a name: 'rtx 4090+64GB'
        j = i
        while dev is None and j < len(toks) and j - i < 3:
            name = f"{name}-{toks[j]}"
            j += 1
            dev = find_device(name)
            if dev is not None:
                i = j
        if dev is None:
            raise _unknown_device(cm.group(2) if cm else tok)
        parts.append((count, dev))

    return _build(spec, parts, ram, mem, cpu_only, node_link, net_link, n_nodes)


def _build(spec, parts, ram, mem, cpu_only, node_link, net_link, n_nodes) -> Rig:
    notes: list[str] = []
    gpus = [(n, d) for n, d in parts if d.kind == "gpu"]
    socs = [(n, d) for n, d in parts if d.kind == "soc"]
    cpus = [(n, d) for n, d in parts if d.kind == "cpu"]
    if len({d.id for _, d in cpus}) > 1:
        raise InputError(f"'{spec}': one CPU model per node (write '2x xeon-gold-6138' for two sockets)")
    if socs and (len(socs) > 1 or socs[0][0] > 1):
        raise InputError(f"'{spec}': one unified-memory chip per node; for several machines write "
                         f"'2 nodes x {socs[0][1].id} tb5'")
    if socs and (gpus or cpus):
        raise InputError(f"'{spec}': {socs[0][1].id} is a whole machine; it cannot be combined with other devices")
    if net_link is not None and n_nodes == 1:
        raise InputError(f"'{spec}': {net_link.id} joins nodes; write e.g. '2 nodes x {_first_id(parts)} {net_link.id}'")
    if not parts and ram is None:
        raise InputError(f"'{spec}' names no device: write e.g. rtx-5090+128GB or m4-max-128")

    cpu = cpus[0][1] if cpus else None
    sockets = cpus[0][0] if cpus else 1
    if sockets > 8:
        raise InputError(f"'{spec}': {sockets} CPU sockets in one node is not a machine (8 at most)")
    gpu_list = tuple(d for n, d in gpus for _ in range(n))
    if len(gpu_list) > 64:
        raise InputError(f"'{spec}': {len(gpu_list)} GPUs in one node (64 at most); use 'N nodes x 8x ...'")
    os_name = None

    if socs:
        soc = socs[0][1]
        if ram is not None:
            raise InputError(f"'{spec}': {soc.id} has its memory built in; leave out '+{format_ram(ram)}' "
                             f"(pick the memory size in the id, e.g. {soc.id})")
        if mem is not None:
            raise InputError(f"'{spec}': {soc.id} has its memory built in; leave out the memory type")
        ram_bytes = soc.memory_bytes
        ram_bw = soc.bandwidth_bytes_s
        if soc.vendor == "Apple":
            budget = apple.wired_limit_default(ram_bytes)
            os_name = "macos"
        else:
            budget = soc.gpu_budget_bytes or ram_bytes
        node = Node(devices=(soc,), cpu=soc if cpu_only else None, ram_bytes=ram_bytes,
                    ram_bandwidth_bytes_s=ram_bw, gpu_budget_bytes=budget,
                    cpu_only=cpu_only, link=node_link, os=os_name)
    else:
        ram_assumed = ram is None
        if ram_assumed:
            vram = sum(d.memory_bytes or 0 for d in gpu_list)
            want = max(32 * GiB, 2 * vram)
            ram = next((g * GiB for g in _STANDARD_RAM_GIB if g * GiB >= want), _STANDARD_RAM_GIB[-1] * GiB)
            notes.append(Note("rig_ram_assumed", ram_bytes=ram, token=format_ram(ram)))
        if mem is not None:
            kind, mts, ch = mem
            channels = ch or ((cpu.mem_channels or 2) * sockets if cpu else 2)
            ram_bw = _bw((kind, mts, channels))
            ram_type = _mem_token(kind, mts, ch)
        elif cpu is not None and cpu.bandwidth_bytes_s:
            ram_bw = cpu.bandwidth_bytes_s * sockets
            ram_type = None
            notes.append(Note("rig_memory_rated", cpu=cpu.id, kind=(cpu.memory_type or "DDR").split()[0],
                              mt_s=cpu.mem_mt_s, channels=(cpu.mem_channels or 0) * sockets))
        else:
            server = any((d.memory_type or "").upper().startswith("HBM") for d in gpu_list)
            kind, mts, channels = _DEFAULT_MEM_SERVER if server else _DEFAULT_MEM_DESKTOP
            ram_bw = _bw((kind, mts, channels))
            ram_type = None
            notes.append(Note("rig_memory_assumed", kind=kind.upper(), mt_s=mts, channels=channels))
        node = Node(devices=gpu_list, cpu=cpu, sockets=sockets, ram_bytes=ram,
                    ram_bandwidth_bytes_s=ram_bw, gpu_budget_bytes=None, ram_type=ram_type,
                    ram_assumed=ram_assumed, cpu_only=cpu_only or not gpu_list, link=node_link)
    if n_nodes > 1 and net_link is None:
        notes.append(Note("rig_no_link"))
    rig = Rig(nodes=tuple(node for _ in range(n_nodes)), link=net_link, source="spec", notes=tuple(notes))
    canonical = format_rig(rig)
    source = "catalogue" if (len(parts) == 1 and parts[0][0] == 1 and canonical == parts[0][1].id) else "spec"
    return Rig(nodes=rig.nodes, link=rig.link, spec=canonical, source=source, notes=rig.notes)


def _first_id(parts) -> str:
    """The first device as the user counted it ('8x h200'), for a suggested spec."""
    if not parts:
        return "rtx-3090"
    n, dev = parts[0]
    return f"{n}x {dev.id}" if n > 1 else dev.id


def format_rig(rig: Rig) -> str:
    """The canonical spec of a rig: ``2x rtx-3090+64GB ddr4-3200``, ``2 nodes x 8x h200 ib-400g``."""
    node = rig.nodes[0]
    items: list[str] = []
    i = 0
    devs = node.devices
    while i < len(devs):
        j = i
        while j < len(devs) and devs[j].id == devs[i].id:
            j += 1
        n = j - i
        items.append(f"{n}x {devs[i].id}" if n > 1 else devs[i].id)
        i = j
    if node.cpu is not None and node.cpu.kind == "cpu":
        items.append(f"{node.sockets}x {node.cpu.id}" if node.sockets > 1 else node.cpu.id)
    if not node.unified and node.ram_bytes and not node.ram_assumed:
        items.append(format_ram(node.ram_bytes))
    text = "+".join(items)
    if node.ram_type:
        text += f" {node.ram_type}"
    if node.cpu_only and node.devices:
        text += " cpu-only"
    if node.link is not None:
        text += f" {node.link.id}"
    if len(rig.nodes) > 1:
        text = f"{len(rig.nodes)} nodes x {text}"
    if rig.link is not None:
        text += f" {rig.link.id}"
    return text
