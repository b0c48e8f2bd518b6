"""rigcheck bench --server against hostile and broken servers (issue 14).

Each server here is real: a thread with a raw socket server on 127.0.0.1 (port 0) that
writes exactly the bytes of one misbehaviour. Every test asserts exit status 2, one line on
stderr (no traceback), and nothing stored; time is bounded by passing --timeout 2 (the
overall deadline of a request), not by timing assertions. bench/server_fuzz.py draws
random misbehaviours from the same building blocks.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from rigcheck.cli import main
from rigcheck.measure.store import list_runs

MODEL = "hostile-model"
MODELS = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "me"}]}).encode()
GIB = 2 ** 30


# --- a raw HTTP server that does what it is told ---------------------------------------------

class Hostile:
    """Serves each request with ``handler(method, path, conn, stop)``; by default GET answers
    /v1/models properly and every other GET 404, so a test can misbehave only where it means to."""

    def __init__(self, post=None, get=None):
        self.post, self.get = post, get
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.threads: list[threading.Thread] = []
        self.requests: list[tuple[str, str]] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Hostile:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(10)
        for t in self.threads:
            t.join(10)
        self.sock.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 1 << 20:
                part = conn.recv(65536)
                if not part:
                    return
                head += part
            first, _, rest = head.partition(b"\r\n")
            method, path = first.decode("latin-1").split()[:2]
            length = next((int(h.split(b":", 1)[1]) for h in rest.split(b"\r\n")
                           if h.lower().startswith(b"content-length:")), 0)
            body = head.split(b"\r\n\r\n", 1)[1]
            while len(body) < length:
                part = conn.recv(65536)
                if not part:
                    break
                body += part
            self.requests.append((method, path))
            handler = self.post if method == "POST" else self.get
            if handler is None:
                handler = default_get
            handler(method, path, conn, self.stop)
        except OSError:
            pass            # the client gave up: that is what these tests want
        finally:
            conn.close()


def answer(conn, body: bytes, status: str = "200 OK", ctype: str = "application/json", extra: str = "") -> None:
    conn.sendall(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}"
                 "Connection: close\r\n\r\n".encode() + body)


def default_get(method, path, conn, stop) -> None:
    if path.endswith("/v1/models"):
        answer(conn, MODELS)
    else:
        answer(conn, b'{"detail":"Not Found"}', "404 Not Found")


def sse_head(conn, extra: str = "") -> None:
    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n{extra}Connection: close\r\n\r\n".encode())


def event(obj) -> bytes:
    return b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"


def token(text: str = " word") -> dict:
    return {"id": "c1", "object": "chat.completion.chunk", "model": MODEL,
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


FINISH = {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}


def usage(completion, prompt=20) -> dict:
    return {"id": "c1", "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion}}


def stream_of(n: int = 16, gap: float = 0.005, claimed=None, done: bool = True, finish: bool = True,
              extra_events=(), raw_usage: bytes | None = None):
    """A POST handler streaming ``n`` tokens ``gap`` seconds apart, then (optionally) finish, usage, [DONE]."""
    def handler(method, path, conn, stop):
        sse_head(conn)
        for _ in range(n):
            conn.sendall(event(token()))
            if gap:
                time.sleep(gap)
        for e in extra_events:
            conn.sendall(event(e))
        if finish:
            conn.sendall(event(FINISH))
        if raw_usage is not None:
            conn.sendall(event(raw_usage))
        elif claimed is not None:
            conn.sendall(event(usage(claimed)))
        if done:
            conn.sendall(b"data: [DONE]\n\n")
    return handler


def chunks(*events: bytes | dict, tokens_before: int = 10):
    """A POST handler: some good tokens, then the given events (bad ones), then [DONE]."""
    def handler(method, path, conn, stop):
        sse_head(conn)
        for _ in range(tokens_before):
            conn.sendall(event(token()))
            time.sleep(0.003)
        for e in events:
            conn.sendall(event(e))
        conn.sendall(event(FINISH) + b"data: [DONE]\n\n")
    return handler


def drip(prefix: bytes, data: bytes, every: float = 0.25, head=None):
    """A handler that sends ``prefix`` then ``data`` one byte every ``every`` seconds, forever."""
    def handler(method, path, conn, stop):
        if head:
            head(conn)
        conn.sendall(prefix)
        i = 0
        while not stop.is_set():
            conn.sendall(data[i % len(data): i % len(data) + 1])
            i += 1
            time.sleep(every)
    return handler


def endless(prefix: bytes, piece: bytes, total: int = GIB, head=None):
    """A handler that sends ``prefix`` then ``piece`` repeated up to ``total`` bytes: generated
    as it goes, never held in memory."""
    def handler(method, path, conn, stop):
        if head:
            head(conn)
        conn.sendall(prefix)
        block = piece * max(1, 65536 // len(piece))
        sent = 0
        while sent < total and not stop.is_set():
            conn.sendall(block)
            sent += len(block)
    return handler


def on_models(handler):
    """A GET handler that misbehaves on /v1/models only."""
    def get(method, path, conn, stop):
        if path.endswith("/v1/models"):
            handler(method, path, conn, stop)
        else:
            default_get(method, path, conn, stop)
    return get


# --- the assertions every misbehaviour shares ------------------------------------------------

def bench(url: str, capsys, *extra: str) -> tuple[int, str]:
    rc = main(["bench", "--server", url, "--prefill", "16", "--decode", "16", "--repeats", "2",
               "--timeout", "2", *extra])
    return rc, capsys.readouterr().err


def refused(rc: int, err: str, *words: str) -> str:
    assert rc == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("rigcheck: error: ") and "Traceback" not in err
    assert line.isprintable() and len(line) < 400, line
    for w in words:
        assert w in line, line
    assert list_runs() == [], "a refused bench stored something"
    return line


# --- the misbehaviours -----------------------------------------------------------------------

def test_slow_drip_of_the_stream_is_given_up_at_the_deadline(capsys):
    """One byte every 0.25 s keeps every single read alive; the overall deadline still ends it."""
    post = drip(b"", b"data: " + json.dumps(token()).encode() + b"\n\n", head=sse_head)
    with Hostile(post=post) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "within 2 s", "--timeout")


def test_slow_drip_of_the_headers_is_given_up_at_the_deadline(capsys):
    get = on_models(drip(b"HTTP/1.1 200 OK\r\n", b"X-Slow: aaaaaaaaaaaaaaaaaaaa\r\n"))
    with Hostile(get=get) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "within 2 s")


def test_endless_line_in_the_stream(capsys):
    """A gigabyte of 'data: aaaa...' with no newline: refused at the line cap, not read to the end."""
    with Hostile(post=endless(b"data: ", b"a", head=sse_head)) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "longer than 64 KiB")


def test_gigabyte_body_of_long_lines(capsys):
    """A declared 1 GiB body of 60 KB comment lines: refused at the 64 MiB stream cap."""
    head = lambda c: sse_head(c, f"Content-Length: {GIB}\r\n")   # noqa: E731
    with Hostile(post=endless(b"", b":" + b"k" * 60_000 + b"\n", head=head)) as srv:
        rc, err = bench(srv.url, capsys, "--timeout", "60")
    refused(rc, err, "longer than 64 MiB")


def test_gigabyte_body_of_short_lines(capsys):
    """A gigabyte of keep-alive comments: refused at the line cap (a few lines per token asked)."""
    with Hostile(post=endless(b"", b": keep-alive\n", head=sse_head)) as srv:
        rc, err = bench(srv.url, capsys, "--timeout", "60")
    refused(rc, err, "lines for the tokens asked")


def test_gigabyte_models_answer(capsys):
    head = lambda c: c.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"   # noqa: E731
                               f"Content-Length: {GIB}\r\n\r\n".encode())
    with Hostile(get=on_models(endless(b'{"data": [', b'{"id": "m"}, ', head=head))) as srv:
        rc, err = bench(srv.url, capsys, "--timeout", "60")
    refused(rc, err, "longer than 4 MiB")


def test_gigabyte_body_in_a_child_stays_small():
    """The same 1 GiB body through the real CLI process: exit 2, one line, peak memory far
    below the body (the old client held 6.2 GB for a 3 GiB line)."""
    # the peak of this process's own memory (VmHWM): getrusage's ru_maxrss is carried across
    # fork and exec, so it would report the test runner's size, not the child's
    code = ("import sys; from rigcheck.cli import main; rc = main(sys.argv[1:]); "
            "print(next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmHWM:'))); "
            "sys.exit(rc)")
    with Hostile(post=endless(b"data: ", b"b", head=sse_head)) as srv:
        p = subprocess.run([sys.executable, "-c", code, "bench", "--server", srv.url, "--decode", "16",
                            "--repeats", "1", "--timeout", "30"], capture_output=True, text=True, timeout=120,
                           env=dict(os.environ))
    assert p.returncode == 2, p.stderr
    assert len(p.stderr.splitlines()) == 1 and "Traceback" not in p.stderr
    assert int(p.stdout.split()[-1]) < 500 * 10 ** 6


@pytest.mark.parametrize("status", [b"HTTP/1.1 two-hundred OK\r\n", b"SSH-2.0-OpenSSH_9.6\r\n",
                                    b"HTTP/1.1 200\x00 OK\r\n" + b"\xff" * 50, b"\r\n"])
def test_bad_status_line(capsys, status):
    def get(method, path, conn, stop):
        conn.sendall(status + b"Content-Length: 2\r\n\r\n{}")
    with Hostile(get=on_models(get)) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "/v1/models")


def test_bad_status_line_on_the_stream(capsys):
    def post(method, path, conn, stop):
        conn.sendall(b"HTTP/1.1 OK\r\n\r\n")
    with Hostile(post=post) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "not a valid HTTP answer")


@pytest.mark.parametrize("body", [b"zz\r\n", b"ffffffffffffffffff\r\ndata", b"-5\r\n", b"5\r\ndata:\r\n" * 3])
def test_bad_chunked_encoding(capsys, body):
    """Transfer-Encoding: chunked with chunk sizes that are not hex, beyond any integer, negative, or lies."""
    def post(method, path, conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + body)
    with Hostile(post=post) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err)


def test_closed_without_an_answer(capsys):
    def post(method, path, conn, stop):
        conn.shutdown(socket.SHUT_RDWR)
    with Hostile(post=post) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err)


def test_header_line_longer_than_the_cap(capsys):
    """A header line of up to a gigabyte: refused at http.client's 64 KiB line cap."""
    with Hostile(get=on_models(endless(b"HTTP/1.1 200 OK\r\nX-Long: ", b"a"))) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "LineTooLong")


