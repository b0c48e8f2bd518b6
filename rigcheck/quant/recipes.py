"""The one entry point for builds: ``build(model, name)`` and ``standard_builds(model)``.

Build names (case-insensitive):
  llama.cpp file types as llama-quantize spells them: Q4_K_M, Q8_0, IQ2_XS, MXFP4_MOE, BF16...
  native / native-mtp     the checkpoint as shipped (without / with the MTP layers)
  mlx-4bit, mlx-mixed_3_6, mlx-mxfp4...   MLX conversions
  ds4-q2, ds4-q4          antirez/ds4's DeepSeek V4 files
  IQ2_XS-XL               documented community mixes
  experts=IQ2_XS,default=Q8_0   a custom mix by role
  file (or no name)       a GGUF model: the file as it is
"""

from __future__ import annotations

import os
from functools import lru_cache

from ..errors import InputError, UnknownNameError
from ..model import Model, families
from ..notes import Note
from . import ds4, gguf_layout, llamacpp, mixes, mlx, native
from .build import Build, make_build
from .converter import source_types

STANDARD_GGUF = ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K"]


def build_names() -> list[str]:
    """Every named build, for help texts."""
    return (list(llamacpp.FTYPES) + ["native", "native-mtp"] + mlx.names() + list(ds4.RECIPES)
            + list(mixes.COMMUNITY) + ["file"])


def standard_builds(model: Model) -> list[str]:
    """The builds people actually download for this model, smallest last in each family."""
    moe = model.moe is not None and model.moe.n_expert > 1
    # a GGUF read from the Hub has no local file: its published builds are listed by the caller
    out = ["file"] if model.source == "gguf" and model.meta.get("path") else []
    out += STANDARD_GGUF
    if moe:
        out += ["IQ2_XS-XL", "MXFP4_MOE"]
    if model.source != "gguf":
        out += ["native", "mlx-4bit"]
    extra = families.hook(model, "extra_builds")       # builds made for one architecture (ds4's)
    if extra is not None:
        out += extra(model)
    return out


@lru_cache(maxsize=32)
def _header(path: str, mtime: float, size: int):
    from ..model.sources.gguf import read_header
    return read_header(path)


def gguf_header(model: Model):
    """The GGUF header a model was read from (cached), or None for other sources."""
    if model.source != "gguf" or not model.meta.get("path"):
        return None
    p = model.meta["path"]
    try:
        st = os.stat(p)
    except OSError as e:
        raise InputError(f"{p}: cannot read the GGUF the model came from: {e.strerror}") from None
    return _header(p, st.st_mtime, st.st_size)


_CACHE: dict = {}


def _per_model(model: Model, what: str, fn):
    """Per-model facts computed once (source types, tensor-info bytes): keyed by identity."""
    key = (id(model), what)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    if len(_CACHE) > 256:
        _CACHE.clear()
    val = fn()
    _CACHE[key] = (model, val)
    return val


def _src(model: Model) -> list[str]:
    return _per_model(model, "src", lambda: source_types(model))


def _include(model: Model, include_mtp: bool) -> list[bool]:
    if model.source == "gguf":
        return [True] * len(model.tensors)       # the file holds what it holds
    return [include_mtp or not t.mtp for t in model.tensors]


