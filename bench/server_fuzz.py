"""Fuzz `rigcheck bench --server` with random misbehaving servers on 127.0.0.1 (issue 14).

Each input is a raw socket server (tests/test_server_hostile.py's Hostile) running one plan
drawn from the seed: broken status lines and headers, drips, endless lines, gigabyte bodies
(generated as sent), chunks with a field replaced by a random JSON value, non-finite and huge
numbers, deep nesting, wrong usage counts, early closes, HTTP errors; and now and then a
well-behaved stream, which must be stored. The client runs in this process (rigcheck.cli.main)
with a short --timeout. Failures counted: exit status other than 0 or 2, more than one line
on stderr for a refusal, a traceback, a refused bench that stored something, a stored sample
the server did not really deliver (too few tokens, no proper end, counts or speed beyond
the limits), a good stream refused, and an input that took longer than its deadlines allow.

    python bench/server_fuzz.py                 # about 2 minutes, seed 0
    python bench/server_fuzz.py --seconds 600 --seed 7
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import psutil  # noqa: E402

from rigcheck.cli import main  # noqa: E402
from rigcheck.measure import serverbench, store  # noqa: E402
from test_server_hostile import (FINISH, MODELS, Hostile, answer, default_get, event, sse_head,  # noqa: E402
                                 token, usage)

GIB = 2 ** 30


def rjson(rng: random.Random, depth: int = 0):
    """A random JSON value, biased to what breaks parsers and arithmetic."""
    k = rng.randrange(11 if depth < 3 else 7)
    if k == 0:
        return None
    if k == 1:
        return rng.choice([True, False])
    if k == 2:
        return rng.choice([0, -1, 1, 7, 16, 2 ** 31, 2 ** 63, -2 ** 63, 10 ** 30, rng.randrange(-1000, 1000)])
    if k == 3:
        return rng.choice([0.0, -0.0, 1.5, -3.25, 1e308, -1e308, 5e-324, 16.0, rng.uniform(-1e6, 1e6)])
    if k == 4:
        return rng.choice(["", "x", "\x1b[31mred\x1b[0m", "a\nb", "\u202e", "\x00", "9" * 500, "word " * 50])
    if k == 5:
        return "".join(chr(rng.randrange(0, 0x3000)) for _ in range(rng.randrange(1, 30)))
    if k == 6:
        return []
    if k in (7, 8):
        return [rjson(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["content", "delta", "choices", "usage", "text", "x"]): rjson(rng, depth + 1)
            for _ in range(rng.randrange(4))}


PATHS = [("choices",), ("choices", 0), ("choices", 0, "delta"), ("choices", 0, "delta", "content"),
         ("choices", 0, "text"), ("choices", 0, "finish_reason"), ("choices", 0, "delta", "reasoning_content"),
         ("usage",), ("usage", "completion_tokens"), ("usage", "prompt_tokens"), ("error",), ()]


def bad_chunk(rng: random.Random) -> bytes:
    """One chunk payload that a client must refuse or read safely."""
    k = rng.randrange(6)
    if k == 0:                         # a field replaced by a random value
        obj = token()
        obj["usage"] = {"completion_tokens": 3, "prompt_tokens": 4}
        path = rng.choice(PATHS)
        if not path:
            return json.dumps(rjson(rng)).encode()
        cur = obj
        for p in path[:-1]:
            cur = cur[p]
        cur[path[-1]] = rjson(rng)
        return json.dumps(obj).encode()
    if k == 1:                         # non-finite or absurd numbers, as text
        num = rng.choice([b"1e999", b"-1e999", b"NaN", b"Infinity", b"-Infinity", b"1" + b"0" * 5000,
                          b"1e-999", b"-0", b"12.5"])
        field = rng.choice([b'"completion_tokens"', b'"prompt_tokens"'])
        return b'{"choices": [], "usage": {' + field + b": " + num + b"}}"
    if k == 2:                         # nesting
        d = rng.choice([100, 1000, 5000, 30000])
        return b"[" * d + b"]" * d * rng.randrange(2)
    if k == 3:                         # not JSON
        return rng.choice([b"{not json", b'{"a": 1', b"\xff\xfe\x00", bytes(rng.randrange(256) for _ in range(40))])
    if k == 4:                         # a server error inside the stream
        return json.dumps({"error": {"message": rjson(rng)}}).encode()
    return json.dumps(rjson(rng)).encode()


class Plan:
    """What one fuzz server does; ``good`` plans must be stored, all others must be refused."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.good = rng.random() < 0.12
        self.get_fault = None if self.good or rng.random() < 0.8 else rng.choice(
            ["status", "headers", "manyheaders", "drip", "garbage", "json", "gigabyte", "close", "http500"])
        # the runtime probes (/api/version, /props) misbehave too; a good plan still runs then
        self.side_fault = None if rng.random() < 0.85 else rng.choice(
            ["status", "drip", "garbage", "json", "gigabyte", "close", "http500"])
        self.post_status = 200 if self.good or rng.random() < 0.85 else rng.choice([301, 400, 404, 418, 500, 503])
        self.head_fault = None if self.good or rng.random() < 0.8 else rng.choice(
            ["status", "headers", "manyheaders", "drip", "chunked-bad", "close"])
        self.n = rng.randrange(10, 30) if self.good else rng.choice([0, 1, 2, 3, 7, 8, 12, 20, 40])
        self.gap = rng.choice([0.003, 0.006]) if self.good else rng.choice([0, 0, 0.001, 0.004, 0.02])
        self.bad = [] if self.good else [bad_chunk(rng) for _ in range(rng.choice([0, 1, 1, 2]))]
        self.bad_at = [rng.randrange(self.n + 1) for _ in self.bad]
        self.claim = self.n if self.good else rng.choice([None, "n", 0, 1, 3, 10 ** 6, "2n", "20n", 1e999])
        self.end = "done" if self.good else rng.choice(["done", "done", "done", "finish", "close", "drip",
                                                        "endless", "comments", "garbage"])
        self.decode = self.n if self.good else rng.choice([8, 16, 32])
        self.sent = []                 # per POST: (content chunks sent, properly ended)

    def describe(self) -> str:
        return (f"good={self.good} get={self.get_fault} side={self.side_fault} status={self.post_status} head={self.head_fault} "
                f"n={self.n} gap={self.gap} bad={[b[:60] for b in self.bad]} claim={self.claim} end={self.end} "
                f"decode={self.decode}")

    # --- the handlers ---
    def get(self, method, path, conn, stop):
        f = self.get_fault if path.endswith("/v1/models") else self.side_fault
        if f is None:
            return default_get(method, path, conn, stop)
        if f == "status":
            conn.sendall(self.rng.choice([b"HTTP/1.1 abc\r\n\r\n", b"garbage\r\n\r\n", b"HTTP/2 200\r\n\r\n"]))
        elif f == "headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Long: ")
            _endless(conn, stop, b"a", 10 ** 7)
        elif f == "manyheaders":
            conn.sendall(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 1000 + b"\r\n")
        elif f == "drip":
            _drip(conn, stop, b"HTTP/1.1 200 OK\r\nX: aaaaaaaaaa\r\n")
        elif f == "garbage":
            conn.sendall(bytes(self.rng.randrange(256) for _ in range(300)))
        elif f == "json":
            answer(conn, json.dumps(rjson(self.rng) if self.rng.random() < 0.5 else
                                    {"build_info": rjson(self.rng), "version": rjson(self.rng)}).encode())
        elif f == "gigabyte":
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {GIB}\r\n\r\n".encode())
            _endless(conn, stop, b'{"data": [' + b'{"id": "m"},' * 1000, GIB)
        elif f == "close":
            conn.close()
        else:
            answer(conn, MODELS, "500 Internal Server Error")

    def post(self, method, path, conn, stop):
        sent = [0, False]
        self.sent.append(sent)
        if self.post_status != 200:
            return answer(conn, b'{"error": "no"}', f"{self.post_status} Nope")
        f = self.head_fault
        if f == "status":
            return conn.sendall(b"HTTP/1.1 2x0 OK\r\n\r\n")
        if f == "headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Long: ")
            return _endless(conn, stop, b"b", 10 ** 7)
        if f == "manyheaders":
            return conn.sendall(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 500 + b"\r\n")
        if f == "drip":
            return _drip(conn, stop, b"HTTP/1.1 200 OK\r\nX: y\r\n")
        if f == "close":
            return None
        if f == "chunked-bad":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                         + self.rng.choice([b"zz\r\n", b"ffffffffffffffffff\r\ndata", b"5\r\ndata:\r\n" * 3]))
            return None
        sse_head(conn)
        for i in range(self.n + 1):
            for b, at in zip(self.bad, self.bad_at):
                if at == i:
                    conn.sendall(b"data: " + b + b"\n\n")
            if i == self.n:
                break
            conn.sendall(event(token()))
            sent[0] += 1
            if self.gap:
                time.sleep(self.gap)
        claim = {"n": self.n, "2n": 2 * self.n, "20n": 20 * self.n}.get(self.claim, self.claim)
        end = self.end
        if end in ("done", "finish"):
            conn.sendall(event(FINISH))
            sent[1] = True
            if claim is not None:
                conn.sendall(event(json.dumps(usage(claim)).replace("Infinity", "1e999").encode()))
            if end == "done":
                conn.sendall(b"data: [DONE]\n\n")
        elif end == "drip":
            _drip(conn, stop, b"data: ")
        elif end == "endless":
            conn.sendall(b"data: ")
            _endless(conn, stop, b"c", GIB)
        elif end == "comments":
            _endless(conn, stop, b": keep-alive\n", GIB)
        elif end == "garbage":
            conn.sendall(bytes(self.rng.randrange(256) for _ in range(2000)))
        return None