def test_too_many_headers(capsys):
    def get(method, path, conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(500))
                     + b"Content-Length: 2\r\n\r\n{}")
    with Hostile(get=on_models(get)) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "more than 100 headers")


def test_too_many_headers_on_the_stream(capsys):
    def post(method, path, conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(500)) + b"\r\n")
    with Hostile(post=post) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "more than 100 headers")


@pytest.mark.parametrize("bad,words", [
    (b"[1, 2, 3]", "an array where a JSON object belongs"),
    (b'"just a string"', "a string where a JSON object"),
    (b"42", "a number where a JSON object"),
    (b'{"choices": {"0": {"delta": {"content": "x"}}}}', "'choices'"),
    (b'{"choices": ["x"]}', "a choice that is not an object"),
    (b'{"choices": [{"delta": "x"}]}', "'delta'"),
    (b'{"choices": [{"delta": {"content": 5}}]}', "a number where the text belongs"),
    (b'{"choices": [{"delta": {"content": ["x"]}}]}', "an array where the text belongs"),
    (b'{"choices": [{"text": {"a": 1}}]}', "an object where the text belongs"),
    (b'{"choices": [{"delta": {"content": "x"}, "finish_reason": 7}]}', "'finish_reason'"),
    (b'{"choices": [], "usage": [1, 2]}', "'usage'"),
    (b'{"choices": [], "usage": {"completion_tokens": "12"}}', "not a token count"),
    (b'{"choices": [], "usage": {"completion_tokens": true}}', "not a token count"),
    (b'{"choices": [], "usage": {"completion_tokens": -5}}', "not a token count"),
    (b'{"choices": [], "usage": {"completion_tokens": 12.5}}', "not a token count"),
    (b'{"choices": [], "usage": {"prompt_tokens": {"n": 1}}}', "not a token count"),
    (b"{not json", "not valid JSON"),
    (b"[" * 60000, "nested too deeply"),
    (b"[" * 70000, "longer than 64 KiB"),     # the line cap comes first
    (b"null", "null where a JSON object belongs"),
    (b'{"choices": [{"delta": {"content": false}}]}', "a boolean where the text belongs"),
    (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
])
def test_wrong_json_in_a_chunk(capsys, bad, words):
    with Hostile(post=chunks(bad)) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, words)


