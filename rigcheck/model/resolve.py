"""Turn a model reference (catalogue id or alias, config.json, model folder, .gguf,
.safetensors or its index) into a Model."""

from __future__ import annotations

import os

from ..errors import InputError
from .model import Model


def load_model(ref: str) -> Model:
    """The one way to get a Model from what a user typed."""
    ref = str(ref).strip()
    if not ref:
        raise InputError("no model given: name a catalogue id (see 'rigcheck models') or a file")
    if os.path.exists(ref):
        return _load_path(ref)
    from .sources import hub                        # org/name[@rev][:file-or-tag]: the Hub
    hub_ref = hub.parse_ref(ref)
    if hub_ref and not hub_ref.repo.lower().endswith((".gguf", ".safetensors", ".json")):
        from .sources.hub_models import load
        return load(hub_ref)
    from . import catalog
    card = catalog.card(ref)        # raises UnknownNameError with the closest ids
    return catalog.model_of(card)


def _load_path(path: str) -> Model:
    low = path.lower()
    if os.path.isdir(path):
        ggufs = sorted(f for f in os.listdir(path) if f.lower().endswith(".gguf"))
        has_st = any(f.endswith(".safetensors") for f in os.listdir(path))
        if has_st:
            from .sources.safetensors import load_safetensors
            return load_safetensors(path)
        if os.path.exists(os.path.join(path, "config.json")):
            from .sources.hf_config import load_config
            return load_config(os.path.join(path, "config.json"))
        if ggufs:
            return _load_path(os.path.join(path, ggufs[0]))
        raise InputError(f"{path}: a folder with neither config.json nor a .gguf file")
    if low.endswith(".gguf"):
        from .sources.gguf_model import load_gguf
        return load_gguf(path)
    if low.endswith(".safetensors") or low.endswith(".safetensors.index.json"):
        from .sources.safetensors import load_safetensors
        return load_safetensors(path)
    if low.endswith(".json"):
        from .sources.hf_config import load_config
        return load_config(path)
    # sniff: a GGUF without the extension
    with open(path, "rb") as f:
        if f.read(4) == b"GGUF":
            from .sources.gguf_model import load_gguf
            return load_gguf(path)
    raise InputError(f"{path}: not a model file rigcheck can read (expected .gguf, .safetensors, "
                     "config.json or a model folder)")
