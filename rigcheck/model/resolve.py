"""Turn a model reference (catalogue id or alias, config.json, model folder, .gguf,
.safetensors or its index) into a Model.

Every Model a reference gives passes ``check_model`` (duplicate tensor names, head
counts and windows against each other) and has an id that prints as one short line;
a reference longer than a path can be is refused before anything is looked up."""

from __future__ import annotations

import os

from .. import limits
from ..errors import FormatError, InputError
from .model import AttnKind, Model


def _checked(load):
    """``load_model`` with the reference's length checked first and ``check_model`` after."""
    def load_model(ref: str) -> Model:
        text = str(ref)
        if len(text) > limits.MODEL_REF_CHARS:
            from ..text import shown
            raise InputError(f"model reference '{shown(text)}' is {len(text):,} characters long; a catalogue id "
                             f"or a path has at most {limits.MODEL_REF_CHARS:,} (see 'rigcheck models')")
        return check_model(load(text))
    load_model.__doc__ = load.__doc__
    return load_model


@_checked
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
    # sniff: a GGUF without the extension (a regular file only: never a FIFO or a device)
    f, _ = limits.open_regular(path, "model file")
    with f:
        if f.read(4) == b"GGUF":
            from .sources.gguf_model import load_gguf
            return load_gguf(path)
    raise InputError(f"{path}: not a model file rigcheck can read (expected .gguf, .safetensors, "
                     "config.json or a model folder)")


def check_model(model: Model) -> Model:
    """A Model's facts against each other, whatever its source: each tensor name once
    (a name in two shards would be counted twice), KV heads that divide the query heads,
    a sliding window within the trained context. FormatError naming the value otherwise;
    the model id comes back escaped and cut to one short line (rigcheck.text)."""
    from dataclasses import replace
    from ..text import shown
    seen: set[str] = set()
    for t in model.tensors:
        if t.name in seen:
            raise FormatError(f"{shown(model.id)}: tensor '{t.name}' appears twice (two files or shards hold it); "
                              "each tensor is counted once, so the checkpoint is damaged or mixed")
        seen.add(t.name)
    for il, lay in enumerate(model.layers):
        if lay.kind not in (AttnKind.FULL, AttnKind.SWA):
            continue
        if lay.n_head_kv < 0 or lay.n_head < 0 or (lay.n_head_kv and (lay.n_head_kv > lay.n_head
                                                                     or lay.n_head % lay.n_head_kv)):
            raise FormatError(f"{shown(model.id)}: layer {il} has {lay.n_head} attention heads and {lay.n_head_kv} "
                              "KV heads: the query heads must be a whole multiple of the KV heads")
        if lay.kind == AttnKind.SWA and lay.window <= 0:
            raise FormatError(f"{shown(model.id)}: layer {il} attends through a sliding window of {lay.window} "
                              "tokens; a sliding-window layer needs a window of at least one token")
        if lay.kind == AttnKind.SWA and model.n_ctx_train and lay.window > model.n_ctx_train:
            raise FormatError(f"{shown(model.id)}: layer {il} has a sliding window of {lay.window:,} tokens, more "
                              f"than the trained context of {model.n_ctx_train:,}")
    safe = shown(model.id)
    return model if safe == model.id else replace(model, id=safe)
