"""A Build: a Model with a storage type per tensor, and its exact bytes."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from ..model import Model
from .types import storage_type

GGUF_ALIGN = 32


def pad(n: int, align: int = GGUF_ALIGN) -> int:
    return -(-n // align) * align


@dataclass(frozen=True)
class Build:
    """``types[i]`` is the storage type of ``model.tensors[i]``, or None when the tensor
    is not in this build (MTP layers are left out of every standard build).
    ``nbytes[i]`` is that tensor's data bytes (0 when left out). ``file_bytes`` is the
    whole download: data, alignment padding and header. ``header_bytes`` is the part
    before the tensor data (GGUF header, metadata, tensor infos); ``header_estimated``
    says whether it was read from a real file or estimated."""

    name: str
    model: Model
    types: tuple[str | None, ...]
    nbytes: tuple[int, ...]
    file_bytes: int
    header_bytes: int = 0
    header_estimated: bool = True
    container: str = "gguf"            # gguf | safetensors | mlx
    recipe: str = ""                    # llama.cpp | mlx | native | ds4 | mix | file
    notes: tuple[str, ...] = ()
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    # ---- views ---------------------------------------------------------------
    def items(self):
        """(tensor, type, nbytes) for the tensors in the build."""
        for t, ty, n in zip(self.model.tensors, self.types, self.nbytes):
            if ty is not None:
                yield t, ty, n

    @functools.cached_property
    def weights_bytes(self) -> int:
        return sum(self.nbytes)

    @functools.cached_property
    def n_elements(self) -> int:
        return sum(t.n_elements for t, _, _ in self.items())

    @property
    def bits_per_weight(self) -> float:
        n = self.n_elements
        return self.weights_bytes * 8 / n if n else 0.0

    def bytes_by_role(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for t, _, n in self.items():
            out[str(t.role)] += n
        return dict(out)

    def bytes_by_type(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for _, ty, n in self.items():
            out[ty] += n
        return dict(out)

    def bytes_where(self, pred) -> int:
        """Bytes of the tensors for which ``pred(tensor)`` is true."""
        return sum(n for t, _, n in self.items() if pred(t))

    def type_of(self, name: str) -> str | None:
        for t, ty in zip(self.model.tensors, self.types):
            if t.name == name:
                return ty
        return None

    def expert_bytes(self) -> int:
        return self.bytes_where(lambda t: t.is_expert)

    def layer_bytes(self, layer: int, experts: bool | None = None) -> int:
        """Bytes of one repeating layer; experts=True/False selects routed experts only/none."""
        return self.bytes_where(lambda t: t.layer == layer and (experts is None or t.is_expert == experts))


@lru_cache(maxsize=1 << 16)
def tensor_nbytes(shape: tuple[int, ...], type_name: str) -> int:
    return storage_type(type_name).nbytes(shape)


def gguf_file_bytes(nbytes: list[int] | tuple[int, ...], header_bytes: int, align: int = GGUF_ALIGN) -> int:
    """Exact GGUF size: the padded header, then each tensor padded to the alignment
    (the last one too: gguf.cpp and gguf_writer.py both pad it)."""
    return pad(header_bytes, align) + sum(pad(n, align) for n in nbytes if n)


def make_build(model: Model, types: list[str | None], *, name: str, header_bytes: int,
               header_estimated: bool = True, container: str = "gguf", recipe: str = "",
               notes: list[str] | tuple[str, ...] = (), align: int = GGUF_ALIGN, meta: dict | None = None) -> Build:
    """Assemble a Build from a type per tensor; computes bytes and the file size."""
    nb = tuple(0 if ty is None else tensor_nbytes(t.shape, ty) for t, ty in zip(model.tensors, types))
    if container == "gguf":
        file_bytes = gguf_file_bytes(nb, header_bytes, align)
    else:
        file_bytes = sum(nb) + header_bytes
    return Build(name, model, tuple(types), nb, file_bytes, header_bytes, header_estimated,
                 container, recipe, tuple(notes), meta or {})

