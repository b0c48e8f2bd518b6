"""The results store (measurements.db) when it is damaged, truncated, random, from a newer
rigcheck, locked, read-only or unreadable (issue 14). Real sqlite files throughout; the
read-only cases run the CLI in a child process without the capabilities that let root
ignore file permissions, so the kernel really refuses the writes."""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import stat
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rigcheck.cli import main
from rigcheck.errors import InputError
from rigcheck.measure import store
from rigcheck.measure.store import StoreUnavailable, list_runs, my_measurements

from test_server_hostile import Hostile, stream_of

# the schema exactly as rigcheck wrote it before user_version (migrations table only)
LEGACY = store.MIGRATIONS[0][1]


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("RIGCHECK_HOME", str(tmp_path))
    return tmp_path / "measurements.db"


def fill(path, runs: int = 3, samples: int = 3) -> None:
    """A store written through the store's own API."""
    conn = store.connect(path)
    for r in range(runs):
        rid = store.start_run(conn, kind="server", target="http://127.0.0.1:1", model=f"m{r}", model_id="gemma-3-4b-it",
                              runtime="llama.cpp", prefill_tokens=16, decode_tokens=16, repeats=samples)
        for i in range(samples):
            store.add_sample(conn, rid, decode_tok_s=40.0 + i, ttft_s=0.1, tokens=16)
    conn.close()


def one_line(capsys, rc: int, *words: str) -> str:
    err = capsys.readouterr().err
    assert rc == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    return err


def unavailable(*words: str) -> str:
    """my_measurements and list_runs both raise StoreUnavailable (nothing else) saying ``words``."""
    for f in (my_measurements, list_runs):
        with pytest.raises(StoreUnavailable) as e:
            f()
        for w in words:
            assert w in str(e.value), str(e.value)
    return str(e.value)


def bench_server(capsys, *extra) -> tuple[int, list]:
    """bench --server against a well-behaved server; returns (status, the POSTs it received)."""
    with Hostile(post=stream_of(n=12, gap=0.003, claimed=12)) as srv:
        rc = main(["bench", "--server", srv.url, "--decode", "12", "--repeats", "1", "--timeout", "5", *extra])
    return rc, [p for m, p in srv.requests if m == "POST"]


# --- the schema version ----------------------------------------------------------------------

def test_new_store_is_wal_and_versioned(db, capsys):
    rc, posts = bench_server(capsys)
    assert rc == 0, capsys.readouterr().err
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION >= 1
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [r.repeats for r in list_runs()] == [1]


def test_older_store_is_read_then_migrated(db, capsys):
    """A store from before user_version (rollback journal, version 0): read as it is, then
    migrated by the next bench with its runs kept."""
    c = sqlite3.connect(db)
    c.executescript(LEGACY + "CREATE TABLE migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL);"
                    "INSERT INTO migrations VALUES ('001_runs_samples', '2026-01-01T00:00:00Z');"
                    "INSERT INTO runs (id, created, kind, target, model_id, repeats, extra)"
                    " VALUES (1, '2026-01-01T00:00:00Z', 'file', 'a.gguf', 'gemma-3-4b-it', 1, '{}');"
                    "INSERT INTO samples (run_id, created, decode_tok_s, prefill_tok_s)"
                    " VALUES (1, '2026-01-01T00:00:00Z', 55.5, 900.0);")
    c.close()
    assert [r.decode_tok_s["median"] for r in my_measurements("gemma-3-4b-it")] == [55.5]
    rc, _ = bench_server(capsys)
    assert rc == 0, capsys.readouterr().err
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [r.id for r in list_runs()] == [1, 2]


def test_newer_store_is_refused(db, capsys):
    fill(db)
    with sqlite3.connect(db) as c:
        c.execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 7}")
    unavailable("newer than this rigcheck", "upgrade rigcheck", str(db))
    one_line(capsys, main(["bench", "--list"]), "schema version")
    rc, posts = bench_server(capsys)
    one_line(capsys, rc, "schema version")
    assert posts == []                     # refused before anything was measured
    with sqlite3.connect(db) as c:         # and left as it was
        assert c.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION + 7
        assert c.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 3


# --- damaged files ---------------------------------------------------------------------------

@pytest.mark.parametrize("keep", [0.5, 0.1, 100 / 4096])
def test_truncated_store(db, capsys, keep):
    fill(db, runs=30, samples=10)
    data = db.read_bytes()
    assert len(data) > 8 * 4096
    db.write_bytes(data[:int(len(data) * keep)])
    msg = unavailable("damaged", "mv ")
    one_line(capsys, main(["bench", "--list"]), "damaged")
    rc, posts = bench_server(capsys)
    one_line(capsys, rc, "damaged")
    assert posts == []
    # what the line says to do works: move it aside, and the next bench makes a new store
    src, dst = shlex.split(msg.split("(mv ", 1)[1].split(") and a new one", 1)[0])
    assert src == str(db) and dst == f"{db}.damaged"
    os.rename(src, dst)
    rc, posts = bench_server(capsys)
    assert rc == 0 and len(posts) == 1
    assert [r.repeats for r in list_runs()] == [1]