def build(model: Model, name: str | None = None, *, include_mtp: bool = False,
          imatrix: bool | None = None) -> Build:
    """The Build ``name`` of ``model``; see the module docstring for names. ``include_mtp``
    keeps MTP/NextN tensors (standard builds leave them out); ``imatrix`` says whether a
    llama.cpp build uses an importance matrix (default: only where llama-quantize needs one)."""
    key = (name or "").strip()
    low = key.lower()
    if low in ("", "file", "as-is"):
        if model.source != "gguf":
            raise InputError(f"{model.id} is not a GGUF file, so it has no 'as is' build: name one, e.g. "
                             f"--build Q4_K_M (builds: {', '.join(standard_builds(model))})")
        return _file_build(model)
    include = _include(model, include_mtp or low == "native-mtp")
    if low in ("native", "native-mtp"):
        return _native_build(model, key, include)
    if low.startswith("mlx-"):
        return _mlx_build(model, key, include)
    if low in ds4.RECIPES:
        own = families.hook(model, "extra_builds")
        if low not in [x.lower() for x in (own(model) if own else [])]:
            from ..model.families.archs import arch, with_dedicated_runtime
            made_for = ", ".join(arch(a).label or a for a in with_dedicated_runtime("ds4"))
            raise InputError(f"{key} is the ds4 runtime's build for {made_for}; {model.id} is a {model.arch} model")
        return _mix_build(model, low, ds4.mix(low), include, "ds4")
    community = {k.lower(): k for k in mixes.COMMUNITY}
    if low in community:
        cname = community[low]
        text, where = mixes.COMMUNITY[cname]
        b = _mix_build(model, cname, mixes.parse(text), include, "mix")
        return _with_notes(b, [Note("community_mix", name=cname, source=where)])
    if "=" in key:
        return _mix_build(model, key, mixes.parse(key), include, "mix")
    pub = _publisher_spec(model, low)
    if pub is not None:
        return _publisher_build(model, *pub, include)
    try:
        ft = llamacpp.ftype(key)
    except UnknownNameError:
        raise UnknownNameError("build", key, build_names(),
                               hint="builds: " + ", ".join(build_names()) + "; or a mix such as "
                                    "experts=IQ2_XS,default=Q8_0") from None
    return _llamacpp_build(model, ft, include, imatrix)


# ---- GGUF builds -------------------------------------------------------------------

def _gguf_header_bytes(model: Model, types: list[str | None]) -> tuple[int, bool, int]:
    """(padded header bytes, estimated?, key/value bytes) for a GGUF holding ``types``."""
    hdr = gguf_header(model)
    infos = _per_model(model, "infos", lambda: [gguf_layout.tensor_info_bytes(t.name, t.ne) for t in model.tensors])
    info_bytes = sum(n for n, ty in zip(infos, types) if ty is not None)
    if hdr is not None:
        kv = gguf_layout.requantized_kv_bytes(hdr.kv_bytes)
        h = gguf_layout.header_for(model, [], kv_bytes=kv, align=hdr.alignment, info_bytes=info_bytes)
    else:
        h = gguf_layout.header_for(model, [], info_bytes=info_bytes)
    return h.padded, h.estimated, h.kv_bytes


def _finish_gguf(model: Model, name: str, types: list[str | None], recipe: str, notes: list[str]) -> Build:
    header, estimated, kv = _gguf_header_bytes(model, types)
    if estimated:
        notes = notes + [Note("gguf_metadata_estimated", vocab=model.n_vocab, kv_bytes=kv)]
    b = make_build(model, types, name=name, header_bytes=header, header_estimated=estimated,
                   container="gguf", recipe=recipe, notes=notes)
    shard = gguf_layout.shard_note(b.file_bytes, kv)
    return _with_notes(b, [shard]) if shard else b


def _llamacpp_build(model: Model, ft: llamacpp.FType, include: list[bool], imatrix: bool | None) -> Build:
    hdr = gguf_header(model)
    hp = llamacpp.hparams_of(model, include_mtp=any(t.mtp for t, inc in zip(model.tensors, include) if inc),
                             metadata=hdr.metadata if hdr is not None else None)
    src = _src(model)
    p = llamacpp.plan(model, ft, src, include, hp, imatrix)
    notes = []
    if p.fallbacks:
        notes.append(Note("type_fallback", count=len(p.fallbacks),
                          tensors=[{"tensor": n, "from": a, "to": b} for n, a, b in p.fallbacks[:6]]))
    used_im = ft.imatrix if imatrix is None else imatrix
    if p.requires_imatrix:
        notes.append(Note("imatrix_required", ftype=ft.name))
    elif used_im:
        notes.append(Note("imatrix_used"))
    return _finish_gguf(model, ft.name, p.types, "llama.cpp", notes)


def _publisher_spec(model: Model, low: str):
    """(name, spec) of a build an architecture's publishers ship differently from stock
    llama-quantize (the family's ``publisher_builds`` hook), or None."""
    own = families.hook(model, "publisher_builds")
    if own is None:
        return None
    for name, spec in own(model).items():
        if name.lower() == low:
            return name, spec
    return None


