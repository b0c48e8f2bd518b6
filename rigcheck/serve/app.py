"""The FastAPI application: the page, its assets and the JSON API.

Each report is built by the function the CLI's ``--json`` uses (``cli.check.check_report``,
``cli.tiers.tiers_report``, ``cli.models.rows``, ``cli.rigs.rigs_json``, ``cli.rig.rig_json``)
and encoded by ``report.jsonout.to_plain``, so the field names are the CLI's. Checks and tier
tables are cached on the normalized query (:mod:`.cache`), and a repeated query string is
answered before FastAPI runs (:mod:`.fastpath`). Errors are ``{"error": "..."}``
with a 4xx status, never a traceback.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import InputError, RigcheckError, UnknownNameError
from . import queries, schemas
from .cache import LRU
from .fastpath import FastPath
from .guard import LOCAL_HOSTS, Guard

log = logging.getLogger("rigcheck.serve")
STATIC = Path(__file__).with_name("static")
PAGE_FILES = {"app.js": "text/javascript", "app.css": "text/css"}


def plotly_js() -> Path:
    """plotly.min.js from the installed plotly package (served offline; never a CDN)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.origin:
        raise RigcheckError("rigcheck serve draws its charts with plotly.js from the plotly package: "
                            "pip install 'rigcheck[serve]'")
    return Path(spec.origin).parent / "package_data" / "plotly.min.js"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _encode(obj) -> bytes:
    from ..report.jsonout import to_plain
    return json.dumps(to_plain(obj), separators=(",", ":")).encode()


def _status_of(e: Exception) -> int:
    if isinstance(e, UnknownNameError):
        return 404
    if isinstance(e, InputError):
        return 400
    return 422


def _compute(fn) -> tuple[int, bytes]:
    """(status, body) of a report builder: the JSON, or the error line of a RigcheckError, or of
    a bug (logged here with its traceback; the browser gets one line)."""
    try:
        return 200, _encode(fn())
    except RigcheckError as e:
        return _status_of(e), json.dumps({"error": str(e)}).encode()
    except Exception as e:  # noqa: BLE001 - a bug in rigcheck: one line out, the traceback in the log
        log.exception("internal error")
        return 422, json.dumps({"error": f"rigcheck could not evaluate this query (internal error: "
                                         f"{type(e).__name__}: {e}); please report it"}).encode()


def _respond(status_body: tuple[int, bytes]) -> Response:
    status, body = status_body
    return Response(content=body, status_code=status, media_type="application/json")


