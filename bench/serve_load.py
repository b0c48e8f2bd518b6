"""Load test of 'rigcheck serve' on 127.0.0.1: requests/s and p50/p99 latency of /api/check.

Goal (issue 16): p99 under 200 ms at 20 concurrent clients. The server runs as its own
process ('python -m rigcheck serve', rate limit off for the test); the clients are threads
here (http.client, the lightest client the standard library has, so the client steals little
of the CPU the server runs on), each with its own keep-alive connection. Bounded: a fixed number of requests, then
it stops the server and exits.

  cold: every request is a query not seen before (model x rig x context), so each one is
        a full check (the compute-heavy path the cache exists for)
  warm: the same queries again, --requests in all, spread over the clients (cache hits)

    python bench/serve_load.py                       # 20 clients, 60 cold queries, 2000 warm
    python bench/serve_load.py --clients 20 --requests 4000
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import requests

MODELS = ["deepseek-v4-flash", "qwen3-30b-a3b", "gpt-oss-120b", "gpt-oss-20b", "llama-3.1-8b-instruct",
          "llama-3.1-70b-instruct", "gemma-3-27b-it", "qwen3-235b-a22b", "deepseek-v3", "gemma-3-4b-it"]
RIGS = ["rtx-5090+128GB", "m4-max-128", "rtx-4090+64GB"]
CTXS = [8192, 32768]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "rigcheck", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--rate", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/api/meta"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read()}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("server did not start within 60 s")


def run_phase(base: str, queries: list[dict], clients: int) -> tuple[list[float], float, int]:
    local = threading.local()
    errors = 0
    lock = threading.Lock()

    host, port = base.rsplit("/", 1)[-1].split(":")

    def one(q):
        nonlocal errors
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(host, int(port), timeout=300)
        path = "/api/check?" + urlencode(q)
        t = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        dt = time.perf_counter() - t
        if r.status != 200 or not body:
            with lock:
                errors += 1
        return dt

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex:
        lat = list(ex.map(one, queries))
    return lat, time.perf_counter() - t0, errors


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs)) - 1))]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def report(name: str, lat: list[float], wall: float, errors: int, clients: int, server_cpu: float,
           client_cpu: float) -> None:
    ms = [x * 1000 for x in lat]
    print(f"{name:5}  {len(ms):5d} requests  {clients} clients  {len(ms) / wall:8.1f} req/s  "
          f"p50 {statistics.median(ms):7.1f} ms  p90 {pct(ms, 90):7.1f} ms  p99 {pct(ms, 99):7.1f} ms  "
          f"max {max(ms):7.1f} ms  errors {errors}  CPU per request: server {1000 * server_cpu / len(ms):.2f} ms, "
          f"clients {1000 * client_cpu / len(ms):.2f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--cold", type=int, default=60, help="distinct queries (at most %d)" % (len(MODELS) * len(RIGS) * len(CTXS)))
    ap.add_argument("--requests", type=int, default=2000, help="warm requests")
    args = ap.parse_args()
    queries = [{"model": m, "rig": r, "ctx": c} for m, r, c in itertools.product(MODELS, RIGS, CTXS)][:args.cold]
    port = free_port()
    proc = start_server(port)
    base = f"http://127.0.0.1:{port}"
    try:
        print(f"rigcheck serve on {base} (pid {proc.pid}); {os.cpu_count()} CPUs here; /api/check")
        def phase(name, qs):
            s0, c0 = cpu_s(proc.pid), time.process_time()
            lat, wall, err = run_phase(base, qs, args.clients)
            report(name, lat, wall, err, args.clients, cpu_s(proc.pid) - s0, time.process_time() - c0)
            return lat
        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work shares these CPUs)")
        phase("cold", queries)
        lat = phase("warm", list(itertools.islice(itertools.cycle(queries), args.requests)))
        goal = pct([x * 1000 for x in lat], 99)
        print(f"goal: warm p99 under 200 ms at {args.clients} clients: {'met' if goal < 200 else 'NOT met'} "
              f"({goal:.1f} ms)")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
