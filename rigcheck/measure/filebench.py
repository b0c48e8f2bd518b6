"""Measure a GGUF file with llama.cpp (through llama-cpp-python), the way llama-bench does:
prefill N tokens in one batch, then decode M tokens one at a time, several repeats.

Tokens are fixed pseudo-random ids from the model's vocabulary (no sampling, no
tokenizer), so the timing is the model's forward pass and nothing else. Peak memory is
the process's peak resident set (getrusage) after each repeat.

``measure()`` runs all of it (load, warm-up, repeats) in a child process, the worker at
the end of this module, so that a crash of llama.cpp (a build that uses CPU instructions
this machine cannot run dies with SIGILL; a bad kernel with SIGSEGV or SIGABRT; the
out-of-memory killer sends SIGKILL) is reported as one line, never inherited. The child
sends JSON lines on its stdout; every message has a deadline that scales with the work
it follows, and the child is killed when the parent stops waiting for any reason.
"""

from __future__ import annotations

import json
import os
import queue
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass
from typing import Callable

from ..errors import FormatError, InputError


@dataclass
class FileSample:
    prefill_tok_s: float
    decode_tok_s: float
    peak_rss_bytes: int


def check_gguf(path: str) -> None:
    """One clear line if ``path`` is not a GGUF file (before llama.cpp sees it)."""
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder; give the .gguf file")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise FormatError(f"{path}: not a GGUF model file (it does not start with 'GGUF'); "
                          "'rigcheck bench' measures .gguf files, or a server with --server URL")