@pytest.mark.parametrize("bad", [
    b'{"choices": [], "usage": {"completion_tokens": 1e999}}',
    b'{"choices": [], "usage": {"completion_tokens": NaN}}',
    b'{"choices": [], "usage": {"completion_tokens": Infinity}}',
    b'{"choices": [], "usage": {"completion_tokens": -Infinity}}',
    b'{"choices": [{"delta": {"content": "x"}}], "timings": {"predicted_per_second": 1e999}}',
    b'{"choices": [], "usage": {"completion_tokens": 1' + b"0" * 5000 + b"}}",
])
def test_non_finite_numbers(capsys, bad):
    """1e999 (inf), NaN, Infinity anywhere in a chunk, and a 5,000-digit integer."""
    with Hostile(post=chunks(bad)) as srv:
        rc, err = bench(srv.url, capsys)
    line = refused(rc, err)
    assert "inf" not in line.split("error:")[1].split("(")[0]


def test_early_close_after_two_tokens(capsys):
    """Two tokens and the connection closes: the old client stored 72,611 tok/s."""
    with Hostile(post=stream_of(n=2, gap=0, done=False, finish=False)) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "without [DONE]")


def test_early_close_after_many_tokens(capsys):
    with Hostile(post=stream_of(n=12, done=False, finish=False)) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "ended after 12 token(s)")


