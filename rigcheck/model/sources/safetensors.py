"""Exact tensors and dtypes from safetensors headers, never the data.

A safetensors file starts with an 8-byte little-endian header length N, then N bytes of
JSON: {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}.
We bound N by the file size and a cap before reading it, and check every tensor's offsets
against its dtype, shape and the file. An index (model.safetensors.index.json) names the
shard of every tensor.

When a config.json sits beside the files, the Model is the config's inventory (llama.cpp
names, roles, layers) with each tensor's checkpoint dtype attached through ``hf_name``
(per-expert checkpoint tensors map onto the fused expert tensor); checkpoint tensors the
inventory does not name are reported in ``meta['unmatched']``. Without a config, HF names
are classified into roles by pattern.

Limits (rigcheck.limits): the header at most SAFETENSORS_HEADER_BYTES and TENSORS
tensors per file, TENSORS_TOTAL across the shards, SHARDS files per index; shapes and
offsets must be whole numbers (not strings, floats or bools); a tensor name that
appears twice (in one header or in two shards) is refused, not counted twice.
"""

from __future__ import annotations

import math
import os
import re
import struct
from collections import Counter
from dataclasses import dataclass, replace

from ... import limits
from ...errors import FormatError, InputError
from ...text import shown
from ..model import Model
from ..tensor import Role, Tensor

MAX_HEADER = limits.SAFETENSORS_HEADER_BYTES     # a 2,000-tensor shard's header is ~200 kB
MAX_INDEX = limits.INDEX_BYTES
MAX_DIMS = 8
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
               "U16": 2, "U32": 4, "U64": 8, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1,
               "F4": 0.5, "F6_E2M3": 0.75, "F6_E3M2": 0.75, "C64": 8}


