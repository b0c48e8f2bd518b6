"""JSON rendering of report objects.

Every ``notes`` list becomes a list of {code, values, text} (report/notes.py), whether the
library wrote a structured Note or, for the few sources that still do, plain text."""

from __future__ import annotations

import dataclasses
import enum
import json
import math

from ..notes import Note
from .notes import as_json


def _field(name: str, value):
    if name == "notes" and isinstance(value, (list, tuple)):
        return [as_json(n) for n in value]
    return to_plain(value)


def to_plain(obj):
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _field(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.metadata.get("json", True)}
    if isinstance(obj, Note):
        return as_json(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): _field(str(k), v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, float) and (math.isinf(obj) or math.isnan(obj)):
        return None
    return obj


def dumps(obj) -> str:
    return json.dumps(to_plain(obj), indent=2, sort_keys=False)
