"""A Model from a Hugging Face config.json (a file, or the folder holding one)."""

from __future__ import annotations

import os

from ... import limits
from ...errors import FormatError
from ..model import Model

MAX_CONFIG_BYTES = limits.CONFIG_BYTES     # real configs are a few kB; V4's is under 4 kB


def read_config(path: str | os.PathLike) -> dict:
    """The parsed config.json; FormatError when it is not a JSON object. Only a regular
    file is read, at most rigcheck.limits.CONFIG_BYTES, nested at most JSON_DEPTH deep."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "config.json")
    data = limits.parse_json(limits.read_capped(path, MAX_CONFIG_BYTES, "config.json"), path, "config.json")
    if not isinstance(data, dict):
        raise FormatError(f"{path}: config.json must hold a JSON object")
    return data


def model_id_for(path: str) -> str:
    """'.../Qwen3-8B/config.json' -> 'Qwen3-8B'."""
    path = os.path.abspath(path)
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    return os.path.basename(folder) or os.path.basename(path)


def load_config(path: str | os.PathLike, model_id: str | None = None) -> Model:
    from ..families import build_model
    path = os.fspath(path)
    model = build_model(read_config(path), model_id or model_id_for(path))
    meta = dict(model.meta, path=path)
    return _with(model, source="config", meta=meta)


def _with(model: Model, **changes) -> Model:
    from dataclasses import replace
    return replace(model, **changes)