def _drip(conn, stop, data: bytes) -> None:
    i = 0
    while not stop.is_set():
        conn.sendall(data[i % len(data): i % len(data) + 1])
        i += 1
        time.sleep(0.2)


def _endless(conn, stop, piece: bytes, total: int) -> None:
    block = piece * max(1, 65536 // len(piece))
    sent = 0
    while sent < total and not stop.is_set():
        conn.sendall(block)
        sent += len(block)


def one(plan: Plan, timeout: float, home: str) -> tuple[int, str, float, list[str]]:
    """Run the client against ``plan``; (status, stderr, seconds, failures)."""
    if os.path.exists(home):
        shutil.rmtree(home)
    os.environ["RIGCHECK_HOME"] = home
    out, err = io.StringIO(), io.StringIO()
    with Hostile(post=plan.post, get=plan.get) as srv:
        t0 = time.monotonic()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(["bench", "--server", srv.url, "--prefill", "16", "--decode", str(plan.decode),
                           "--repeats", "1", "--timeout", str(timeout)])
            except SystemExit as e:      # argparse
                rc = e.code if isinstance(e.code, int) else 2
        took = time.monotonic() - t0
    e = err.getvalue()
    fails = []
    if rc not in (0, 2):
        fails.append(f"status {rc}")
    if "Traceback" in e:
        fails.append("traceback")
    if rc == 2 and len(e.splitlines()) != 1:
        fails.append(f"{len(e.splitlines())} lines on stderr")
    # probe (/v1/models, /api/version, /props) and chat + completions: five deadlines at most
    if took > 5 * timeout + 1.0:
        fails.append(f"took {took:.1f} s")
    try:
        runs = store.list_runs()
    except store.StoreUnavailable as x:
        runs = []
        fails.append(f"store unreadable: {x}")
    stored = [r for r in runs if r.repeats]
    if rc == 2 and runs:
        fails.append("a refused bench stored a run")
    for r in stored:
        chunks, ended = plan.sent[-1] if plan.sent else (0, False)
        d = r.decode_tok_s["max"] if r.decode_tok_s else None
        if not ended or chunks < serverbench.MIN_TOKENS:
            fails.append(f"stored a sample from {chunks} chunks, ended={ended}")
        if d is None or d > store.MAX_DECODE_TOK_S:
            fails.append(f"stored decode {d}")
    if plan.good and rc != 0:
        fails.append("a good stream was refused")
    return rc, e.strip(), took, fails


def run(seconds: float, seed: int, timeout: float, max_inputs: int) -> int:
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="server_fuzz_")
    statuses: collections.Counter = collections.Counter()
    kinds: collections.Counter = collections.Counter()
    reasons: collections.Counter = collections.Counter()
    failures = []
    slowest = (0.0, "")
    proc = psutil.Process()
    peak = proc.memory_info().rss
    start = time.monotonic()
    n = 0
    try:
        while time.monotonic() - start < seconds and n < max_inputs:
            plan = Plan(random.Random(rng.getrandbits(64)))
            n += 1
            rc, err, took, fails = one(plan, timeout, os.path.join(work, "home"))
            statuses[rc] += 1
            if rc == 2:     # the refusal, without the URL, numbers and quoted text
                why = re.sub(r"https?://\S+?: ", "", err.replace("rigcheck: error: ", ""))
                reasons[re.sub(r"\d[\d,.]*", "N", re.sub(r"\(.*", "", why))[:70].strip()] += 1
            kinds["good" if plan.good else "hostile"] += 1
            peak = max(peak, proc.memory_info().rss)
            if took > slowest[0]:
                slowest = (took, plan.describe())
            if fails:
                failures.append((fails, plan.describe(), err[:300]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"server_fuzz: seed {seed}, {n} inputs in {time.monotonic() - start:.0f} s "
          f"({kinds['hostile']} hostile, {kinds['good']} well-behaved), client --timeout {timeout:g} s")
    print("exit statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    print(f"refusals by reason ({len(reasons)} kinds): " + "; ".join(f"{k} [{v}]" for k, v in reasons.most_common(12)))
    print(f"slowest input: {slowest[0]:.2f} s ({slowest[1][:200]})")
    print(f"peak RSS of this process: {peak / 1e6:.0f} MB")
    print(f"failures: {len(failures)}")
    for fails, desc, err in failures[:20]:
        print(f"  - {'; '.join(fails)}\n    plan: {desc[:300]}\n    stderr: {err}")
    return 1 if failures else 0


def cli() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=120.0, help="stop after this long (default 120)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=1.0, help="the client's --timeout (default 1 s)")
    ap.add_argument("--max-inputs", type=int, default=100_000)
    a = ap.parse_args()
    return run(a.seconds, a.seed, a.timeout, a.max_inputs)


if __name__ == "__main__":
    sys.exit(cli())
