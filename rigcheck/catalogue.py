"""The one loader for rigcheck's bundled data (rigcheck/data/): the only code that reads
those files. Each file has a schema here: its required columns (or keys), and which
columns carry every row's source and date; a file that breaks its schema is a packaging
error, raised as FormatError with the file, line and what is wrong. The arithmetic takes
the rows it needs as arguments; the modules that own a concept (hardware.catalog,
plan.evidence, runtimes, ...) turn rows into their types.

    devices(), ram_prices(), measurements(), runtime_support()
                                 -> tuple of dicts, '#' comment lines skipped, checked
    speed_calibration()          -> the fitted speed constants (None when absent)
    rows("devices.csv")          -> the same by file name
    document("speed_calibration.json") -> the parsed JSON (None when the file is absent)
    card_ids() / card("qwen3-8b")      -> the model cards (data/models/<id>.json), checked
"""

from __future__ import annotations

import csv
import datetime as _dt
import functools
import json
from dataclasses import dataclass
from importlib import resources

from .errors import FormatError


@dataclass(frozen=True)
class Schema:
    required: tuple[str, ...]       # columns every row has (may be empty unless listed below)
    source: str = "source"          # the column that cites where the row comes from
    date: str = "checked"           # the column that dates it (YYYY, YYYY-MM or YYYY-MM-DD...)
    filled: tuple[str, ...] = ()    # columns that may never be empty (source and date always)


SCHEMAS: dict[str, Schema] = {
    "devices.csv": Schema(("id", "name", "kind", "vendor", "memory_gib", "bandwidth_gb_s", "price_usd", "price_date",
                           "verified"), filled=("id", "name", "kind")),
    "device_cache.csv": Schema(("id", "llc_mib", "kind", "verified", "notes"), filled=("id", "llc_mib", "kind")),
    "ram_prices.csv": Schema(("item", "capacity_gib", "memory_type", "price_low", "price_high", "price_date"),
                             filled=("item", "capacity_gib", "price_low", "price_high", "price_date")),
    "measurements.csv": Schema(("model", "build", "runtime", "rig", "offload", "context", "decode_tok_s",
                                "prefill_tok_s", "prefill_tokens", "notes", "params_b", "active_b", "weights_gb",
                                "fit"), date="date", filled=("model", "runtime", "rig")),
    "runtime_support.csv": Schema(("runtime", "arch", "status", "since", "version", "fork_repo", "fork_branch",
                                   "formats", "note"), filled=("runtime", "arch", "status")),
    "speculative.csv": Schema(("model", "runtime", "method", "num_steps", "topk", "draft_tokens", "acceptance_length",
                               "default", "flags", "note"),
                              filled=("model", "runtime", "method", "num_steps", "draft_tokens", "acceptance_length")),
}
CARD_FIELDS = ("id", "name", "hf_repo", "family", "license", "released", "source", "checked", "config")


def _path(name: str):
    return resources.files("rigcheck") / "data" / name


def check_rows(name: str, rows: list[dict], schema: Schema, first_line: int = 2) -> None:
    """Raise FormatError for a row that lacks a column, a filled value, a source or a date."""
    need = set(schema.required) | {schema.source, schema.date}
    for i, row in enumerate(rows, start=first_line):
        missing = [c for c in need if c not in row]
        if missing:
            raise FormatError(f"{name} line {i}: no column {', '.join(sorted(missing))}")
        for c in (schema.source, schema.date, *schema.filled):
            if not str(row.get(c) or "").strip():
                raise FormatError(f"{name} line {i}: '{c}' is empty (every row needs its source and date)")


@functools.lru_cache(maxsize=None)
def rows(name: str) -> tuple[dict, ...]:
    """The rows of a bundled CSV (comment lines skipped), checked against its schema."""
    schema = SCHEMAS[name]
    with _path(name).open(encoding="utf-8", newline="") as f:
        lines = [ln for ln in f if not ln.startswith("#")]
    out = list(csv.DictReader(lines))
    check_rows(name, out, schema)
    return tuple(out)


@functools.lru_cache(maxsize=None)
def document(name: str):
    """A bundled JSON document, or None when the file is absent."""
    try:
        with _path(name).open(encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


# the bundled files by what they hold: callers never name a file
def devices() -> tuple[dict, ...]:
    return rows("devices.csv")


def device_caches() -> tuple[dict, ...]:
    return rows("device_cache.csv")


def ram_prices() -> tuple[dict, ...]:
    return rows("ram_prices.csv")


def measurements() -> tuple[dict, ...]:
    return rows("measurements.csv")


def runtime_support() -> tuple[dict, ...]:
    return rows("runtime_support.csv")


def speculative() -> tuple[dict, ...]:
    """Speculative decoding (EAGLE / MTP) settings and acceptance lengths, by model and runtime."""
    return rows("speculative.csv")


def speed_calibration() -> dict | None:
    return document("speed_calibration.json")


def card_ids() -> list[str]:
    return sorted(p.name[:-5] for p in _path("models").iterdir() if p.name.endswith(".json"))


@functools.lru_cache(maxsize=None)
def card(card_id: str) -> dict:
    """A model card's JSON, checked: every required field, its id, a source and a date."""
    p = _path("models") / f"{card_id}.json"
    with p.open(encoding="utf-8") as f:
        d = json.load(f)
    missing = [k for k in CARD_FIELDS if k not in d]
    if missing or d.get("id") != card_id:
        raise FormatError(f"model card {card_id}.json: missing {missing or 'a matching id'}")
    if not str(d.get("source") or "").strip() or not str(d.get("checked") or "").strip():
        raise FormatError(f"model card {card_id}.json: needs its config source and checked date")
    try:
        _dt.date.fromisoformat(str(d["checked"]))
    except ValueError:
        raise FormatError(f"model card {card_id}.json: checked '{d['checked']}' is not a date") from None
    return d