def _publisher_build(model: Model, name: str, spec: dict, include: list[bool]) -> Build:
    """llama-quantize's plan for the spec's file type, then the tensors the publishers keep
    as they are (``spec['keep'](tensor)`` gives their type) set back."""
    stock = _llamacpp_build(model, llamacpp.ftype(spec["ftype"]), include, None)
    keep = spec["keep"]
    types = [None if ty is None else (keep(t) or ty) for t, ty in zip(model.tensors, stock.types)]
    notes = [spec["note"]] if spec.get("note") else []
    notes.append(Note("stock_size", ftype=spec["ftype"], file_bytes=stock.file_bytes))
    return _finish_gguf(model, name, types, "llama.cpp", notes)


def _mix_build(model: Model, name: str, mix: mixes.Mix, include: list[bool], recipe: str) -> Build:
    types, notes = mixes.apply(model, mix, _src(model), include)
    return _finish_gguf(model, name, types, recipe, notes)


def _file_build(model: Model) -> Build:
    hdr = gguf_header(model)
    if hdr is None:
        raise InputError(f"{model.id} has no local GGUF file to take as is; name a build (see 'rigcheck builds')")
    from ..model.sources.gguf import header_bytes
    types = [t.dtype for t in model.tensors]
    notes = []
    split = hdr.metadata.get("split.count", 1)
    if isinstance(split, int) and split > 1:
        notes.append(Note("gguf_shard_of", shard=hdr.metadata.get("split.no", 0) + 1, count=split))
    return make_build(model, types, name=os.path.basename(hdr.path), header_bytes=header_bytes(hdr),
                      header_estimated=False, container="gguf", recipe="file", notes=notes,
                      align=hdr.alignment)


def _with_notes(b: Build, extra: list) -> Build:
    from dataclasses import replace
    return replace(b, notes=b.notes + tuple(extra))


# ---- safetensors builds ------------------------------------------------------------

def _native_build(model: Model, name: str, include: list[bool]) -> Build:
    if model.source == "gguf":
        raise InputError(f"{model.id} came from a GGUF file; its original checkpoint format is unknown "
                         "(name a llama.cpp type, or use the HF config.json)")
    nat, what = native.native_types(model)
    types = [ty if inc else None for ty, inc in zip(nat, include)]
    n_files = sum(2 * t.ne[2] if (ty or "").startswith("FP4") and len(t.shape) == 3
                  else 2 if (ty or "").startswith("FP8_E4M3_T") else 1
                  for t, ty in zip(model.tensors, types) if ty is not None)
    b0 = make_build(model, types, name=name, header_bytes=0, container="safetensors", recipe="native")
    header = native.header_estimate(n_files, b0.weights_bytes)
    notes = [Note("native_checkpoint", what=what, tensors=n_files)]
    mtp = [t for t, inc in zip(model.tensors, include) if t.mtp]
    if not mtp and any(t.mtp for t in model.tensors):
        full = make_build(model, [ty for ty in nat], name=name, header_bytes=0, container="safetensors")
        notes.append(Note("native_mtp_extra", extra_bytes=full.weights_bytes - b0.weights_bytes))
    return make_build(model, types, name=name, header_bytes=header, header_estimated=True,
                      container="safetensors", recipe="native", notes=notes)


def _mlx_build(model: Model, name: str, include: list[bool]) -> Build:
    if model.source == "gguf":
        src = [t.dtype or "F32" for t in model.tensors]
    else:
        nat, _ = native.native_types(model)
        # mlx-lm dequantizes FP8/FP4 checkpoints to bf16 before quantizing
        src = ["BF16" if ("FP8" in ty or "FP4" in ty) else ty for ty in nat]
    types, notes = mlx.plan(model, name, src, include)
    n = sum(1 for ty in types if ty is not None)
    b0 = make_build(model, types, name=name.lower(), header_bytes=0, container="mlx", recipe="mlx")
    # each quantized tensor is three arrays (weight, scales, biases)
    n_arrays = n + 2 * sum(1 for ty in types if ty and ty.startswith("MLX_"))
    header = native.header_estimate(n_arrays, b0.weights_bytes)
    return make_build(model, types, name=name.lower(), header_bytes=header, header_estimated=True,
                      container="mlx", recipe="mlx", notes=notes + ["safetensors headers estimated"])