@dataclass(frozen=True)
class STensor:
    """One tensor of a safetensors file."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    file: str

    @property
    def n_elements(self) -> int:
        return math.prod(self.shape)


def read_header(path: str | os.PathLike, fileobj=None, size: int | None = None) -> tuple[dict, list[STensor]]:
    """(__metadata__, tensors) of one .safetensors file. Raises FormatError. ``fileobj``
    and ``size`` read from an open file-like object instead (a remote file read by ranges)."""
    path = os.fspath(path)
    if fileobj is None:
        f, size = limits.open_regular(path, "safetensors file")     # never a FIFO or a device
    else:
        f = fileobj
    with f:
        head = f.read(8)
        if len(head) < 8:
            raise FormatError(f"{path}: not a safetensors file ({size} bytes, the header length alone takes 8)")
        n = struct.unpack("<Q", head)[0]
        if n > size - 8:
            raise FormatError(f"{path}: damaged safetensors: the header claims {n:,} bytes, but the file has "
                              f"{size:,} bytes")
        if n > MAX_HEADER:
            raise FormatError(f"{path}: damaged safetensors: a {n:,}-byte header is more than the limit of "
                              f"{MAX_HEADER:,} (real shards have a few hundred kB)")
        raw = f.read(n)
    if len(raw) != n:
        raise FormatError(f"{path}: truncated safetensors: the header claims {n:,} bytes, {len(raw):,} are there")
    header = limits.parse_json(raw, path, "safetensors header")
    if not isinstance(header, dict):
        raise FormatError(f"{path}: damaged safetensors: the header is not a JSON object")
    if raw.count(b'"data_offsets"') > len(header):
        # json keeps the last of two equal keys silently: a name given twice would be
        # lost here and counted twice across shards; look for it (slower, so only now)
        limits.parse_json(raw, path, "safetensors header", unique_keys=True)
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise FormatError(f"{path}: damaged safetensors: __metadata__ is not an object of strings")
    if len(header) > limits.TENSORS:
        raise FormatError(f"{path}: damaged safetensors: the header lists {len(header):,} tensors (the limit is "
                          f"{limits.TENSORS:,} per file; real shards hold a few thousand)")
    data_size = size - 8 - n
    tensors = []
    for name, info in header.items():
        dtype, shape, offsets = (info.get("dtype"), info.get("shape"), info.get("data_offsets")) \
            if isinstance(info, dict) else (None, None, None)
        if not (isinstance(dtype, str) and _whole_list(shape, MAX_DIMS) and _whole_list(offsets, 2)
                and len(offsets) == 2):
            raise FormatError(f"{path}: damaged safetensors: entry '{shown(name)}' needs a dtype string, a shape "
                              f"of whole numbers and two whole-number data_offsets, got {shown(repr(info), 80)}")
        if len(name) > limits.NAME_BYTES:
            raise FormatError(f"{path}: damaged safetensors: a tensor name of {len(name):,} characters "
                              f"(limit {limits.NAME_BYTES})")
        shape = tuple(shape)
        begin, end = offsets
        if dtype not in DTYPE_BYTES:
            raise FormatError(f"{path}: tensor {name} has dtype {dtype}, unknown to rigcheck")
        if math.prod(shape) > limits.TENSOR_ELEMENTS:
            raise FormatError(f"{path}: damaged safetensors: tensor {name} has shape {list(shape)}")
        if any(d < 0 for d in shape) or not 0 <= begin <= end <= data_size:
            raise FormatError(f"{path}: damaged safetensors: tensor {name} lies at {begin}..{end}, outside "
                              f"the {data_size} data bytes")
        expect = math.ceil(math.prod(shape) * DTYPE_BYTES[dtype])
        if end - begin != expect:
            raise FormatError(f"{path}: damaged safetensors: tensor {name} ({dtype}{list(shape)}) should take "
                              f"{expect} bytes, its offsets give {end - begin}")
        tensors.append(STensor(name, dtype, shape, end - begin, path))
    return meta, tensors


def _whole_list(value, max_len: int) -> bool:
    """A JSON list of at most ``max_len`` whole numbers (bools are not numbers here)."""
    return (isinstance(value, list) and len(value) <= max_len
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value))


def _unique(tensors: list[STensor], where: str) -> list[STensor]:
    """The tensors of several files, each name once; the limit on their number."""
    if len(tensors) > limits.TENSORS_TOTAL:
        raise FormatError(f"{where}: {len(tensors):,} tensors across the shards (the limit is "
                          f"{limits.TENSORS_TOTAL:,}; the largest real checkpoints have about 140,000)")
    seen: dict[str, str] = {}
    for t in tensors:
        if t.name in seen:
            raise FormatError(f"{where}: tensor '{t.name}' appears twice (in {os.path.basename(seen[t.name])} and "
                              f"{os.path.basename(t.file)}); each tensor is counted once, so the shards are "
                              "damaged or from two checkpoints")
        seen[t.name] = t.file
    return tensors


def read_files(path: str | os.PathLike) -> list[STensor]:
    """All tensors of a .safetensors file, an index, or a folder of shards."""
    path = os.fspath(path)
    if os.path.isdir(path):
        idx = os.path.join(path, "model.safetensors.index.json")
        if os.path.exists(idx):
            return read_files(idx)
        files = sorted(f for f in os.listdir(path) if f.endswith(".safetensors"))
        if not files:
            raise InputError(f"{path}: no .safetensors files here")
        if len(files) > limits.SHARDS:
            raise InputError(f"{path}: {len(files):,} .safetensors files (the limit is {limits.SHARDS:,})")
        out: list[STensor] = []
        for f in files:
            out += read_header(os.path.join(path, f))[1]
            if len(out) > limits.TENSORS_TOTAL:
                break
        return _unique(out, path)
    if path.endswith(".json"):
        return _read_index(path)
    return read_header(path)[1]


def _read_index(path: str) -> list[STensor]:
    index = limits.parse_json(limits.read_capped(path, MAX_INDEX, "safetensors index"), path,
                              "safetensors index", unique_keys=True)
    wm = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(wm, dict):
        raise FormatError(f"{path}: a safetensors index needs a 'weight_map' object")
    if not all(isinstance(v, str) for v in wm.values()):
        bad = next(v for v in wm.values() if not isinstance(v, str))
        raise FormatError(f"{path}: a safetensors index maps tensors to shard file names, got {shown(repr(bad), 60)}")
    if len(wm) > limits.TENSORS_TOTAL:
        raise FormatError(f"{path}: the index names {len(wm):,} tensors (the limit is {limits.TENSORS_TOTAL:,})")
    shards = sorted(set(wm.values()))
    if len(shards) > limits.SHARDS:
        raise FormatError(f"{path}: the index names {len(shards):,} shards (the limit is {limits.SHARDS:,})")
    folder = os.path.dirname(os.path.abspath(path))
    out = []
    for shard in shards:
        if os.path.basename(shard) != shard:
            raise FormatError(f"{path}: shard name {shard!r} is not a plain file name")
        shard_path = os.path.join(folder, shard)
        if not os.path.exists(shard_path):
            raise InputError(f"{path}: shard {shard} is not there; rigcheck reads the headers of every shard")
        out += [t for t in read_header(shard_path)[1] if wm.get(t.name) == shard]
    return _unique(out, path)


# ---- matching a config inventory ------------------------------------------------------

_EXPERT = re.compile(r"\.experts\.(\d+)\.")


def attach(model: Model, stensors: list[STensor]) -> Model:
    """The config inventory with each tensor's checkpoint dtype (by hf_name)."""
    by_name = {t.name: t for t in stensors}
    used: set[str] = set()
    tensors = []
    for t in model.tensors:
        dtypes: Counter[str] = Counter()
        if t.hf_name and "{e}" in t.hf_name:
            for e in range(t.shape[0]):
                st = by_name.get(t.hf_name.format(e=e))
                if st:
                    dtypes[st.dtype] += 1
                    used.add(st.name)
        elif t.hf_name in by_name:
            dtypes[by_name[t.hf_name].dtype] += 1
            used.add(t.hf_name)
        dtype = dtypes.most_common(1)[0][0] if dtypes else None
        tensors.append(replace(t, dtype=dtype))
    unmatched = sorted(set(by_name) - used)
    missing = [t.name for t in tensors if t.dtype is None and t.hf_name]
    meta = dict(model.meta, unmatched=unmatched, missing=missing,
                checkpoint_bytes=sum(s.nbytes for s in stensors), checkpoint_tensors=len(stensors))
    return replace(model, tensors=tuple(tensors), source="safetensors", meta=meta)


