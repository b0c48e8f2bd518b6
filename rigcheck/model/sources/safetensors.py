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
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
from collections import Counter
from dataclasses import dataclass, replace

from ...errors import FormatError, InputError
from ..model import Model
from ..tensor import Role, Tensor

MAX_HEADER = 100 << 20          # 100 MiB: a 70k-tensor header is ~10 MiB
MAX_INDEX = 64 << 20
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
    try:
        if fileobj is None:
            size = os.path.getsize(path)
        f = fileobj or open(path, "rb")
    except OSError as e:
        raise InputError(f"{path}: cannot open: {e.strerror}") from None
    with f:
        head = f.read(8)
        if len(head) < 8:
            raise FormatError(f"{path}: not a safetensors file ({size} bytes, the header length alone takes 8)")
        n = struct.unpack("<Q", head)[0]
        if n > size - 8 or n > MAX_HEADER:
            raise FormatError(f"{path}: damaged safetensors: the header claims {n} bytes, but the file has "
                              f"{size} bytes (limit {MAX_HEADER})")
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise FormatError(f"{path}: damaged safetensors: the header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise FormatError(f"{path}: damaged safetensors: the header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    data_size = size - 8 - n
    tensors = []
    for name, info in header.items():
        try:
            dtype = str(info["dtype"])
            shape = tuple(int(d) for d in info["shape"])
            begin, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise FormatError(f"{path}: damaged safetensors: entry {name!r} lacks dtype, shape or data_offsets") from None
        if dtype not in DTYPE_BYTES:
            raise FormatError(f"{path}: tensor {name} has dtype {dtype}, unknown to rigcheck")
        if any(d < 0 for d in shape) or not 0 <= begin <= end <= data_size:
            raise FormatError(f"{path}: damaged safetensors: tensor {name} lies at {begin}..{end}, outside "
                              f"the {data_size} data bytes")
        expect = math.ceil(math.prod(shape) * DTYPE_BYTES[dtype])
        if end - begin != expect:
            raise FormatError(f"{path}: damaged safetensors: tensor {name} ({dtype}{list(shape)}) should take "
                              f"{expect} bytes, its offsets give {end - begin}")
        tensors.append(STensor(name, dtype, shape, end - begin, path))
    return meta, tensors


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
        return [t for f in files for t in read_header(os.path.join(path, f))[1]]
    if path.endswith(".json"):
        return _read_index(path)
    return read_header(path)[1]


def _read_index(path: str) -> list[STensor]:
    try:
        if os.path.getsize(path) > MAX_INDEX:
            raise FormatError(f"{path}: too large for a safetensors index")
        with open(path, "rb") as f:
            index = json.loads(f.read())
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise FormatError(f"{path}: not valid JSON ({e})") from None
    wm = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(wm, dict):
        raise FormatError(f"{path}: a safetensors index needs a 'weight_map' object")
    folder = os.path.dirname(os.path.abspath(path))
    out = []
    for shard in sorted(set(map(str, wm.values()))):
        if os.path.basename(shard) != shard:
            raise FormatError(f"{path}: shard name {shard!r} is not a plain file name")
        shard_path = os.path.join(folder, shard)
        if not os.path.exists(shard_path):
            raise InputError(f"{path}: shard {shard} is not there; rigcheck reads the headers of every shard")
        out += [t for t in read_header(shard_path)[1] if wm.get(t.name) == shard]
    return out


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
