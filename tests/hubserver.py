"""A small Hugging Face Hub on 127.0.0.1, in the Hub's API shape, for tests (a thread).

    hub = HubServer(); hub.start()           # hub.url -> HF_ENDPOINT
    hub.add_repo("org/name", {"model.gguf": "/path/on/disk", "config.json": b"{...}"},
                 gated=False, base_model="org/base")
    hub.add_virtual("org/evil", "x.gguf", size, generate, mode="drip")

Routes, as the Hub answers them (huggingface_hub 2.4's client reads these):
  GET  /api/models/{repo}[/revision/{rev}]   model info: sha, siblings with size and lfs
                                             (?blobs=true), cardData.base_model; an ETag,
                                             304 on If-None-Match
  GET  /api/models/{repo}/tree/{rev}         the file listing (type, path, size, oid, lfs)
  GET  /api/models?search=..&filter=..       model search; filter base_model:quantized:X
  GET/HEAD /{repo}/resolve/{rev}/{path}      the file, with Range (206 + Content-Range),
                                             ETag and Content-Length
Errors: 401 with X-Error-Code GatedRepo for a gated repo without a token, 404 with
X-Error-Code RepoNotFound / EntryNotFound, 429 with Retry-After for a rate-limited repo.

Hostile files (``add_virtual``): content made lazily by ``generate(offset, length)`` for a
file of any claimed size; ``mode`` 'drip' sends one small piece per ``drip_s`` seconds,
'ignore_range' answers every GET with 200 and the whole body. ``sent[path]`` counts the
body bytes the server managed to write for each file, for asserting bounded reads on
what the server sent rather than on wall time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class VFile:
    size: int
    read: object                      # read(offset, length) -> bytes
    etag: str
    lfs: bool
    mode: str = ""                    # '' | 'drip' | 'ignore_range'
    drip_s: float = 0.05


@dataclass
class Repo:
    files: dict = field(default_factory=dict)
    sha: str = ""
    gated: bool = False
    rate_limited: bool = False
    base_model: list = field(default_factory=list)
    tags: list = field(default_factory=list)


def _disk(path: str):
    def read(off, n):
        with open(path, "rb") as f:
            f.seek(off)
            return f.read(n)
    return read


def _mem(data: bytes):
    return lambda off, n: data[off:off + n]


class HubServer:
    TOKEN = "hf_test_token"

    def __init__(self):
        self.repos: dict[str, Repo] = {}
        self.sent: dict[str, int] = {}
        self.requests: list[tuple[str, str, str]] = []       # (method, path, range)
        self.lock = threading.Lock()
        self.httpd = None

    # ---- content ----------------------------------------------------------------
    def add_repo(self, repo: str, files: dict, *, gated: bool = False, base_model=None, tags=()) -> Repo:
        r = self.repos.setdefault(repo, Repo())
        r.gated = gated
        r.base_model = [base_model] if isinstance(base_model, str) else list(base_model or [])
        r.tags = list(tags)
        for path, src in files.items():
            if isinstance(src, (bytes, bytearray)):
                data = bytes(src)
                r.files[path] = VFile(len(data), _mem(data), hashlib.sha1(data).hexdigest(),
                                      lfs=not path.endswith((".json", ".md")))
            else:
                size = os.path.getsize(src)
                h = hashlib.sha256(f"{os.path.abspath(src)}:{size}:{os.path.getmtime(src)}".encode()).hexdigest()
                r.files[path] = VFile(size, _disk(src), h, lfs=True)
        self._sha(repo)
        return r

    def add_virtual(self, repo: str, path: str, size: int, generate, *, mode: str = "", drip_s: float = 0.05):
        r = self.repos.setdefault(repo, Repo())
        r.files[path] = VFile(size, generate, hashlib.sha256(f"{repo}/{path}/{size}/{mode}".encode()).hexdigest(),
                              lfs=True, mode=mode, drip_s=drip_s)
        self._sha(repo)

    def _sha(self, repo: str):
        r = self.repos[repo]
        r.sha = hashlib.sha1(json.dumps(sorted((p, f.etag) for p, f in r.files.items())).encode()).hexdigest()

    # ---- server -----------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> "HubServer":
        hub = self

        class Handler(_Handler):
            server_hub = hub
        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()

    def count(self, path: str, n: int):
        with self.lock:
            self.sent[path] = self.sent.get(path, 0) + n


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client that hangs up (rigcheck stopping a hostile read) is not an error to
        print; anything else is."""
        import sys
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


_INFO = re.compile(r"^/api/models/([^/]+/[^/]+?)(?:/revision/([^/]+))?$")
_TREE = re.compile(r"^/api/models/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?$")
_RESOLVE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