def test_random_bytes(db, capsys):
    db.write_bytes(os.urandom(64 * 1024))
    unavailable("damaged", "not a database")
    one_line(capsys, main(["bench", "--list", "--json"]), "damaged")


def test_empty_file_is_an_empty_store(db, capsys):
    db.write_bytes(b"")
    assert list_runs() == [] and my_measurements() == []
    rc, _ = bench_server(capsys)
    assert rc == 0, capsys.readouterr().err
    assert [r.repeats for r in list_runs()] == [1]


def test_foreign_sqlite_file(db, capsys):
    """A sqlite file of someone else's: runs without samples, or a runs table of other columns."""
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE runs (x TEXT)")
        c.execute("INSERT INTO runs VALUES ('hello')")
    unavailable("damaged or not a rigcheck store")
    rc, _ = bench_server(capsys)
    one_line(capsys, rc, "not a rigcheck store")


@pytest.mark.parametrize("kind", ["dir", "fifo"])
def test_not_a_regular_file(db, capsys, kind):
    os.mkdir(db) if kind == "dir" else os.mkfifo(db)
    unavailable("not a regular file")
    one_line(capsys, main(["bench", "--list"]), "not a regular file")
    rc, _ = bench_server(capsys)
    one_line(capsys, rc, "not a regular file")


def test_damaged_values_are_dropped_not_averaged(db):
    """Rows a damaged or old store may hold: text for a number, inf (the old client stored
    inf tok/s), negatives, 72,611 tok/s, broken JSON. None of them reaches a median."""
    fill(db, runs=1, samples=2)
    with sqlite3.connect(db) as c:
        c.execute("INSERT INTO runs (id, created, kind, target, model_id, repeats, extra, decode_tokens)"
                  " VALUES (2, 'x', 'server', 't', 'gemma-3-4b-it', 5, '{not json', 'many')")
        for v in ("'abc'", "9e999", "-5.0", "72611.0", "X'00ff'"):
            c.execute(f"INSERT INTO samples (run_id, created, decode_tok_s, ttft_s) VALUES (2, 'x', {v}, -1)")
        c.execute("INSERT INTO samples (run_id, created, decode_tok_s, ttft_s, peak_rss_bytes)"
                  " VALUES (1, 'x', 1e308, 1e308, 'big')")
    runs = {r.id: r for r in list_runs()}
    assert runs[1].repeats == 2 and runs[1].decode_tok_s == {"median": 40.5, "min": 40.0, "max": 41.0}
    assert runs[1].ttft_s["max"] == 0.1 and runs[1].peak_rss_bytes is None
    assert runs[2].repeats == 0 and runs[2].decode_tok_s is None and runs[2].extra == {}
    assert runs[2].decode_tokens is None
    assert [r.id for r in my_measurements("gemma-3-4b-it")] == [1]


@pytest.mark.parametrize("bad", [{"decode_tok_s": float("inf")}, {"decode_tok_s": float("nan")},
                                 {"decode_tok_s": -1.0}, {"decode_tok_s": 72_611.0},
                                 {"prefill_tok_s": 1e30}, {"ttft_s": 1.0}, {"decode_tok_s": "40"}])
def test_implausible_samples_are_not_stored(db, bad):
    conn = store.connect(db)
    rid = store.start_run(conn, kind="file", target="a.gguf")
    with pytest.raises(InputError, match="not stored"):
        store.add_sample(conn, rid, **bad)
    conn.close()
    assert [r.repeats for r in list_runs()] == [0]


def _mutations():
    return st.lists(st.tuples(st.integers(0, 10 ** 9), st.integers(0, 255)), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=_mutations(), cut=st.one_of(st.none(), st.floats(0, 1)))
def test_any_damage_is_a_list_or_store_unavailable(tmp_path_factory, monkeypatch, flips, cut):
    """Random bytes overwritten (and maybe a cut) in a real store: readers return runs or raise
    StoreUnavailable, never anything else, and every number they return is finite and in range."""
    home = tmp_path_factory.mktemp("store")
    monkeypatch.setenv("RIGCHECK_HOME", str(home))
    path = home / "measurements.db"
    if not hasattr(test_any_damage_is_a_list_or_store_unavailable, "pristine"):
        fill(path, runs=20, samples=5)
        test_any_damage_is_a_list_or_store_unavailable.pristine = path.read_bytes()
    data = bytearray(test_any_damage_is_a_list_or_store_unavailable.pristine)
    for pos, byte in flips:
        data[pos % len(data)] = byte
    if cut is not None:
        data = data[:int(len(data) * cut)]
    path.write_bytes(bytes(data))
    try:
        runs = my_measurements()
    except StoreUnavailable as e:
        assert str(e).startswith(str(path)) and "\n" not in str(e)
        return
    for r in runs:
        for d in (r.decode_tok_s, r.prefill_tok_s, r.ttft_s):
            assert d is None or all(0 <= v <= store.MAX_PREFILL_TOK_S for v in d.values())
        json.dumps(r.extra)


