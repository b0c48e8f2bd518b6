"""Where the weights live: one table of placement modes (gguf-py's constants style).

Each mode has the id placements report (JSON ``mode``), its words for a person, the
class the verdict judges it by (``gpu``, ``unified``, ``offload``, ``cpu``, ``none``),
the speed model's offload word (``none``, ``split``, ``experts=ram``, ``layers=ram``,
``cpu``, ``mmap``), and whether every weight is on fast memory. Code reads the fields;
no other module translates one vocabulary into another.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    name: str
    label: str
    verdict: str
    offload: str
    fast: bool


MODES: tuple[Mode, ...] = (
    Mode("gpu", "all on GPU", "gpu", "none", True),
    Mode("multi_gpu", "all on GPU", "gpu", "split", True),
    Mode("unified", "unified memory", "unified", "none", True),
    Mode("experts_in_ram", "GPU + experts in RAM", "offload", "experts=ram", False),
    Mode("layers_offload", "GPU + layers in RAM", "offload", "layers=ram", False),
    Mode("cpu", "CPU + RAM", "cpu", "cpu", False),
    Mode("mmap_stream", "streamed from disk", "none", "mmap", False),
    Mode("no_fit", "does not fit", "none", "", False),
)
_BY_NAME = {m.name: m for m in MODES}


def mode(name: str) -> Mode:
    """The row of a placement mode (``no_fit`` for a name the table does not know)."""
    return _BY_NAME.get(name, _BY_NAME["no_fit"])
