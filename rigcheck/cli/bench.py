"""rigcheck bench: measure a real run and keep the result."""

from __future__ import annotations

import argparse
import sys
import time

from ..errors import FormatError, InputError

EPILOG = """Examples:
  rigcheck bench model.gguf                              # llama.cpp via llama-cpp-python
  rigcheck bench model.gguf --prefill 512 --decode 128 --repeats 3
  rigcheck bench --server http://127.0.0.1:8080          # llama-server, Ollama, LM Studio, vLLM, SGLang
  rigcheck bench --server http://127.0.0.1:11434 --model qwen3:8b
  rigcheck bench --server http://127.0.0.1:8080 --timeout 900   # a slow model: 15 minutes per request
  rigcheck bench --list
  rigcheck bench --list --json

Results go to $RIGCHECK_HOME/measurements.db (default ~/.local/share/rigcheck/measurements.db),
one transaction per repeat: an interrupted bench keeps the repeats it finished.
llama.cpp runs in a child process: if it crashes (a build that uses CPU instructions this
machine cannot run dies with SIGILL), bench says so in one line, exits 2, and stores nothing
unless repeats were finished before the crash.
--server: every request has an overall deadline (--timeout, default 300 s), and a repeat is
stored only if it is physically plausible (at least 8 tokens streamed and counted, spread
over at least 20 ms, a token count the server's own usage agrees with, below 20,000 tok/s);
a misbehaving server gets one line, exit status 2, and nothing stored.
If the store cannot be used (damaged, locked, from a newer rigcheck, read-only), bench says
so in one line and exits 2; 'check' goes on without your measurements.
'rigcheck estimate' shows them beside its predictions.
"""


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("bench", help="measure a .gguf file or a running server; keep the result",
                              description="Measure prefill and decode speed of a real run and store it.",
                              epilog=EPILOG)
    p.add_argument("file", nargs="?", metavar="FILE.gguf", help="a GGUF model file to run with llama.cpp")
    p.add_argument("--server", metavar="URL", help="an OpenAI-compatible server to measure instead")
    p.add_argument("--model", help="with --server: the served model to use (default: the first listed)")
    p.add_argument("--prefill", type=int, default=512, metavar="N", help="prompt tokens (default 512)")
    p.add_argument("--decode", type=int, default=128, metavar="M", help="generated tokens (default 128)")
    p.add_argument("--repeats", type=int, default=3, metavar="R", help="repeats (default 3)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for llama.cpp (default: its own)")
    p.add_argument("--gpu-layers", type=int, default=-1, help="layers to offload to the GPU (default all)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="with --server: the overall deadline of each request (default 300)")
    p.add_argument("--list", action="store_true", help="show stored results")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


class Progress:
    """A one-line progress bar on stderr (only when stderr is a terminal or forced)."""

    def __init__(self, label: str, stream=None, force: bool = False):
        self.label = label
        self.stream = stream or sys.stderr
        try:
            self.shown = force or self.stream.isatty()
        except (AttributeError, ValueError):
            self.shown = False
        self.last = 0.0
        self.open = False    # a bar is on the line, not ended yet

    def end(self) -> None:
        """End a bar left unfinished (a crash, ^C), so the next message starts on its own line."""
        if self.open:
            self.stream.write("\n")
            self.stream.flush()
            self.open = False

    def __call__(self, done: int, total: int) -> None:
        if not self.shown:
            return
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        fill = int(width * done / max(total, 1))
        self.stream.write(f"\r{self.label} [{'#' * fill}{'.' * (width - fill)}] {done}/{total} tokens")
        self.open = done < total
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def _check_counts(args) -> None:
    for name in ("prefill", "decode", "repeats"):
        v = getattr(args, name)
        if v < 1 or v > 1_000_000:
            raise InputError(f"--{name} must be between 1 and 1,000,000 (got {v})")
    if args.server:
        from ..measure import serverbench
        if args.decode < serverbench.MIN_TOKENS:
            raise InputError(f"--decode {args.decode}: a server bench needs at least {serverbench.MIN_TOKENS} "
                             "tokens to time")
        t = serverbench.DEFAULT_TIMEOUT_S if args.timeout is None else args.timeout
        if not 0 < t <= serverbench.MAX_TIMEOUT_S:      # also refuses nan
            raise InputError(f"--timeout must be more than 0 and at most {serverbench.MAX_TIMEOUT_S:,.0f} seconds "
                             f"(got {args.timeout})")
        args.timeout = t
    elif args.timeout is not None:
        raise InputError("--timeout is for --server (a file bench runs llama.cpp here, with no deadline)")


def _rig_spec() -> str:
    try:
        from ..hardware.detect import detect
        return detect().spec
    except Exception:  # noqa: BLE001 - a bench still counts without the rig
        return "unknown"


def run(args) -> int:
    from ..measure import store
    if args.list:
        return _list(args)
    if bool(args.file) == bool(args.server):
        raise InputError("give a .gguf file or --server URL (or --list); see 'rigcheck bench --help'")
    _check_counts(args)
    if args.server:
        return _server(args, store)
    return _file(args, store)


def _file(args, store) -> int:
    from ..measure import filebench
    from ..measure.describe import gguf_identity
    filebench.check_gguf(args.file)
    try:
        name, model_id, build = gguf_identity(args.file)
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001
        raise InputError(f"{args.file}: cannot read its GGUF header ({e})") from e
    rig = _rig_spec()
    conn = store.connect()
    run = {"id": None, "repeats": 0, "version": "llama-cpp-python (unknown version)"}

    def ready(version):
        run["version"] = version

    def keep(i, s):
        # the run is stored with its first repeat: a llama.cpp that crashes before leaves nothing behind
        if run["id"] is None:
            run["id"] = store.start_run(
                conn, kind="file", target=args.file, model=name, model_id=model_id, build=build,
                runtime="llama.cpp", runtime_version=run["version"], rig=rig, prefill_tokens=args.prefill,
                decode_tokens=args.decode, repeats=args.repeats,
                extra={"threads": args.threads, "gpu_layers": args.gpu_layers})
        store.add_sample(conn, run["id"], prefill_tok_s=s.prefill_tok_s, decode_tok_s=s.decode_tok_s,
                         peak_rss_bytes=s.peak_rss_bytes, tokens=args.decode)
        run["repeats"] += 1

    progress = Progress(f"bench {name}", force=True)   # the file bench always shows its bar
    try:
        filebench.measure(args.file, args.prefill, args.decode, args.repeats, n_threads=args.threads,
                          n_gpu_layers=args.gpu_layers, on_ready=ready, on_sample=keep, progress=progress)
        result = next(r for r in store.list_runs(conn) if r.id == run["id"])
    except InputError as e:
        progress.end()
        if run["id"] is None or isinstance(e, FormatError):
            raise
        raise InputError(f"{e} (the {run['repeats']} repeat(s) measured before are kept as run {run['id']})") from e
    except BaseException:
        progress.end()
        raise
    finally:
        conn.close()
    return _show([result], args.json)


def _server(args, store) -> int:
    from ..measure import serverbench
    info = serverbench.probe(args.server, args.model, timeout=args.timeout)
    conn = store.connect()        # a store that cannot be written says so before anything is measured
    from ..measure.describe import catalogue_id
    run_id, kept = None, 0
    prog = Progress(f"bench {info.model}")    # on a terminal only: a refusal is then one line in a log
    try:
        for i in range(args.repeats):
            prog(i, args.repeats)
            try:
                s = serverbench.stream(info, args.prefill, args.decode, timeout=args.timeout)
            except InputError as e:
                prog.end()
                if run_id is None:
                    raise
                raise InputError(f"{e} (the {kept} repeat(s) measured before are kept as run {run_id})") from e
            # the run is stored with its first plausible repeat: a server that fails at once leaves nothing
            if run_id is None:
                run_id = store.start_run(conn, kind="server", target=info.url, model=info.model,
                                         model_id=catalogue_id(info.model), build=None, runtime=info.runtime,
                                         runtime_version=info.version, rig=_rig_spec(), prefill_tokens=args.prefill,
                                         decode_tokens=args.decode, repeats=args.repeats,
                                         extra={"timeout_s": args.timeout})
            store.add_sample(conn, run_id, decode_tok_s=s.decode_tok_s, ttft_s=s.ttft_s, tokens=s.tokens)
            kept += 1
        prog(args.repeats, args.repeats)
        result = next(r for r in store.list_runs(conn) if r.id == run_id)
    except BaseException:
        prog.end()
        raise
    finally:
        conn.close()
    return _show([result], args.json)


def _show(runs, as_json: bool) -> int:
    if as_json:
        from . import emit_json
        emit_json({"results": runs})
        return 0
    from ..report.bench_text import render_runs
    print(render_runs(runs))
    return 0


def _list(args) -> int:
    from ..measure import store
    runs = store.list_runs()
    if not runs and not args.json:
        print(f"no stored results yet ({store.db_path()}); run 'rigcheck bench FILE.gguf'")
        return 0
    return _show(runs, args.json)
