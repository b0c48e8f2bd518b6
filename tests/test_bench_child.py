"""rigcheck bench runs llama.cpp in a child process: a crash of llama.cpp (for real: the worker
kills itself through its test hook RIGCHECK_BENCH_TEST_CRASH) is one line and exit 2, never a
crash of rigcheck, and leaves no empty run behind; a silent child is stopped; ^C stops it too."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import psutil
import pytest

from rigcheck.cli import main
from rigcheck.errors import InputError
from rigcheck.measure import filebench
from rigcheck.measure.store import list_runs

SMALL = ["--prefill", "16", "--decode", "8", "--repeats", "2"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("RIGCHECK_HOME", str(tmp_path))
    return tmp_path


def _workers(pid: int | None = None) -> list[psutil.Process]:
    """The bench workers below ``pid`` (default: this process)."""
    try:
        kids = psutil.Process(pid or os.getpid()).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for k in kids:
        try:
            if "filebench import worker" in " ".join(k.cmdline()):
                out.append(k)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            pass
    return out


def _bench_crash(monkeypatch, capsys, gemma_gguf, crash: str, *extra: str) -> tuple[int, str]:
    monkeypatch.setenv(filebench.TEST_CRASH_ENV, crash)
    rc = main(["bench", gemma_gguf, *(extra or SMALL)])
    return rc, capsys.readouterr().err


def test_sigill_is_one_line_with_the_rebuild_command(gemma_gguf, home, monkeypatch, capsys):
    rc, err = _bench_crash(monkeypatch, capsys, gemma_gguf, "SIGILL")
    assert rc == 2
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("rigcheck: error: llama.cpp crashed with SIGILL (illegal instruction)")
    assert "cannot run" in err and "-DGGML_NATIVE=OFF" in err
    assert "--no-binary llama-cpp-python llama-cpp-python==" in err
    assert "Traceback" not in err
    # nothing stored: no run, and --list says so
    assert list_runs() == []
    assert main(["bench", "--list"]) == 0
    assert "no stored results yet" in capsys.readouterr().out
    assert _workers() == []


def test_other_signal_names_it_and_llama_cpps_last_line(gemma_gguf, home, monkeypatch, capsys):
    # @0: after the load and the warm-up, before the first repeat
    rc, err = _bench_crash(monkeypatch, capsys, gemma_gguf, "SIGABRT@0")
    assert rc == 2
    assert err.count("\n") == 1, err
    assert "llama.cpp crashed with SIGABRT" in err
    assert '"RIGCHECK_BENCH_TEST_CRASH: raising SIGABRT"' in err   # the worker's last stderr line
    assert list_runs() == []


def test_oom_kill_is_named(gemma_gguf, home, monkeypatch, capsys):
    rc, err = _bench_crash(monkeypatch, capsys, gemma_gguf, "SIGKILL")
    assert rc == 2 and err.count("\n") == 1, err
    assert "killed (SIGKILL)" in err and "out-of-memory" in err
    assert list_runs() == []


def test_crash_after_a_repeat_keeps_it(gemma_gguf, home, monkeypatch, capsys):
    rc, err = _bench_crash(monkeypatch, capsys, gemma_gguf, "SIGSEGV@1",
                           "--prefill", "16", "--decode", "8", "--repeats", "3")
    assert rc == 2
    last = err.splitlines()[-1]
    assert last.startswith("rigcheck: error: llama.cpp crashed with SIGSEGV (segmentation fault)")
    runs = list_runs()
    assert len(runs) == 1 and runs[0].repeats == 1 and runs[0].repeats_planned == 3
    assert f"kept as run {runs[0].id}" in last
    assert runs[0].runtime_version.startswith("llama-cpp-python ")


def test_a_file_llama_cpp_cannot_load_stays_a_format_error(gemma_gguf, home, tmp_path, capsys):
    data = bytearray(open(gemma_gguf, "rb").read())
    at = data.index(b"gemma3", data.index(b"general.architecture"))
    data[at:at + 6] = b"nomod3"          # an architecture llama.cpp does not know; the header stays sound
    bad = tmp_path / "unknown-arch.gguf"
    bad.write_bytes(bytes(data))
    assert main(["bench", str(bad), *SMALL]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "llama.cpp could not load it" in err, err
    assert list_runs() == []


def test_silent_child_is_stopped(gemma_gguf, monkeypatch):
    monkeypatch.setenv(filebench.TEST_CRASH_ENV, "SIGSTOP")   # the worker stops itself: no more messages
    t0 = time.monotonic()
    with pytest.raises(InputError, match="stopped responding while loading"):
        filebench.measure(gemma_gguf, 16, 8, 1, startup_timeout_s=3)
    assert time.monotonic() - t0 < 30
    assert _workers() == []


def test_last_line_is_sanitized(tmp_path):
    log = tmp_path / "stderr.log"
    log.write_bytes(b"load: fine\n\x1b[31mGGML_ASSERT(\x07x) failed\x1b[0m\x00" + b"y" * 300 + b"\n\n  \n")
    line = filebench.last_line(str(log))
    assert line.startswith("GGML_ASSERT(x) failedy") and len(line) == 200
    assert all(c.isprintable() for c in line)
    assert filebench.last_line(str(tmp_path / "missing")) == ""
    # the shell's spelling of a signal death (128 + 4) is understood too
    assert "SIGILL" in filebench.crash_message("m.gguf", 132)
    assert "exited with status 3" in filebench.crash_message("m.gguf", 3)


def _start_long_bench(gemma_gguf, home):
    env = dict(os.environ, RIGCHECK_HOME=str(home))
    env.pop(filebench.TEST_CRASH_ENV, None)
    proc = subprocess.Popen([sys.executable, "-m", "rigcheck", "bench", gemma_gguf, "--prefill", "16",
                             "--decode", "8", "--repeats", "500"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = home / "measurements.db"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(str(db)) as c:
                    if c.execute("SELECT COUNT(*) FROM samples").fetchone()[0] >= 1:
                        break
            except sqlite3.OperationalError:
                pass
        time.sleep(0.2)
    kids = _workers(proc.pid)
    return proc, kids


@pytest.mark.parametrize("how", ["interrupt", "kill"])
def test_child_does_not_outlive_the_bench(gemma_gguf, home, how):
    """^C stops the worker (exit 130); a bench killed outright takes its worker with it."""
    proc, kids = _start_long_bench(gemma_gguf, home)
    try:
        assert proc.poll() is None and len(kids) == 1, "the bench did not get going"
        os.kill(proc.pid, signal.SIGINT if how == "interrupt" else signal.SIGKILL)   # our child, by its id
        rc = proc.wait(timeout=60)
        _, alive = psutil.wait_procs(kids, timeout=30)
        assert alive == [], "the worker outlived the bench"
        if how == "interrupt":
            assert rc == 130
            assert proc.stderr.read().decode().splitlines()[-1] == "rigcheck: interrupted"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        for k in kids:
            if k.is_running():
                k.kill()
        proc.stderr.close()
    runs = list_runs()
    assert len(runs) == 1 and runs[0].repeats >= 1