def create_app(*, rate: float | None = 50.0, burst: int = 100, allowed_hosts: tuple[str, ...] | None = None,
               cache_size: int = 512):
    """The ASGI app. ``rate``/``burst``: the per-client limit on /api/ (None: no limit);
    ``allowed_hosts``: the Host names answered (None: any; 'rigcheck serve' on 127.0.0.1
    passes the local names)."""
    app = FastAPI(title="rigcheck", version=__version__,
                  description="The hardware reality check for local LLMs, as a JSON API. Field names are "
                              "those of the CLI's --json. Models are catalogue ids, aliases or Hub ids; rigs "
                              "are specs or catalogue ids; never file paths.",
                  docs_url=None, redoc_url=None)
    cache = LRU(cache_size)          # answers by normalized query
    sent = LRU(4 * cache_size)       # suggestions by what was typed
    app.state.cache = cache

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(x) for x in err.get("loc", ()) if x != "query")
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return _error(400, "bad query: " + "; ".join(parts) + " (see /openapi.json)")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        msg = {404: f"no such page: {request.url.path} (the API is under /api/, the page at /)",
               405: f"{request.method} is not allowed here: the API takes GET"}.get(exc.status_code, str(exc.detail))
        resp = _error(exc.status_code if exc.status_code < 500 else 422, msg)
        resp.headers.update(getattr(exc, "headers", None) or {})       # 405 keeps its Allow header
        return resp

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception):
        log.error("internal error on %s", request.url.path, exc_info=exc)
        return _error(422, f"rigcheck could not answer this request (internal error: {type(exc).__name__}); "
                           "please report it")

    # ---- the page ---------------------------------------------------------------------

    index_html = (STATIC / "index.html").read_bytes()

    @app.get("/", include_in_schema=False)
    def page():
        return Response(index_html, media_type="text/html; charset=utf-8",
                        headers={"cache-control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return Response(status_code=204)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        if name == "plotly.min.js":
            return Response(plotly_js().read_bytes(), media_type="text/javascript",
                            headers={"cache-control": "max-age=86400"})
        if name not in PAGE_FILES:
            return _error(404, f"no such asset: {name}")
        return Response((STATIC / name).read_bytes(), media_type=PAGE_FILES[name],
                        headers={"cache-control": "no-cache"})

    # ---- the API ----------------------------------------------------------------------

    # fresh Query objects per parameter: FastAPI records a parameter's name on its FieldInfo
    def Model():
        return Query(..., max_length=queries.MAX_VALUE, description="catalogue id, alias or Hub id (owner/name)",
                     examples=["deepseek-v4-flash"])

    def Rig():
        return Query("", max_length=queries.MAX_VALUE,
                     description="rig spec or catalogue id (see /api/rigs); empty: this machine",
                     examples=["rtx-5090+128GB"])

    def Ctx():
        return Query(None, ge=1, le=queries.MAX_CTX, description="context length in tokens "
                     "(default 32768, or the model's maximum)", examples=[32768])

    def Runtime():
        return Query("", max_length=40, description="evaluate only builds this runtime loads; empty: each "
                     "build's own", examples=["llama.cpp"])

    @app.get("/api/meta", responses=schemas.responses(schemas.META), summary="What the page draws with")
    def meta():
        from .. import runtimes
        from ..report.html import page_pieces
        return JSONResponse(dict(page_pieces(), runtimes=runtimes.names(), version=__version__,
                                 ctx_min=512, ctx_max=queries.MAX_CTX))

    @app.get("/api/models", responses=schemas.responses(schemas.MODELS), summary="rigcheck models --json")
    def models():
        def build():
            from ..cli.models import rows
            return rows()
        return _respond(cache.get_or_compute(("models",), lambda: _compute(build)))

    @app.get("/api/suggest", responses=schemas.responses(schemas.SUGGEST),
             summary="Model names for the search box: catalogue ids and aliases, and Hub ids when online")
    async def suggest(q: str = Query(..., max_length=100, description="what the user typed so far",
                                     examples=["deepseek"])):
        def build():
            try:
                local = queries.suggestions(q)
                hub, how = queries.hub_suggestions(q)
            except RigcheckError as e:
                return _status_of(e), json.dumps({"error": str(e)}).encode()
            seen = {d["id"].lower() for d in local}
            hub = [d for d in hub if d["id"].lower() not in seen]
            return 200, json.dumps({"query": q, "suggestions": local + hub, "hub": how}).encode()
        hit = sent.get(("suggest", q))
        if hit is None:
            hit = await run_in_threadpool(build)
            if hit[0] == 200 and b'"hub": "ok"' in hit[1]:      # a Hub that did not answer is asked again
                sent.put(("suggest", q), hit)
        return _respond(hit)

    @app.get("/api/rigs", responses=schemas.responses(schemas.RIGS), summary="rigcheck rigs --json")
    def rigs(kind: Literal["", "gpu", "soc", "cpu", "link", "tier"] = Query(
            "", description="gpu, soc, cpu, link or tier; empty: all")):

        def build():
            from ..cli.rigs import rigs_json
            return rigs_json(kind or None)
        return _respond(cache.get_or_compute(("rigs", kind), lambda: _compute(build)))

    @app.get("/api/rig", responses=schemas.responses(schemas.RIG), summary="rigcheck rig SPEC --json")
    def rig(spec: str = Rig()):
        def build():
            from ..cli.rig import rig_json
            return rig_json(queries.load_rig(spec)[0])
        return _respond(_compute(build))

    def check_answer(model: str, rig: str, ctx: int | None, runtime: str) -> tuple[int, bytes]:
        try:
            m = queries.load_model(model)
            r, rig_key = queries.load_rig(rig)
            rt = queries.runtime_name(runtime)
            from ..memory.kv import resolve_ctx
            n = resolve_ctx(m, queries.ctx_value(ctx))
        except RigcheckError as e:
            return _status_of(e), json.dumps({"error": str(e)}).encode()

        def build():
            from ..cli.check import check_report
            return check_report(m, r, ctx=n, runtime=rt, curve=True)
        return cache.get_or_compute(("check", m.id, m.source, rig_key, n, rt), lambda: _compute(build))

    def tiers_answer(model: str, ctx: int | None, runtime: str) -> tuple[int, bytes]:
        try:
            m = queries.load_model(model)
            rt = queries.runtime_name(runtime)
            from ..memory.kv import resolve_ctx
            n = resolve_ctx(m, queries.ctx_value(ctx))
        except RigcheckError as e:
            return _status_of(e), json.dumps({"error": str(e)}).encode()

        def build():
            from ..cli.tiers import tiers_report
            return tiers_report(m, ctx=n, runtime=rt)
        return cache.get_or_compute(("tiers", m.id, m.source, n, rt), lambda: _compute(build))

    async def answer(raw: tuple, fn, *args) -> Response:
        """Normalized and computed (or found in the normalized cache) in a worker thread; a
        repeat of the same query string never gets here (fastpath.FastPath answers it)."""
        return _respond(await run_in_threadpool(fn, *args))

    @app.get("/api/check", responses=schemas.responses(schemas.CHECK),
             summary="rigcheck check MODEL --rig RIG --ctx N --runtime RT --json (with the decode curve)")
    async def check(model: str = Model(), rig: str = Rig(), ctx: int | None = Ctx(), runtime: str = Runtime()):
        return await answer(("check", model, rig, ctx, runtime), check_answer, model, rig, ctx, runtime)

    @app.get("/api/tiers", responses=schemas.responses(schemas.TIERS),
             summary="rigcheck tiers MODEL --ctx N --runtime RT --json")
    async def tiers(model: str = Model(), ctx: int | None = Ctx(), runtime: str = Runtime()):
        return await answer(("tiers", model, ctx, runtime), tiers_answer, model, ctx, runtime)

    fast = FastPath(app, maxsize=4 * cache_size)
    app.state.fastpath = fast
    return Guard(fast, rate=rate, burst=burst, allowed_hosts=allowed_hosts)


def serve(host: str = "127.0.0.1", port: int = 8731, *, open_browser: bool = False, rate: float | None = 50.0,
          quiet: bool = False) -> None:
    """Run the app under uvicorn until interrupted; print the address once it listens."""
    import threading
    import time

    import uvicorn
    local = host in LOCAL_HOSTS
    if not local:
        print(f"rigcheck serve: warning: listening on {host}, not 127.0.0.1: anyone who can reach this "
              f"machine on port {port} can use the page and its API", file=sys.stderr, flush=True)
    app = create_app(rate=rate, allowed_hosts=LOCAL_HOSTS if local else None)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))

    def announce():
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.05)
        bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else ("[::1]" if host == "::1" else host)
        url = f"http://{shown}:{bound}/"
        if not quiet:
            print(f"rigcheck serve: {url}  (Ctrl-C stops it)", file=sys.stderr, flush=True)
        if open_browser:
            import webbrowser
            webbrowser.open(url)
    import socket
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))          # bound here, so a busy port is one clear line (cli.serve)
    except OSError:
        sock.close()
        raise
    threading.Thread(target=announce, daemon=True).start()
    server.run(sockets=[sock])


class Background:
    """A real uvicorn server for this app in a thread on 127.0.0.1 (port 0: a free one), for the
    browser test and the load bench: ``with Background(app) as url: ...``."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        import uvicorn
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                    access_log=False, lifespan="off"))
        self.thread = None

    def __enter__(self) -> str:
        import threading
        import time
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