def _peak_rss() -> int:
    """This process's own peak memory: VmHWM on Linux (getrusage's ru_maxrss is carried across
    fork and exec, so a worker would report its parent's size), ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r if sys.platform == "darwin" else r * 1024)


def llama_cpp_version() -> str:
    try:
        import llama_cpp
        return f"llama-cpp-python {llama_cpp.__version__}"
    except Exception:  # noqa: BLE001
        return "llama-cpp-python (unknown version)"


def load(path: str, n_ctx: int, n_threads: int | None = None, n_gpu_layers: int = -1):
    check_gguf(path)
    try:
        from llama_cpp import Llama
    except ImportError as e:
        raise InputError("measuring a .gguf file needs llama-cpp-python: pip install 'rigcheck[bench]'") from e
    try:
        return Llama(model_path=path, n_ctx=n_ctx, n_batch=min(n_ctx, 2048), n_ubatch=min(n_ctx, 512),
                     n_threads=n_threads, n_gpu_layers=n_gpu_layers, verbose=False, logits_all=False)
    except (ValueError, RuntimeError) as e:
        raise FormatError(f"{path}: llama.cpp could not load it ({e})") from e


WARM_UP_TOKENS = 8


def run(llm, prefill: int, decode: int, repeats: int, on_sample: Callable[[int, FileSample], None] | None = None,
        progress: Callable[[int, int], None] | None = None, seed: int = 0,
        on_ready: Callable[[float, float], None] | None = None) -> list[FileSample]:
    """Measure ``repeats`` times; ``on_sample`` is called (e.g. to store it) after each.

    ``on_ready(batch_s, token_s)`` is called after the warm-up (a batch of a few prompt
    tokens, then one token alone: both kinds of kernel have run once) with how long each took.
    """
    n_vocab = llm.n_vocab()
    rng = random.Random(seed)
    lo = min(1000, n_vocab // 4)   # stay clear of the special tokens at the start of most vocabularies
    prompt = [rng.randrange(lo, n_vocab) for _ in range(prefill)]
    gen = [rng.randrange(lo, n_vocab) for _ in range(decode)]
    total = repeats * (prefill + decode)
    done = 0
    out = []
    # a short warm-up so the first repeat does not pay for page-ins and kernel setup
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(prompt[:WARM_UP_TOKENS])
    t1 = time.perf_counter()
    llm.eval(gen[:1])
    t2 = time.perf_counter()
    if on_ready:
        on_ready(t1 - t0, t2 - t1)
    for i in range(repeats):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        t1 = time.perf_counter()
        done += prefill
        if progress:
            progress(done, total)
        for tok in gen:
            llm.eval([tok])
            done += 1
            if progress and (done % 4 == 0):
                progress(done, total)
        t2 = time.perf_counter()
        s = FileSample(prefill / (t1 - t0), decode / (t2 - t1), _peak_rss())
        out.append(s)
        if on_sample:
            on_sample(i, s)
    if progress:
        progress(total, total)
    return out


# --- the measurement in a child process ------------------------------------------------------

LLAMA_CPP_PYTHON = "0.3.36"      # the pinned version (pyproject: bench, test), if none is installed
STARTUP_S = 120.0                # start the interpreter, import llama.cpp, set up a context
DISK_BYTES_S = 20e6              # the slowest reading of the model file we wait for (page-ins)
STEP_FLOOR_S = 60.0              # the least we wait for any one step after the warm-up
STEP_SLACK = 20.0                # ... and how many times its expected time (from the warm-up)
EXIT_S = 30.0                    # for the child to exit after its last message

TEST_CRASH_ENV = "RIGCHECK_BENCH_TEST_CRASH"


def rebuild_command() -> str:
    """The pip command that builds llama-cpp-python for any CPU of this kind (no native flags)."""
    try:
        from importlib.metadata import version
        v = version("llama-cpp-python")
    except Exception:  # noqa: BLE001
        v = LLAMA_CPP_PYTHON
    return (f'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --force-reinstall --no-cache-dir '
            f"--no-binary llama-cpp-python llama-cpp-python=={v}")


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")


def sanitize(line: str, limit: int = 200) -> str:
    """One printable line: no escape sequences or control characters, at most ``limit`` characters."""
    line = _ANSI.sub("", line).replace("\t", " ")
    line = "".join(c for c in line if not unicodedata.category(c).startswith("C"))
    return line.strip()[:limit]


def last_line(log, tail_bytes: int = 8192) -> str:
    """The last non-empty line (sanitized) of a file, given by path or as an open binary file; or ''."""
    try:
        if isinstance(log, (str, os.PathLike)):
            with open(log, "rb") as f:
                return last_line(f, tail_bytes)
        log.flush()
        log.seek(0, os.SEEK_END)
        log.seek(max(0, log.tell() - tail_bytes))
        text = log.read().decode("utf-8", errors="replace")
    except (OSError, ValueError):
        return ""
    for line in reversed(text.splitlines()):
        line = sanitize(line)
        if line:
            return line
    return ""


def _signal_of(returncode: int) -> int | None:
    if returncode < 0:
        return -returncode
    if 128 < returncode < 128 + 65:   # the shell's way of saying it (132 = 128 + SIGILL)
        return returncode - 128
    return None


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def crash_message(path: str, returncode: int, said: str = "", doing: str = "running") -> str:
    """The one line for a child that died by a signal or exited non-zero without saying why."""
    said = f'; llama.cpp\'s last message: "{said}"' if said else ""
    sig = _signal_of(returncode)
    if sig == signal.SIGILL:
        return (f"llama.cpp crashed with SIGILL (illegal instruction) while {doing} {path}: this llama-cpp-python "
                f"build uses CPU instructions this machine cannot run; rebuild it without them: {rebuild_command()}")
    if sig == signal.SIGKILL:
        return (f"llama.cpp was killed (SIGKILL) while {doing} {path}, most often by the out-of-memory killer{said}; "
                "try a smaller build, a smaller --prefill, or fewer --gpu-layers")
    if sig is not None:
        desc = (signal.strsignal(sig) or "").lower()
        desc = f" ({desc})" if desc else ""
        return (f"llama.cpp crashed with {_signal_name(sig)}{desc} while {doing} {path}{said}; if it happens "
                f"again, rebuild llama-cpp-python for this machine: {rebuild_command()}")
    return (f"llama.cpp exited with status {returncode} while {doing} {path}{said}; "
            f"if it happens again, rebuild llama-cpp-python for this machine: {rebuild_command()}")


class _Silent(Exception):
    """The child sent nothing before the deadline."""


class _Child:
    """The worker process: JSON lines from its stdout (read by a thread), stderr to a temporary file."""

    def __init__(self, cfg: dict):
        import rigcheck
        root = os.path.dirname(os.path.dirname(os.path.abspath(rigcheck.__file__)))
        # the parent's rigcheck as a last resort only: appended, so it never shadows the standard library
        code = (f"import sys; sys.path.append({root!r}); from rigcheck.measure.filebench import worker; "
                "sys.exit(worker(sys.argv[1:]))")
        env = dict(os.environ)
        env.setdefault("GGML_NO_BACKTRACE", "1")   # an abort's own message is the last line, not a backtrace
        self.stderr = tempfile.TemporaryFile(prefix="rigcheck-bench-")   # no name left behind, whatever happens
        self.lines: queue.Queue = queue.Queue()
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(cfg)], env=env,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr)
        except BaseException:
            self.stderr.close()
            raise
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            for line in self.proc.stdout:
                self.lines.put(line)
        except (OSError, ValueError):
            pass
        finally:
            self.lines.put(None)

    def next(self, timeout: float) -> dict | None:
        """The next message, None once the child closed its stdout (it exited); _Silent on the deadline."""
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise _Silent() from None
            if line is None:
                return None
            try:
                msg = json.loads(line)
            except ValueError:
                continue   # not ours (nothing else should write there; never fatal)
            if isinstance(msg, dict):
                return msg

    def wait(self, timeout: float = EXIT_S) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.returncode

    def said(self) -> str:
        return last_line(self.stderr)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()   # our own child, by its id
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def close(self) -> None:
        self.kill()
        self.reader.join(timeout=5)   # the pipe is at its end once the child is gone
        if self.proc.stdout:
            self.proc.stdout.close()
        self.stderr.close()


def measure(path: str, prefill: int, decode: int, repeats: int, *, n_threads: int | None = None,
            n_gpu_layers: int = -1, seed: int = 0, on_ready: Callable[[str], None] | None = None,
            on_sample: Callable[[int, FileSample], None] | None = None,
            progress: Callable[[int, int], None] | None = None,
            startup_timeout_s: float | None = None) -> list[FileSample]:
    """``run()`` on ``path`` in a child process; the callbacks run here, in the caller.

    ``on_ready(runtime_version)`` comes once llama.cpp has loaded the model and evaluated
    the warm-up tokens (the preflight: a build that cannot run here has crashed by then),
    ``on_sample(i, sample)`` as each repeat is measured. A crash or a silent child raises
    InputError with one line; a file llama.cpp cannot load raises FormatError.
    ``startup_timeout_s`` bounds the load and the warm-up each (default: from the file's size).
    """
    check_gguf(path)
    page_in = os.path.getsize(path) / DISK_BYTES_S
    cfg = {"path": path, "n_ctx": prefill + decode + 16, "n_threads": n_threads, "n_gpu_layers": n_gpu_layers,
           "prefill": prefill, "decode": decode, "repeats": repeats, "seed": seed, "parent": os.getpid()}
    total = repeats * (prefill + decode)
    deadline = startup_timeout_s or (STARTUP_S + page_in)
    doing = "loading"
    version = "llama-cpp-python (unknown version)"
    prefill_s = decode_s = deadline
    samples: list[FileSample] = []
    child = _Child(cfg)
    try:
        while True:
            try:
                msg = child.next(deadline)
            except _Silent:
                child.kill()
                raise InputError(f"llama.cpp stopped responding while {doing} {path} (nothing from it for "
                                 f"{deadline:.0f} s), so it was stopped; if the machine was swapping, try a smaller "
                                 "build or a smaller --prefill") from None
            if msg is None:
                break
            kind = msg.get("t")
            if kind == "loaded":
                doing = "running"
                version = str(msg.get("version") or "llama-cpp-python (unknown version)")
            elif kind == "ready":
                # what one step may take from now on: its expected time (from the warm-up) with room to spare
                per_token = float(msg["batch_s"]) / WARM_UP_TOKENS
                prefill_s = STEP_FLOOR_S + page_in + STEP_SLACK * per_token * prefill
                decode_s = STEP_FLOOR_S + page_in + STEP_SLACK * 4 * float(msg["token_s"])
                deadline = prefill_s
                if on_ready:
                    on_ready(version)
            elif kind == "p":
                deadline = decode_s
                if progress:
                    progress(int(msg["done"]), total)
            elif kind == "s":
                s = FileSample(float(msg["prefill_tok_s"]), float(msg["decode_tok_s"]), int(msg["peak_rss_bytes"]))
                samples.append(s)
                deadline = prefill_s
                if on_sample:
                    on_sample(int(msg["i"]), s)
            elif kind == "error":
                child.wait()
                text = str(msg.get("message") or "unknown error")
                if msg.get("kind") == "format":
                    raise FormatError(text)
                if msg.get("kind") == "input":
                    raise InputError(text)
                if msg.get("kind") == "llama.cpp":
                    raise InputError(f"llama.cpp failed while {doing} {path}: {sanitize(text, 300)}")
                raise RuntimeError(f"the bench worker failed: {text}")
            elif kind == "done":
                child.wait()
                return samples
        rc = child.wait()
        raise InputError(crash_message(path, rc, child.said(), doing))
    finally:
        child.close()


# --- the worker: python -c '... filebench.worker(argv)' (see _Child) -------------------------

def _test_crash() -> tuple[int, int | None] | None:
    """Test hook: RIGCHECK_BENCH_TEST_CRASH=SIGNAL[@N] makes the worker kill itself with SIGNAL
    (SIGILL, SIGSEGV, SIGABRT, SIGKILL, SIGSTOP, ...) right after it imported llama_cpp, or with
    @N once N repeats are measured (@0: after the warm-up). Only tests set it; only the worker
    reads it."""
    value = os.environ.get(TEST_CRASH_ENV, "").strip()
    if not value:
        return None
    name, _, at = value.partition("@")
    name = name.upper()
    sig = getattr(signal, name if name.startswith("SIG") else "SIG" + name, None)
    if not isinstance(sig, int):
        sig = signal.SIGILL
    return int(sig), (int(at) if at.strip() else None)


def _crash(sig: int) -> None:
    sys.stderr.write(f"{TEST_CRASH_ENV}: raising {_signal_name(sig)}\n")
    sys.stderr.flush()
    if sig not in (signal.SIGKILL, signal.SIGSTOP):
        signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)
    time.sleep(1)


def _die_with_parent(parent: int) -> None:
    """On Linux, be killed when the parent dies (whatever kills it); elsewhere a write to the
    closed pipe ends the worker at its next message."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if parent and os.getppid() != parent:
        os._exit(1)               # the parent died before we could ask


def worker(argv: list[str]) -> int:
    """The child's side: measure as told by the JSON in argv[0], report on stdout as JSON lines."""
    cfg = json.loads(argv[0])
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)                 # whatever llama.cpp prints to stdout goes to the log, not into the messages
    sys.stdout = sys.stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the parent handles ^C, and stops us
    _die_with_parent(int(cfg.get("parent") or 0))
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    except (ValueError, OSError):
        pass                      # no core file of a model-sized process for a crash we report

    def send(**msg) -> None:
        out.write(json.dumps(msg) + "\n")

    try:
        code = _work(cfg, send)
    except BrokenPipeError:
        os._exit(1)               # the parent is gone
    except BaseException as e:  # noqa: BLE001 - say it, then go
        try:
            send(t="error", kind="internal", message=f"{type(e).__name__}: {e}")
        except BaseException:  # noqa: BLE001
            pass
        code = 3
    try:
        out.flush()
    except BaseException:  # noqa: BLE001
        pass
    os._exit(code)               # no interpreter teardown: llama.cpp's destructors have nothing to add


