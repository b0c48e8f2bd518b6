"""The user's own measurements: a local SQLite file.

Path: ``$RIGCHECK_HOME/measurements.db``, else ``~/.local/share/rigcheck/measurements.db``.
A bench **run** is inserted (its own transaction) before the first repeat, and every
repeat is a **sample** inserted in its own transaction as soon as it is measured, so an
interrupted bench keeps every repeat it finished. The schema grows through numbered
migrations recorded in ``migrations``.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path


def db_path() -> Path:
    from ..paths import user_dir
    return Path(user_dir()) / "measurements.db"


MIGRATIONS = [
    ("001_runs_samples", """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            created TEXT NOT NULL,
            kind TEXT NOT NULL,              -- file | server
            target TEXT NOT NULL,            -- the .gguf path or the server URL
            model TEXT,                      -- model name as the file / server gives it
            model_id TEXT,                   -- rigcheck catalogue id when known
            build TEXT,                      -- file type (Q4_K_M ...) when known
            runtime TEXT,
            runtime_version TEXT,
            rig TEXT,                        -- detected rig spec
            prefill_tokens INTEGER,
            decode_tokens INTEGER,
            repeats INTEGER,
            extra TEXT                       -- JSON: anything else worth keeping
        );
        CREATE TABLE samples (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            created TEXT NOT NULL,
            prefill_tok_s REAL,
            decode_tok_s REAL,
            ttft_s REAL,
            peak_rss_bytes INTEGER,
            tokens INTEGER
        );
        CREATE INDEX samples_run ON samples(run_id);
    """),
]


def connect(path: Path | None = None) -> sqlite3.Connection:
    path = path or db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30)
    conn.execute("PRAGMA foreign_keys = ON")
    with conn:
        conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
    done = {r[0] for r in conn.execute("SELECT name FROM migrations")}
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        with conn:  # one transaction per migration
            conn.executescript("BEGIN;" + sql + f"INSERT INTO migrations VALUES ('{name}', '{_now()}'); COMMIT;")
    return conn


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def start_run(conn: sqlite3.Connection, *, kind: str, target: str, model: str | None = None,
              model_id: str | None = None, build: str | None = None, runtime: str | None = None,
              runtime_version: str | None = None, rig: str | None = None, prefill_tokens: int | None = None,
              decode_tokens: int | None = None, repeats: int | None = None, extra: dict | None = None) -> int:
    with conn:
        cur = conn.execute(
            "INSERT INTO runs (created, kind, target, model, model_id, build, runtime, runtime_version, rig,"
            " prefill_tokens, decode_tokens, repeats, extra) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (_now(), kind, target, model, model_id, build, runtime, runtime_version, rig, prefill_tokens,
             decode_tokens, repeats, json.dumps(extra or {})))
        return int(cur.lastrowid)


def add_sample(conn: sqlite3.Connection, run_id: int, *, prefill_tok_s: float | None = None,
               decode_tok_s: float | None = None, ttft_s: float | None = None,
               peak_rss_bytes: int | None = None, tokens: int | None = None) -> None:
    with conn:  # its own transaction: committed before the next repeat starts
        conn.execute("INSERT INTO samples (run_id, created, prefill_tok_s, decode_tok_s, ttft_s, peak_rss_bytes, tokens)"
                     " VALUES (?,?,?,?,?,?,?)",
                     (run_id, _now(), prefill_tok_s, decode_tok_s, ttft_s, peak_rss_bytes, tokens))


@dataclass
class StoredRun:
    """A run with its samples summarised: median and min-max over the repeats stored."""

    id: int
    created: str
    kind: str
    target: str
    model: str | None
    model_id: str | None
    build: str | None
    runtime: str | None
    runtime_version: str | None
    rig: str | None
    prefill_tokens: int | None
    decode_tokens: int | None
    repeats_planned: int | None
    repeats: int
    decode_tok_s: dict | None      # {median, min, max}
    prefill_tok_s: dict | None
    ttft_s: dict | None
    peak_rss_bytes: int | None
    extra: dict = field(default_factory=dict)


def _spread(values: list[float]) -> dict | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def list_runs(conn: sqlite3.Connection | None = None) -> list[StoredRun]:
    own = conn is None
    if own:
        if not db_path().exists():
            return []
        conn = connect()
    try:
        runs = conn.execute("SELECT id, created, kind, target, model, model_id, build, runtime, runtime_version, rig,"
                            " prefill_tokens, decode_tokens, repeats, extra FROM runs ORDER BY id").fetchall()
        out = []
        for r in runs:
            s = conn.execute("SELECT prefill_tok_s, decode_tok_s, ttft_s, peak_rss_bytes FROM samples WHERE run_id=?"
                             " ORDER BY id", (r[0],)).fetchall()
            rss = [x[3] for x in s if x[3] is not None]
            out.append(StoredRun(
                id=r[0], created=r[1], kind=r[2], target=r[3], model=r[4], model_id=r[5], build=r[6], runtime=r[7],
                runtime_version=r[8], rig=r[9], prefill_tokens=r[10], decode_tokens=r[11], repeats_planned=r[12],
                repeats=len(s), decode_tok_s=_spread([x[1] for x in s]), prefill_tok_s=_spread([x[0] for x in s]),
                ttft_s=_spread([x[2] for x in s]), peak_rss_bytes=max(rss) if rss else None,
                extra=json.loads(r[13] or "{}")))
        return out
    finally:
        if own:
            conn.close()


def my_measurements(model_id: str | None = None, build: str | None = None) -> list[StoredRun]:
    """The user's stored runs (with at least one sample), optionally for one model / build."""
    out = []
    for run in list_runs():
        if not run.repeats:
            continue
        if model_id and (run.model_id or "").lower() != model_id.lower():
            continue
        if build and (run.build or "").lower() != build.lower():
            continue
        out.append(run)
    return out