def test_too_few_tokens(capsys):
    """Three tokens and a proper end, on chat and on plain completions: too few to time."""
    with Hostile(post=stream_of(n=3, claimed=3)) as srv:
        rc, err = bench(srv.url, capsys)
        assert [p for m, p in srv.requests if m == "POST"] == ["/v1/chat/completions", "/v1/completions"]
    refused(rc, err, "streamed 3 token(s)", "at least 8")


def test_few_chat_tokens_and_no_plain_completions(capsys):
    few = stream_of(n=3, claimed=3)

    def post(method, path, conn, stop):
        if path.endswith("/chat/completions"):
            return few(method, path, conn, stop)
        answer(conn, b'{"detail": "Not Found"}', "404 Not Found")
    with Hostile(post=post) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "streamed 3 token(s), too few to time", "HTTP 404")


@pytest.mark.parametrize("claimed,n,argv,words", [
    (1e999, 16, [], None),                        # inf: the old client stored inf tok/s
    (1_000_000, 16, [], "more than the 16 asked"),
    (3, 16, [], "counts disagree"),               # fewer than were streamed
    (129, 8, ["--decode", "200"], "counts disagree"),   # more than 16 per chunk received
])
def test_claimed_counts_that_disagree(capsys, claimed, n, argv, words):
    raw = json.dumps(usage(claimed)).replace("Infinity", "1e999").encode()
    with Hostile(post=stream_of(n=n, raw_usage=raw)) as srv:
        rc, err = bench(srv.url, capsys, *argv)
    refused(rc, err, *([words] if words else []))


def test_all_tokens_at_once(capsys):
    """Sixteen tokens written in one burst: no decode speed can be timed from that."""
    def post(method, path, conn, stop):
        sse_head(conn)
        conn.sendall(b"".join(event(token()) for _ in range(16)) + event(FINISH) + event(usage(16))
                     + b"data: [DONE]\n\n")
    with Hostile(post=post) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "too close together")


def test_impossibly_fast_claim(capsys):
    """1,000 chunks in 10 bursts 3 ms apart claiming 16 tokens each (16,000, as asked): every
    count check passes, but unless the bursts took 0.8 s that is beyond 20,000 tok/s."""
    def post(method, path, conn, stop):
        sse_head(conn)
        for _ in range(10):
            conn.sendall(b"".join(event(token()) for _ in range(100)))
            time.sleep(0.003)
        conn.sendall(event(FINISH) + event(usage(16000)) + b"data: [DONE]\n\n")
    with Hostile(post=post) as srv:
        rc, err = bench(srv.url, capsys, "--decode", "16000")
    refused(rc, err, "beyond any single stream")


def test_error_inside_the_stream_is_escaped(capsys):
    bad = {"error": {"message": "\x1b[31mCUDA out of memory\x1b[0m\nsecond line" + "x" * 5000}}
    with Hostile(post=chunks(bad)) as srv:
        rc, err = bench(srv.url, capsys)
    line = refused(rc, err, "reported an error", "CUDA out of memory")
    assert "\x1b" not in line


