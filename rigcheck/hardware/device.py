"""The hardware words: Device, Link, Node and Rig (plain data, no I/O).

A **Rig** is one or more **Nodes** joined by an optional network **Link**. A Node has
accelerator devices (GPUs, or one unified-memory SoC), an optional CPU, system RAM with
its bandwidth and, for unified memory, the part the GPU may use (``gpu_budget_bytes``).

Every number is in base units: bytes, bytes per second, FLOP per second, watts.
``None`` means "not known", never zero. These fields are a stable interface: the
placement, speed and verdict code read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("gpu", "soc", "cpu")


@dataclass(frozen=True)
class Device:
    """One device from the catalogue (or detected and matched to it).

    kind: ``gpu`` (discrete, own memory), ``soc`` (unified memory: Apple, Strix Halo,
    GB10) or ``cpu`` (a CPU with its memory system). ``memory_bytes`` is the device's
    own memory (VRAM, or the SoC's unified memory); for a CPU it is None.
    ``bandwidth_bytes_s`` is the rated memory bandwidth (for a CPU: its memory system at
    the catalogue's default speed). ``fp16_flops`` is the dense FP16/BF16 tensor peak.
    ``verified`` is S (seen in a source), D (derived from sourced facts) or M (from
    memory, still to check). ``llc_bytes``: the last-level cache (NVIDIA / Intel L2, AMD
    Infinity Cache or MALL; rigcheck/data/device_cache.csv, where its sources are), None
    when not known.
    """

    id: str
    name: str
    kind: str
    vendor: str
    memory_bytes: int | None = None
    bandwidth_bytes_s: float | None = None
    fp16_flops: float | None = None
    fp8_flops: float | None = None
    fp4_flops: float | None = None
    int8_ops: float | None = None
    unified: bool = False
    tdp_w: float | None = None
    price_usd: float | None = None
    price_date: str | None = None
    memory_type: str | None = None
    gpu_cores: str | None = None
    mem_channels: int | None = None      # CPU: memory channels per socket
    mem_mt_s: int | None = None          # CPU: default (rated) memory speed, MT/s
    gpu_budget_bytes: int | None = None  # non-Apple SoC: the GPU-addressable part, if known
    release_year: int | None = None
    aliases: tuple[str, ...] = ()
    source: str = ""
    checked: str = ""
    verified: str = "M"
    notes: str = ""
    llc_bytes: int | None = None         # last-level cache (NVIDIA/Intel L2, AMD Infinity Cache / MALL), bytes


@dataclass(frozen=True)
class Link:
    """An interconnect: between GPUs in a node (PCIe, NVLink) or between nodes (network).

    ``bandwidth_bytes_s`` is per direction.
    """

    id: str
    name: str
    kind: str            # pcie | nvlink | network | thunderbolt
    bandwidth_bytes_s: float
    source: str = ""
    checked: str = ""
    verified: str = "M"
    notes: str = ""


@dataclass(frozen=True)
class Node:
    """One machine.

    devices: GPUs (repeated for a multi-GPU node) or exactly one SoC; empty for a
    CPU-only node. cpu: the CPU device if known (for a SoC node the SoC itself when
    ``cpu_only``). sockets: CPU sockets. ram_bytes: system RAM (for a SoC, its unified
    memory). ram_bandwidth_bytes_s: rated RAM bandwidth (all channels, all sockets).
    gpu_budget_bytes: for unified memory, what the GPU may use (macOS wired limit, or
    the GPU-addressable part); for discrete GPUs, None. ram_type: the memory system as
    written in the spec (``ddr5-6000``, ``ddr4-2666x12``) or None; ram_assumed: RAM size was
    not given and a default was used. os: macos, linux, ...; cpu_threads: logical CPUs this
    process may use (detected machines only).
    """

    devices: tuple[Device, ...] = ()
    cpu: Device | None = None
    sockets: int = 1
    ram_bytes: int | None = None
    ram_bandwidth_bytes_s: float | None = None
    gpu_budget_bytes: int | None = None
    ram_type: str | None = None
    ram_assumed: bool = False
    cpu_only: bool = False
    link: Link | None = None
    os: str | None = None
    cpu_threads: int | None = None

    @property
    def gpus(self) -> tuple[Device, ...]:
        """The accelerators the runtime can offload to (empty when cpu_only)."""
        return () if self.cpu_only else self.devices

    @property
    def unified(self) -> bool:
        return any(d.unified for d in self.devices)

    @property
    def vram_bytes(self) -> int:
        """Total memory of the discrete GPUs (0 for SoC and CPU-only nodes)."""
        return sum(d.memory_bytes or 0 for d in self.gpus if not d.unified)

    @property
    def gpu_memory_bytes(self) -> int:
        """Memory the GPUs can hold weights in: VRAM, or the unified-memory GPU budget."""
        if self.cpu_only:
            return 0
        if self.unified:
            return self.gpu_budget_bytes or sum(d.memory_bytes or 0 for d in self.devices)
        return self.vram_bytes


@dataclass(frozen=True)
class Rig:
    """What rigcheck plans against.

    nodes: identical nodes for a spec (``2 nodes x 8x h200``), one for a detected machine.
    link: the network between nodes (None for one node). spec: the canonical spec string
    (``format_rig``). source: ``catalogue`` (a preset or a bare catalogue id), ``spec``
    or ``detected``. notes: assumptions made (default RAM, default memory speed, ...).
    """

    nodes: tuple[Node, ...]
    link: Link | None = None
    spec: str = ""
    source: str = "spec"
    notes: tuple[str, ...] = field(default=())

    @property
    def node(self) -> Node:
        """The first node (all nodes of a spec rig are the same)."""
        return self.nodes[0]
