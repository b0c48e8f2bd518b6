"""The user's own measurements: a local SQLite file.

Path: ``$RIGCHECK_HOME/measurements.db``, else ``~/.local/share/rigcheck/measurements.db``.
A bench **run** is inserted (its own transaction) with its first repeat, and every repeat
is a **sample** inserted in its own transaction as soon as it is measured, so an
interrupted bench keeps every repeat it finished.

Robustness (issue 14):

- WAL journal, so readers (``check``, ``estimate``, ``bench --list``) are not blocked by a
  bench that is writing; every connection waits at most ``BUSY_TIMEOUT_S`` for a lock.
- The schema version is ``PRAGMA user_version``. A writer migrates an older file (the
  numbered ``MIGRATIONS``, recorded in ``migrations`` too) and refuses a newer one; a reader
  reads an older file as it is and refuses a newer one.
- Anything that keeps the store from being read or written (damaged, truncated, not a
  database, newer schema, locked, unreadable, read-only for a writer, not a regular file)
  raises ``StoreUnavailable`` with one line saying what is wrong and what to try; readers
  raise nothing else (no sqlite3 error, no OSError).
- Values read back are checked: a number that is not finite, negative or beyond
  ``MAX_DECODE_TOK_S`` / ``MAX_PREFILL_TOK_S`` is dropped, not averaged; a reader reads at
  most the newest ``MAX_RUNS`` runs and ``MAX_SAMPLES`` samples.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import sqlite3
import stat
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import InputError, RigcheckError

BUSY_TIMEOUT_S = 1.5       # the longest any connection waits for another's lock
MAX_RUNS = 10_000          # a reader reads at most the newest runs ...
MAX_SAMPLES = 200_000      # ... and samples
# Physical limits of one sample. No single stream decodes faster than MAX_DECODE_TOK_S: the
# fastest published single-stream figures (wafer-scale inference) are about 3,000 tok/s, and
# llama.cpp's own per-token overhead keeps even a micro model near 10^4. Prefill is batched
# and runs far faster, but not beyond MAX_PREFILL_TOK_S.
MAX_DECODE_TOK_S = 20_000.0
MAX_PREFILL_TOK_S = 1e7
MAX_TTFT_S = 86_400.0
MAX_TOKENS = 10_000_000
MAX_RSS_BYTES = 2 ** 50


class StoreUnavailable(RigcheckError):
    """The measurements store cannot be read or written; the message says why and what to try."""


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
SCHEMA_VERSION = len(MIGRATIONS)   # PRAGMA user_version of a file this rigcheck wrote


# --- what went wrong, in one line ------------------------------------------------------------

def _other_home() -> str:
    return "or set RIGCHECK_HOME to another directory"


def _damaged(path: Path, why: str) -> StoreUnavailable:
    return StoreUnavailable(
        f"{path}: the measurements store is damaged or not a rigcheck store ({why}); move it aside "
        f"(mv {shlex.quote(str(path))} {shlex.quote(str(path) + '.damaged')}) and a new one is made at the next "
        f"bench, {_other_home()}")


def _newer(path: Path, version: int) -> StoreUnavailable:
    return StoreUnavailable(
        f"{path}: the measurements store has schema version {version}, newer than this rigcheck knows "
        f"({SCHEMA_VERSION}); upgrade rigcheck, {_other_home()}")


def _locked(path: Path) -> StoreUnavailable:
    return StoreUnavailable(
        f"{path}: the measurements store is locked by another process (waited {BUSY_TIMEOUT_S:g} s); "
        "let the other rigcheck bench finish and try again")


def _read_only(path: Path, why: str) -> StoreUnavailable:
    return StoreUnavailable(
        f"{path}: cannot write the measurements store ({why}); make it and its directory writable, "
        f"{_other_home()}")


def _cannot_open(path: Path, why: str) -> StoreUnavailable:
    return StoreUnavailable(
        f"{path}: cannot open the measurements store ({why}); check it and its directory can be read, "
        f"{_other_home()}")


def _from_sqlite(path: Path, e: sqlite3.Error, writing: bool) -> StoreUnavailable:
    name = getattr(e, "sqlite_errorname", "") or ""
    msg = str(e)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in msg:
        return _locked(path)
    if name.startswith("SQLITE_READONLY") or "readonly" in msg:
        return _read_only(path, "the file or its directory is read-only") if writing else \
            _cannot_open(path, "read-only and its journal cannot be read")
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")) or "unable to open" in msg:
        return (_read_only if writing else _cannot_open)(path, "unable to open the file")
    if name.startswith("SQLITE_FULL") or "disk is full" in msg:
        return StoreUnavailable(f"{path}: the disk holding the measurements store is full; free some space, "
                                f"{_other_home()}")
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in msg:
        return (_read_only if writing else _cannot_open)(path, "disk I/O error")
    return _damaged(path, msg[:120])


def _from_os(path: Path, e: OSError, writing: bool) -> StoreUnavailable:
    why = e.strerror or type(e).__name__
    return (_read_only if writing else _cannot_open)(path, why)


def _regular_or_absent(path: Path) -> bool:
    """True if the file exists (a regular file, or a link to one); False if it does not."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as e:
        raise _cannot_open(path, e.strerror or type(e).__name__) from e
    if not stat.S_ISREG(st.st_mode):
        raise StoreUnavailable(f"{path}: the measurements store is not a regular file; move it aside, "
                               f"{_other_home()}")
    return True


