"""rigcheck serve: the reality check as a local web page (FastAPI + uvicorn)."""

from __future__ import annotations

EPILOG = """Examples:
  rigcheck serve                       # http://127.0.0.1:8731/
  rigcheck serve --open                # and open it in the browser
  rigcheck serve --port 9000
  rigcheck serve --host 0.0.0.0        # reachable from other machines (warns)

The page: pick a model (catalogue ids and aliases are suggested), a rig (this machine,
the article's tier presets, or a spec of your own, validated as you type), slide the
context and pick a runtime; the build table, memory bars, decode curve, tier table, what
to run instead, upgrade costs and launch commands follow. The view lives in the URL, so a
link reproduces it. The JSON API is under /api/ (schema at /openapi.json), with the field
names of the CLI's --json. Nothing is fetched from the internet; no file path is read.
"""


def register(sub):
    p = sub.add_parser("serve", help="the reality check as a local web page and JSON API",
                       description="Serve the reality check as a web page on this machine, over a JSON "
                                   "API with the same reports as --json.", epilog=EPILOG)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8731, help="port (default 8731; 0 picks a free one)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.add_argument("--rate", type=float, default=50.0,
                   help="API requests per second allowed per client, bursts of 100 (default 50; 0: no limit)")
    return p


def run(args) -> int:
    from ..errors import InputError, RigcheckError
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be 0-65535, not {args.port}")
    if args.rate < 0:
        raise InputError(f"--rate must be 0 or more requests per second, not {args.rate:g}")
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise RigcheckError("rigcheck serve needs FastAPI and uvicorn: pip install 'rigcheck[serve]'") from None
    from ..serve.app import serve
    try:
        serve(args.host, args.port, open_browser=args.open, rate=args.rate or None)
    except OSError as e:
        raise InputError(f"cannot listen on {args.host}:{args.port}: {e.strerror or e} "
                         "(try another --port or --host)") from None
    except KeyboardInterrupt:
        pass
    return 0
