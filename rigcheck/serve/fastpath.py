"""Answers already given, served again before the web framework runs (a plain ASGI layer).

A repeat of ``GET /api/check?...`` with the same query string gets the same bytes: the
report for a query never changes while the server runs. Only 200 answers of the report
endpoints are kept (an error may be a Hub that was unreachable a moment ago), in an LRU
keyed on path and raw query string. The normalized-query cache inside the app serves a
query spelled differently (an alias, another spacing of the rig spec).
"""

from __future__ import annotations

from .cache import LRU

CACHED_PATHS = ("/api/check", "/api/tiers", "/api/models", "/api/rigs")


class FastPath:
    def __init__(self, app, maxsize: int = 2048, paths: tuple[str, ...] = CACHED_PATHS):
        self.app = app
        self.paths = frozenset(paths)
        self.lru = LRU(maxsize)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET" or scope.get("path") not in self.paths:
            return await self.app(scope, receive, send)
        key = (scope["path"], scope.get("query_string") or b"")
        hit = self.lru.get(key)
        if hit is not None:
            headers, body = hit
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        seen: dict = {}

        async def keep(message):
            if message["type"] == "http.response.start":
                seen["status"], seen["headers"], seen["body"] = message["status"], list(message.get("headers", [])), []
            elif message["type"] == "http.response.body" and seen.get("status") == 200:
                seen["body"].append(message.get("body", b""))
                if not message.get("more_body"):
                    self.lru.put(key, (seen["headers"], b"".join(seen["body"])))
            await send(message)

        await self.app(scope, receive, keep)