# --- writing ---------------------------------------------------------------------------------

def connect(path: Path | None = None) -> sqlite3.Connection:
    """A connection for writing: WAL, migrated to SCHEMA_VERSION, checked writable and sound.

    Raises StoreUnavailable (never a sqlite3 error or OSError) when that cannot be had.
    """
    path = Path(path) if path else db_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _read_only(path, f"cannot create its directory: {e.strerror or type(e).__name__}") from e
    _regular_or_absent(path)
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as e:
        raise _from_sqlite(path, e, writing=True) from e
    conn.text_factory = _text_factory
    try:
        version = _user_version(conn)
        if version > SCHEMA_VERSION:
            raise _newer(path, version)
        if conn.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
            raise _damaged(path, "quick_check found damage")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, version)
    except StoreUnavailable:
        conn.close()
        raise
    except sqlite3.Error as e:
        conn.close()
        raise _from_sqlite(path, e, writing=True) from e
    except OSError as e:
        conn.close()
        raise _from_os(path, e, writing=True) from e
    return conn


def _user_version(conn: sqlite3.Connection) -> int:
    v = conn.execute("PRAGMA user_version").fetchone()[0]
    return v if isinstance(v, int) else 0


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring the file to SCHEMA_VERSION, one transaction per migration; then stamp the version
    (the stamp is also the check that the file can be written, before anything is measured)."""
    conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
    conn.commit()
    done = {r[0] for r in conn.execute("SELECT name FROM migrations")}
    for i, (name, sql) in enumerate(MIGRATIONS, start=1):
        if name in done:        # a file from before user_version: its migrations table says what it has
            continue
        conn.executescript(f"BEGIN IMMEDIATE; {sql}; INSERT INTO migrations VALUES ('{name}', '{_now()}');"
                           f" PRAGMA user_version = {i}; COMMIT;")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(conn: sqlite3.Connection, sql: str, args: tuple) -> int:
    try:
        with conn:
            return int(conn.execute(sql, args).lastrowid)
    except sqlite3.Error as e:
        path = Path(_main_file(conn) or db_path())
        raise _from_sqlite(path, e, writing=True) from e


def _main_file(conn: sqlite3.Connection) -> str | None:
    try:
        return next((r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"), None)
    except sqlite3.Error:
        return None


def start_run(conn: sqlite3.Connection, *, kind: str, target: str, model: str | None = None,
              model_id: str | None = None, build: str | None = None, runtime: str | None = None,
              runtime_version: str | None = None, rig: str | None = None, prefill_tokens: int | None = None,
              decode_tokens: int | None = None, repeats: int | None = None, extra: dict | None = None) -> int:
    return _write(conn,
                  "INSERT INTO runs (created, kind, target, model, model_id, build, runtime, runtime_version, rig,"
                  " prefill_tokens, decode_tokens, repeats, extra) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                  (_now(), kind, target, model, model_id, build, runtime, runtime_version, rig, prefill_tokens,
                   decode_tokens, repeats, json.dumps(extra or {})))


def add_sample(conn: sqlite3.Connection, run_id: int, *, prefill_tok_s: float | None = None,
               decode_tok_s: float | None = None, ttft_s: float | None = None,
               peak_rss_bytes: int | None = None, tokens: int | None = None) -> None:
    """Store one repeat (its own transaction: committed before the next repeat starts).

    A value outside the physical limits is refused (InputError), never stored."""
    for name, v, top in (("prefill_tok_s", prefill_tok_s, MAX_PREFILL_TOK_S),
                         ("decode_tok_s", decode_tok_s, MAX_DECODE_TOK_S), ("ttft_s", ttft_s, MAX_TTFT_S),
                         ("peak_rss_bytes", peak_rss_bytes, MAX_RSS_BYTES), ("tokens", tokens, MAX_TOKENS)):
        if v is not None and _number(v, top) is None:
            raise InputError(f"not stored: {name} = {v!r} is not a number between 0 and {top:g}")
    if decode_tok_s is None and prefill_tok_s is None:
        raise InputError("not stored: a sample needs a decode or a prefill speed")
    _write(conn, "INSERT INTO samples (run_id, created, prefill_tok_s, decode_tok_s, ttft_s, peak_rss_bytes, tokens)"
                 " VALUES (?,?,?,?,?,?,?)",
           (run_id, _now(), prefill_tok_s, decode_tok_s, ttft_s, peak_rss_bytes, tokens))


# --- reading ---------------------------------------------------------------------------------

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


def _number(v, top: float) -> float | int | None:
    """``v`` if it is a finite number in [0, top], else None (a damaged or implausible value)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v if 0 <= v <= top else None


def _count(v) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_TOKENS else None


def _text(v, n: int = 1000) -> str | None:
    return v[:n] if isinstance(v, str) else None


