"""A bounded GGUF header reader.

Reads only the header (metadata and tensor infos), never tensor data, and checks every
count and length against the bytes that are actually in the file before using it, so a
damaged or hostile header cannot make us read or allocate without bound. Large arrays
(the tokenizer) are skipped and recorded as their element count and byte size. Work is
bounded by rigcheck.limits, not by the file: header bytes, keys, tensors, name, string
and array lengths, elements per tensor and seconds per parse; only a regular file is
opened. Duplicate keys or tensor names are refused, as llama.cpp's gguf.cpp refuses them.
Layout: ggml-org/ggml include/gguf.h and src/gguf.cpp (GGUF v2/v3).
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field

from ... import limits
from ...errors import FormatError
from ...quant.types import GGML_BY_ID, StorageType
from ...text import shown

# gguf-split's part names (tools/gguf-split): '<base>-00001-of-00003.gguf' -> base, part, count
SPLIT_NAME = re.compile(r"^(.*)-(\d{5})-of-(\d{5})\.gguf$", re.I)

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4
MAX_STRING = limits.STRING_BYTES
SMALL_ARRAY = 4096            # arrays up to this many elements are kept as values
MAX_NAME = limits.NAME_BYTES

# value types: id -> (struct format, size)
_SCALARS = {0: ("<B", 1), 1: ("<b", 1), 2: ("<H", 2), 3: ("<h", 2), 4: ("<I", 4), 5: ("<i", 4),
            6: ("<f", 4), 7: ("<?", 1), 10: ("<Q", 8), 11: ("<q", 8), 12: ("<d", 8)}
T_STRING, T_ARRAY = 8, 9
_U64 = struct.Struct("<Q")


@dataclass(frozen=True)
class ArrayInfo:
    """A large array that was skipped: its element type, count and byte size."""

    type_id: int
    count: int
    nbytes: int


@dataclass(frozen=True)
class GGUFTensorInfo:
    name: str
    ne: tuple[int, ...]
    type: StorageType
    offset: int
    info_bytes: int            # bytes this entry takes in the header

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(reversed(self.ne))

    @property
    def nbytes(self) -> int:
        return self.type.nbytes(self.shape)


@dataclass
class GGUFHeader:
    path: str
    file_size: int
    version: int
    metadata: dict
    kv_bytes: dict              # key -> bytes of that KV pair in the header
    tensors: list[GGUFTensorInfo]
    alignment: int
    data_offset: int
    split_files: list[str] = field(default_factory=list)

    def get(self, key: str, default=None):
        return self.metadata.get(key, default)

    @property
    def arch(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    def arch_key(self, suffix: str, default=None):
        return self.metadata.get(f"{self.arch}.{suffix}", default)


class _Reader:
    """Reads a byte range of the file in chunks, never past its end."""

    def __init__(self, f, size: int, path: str, chunk: int = 1 << 20):
        self.f, self.size, self.path, self.chunk = f, size, path, chunk
        self.pos = 0
        self.buf = b""
        self.buf_start = 0
        self.deadline = limits.Deadline(path, "GGUF header")

    def need(self, n: int, what: str) -> None:
        if self.pos + n > limits.GGUF_HEADER_BYTES and self.pos + n <= self.size:
            raise FormatError(f"{shown(self.path, 300)}: damaged GGUF: {shown(what)} would take the header past "
                              f"{limits.GGUF_HEADER_BYTES:,} bytes; no real GGUF header is that large")
        if n < 0 or self.pos + n > self.size:
            raise FormatError(f"{self.path}: truncated or damaged GGUF: {what} needs {n} bytes at offset "
                              f"{self.pos}, but the file has {self.size} bytes")

    def read(self, n: int, what: str) -> bytes:
        self.need(n, what)
        end = self.pos + n
        if not (self.buf_start <= self.pos and end <= self.buf_start + len(self.buf)):
            self.f.seek(self.pos)
            self.buf = self.f.read(max(n, self.chunk))
            self.buf_start = self.pos
        out = self.buf[self.pos - self.buf_start:end - self.buf_start]
        self.pos = end
        return out

    def skip(self, n: int, what: str) -> None:
        self.need(n, what)
        self.pos += n

    def scalar(self, fmt: str, size: int, what: str):
        return struct.unpack(fmt, self.read(size, what))[0]

    def u32(self, what):
        return self.scalar("<I", 4, what)

    def u64(self, what):
        return self.scalar("<Q", 8, what)

    def string(self, what: str, limit: int = MAX_STRING) -> str:
        n = self.u64(what + " length")
        if n > limit:
            raise FormatError(f"{self.path}: damaged GGUF: {what} claims a {n}-byte string at offset {self.pos - 8}")
        return self.read(n, what).decode("utf-8", errors="replace")

    def skip_strings(self, count: int, what: str) -> None:
        """Skip ``count`` strings (a tokenizer's vocabulary): lengths are walked in the
        buffered chunk without a read per string, the chunk edges by ``skip_string``."""
        unpack = _U64.unpack_from
        i = 0
        while i < count:
            buf, off, end = self.buf, self.pos - self.buf_start, len(self.buf)
            while i < count and 0 <= off and off + 8 <= end:
                n = unpack(buf, off)[0]
                if n > MAX_STRING or off + 8 + n > end:
                    break
                off += 8 + n
                i += 1
            self.pos = self.buf_start + off
            self.need(0, what)
            if i < count:
                self.skip_string(what)
                i += 1
            self.deadline.check()

    def skip_string(self, what: str) -> None:
        n = self.u64(what + " length")
        if n > MAX_STRING:
            raise FormatError(f"{self.path}: damaged GGUF: {what} claims a {n}-byte string at offset {self.pos - 8}")
        self.skip(n, what)


def _read_value(r: _Reader, vtype: int, key: str):
    if vtype in _SCALARS:
        fmt, size = _SCALARS[vtype]
        return r.scalar(fmt, size, key)
    if vtype == T_STRING:
        return r.string(key)
    if vtype == T_ARRAY:
        etype = r.scalar("<i", 4, key + " element type")
        count = r.u64(key + " count")
        if count > limits.ARRAY_ITEMS:
            raise FormatError(f"{r.path}: damaged GGUF: array {key} claims {count:,} elements "
                              f"(the limit is {limits.ARRAY_ITEMS:,})")
        if etype in _SCALARS:
            size = _SCALARS[etype][1]
            r.need(count * size, f"array {key}")
            if count <= SMALL_ARRAY:
                fmt = "<" + _SCALARS[etype][0][1] * count
                return list(struct.unpack(fmt, r.read(count * size, key)))
            start = r.pos
            r.skip(count * size, key)
            return ArrayInfo(etype, count, r.pos - start)
        if etype == T_STRING:
            # each string is at least its 8-byte length
            r.need(count * 8, f"array {key}")
            start = r.pos
            if count <= SMALL_ARRAY:
                return [r.string(f"{key}[{i}]") for i in range(count)]
            r.skip_strings(count, key)
            return ArrayInfo(etype, count, r.pos - start)
        raise FormatError(f"{r.path}: damaged GGUF: array {key} has element type {etype}")
    raise FormatError(f"{r.path}: damaged GGUF: key {key} has value type {vtype}")


def read_header(path: str | os.PathLike, fileobj=None, size: int | None = None,
                chunk: int = 1 << 20) -> GGUFHeader:
    """Read a GGUF file's header. Raises FormatError on anything inconsistent.
    ``fileobj`` and ``size`` read from an open file-like object instead (a remote file
    read by ranges, rigcheck.model.sources.hub); ``chunk`` is the read-ahead."""
    path = os.fspath(path)
    if fileobj is None:
        f, size = limits.open_regular(path, "GGUF file")     # a regular file, never a FIFO or device
    else:
        f = fileobj
    with f:
        r = _Reader(f, size, path, chunk)
        magic = r.read(4, "magic") if size >= 4 else b""
        if magic != GGUF_MAGIC:
            raise FormatError(f"{path}: not a GGUF file (magic {magic!r}, expected b'GGUF')")
        version = r.u32("version")
        if version not in (2, 3):
            raise FormatError(f"{path}: GGUF version {version} is not supported (2 and 3 are)")
        n_tensors = r.u64("tensor count")
        n_kv = r.u64("metadata count")
        # every KV pair takes >= 8+1+4+1 bytes and every tensor info >= 8+1+4+8+4+8
        if n_kv * 14 > size - r.pos or n_tensors * 33 > size - r.pos:
            raise FormatError(f"{path}: damaged GGUF: the header claims {n_tensors} tensors and {n_kv} "
                              f"metadata keys, more than a {size}-byte file can hold")
        if n_tensors > limits.TENSORS or n_kv > limits.GGUF_KEYS:
            raise FormatError(f"{path}: damaged GGUF: the header claims {n_tensors:,} tensors and {n_kv:,} "
                              f"metadata keys (the limits are {limits.TENSORS:,} and {limits.GGUF_KEYS:,}; "
                              "real files have a few thousand and about 50)")
        metadata: dict = {}
        kv_bytes: dict = {}
        for i in range(n_kv):
            start = r.pos
            key = r.string("metadata key", MAX_NAME)
            if key in metadata:
                raise FormatError(f"{path}: damaged GGUF: metadata key '{key}' appears twice")
            if not i & 0x3F:
                r.deadline.check()
            vtype = r.scalar("<i", 4, key + " type")
            metadata[key] = _read_value(r, vtype, key)
            kv_bytes[key] = r.pos - start
        alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
            raise FormatError(f"{path}: damaged GGUF: general.alignment {alignment!r} is not a power of two")
        tensors = []
        seen: set[str] = set()
        for i in range(n_tensors):
            start = r.pos
            name = r.string(f"tensor {i} name", MAX_NAME)
            if name in seen:
                raise FormatError(f"{path}: damaged GGUF: tensor name '{name}' appears twice (tensor {i}); "
                                  "llama.cpp refuses such a file")
            seen.add(name)
            if not i & 0x3FF:
                r.deadline.check()
            n_dims = r.u32(f"{name} n_dims")
            if not 1 <= n_dims <= MAX_DIMS:
                raise FormatError(f"{path}: damaged GGUF: tensor {name} has {n_dims} dimensions")
            ne = tuple(r.u64(f"{name} dim") for _ in range(n_dims))
            type_id = r.scalar("<i", 4, f"{name} type")
            offset = r.u64(f"{name} offset")
            st = GGML_BY_ID.get(type_id)
            if st is None:
                raise FormatError(f"{path}: tensor {name} has ggml type id {type_id}, unknown to rigcheck")
            if any(d > size * 8 for d in ne) or _prod(ne) > limits.TENSOR_ELEMENTS:
                raise FormatError(f"{path}: damaged GGUF: tensor {name} has dimensions {ne}")
            tensors.append(GGUFTensorInfo(name, ne, st, offset, r.pos - start))
        data_offset = -(-r.pos // alignment) * alignment
        hdr = GGUFHeader(path, size, version, metadata, kv_bytes, tensors, alignment, data_offset)
    split_count = metadata.get("split.count", 1)
    for t in tensors:
        if t.offset % alignment or (split_count in (0, 1) and data_offset + t.offset + t.nbytes > size):
            raise FormatError(f"{path}: truncated or damaged GGUF: tensor {t.name} ({t.nbytes} bytes at data "
                              f"offset {t.offset}) lies beyond the end of the {size}-byte file")
    return hdr


def _prod(ne) -> int:
    n = 1
    for d in ne:
        n *= d
    return n


def header_bytes(hdr: GGUFHeader) -> int:
    """Bytes before the tensor data: 24-byte preamble + KV pairs + tensor infos, padded."""
    raw = 24 + sum(hdr.kv_bytes.values()) + sum(t.info_bytes for t in hdr.tensors)
    return -(-raw // hdr.alignment) * hdr.alignment
