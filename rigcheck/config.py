"""The user's configuration: files in RIGCHECK_HOME that change rigcheck's judgement.

Today one: ``thresholds.toml`` (or ``thresholds.json``), the verdict thresholds
(plan/verdict.py documents each name). Read here so the verdict arithmetic takes plain data.
"""

from __future__ import annotations

import json
import os

from .errors import InputError
from .paths import user_dir
from .plan.verdict import DEFAULT, Thresholds, thresholds_from_mapping

MAX_BYTES = 1 << 20          # a thresholds file is a few lines; refuse anything larger than 1 MiB


def load_thresholds(home: str | None = None, **overrides) -> Thresholds:
    """Defaults, then ``thresholds.toml`` / ``thresholds.json`` in RIGCHECK_HOME, then overrides."""
    home = home or user_dir()
    th = DEFAULT
    for fname in ("thresholds.toml", "thresholds.json"):
        path = os.path.join(home, fname)
        if not os.path.isfile(path):
            continue
        try:
            if os.path.getsize(path) > MAX_BYTES:
                raise InputError(f"{path}: {os.path.getsize(path):,} bytes is too large for a thresholds file "
                                 f"(at most {MAX_BYTES:,}); move it aside")
            with open(path, "rb") as fh:
                raw = fh.read(MAX_BYTES + 1)
            if fname.endswith(".toml"):
                import tomllib
                data = tomllib.loads(raw.decode("utf-8"))
            else:
                data = json.loads(raw.decode("utf-8"))
        except (ValueError, OSError, RecursionError) as e:   # TOML/JSON decode errors and UnicodeError are ValueErrors
            raise InputError(f"{path}: cannot read thresholds ({e})") from None
        th = thresholds_from_mapping(data, th)
        break
    return th.replace(**{k: v for k, v in overrides.items() if v is not None})
