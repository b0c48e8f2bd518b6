"""Request limits in front of the app (a plain ASGI middleware): the Host header (a page
bound to 127.0.0.1 answers only to local names, which stops DNS rebinding), the length of
the path and query string, request bodies (none are needed: the API is GET only), and a
per-client token-bucket rate limit on /api/. Every refusal is a JSON ``{"error": ...}``
with a 4xx status. It also adds the security headers every response carries.
"""

from __future__ import annotations

import json
import threading
import time

MAX_QUERY = 2048          # bytes of query string
MAX_PATH = 512            # bytes of path
MAX_BODY = 16 * 1024      # bytes of request body
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")

HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
     b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
]


class TokenBucket:
    """``rate`` requests a second per client, bursts of ``burst``."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = float(rate), float(burst)
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 if the request may go ahead, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._state.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._state[client] = (tokens - 1.0, now)
                if len(self._state) > 10000:          # bounded memory: forget the oldest
                    for k in list(self._state)[:5000]:
                        del self._state[k]
                return 0.0
            self._state[client] = (tokens, now)
            return (1.0 - tokens) / self.rate


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


async def _send_error(send, status: int, message: str, extra: list | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *HEADERS, *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    def __init__(self, app, *, rate: float | None = 50.0, burst: int = 100,
                 allowed_hosts: tuple[str, ...] | None = None):
        self.app = app
        self.bucket = TokenBucket(rate, burst) if rate else None
        self.allowed_hosts = tuple(h.lower() for h in allowed_hosts) if allowed_hosts else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        if self.allowed_hosts is not None:
            host = _host_name(headers.get("host", ""))
            if host not in self.allowed_hosts:
                return await _send_error(send, 400, f"host '{host}' is not served here: open the page at "
                                                    "http://127.0.0.1 (the address 'rigcheck serve' printed)")
        if len(scope.get("query_string") or b"") > MAX_QUERY:
            return await _send_error(send, 414, f"query string too long ({MAX_QUERY} bytes at most)")
        if len(scope.get("raw_path") or scope.get("path", "").encode()) > MAX_PATH:
            return await _send_error(send, 414, f"path too long ({MAX_PATH} bytes at most)")
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            return await _send_error(send, 400, "content-length is not a number")
        if length > MAX_BODY or "chunked" in headers.get("transfer-encoding", "").lower():
            return await _send_error(send, 413, f"request body too large ({MAX_BODY} bytes at most; "
                                                "the API takes none: use GET with a query string)")
        if self.bucket is not None and scope.get("path", "").startswith("/api/"):
            client = (scope.get("client") or ("?", 0))[0]
            wait = self.bucket.take(client)
            if wait > 0:
                return await _send_error(send, 429, f"too many requests: try again in {wait:.1f} s",
                                         [(b"retry-after", str(max(1, round(wait))).encode())])

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", []), *HEADERS])
            await send(message)

        await self.app(scope, receive, send_with_headers)