# ---- no config: classify HF names -----------------------------------------------------

_ROLES = [(re.compile(p), r) for p, r in [
    (r"embed_tokens|\bembed\.|wte\b", Role.EMBED),
    (r"lm_head|\bhead\.weight", Role.OUTPUT),
    (r"norm|layernorm", Role.NORM),
    (r"\.experts\.\d+\.(gate_proj|w1)\.", Role.EXPERT_GATE),
    (r"\.experts\.\d+\.(up_proj|w3)\.", Role.EXPERT_UP),
    (r"\.experts\.\d+\.(down_proj|w2)\.", Role.EXPERT_DOWN),
    (r"shared_experts?\.(gate_proj|w1)\.", Role.SHARED_GATE),
    (r"shared_experts?\.(up_proj|w3)\.", Role.SHARED_UP),
    (r"shared_experts?\.(down_proj|w2)\.", Role.SHARED_DOWN),
    (r"mlp\.gate\.|router|shared_expert_gate", Role.ROUTER),
    (r"indexer", Role.INDEXER),
    (r"compressor", Role.COMPRESSOR),
    (r"(q_proj|q_a_proj|q_b_proj|wq_a|wq_b)\.", Role.ATTN_Q),
    (r"k_proj\.", Role.ATTN_K),
    (r"v_proj\.", Role.ATTN_V),
    (r"(kv_a_proj_with_mqa|kv_b_proj|wkv)\.", Role.ATTN_KV),
    (r"(o_proj|wo_a|wo_b)\.", Role.ATTN_OUTPUT),
    (r"mlp\.gate_proj\.", Role.FFN_GATE),
    (r"mlp\.up_proj\.", Role.FFN_UP),
    (r"mlp\.down_proj\.", Role.FFN_DOWN),
]]
_LAYER = re.compile(r"layers\.(\d+)\.")


def classify(name: str) -> tuple[Role, int | None]:
    m = _LAYER.search(name)
    layer = int(m.group(1)) if m else None
    for pat, role in _ROLES:
        if pat.search(name):
            return role, layer
    return Role.OTHER, layer


def generic_model(stensors: list[STensor], model_id: str) -> Model:
    if len(stensors) > limits.TENSORS:
        raise InputError(f"{model_id}: {len(stensors):,} checkpoint tensors and no config.json beside them; "
                         f"without one rigcheck reads at most {limits.TENSORS:,} tensors one by one: put the "
                         "model's config.json in the folder")
    tensors = []
    for st in stensors:
        role, layer = classify(st.name)
        tensors.append(Tensor(st.name, st.shape, role, layer, st.dtype, st.name))
    n_layer = 1 + max((t.layer for t in tensors if t.layer is not None), default=-1)
    embed = next((t for t in tensors if t.role == Role.EMBED and len(t.shape) == 2), None)
    return Model(id=model_id, family="unknown", arch="unknown", tensors=tuple(tensors), layers=(),
                 n_vocab=embed.shape[0] if embed else 0, n_embd=embed.shape[1] if embed else 0,
                 n_ctx_train=0, tied_embeddings=not any(t.role == Role.OUTPUT for t in tensors),
                 source="safetensors",
                 meta={"n_layer_seen": n_layer, "checkpoint_bytes": sum(s.nbytes for s in stensors),
                       "checkpoint_tensors": len(stensors)})


def load_safetensors(path: str | os.PathLike, model_id: str | None = None) -> Model:
    """A Model from a .safetensors file, an index, or a folder of them."""
    path = os.fspath(path)
    stensors = read_files(path)
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    model_id = model_id or os.path.basename(folder)
    config = os.path.join(folder, "config.json")
    if os.path.exists(config):
        from .hf_config import load_config
        return attach(load_config(config, model_id), stensors)
    return generic_model(stensors, model_id)