def _work(cfg: dict, send) -> int:
    crash = _test_crash()
    path = cfg["path"]
    try:
        import llama_cpp  # noqa: F401 - the shared library: the first place a bad build can crash
    except ImportError:
        send(t="error", kind="input",
             message="measuring a .gguf file needs llama-cpp-python: pip install 'rigcheck[bench]'")
        return 3
    if crash and crash[1] is None:
        _crash(crash[0])
    try:
        llm = load(path, n_ctx=cfg["n_ctx"], n_threads=cfg["n_threads"], n_gpu_layers=cfg["n_gpu_layers"])
    except InputError as e:
        send(t="error", kind="format" if isinstance(e, FormatError) else "input", message=str(e))
        return 3
    send(t="loaded", version=llama_cpp_version())

    def ready(batch_s: float, token_s: float) -> None:
        send(t="ready", batch_s=batch_s, token_s=token_s)
        if crash and crash[1] == 0:
            _crash(crash[0])

    def sample(i: int, s: FileSample) -> None:
        send(t="s", i=i, **asdict(s))
        if crash and crash[1] == i + 1:
            _crash(crash[0])

    try:
        run(llm, cfg["prefill"], cfg["decode"], cfg["repeats"], on_sample=sample,
            progress=lambda done, total: send(t="p", done=done), seed=cfg["seed"], on_ready=ready)
    except BrokenPipeError:
        raise
    except (RuntimeError, ValueError, OSError, MemoryError) as e:   # llama.cpp said no: decode failed, no memory
        send(t="error", kind="llama.cpp", message=f"{type(e).__name__}: {e}")
        return 3
    send(t="done")
    return 0


if __name__ == "__main__":
    sys.exit(worker(sys.argv[1:]))