def _extra(v) -> dict:
    if not isinstance(v, str) or len(v) > 100_000:
        return {}
    try:
        d = json.loads(v)
    except (ValueError, RecursionError):
        return {}
    return d if isinstance(d, dict) else {}


def _spread(values: list) -> dict | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _text_factory(b: bytes) -> str:
    return b.decode("utf-8", "replace")     # damaged text is read as text, not raised


def _open_for_reading(path: Path) -> sqlite3.Connection | None:
    """A read-only connection, or None when there is no store yet. Never creates or migrates."""
    if not _regular_or_absent(path):
        return None
    uri = Path(os.path.abspath(path)).as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
        conn.text_factory = _text_factory
        try:
            _user_version(conn)
            return conn
        except sqlite3.Error:
            conn.close()
            # a WAL file in a directory this user cannot write: its shared-memory index cannot be
            # made. Nobody can be writing it then, so it can be read as an immutable file.
            if os.access(os.path.dirname(os.path.abspath(path)) or ".", os.W_OK):
                raise
            conn = sqlite3.connect(uri + "&immutable=1", uri=True, timeout=BUSY_TIMEOUT_S)
            conn.text_factory = _text_factory
            _user_version(conn)
            return conn
    except sqlite3.Error as e:
        raise _from_sqlite(path, e, writing=False) from e


def list_runs(conn: sqlite3.Connection | None = None) -> list[StoredRun]:
    """Every stored run (the newest MAX_RUNS), oldest first. Without ``conn``, opens the user's
    store read-only; raises StoreUnavailable (and nothing else) when it cannot be read."""
    path = db_path()
    own = conn is None
    try:
        if own:
            conn = _open_for_reading(path)
            if conn is None:
                return []
            conn.execute("BEGIN")    # one read transaction: a lock is waited for once at most
        else:
            path = Path(_main_file(conn) or path)
        try:
            return _read(conn, path)
        finally:
            if own:
                conn.close()
    except sqlite3.Error as e:
        raise _from_sqlite(path, e, writing=False) from e
    except OSError as e:
        raise _from_os(path, e, writing=False) from e
    except (ValueError, OverflowError) as e:     # a value sqlite itself cannot hand over
        raise _damaged(path, f"{type(e).__name__}: {str(e)[:80]}") from e
    except MemoryError as e:
        raise _damaged(path, "too large to read") from e


def _read(conn: sqlite3.Connection, path: Path) -> list[StoredRun]:
    version = _user_version(conn)
    if version > SCHEMA_VERSION:
        raise _newer(path, version)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "runs" not in tables:
        return []              # an empty file, or one made before its first run
    if "samples" not in tables:
        raise _damaged(path, "it has runs but no samples table")
    runs = conn.execute("SELECT id, created, kind, target, model, model_id, build, runtime, runtime_version, rig,"
                        " prefill_tokens, decode_tokens, repeats, extra FROM runs ORDER BY id DESC LIMIT ?",
                        (MAX_RUNS,)).fetchall()[::-1]
    runs = [r for r in runs if isinstance(r[0], int)]
    if not runs:
        return []
    by_run: dict[int, list] = {r[0]: [] for r in runs}
    for s in conn.execute("SELECT run_id, prefill_tok_s, decode_tok_s, ttft_s, peak_rss_bytes FROM samples"
                          " WHERE run_id >= ? ORDER BY id LIMIT ?", (runs[0][0], MAX_SAMPLES)):
        row = by_run.get(s[0])
        if row is None:
            continue
        prefill, decode = _number(s[1], MAX_PREFILL_TOK_S), _number(s[2], MAX_DECODE_TOK_S)
        if prefill is None and decode is None:
            continue           # nothing measured in it that can be believed
        row.append((prefill, decode, _number(s[3], MAX_TTFT_S), _number(s[4], MAX_RSS_BYTES)))
    out = []
    for r in runs:
        s = by_run[r[0]]
        rss = [x[3] for x in s if x[3] is not None]
        out.append(StoredRun(
            id=r[0], created=_text(r[1], 40) or "?", kind=_text(r[2], 40) or "?", target=_text(r[3]) or "?",
            model=_text(r[4]), model_id=_text(r[5], 200), build=_text(r[6], 100), runtime=_text(r[7], 100),
            runtime_version=_text(r[8], 200), rig=_text(r[9]), prefill_tokens=_count(r[10]),
            decode_tokens=_count(r[11]), repeats_planned=_count(r[12]), repeats=len(s),
            decode_tok_s=_spread([x[1] for x in s]), prefill_tok_s=_spread([x[0] for x in s]),
            ttft_s=_spread([x[2] for x in s]), peak_rss_bytes=max(rss) if rss else None, extra=_extra(r[13])))
    return out


def my_measurements(model_id: str | None = None, build: str | None = None) -> list[StoredRun]:
    """The user's stored runs (with at least one sample), optionally for one model / build.

    Raises StoreUnavailable, and nothing else, when the store is damaged, locked, newer or
    unreadable (after at most BUSY_TIMEOUT_S); callers go on without measurements then."""
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