# --- locks -----------------------------------------------------------------------------------

def test_locked_wal_store_reads_and_refuses_a_writer(db, capsys):
    """Another connection holds an exclusive write transaction on the (WAL) store: readers
    still read, a bench says in one line that it is locked (after BUSY_TIMEOUT_S), nothing stored."""
    fill(db, runs=2)
    other = sqlite3.connect(db, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        other.execute("INSERT INTO runs (created, kind, target) VALUES ('x', 'file', 'other')")
        assert [r.id for r in list_runs()] == [1, 2]
        assert len(my_measurements()) == 2
        rc, posts = bench_server(capsys)
        one_line(capsys, rc, "locked by another process", "try again")
        assert posts == []
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [r.id for r in list_runs()] == [1, 2]


def test_locked_old_store_gives_up_quickly(db, capsys):
    """An older store still in rollback-journal mode, locked exclusively: readers give up after
    BUSY_TIMEOUT_S (not sqlite's old 30 s) with StoreUnavailable."""
    with sqlite3.connect(db) as c:
        c.executescript(LEGACY)
    assert store.BUSY_TIMEOUT_S <= 2
    other = sqlite3.connect(db, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        other.execute("INSERT INTO runs (created, kind, target) VALUES ('x', 'file', 'other')")
        unavailable("locked by another process")
        one_line(capsys, main(["bench", "--list"]), "locked")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert list_runs() == []


# --- permissions (the kernel's, in a child process) ------------------------------------------

AS_USER = r"""
import ctypes, os, sys
if os.geteuid() == 0:
    # root reads and writes any file: drop CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER
    # (effective, permitted, inheritable) so that file modes apply to this process as to a user
    libc = ctypes.CDLL(None, use_errno=True)
    hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    assert libc.capget(hdr, data) == 0, ctypes.get_errno()
    for i in range(6):
        data[i] &= ~((1 << 1) | (1 << 2) | (1 << 3))
    assert libc.capset(hdr, data) == 0, ctypes.get_errno()
try:
    open(sys.argv[1], "ab").close()
    print("WRITABLE")
except PermissionError:
    pass
from rigcheck.cli import main
sys.exit(main(sys.argv[2:]))
"""


def as_user(home, probe, *argv) -> subprocess.CompletedProcess:
    env = dict(os.environ, RIGCHECK_HOME=str(home))
    return subprocess.run([sys.executable, "-c", AS_USER, str(probe), *argv], capture_output=True, text=True,
                          env=env, timeout=120)


def test_read_only_file(db):
    fill(db, runs=2)
    os.chmod(db, 0o444)
    try:
        p = as_user(db.parent, db, "bench", "--list", "--json")
        assert "WRITABLE" not in p.stdout, "the child could still write the file"
        assert p.returncode == 0, p.stderr
        assert len(json.loads(p.stdout)["results"]) == 2
        with Hostile(post=stream_of(n=12, gap=0.003, claimed=12)) as srv:
            p = as_user(db.parent, db, "bench", "--server", srv.url, "--decode", "12", "--repeats", "1")
            posts = [x for m, x in srv.requests if m == "POST"]
        assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, p.stderr
        assert "cannot write the measurements store" in p.stderr and "RIGCHECK_HOME" in p.stderr
        assert posts == []
    finally:
        os.chmod(db, 0o644)
    assert len(list_runs()) == 2


def test_read_only_directory(db):
    """A WAL store in a directory that cannot be written (no -shm can be made): still read;
    a bench is refused in one line."""
    fill(db, runs=2)
    assert not os.path.exists(str(db) + "-shm")
    mode = stat.S_IMODE(os.stat(db.parent).st_mode)
    os.chmod(db.parent, 0o555)
    try:
        probe = db.parent / "probe"
        p = as_user(db.parent, probe, "bench", "--list", "--json")
        assert "WRITABLE" not in p.stdout, "the child could still write the directory"
        assert p.returncode == 0, p.stderr
        assert len(json.loads(p.stdout)["results"]) == 2
        with Hostile(post=stream_of(n=12, gap=0.003, claimed=12)) as srv:
            p = as_user(db.parent, probe, "bench", "--server", srv.url, "--decode", "12", "--repeats", "1")
        assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, p.stderr
        assert "cannot write the measurements store" in p.stderr
    finally:
        os.chmod(db.parent, mode)


def test_unreadable_file(db):
    fill(db, runs=1)
    os.chmod(db, 0)
    try:
        p = as_user(db.parent, db, "bench", "--list")
        assert "WRITABLE" not in p.stdout
        assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, p.stderr
        assert "cannot open the measurements store" in p.stderr
    finally:
        os.chmod(db, 0o644)


def test_home_that_cannot_be_made(tmp_path, monkeypatch, capsys):
    """RIGCHECK_HOME under a regular file: the directory cannot be created."""
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("RIGCHECK_HOME", str(tmp_path / "file" / "home"))
    assert list_runs() == []          # nothing stored yet, nothing to read
    rc, posts = bench_server(capsys)
    one_line(capsys, rc, "cannot create its directory")
    assert posts == []