def test_http_errors_on_both_endpoints(capsys):
    def post(method, path, conn, stop):
        answer(conn, b'{"error": "no"}', "500 Internal Server Error")
    with Hostile(post=post) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "HTTP 500")


def test_json_instead_of_a_stream(capsys):
    def post(method, path, conn, stop):
        answer(conn, json.dumps({"choices": [{"message": {"content": "hello " * 20}}]}).encode())
    with Hostile(post=post) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, "streamed no tokens", "application/json")


@pytest.mark.parametrize("body,words", [
    (b'{"data": "x"}', "lists no models"),
    (b'{"data": [{"id": 5}, {"id": ["a"]}, {"id": ""}]}', "no usable model id"),
    (b'{"data": [{"id": "a\\u001b[2Jb"}]}', "no usable model id"),
    (b"[" * 100000, "nested too deeply"),
    (b'{"data": [{"id": "m", "owned_by": 1e999}]}', "out of range"),
])
def test_bad_models_answer(capsys, body, words):
    with Hostile(get=on_models(lambda m, p, c, s: answer(c, body))) as srv:
        rc, err = bench(srv.url, capsys)
    refused(rc, err, words)


def test_model_typo_suggests_the_served_name(capsys):
    with Hostile() as srv:
        rc, err = bench(srv.url, capsys, "--model", "hostile-modle")
    refused(rc, err, "did you mean: hostile-model?")


@pytest.mark.parametrize("argv,words", [
    (["--timeout", "0"], "--timeout"), (["--timeout", "nan"], "--timeout"), (["--timeout", "-1"], "--timeout"),
    (["--timeout", "1e9"], "--timeout"), (["--decode", "4"], "at least 8"),
])
def test_bad_flags(capsys, argv, words):
    with Hostile() as srv:
        rc = main(["bench", "--server", srv.url, *argv])
        err = capsys.readouterr().err
        assert srv.requests == []       # refused before the server is asked anything
    refused(rc, err, words)


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "ftp://127.0.0.1/", "http://", "http://a b/",
                                 "http://127.0.0.1:8080/\x1b[2J", "http://" + "a" * 70 + ".com", "http://a..b/",
                                 "http://[::1", "http://[zz]:80/", "x" * 5000])
def test_bad_urls(capsys, url):
    rc = main(["bench", "--server", url, "--timeout", "2"])
    refused(rc, capsys.readouterr().err)


def test_credentials_in_the_url_are_not_echoed(capsys):
    port = free_port()
    rc = main(["bench", "--server", f"http://user:secret@127.0.0.1:{port}/", "--timeout", "2"])
    line = refused(rc, capsys.readouterr().err, "cannot reach")
    assert "secret" not in line


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_well_behaved_stream_is_stored(capsys):
    """The same server machinery, behaving: 20 tokens ~5 ms apart with an agreeing usage are
    stored, at a decode speed no faster than the spacing allows."""
    with Hostile(post=stream_of(n=20, gap=0.005, claimed=20)) as srv:
        rc = main(["bench", "--server", srv.url, "--decode", "20", "--repeats", "2", "--timeout", "5", "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    res = json.loads(out.out)["results"][0]
    assert res["repeats"] == 2 and res["runtime"] == "llama.cpp"
    assert 0 < res["decode_tok_s"]["max"] <= 19 / (19 * 0.005)
    assert [r.repeats for r in list_runs()] == [2]


def test_a_later_bad_repeat_keeps_the_good_ones(capsys):
    """Repeat 1 is plausible, repeat 2 drips: one line says what is kept; the bad repeat is not stored."""
    good = stream_of(n=12, gap=0.004, claimed=12)
    bad = drip(b"", b"data: ", head=sse_head)
    calls = []

    def post(method, path, conn, stop):
        calls.append(path)
        (good if len(calls) == 1 else bad)(method, path, conn, stop)
    with Hostile(post=post) as srv:
        rc = main(["bench", "--server", srv.url, "--decode", "12", "--repeats", "3", "--timeout", "2"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert "within 2 s" in err and "1 repeat(s) measured before are kept" in err
    runs = list_runs()
    assert len(runs) == 1 and runs[0].repeats == 1
