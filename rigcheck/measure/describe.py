"""What a measured file is: its catalogue model id (when the GGUF names a catalogue model)
and its build (the llama.cpp file type), read from the GGUF header only."""

from __future__ import annotations

import os
import re


def gguf_identity(path: str) -> tuple[str | None, str | None, str | None]:
    """(model name as the file gives it, catalogue id or None, build name or None)."""
    from ..model.sources.gguf import read_header
    hdr = read_header(path)
    md = hdr.metadata
    name = md.get("general.name") or md.get("general.basename") or os.path.basename(path)
    build = None
    ft = md.get("general.file_type")
    if isinstance(ft, int):
        from ..quant.llamacpp import FTYPES
        build = next((f.name for f in FTYPES.values() if f.id == ft), None)
    return str(name), catalogue_id(str(name), os.path.basename(path), md.get("general.size_label")), build


def catalogue_id(*names) -> str | None:
    """The catalogue id a model name or file name points at, if any."""
    try:
        from ..model import catalog
    except ImportError:
        return None
    tried = []
    for n in names:
        if not n:
            continue
        base = re.sub(r"\.gguf$", "", str(n), flags=re.I)
        base = re.sub(r"[-_.](q\d.*|iq\d.*|f16|bf16|f32|mxfp4.*)$", "", base, flags=re.I)
        key = re.sub(r"[^a-z0-9.]+", "-", base.lower()).strip("-")
        tried.append(key)
    for key in tried:
        try:
            return catalog.card(key).id
        except Exception:  # noqa: BLE001 - not a catalogue name
            continue
    return None