class _Handler(BaseHTTPRequestHandler):
    server_hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    # ---- helpers ----------------------------------------------------------------
    def _send(self, code: int, body: bytes = b"", headers: dict | None = None, head: bool = False):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def _json(self, obj, headers=None):
        self._send(200, json.dumps(obj).encode(), dict({"Content-Type": "application/json"}, **(headers or {})))

    def _error(self, code: int, error_code: str, msg: str, extra=None):
        h = {"X-Error-Code": error_code, "X-Error-Message": msg, "Content-Type": "application/json"}
        h.update(extra or {})
        self._send(code, json.dumps({"error": msg}).encode(), h, head=self.command == "HEAD")

    def _repo(self, repo_id: str) -> Repo | None:
        hub = self.server_hub
        r = hub.repos.get(repo_id)
        if r is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        if r.rate_limited:
            self._error(429, "", "Too many requests", {"Retry-After": "7"})
            return None
        if r.gated and self.headers.get("Authorization") != f"Bearer {HubServer.TOKEN}":
            self._error(401, "GatedRepo", "Access to this model is restricted: you must be authenticated")
            return None
        return r

    # ---- routes -----------------------------------------------------------------
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        hub = self.server_hub
        u = urlsplit(self.path)
        path, q = unquote(u.path), parse_qs(u.query)
        hub.requests.append((self.command, path, self.headers.get("Range", "")))
        if path == "/api/models":
            return self._search(q)
        m = _TREE.match(path)
        if m:
            r = self._repo(m.group(1))
            if r is not None:
                self._json([{"type": "file", "path": p, "size": f.size, "oid": f.etag[:40],
                             **({"lfs": {"oid": f.etag, "size": f.size, "pointerSize": 134}} if f.lfs else {})}
                            for p, f in sorted(r.files.items())])
            return
        m = _INFO.match(path)
        if m:
            return self._info(m.group(1), m.group(2))
        m = _RESOLVE.match(path)
        if m:
            return self._resolve(m.group(1), m.group(2), m.group(3))
        self._error(404, "", "no such route")

    def _search(self, q):
        hub = self.server_hub
        term = (q.get("search") or [""])[0].lower()
        filters = q.get("filter") or []
        limit = int((q.get("limit") or ["1000"])[0])
        out = []
        for rid, r in sorted(hub.repos.items()):
            if term and term not in rid.lower():
                continue
            ok = True
            for filt in filters:       # every filter must hold: base_model:quantized:X, or a tag
                if filt.startswith("base_model:quantized:"):
                    ok &= filt.split(":", 2)[2] in r.base_model
                else:
                    ok &= filt in r.tags
            if ok:
                out.append({"id": rid, "modelId": rid, "tags": r.tags, "private": False, "sha": r.sha})
        self._json(out[:limit])

    def _info(self, repo_id, rev):
        r = self._repo(repo_id)
        if r is None:
            return
        if rev not in (None, "main", r.sha):
            return self._error(404, "RevisionNotFound", "Invalid rev id")
        etag = f'W/"{r.sha}"'
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, b"", {"ETag": etag})
        sib = []
        for p, f in sorted(r.files.items()):
            row = {"rfilename": p, "size": f.size, "blobId": f.etag[:40]}
            if f.lfs:
                row["lfs"] = {"sha256": f.etag, "size": f.size, "pointerSize": 134}
            sib.append(row)
        self._json({"_id": "x", "id": repo_id, "modelId": repo_id, "sha": r.sha, "private": False,
                    "gated": "manual" if r.gated else False, "tags": r.tags, "siblings": sib,
                    "cardData": {"base_model": r.base_model} if r.base_model else {}}, {"ETag": etag})

    def _resolve(self, repo_id, rev, fpath):
        r = self._repo(repo_id)
        if r is None:
            return
        f = r.files.get(fpath)
        if f is None:
            return self._error(404, "EntryNotFound", "Entry not found")
        head = self.command == "HEAD"
        base = {"ETag": f'"{f.etag}"', "Accept-Ranges": "bytes", "X-Repo-Commit": r.sha,
                "Content-Type": "application/octet-stream"}
        rng = self.headers.get("Range", "")
        m = re.match(r"bytes=(\d+)-(\d*)$", rng)
        if m and f.mode != "ignore_range":
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else f.size - 1, f.size - 1)
            if start >= f.size:
                return self._error(416, "", "Range Not Satisfiable", {"Content-Range": f"bytes */{f.size}"})
            code, hdrs = 206, dict(base, **{"Content-Range": f"bytes {start}-{end}/{f.size}"})
        else:
            start, end, code, hdrs = 0, f.size - 1, 200, base
        n = end - start + 1
        self.send_response(code)
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        if head:
            return
        step = 16 if f.mode == "drip" else 1 << 16
        pos = start
        try:
            while pos <= end:
                k = min(step, end - pos + 1)
                data = f.read(pos, k)
                self.wfile.write(data)
                self.server_hub.count(fpath, len(data))
                pos += k
                if f.mode == "drip":
                    self.wfile.flush()
                    time.sleep(f.drip_s)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            self.close_connection = True
