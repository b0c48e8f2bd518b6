"""Measure any OpenAI-compatible server (llama-server, llama-cpp-python, Ollama, LM Studio,
vLLM, SGLang) by streaming a completion: time to first token and decode tokens/s.

Decode speed is (tokens - 1) / (time of the last token - time of the first). Tokens are
the streamed content chunks (one token each on these servers), or the server's own
``usage.completion_tokens`` when it sends one that agrees with what was streamed.

A server is untrusted input (issue 14). Every request has an overall deadline (the
``timeout`` argument, ``bench --timeout``; DEFAULT_TIMEOUT_S), enforced by closing the socket
when it passes, so a server that drips a byte at a time is given up on too. Limits:
a status or header line at most 64 KiB and at most 100 headers (http.client's own limits),
a stream line at most MAX_LINE_BYTES, a stream at most MAX_STREAM_BYTES, a JSON answer at
most MAX_JSON_BYTES, at most 4 chunks per token asked. Every chunk is checked: a JSON object,
the fields used of the types the OpenAI stream has, numbers finite, counts whole and in
range. A sample is returned only if it is physically plausible: at least MIN_TOKENS tokens
received, the stream finished ([DONE] or a finish_reason), the tokens spread over at least
MIN_SPAN_S, a claimed token count between the chunks received and the tokens asked for,
and a decode speed below store.MAX_DECODE_TOK_S. Anything else is one InputError line.
"""

from __future__ import annotations

import http.client
import json
import math
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from ..errors import InputError
from .store import MAX_DECODE_TOK_S

DEFAULT_TIMEOUT_S = 300.0      # overall deadline of one streamed request
MAX_TIMEOUT_S = 86_400.0
PROBE_TIMEOUT_S = 10.0         # GET /v1/models (and at most 3 s for each runtime probe)
MAX_LINE_BYTES = 64 * 1024
MAX_STREAM_BYTES = 64 * 1024 * 1024
MAX_JSON_BYTES = 4 * 1024 * 1024
MIN_TOKENS = 8                 # fewer tokens do not make a decode speed
MIN_SPAN_S = 0.02              # first to last token: below this, the timing is the network's
MAX_TOKENS_PER_CHUNK = 16      # speculative decoding may put several tokens in one chunk
MAX_ID_CHARS = 256

_WORDS = ("river stone lantern orchard violet copper meadow harbor pencil thunder garden silver "
          "window candle marble forest ribbon planet saddle whistle").split()


@dataclass
class ServerInfo:
    url: str
    model: str
    runtime: str
    version: str


@dataclass
class ServerSample:
    ttft_s: float
    decode_tok_s: float | None
    tokens: int
    prompt_tokens: int | None


def shown(text, n: int = 80) -> str:
    """Server-supplied text as it may be printed: the one escaping rule (rigcheck/text.py),
    cut to about ``n`` characters."""
    from ..text import shown as escaped
    return escaped(text, n)


# --- one HTTP exchange with an overall deadline ------------------------------------------------

class _Exchange:
    """One request on its own connection. When ``seconds`` pass, a timer shuts the socket
    down, which ends any read in progress; every error becomes an InputError."""

    def __init__(self, url: str, seconds: float):
        self.url = url
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        parts = urllib.parse.urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.conn = cls(parts.hostname, parts.port, timeout=seconds)
        self.fired = threading.Event()
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True
        self.resp: http.client.HTTPResponse | None = None
        self.sock = None          # kept here: http.client drops conn.sock once a response will close
        self.bytes = 0
        self.lines = 0
        self.max_lines = 1 << 62     # set by the reader of a stream

    def _fire(self) -> None:
        self.fired.set()
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> _Exchange:
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.cancel()
        self.conn.close()

    def late(self) -> InputError:
        return InputError(f"{self.url}: no complete answer within {self.seconds:g} s (the deadline of one "
                          "request); give a slow server more time with --timeout SECONDS")

    def broken(self, e: BaseException, doing: str) -> InputError:
        if self.fired.is_set() or isinstance(e, TimeoutError):
            return self.late()
        if isinstance(e, (http.client.HTTPException, ValueError, OverflowError)):
            why = type(e).__name__ if not str(e) else f"{type(e).__name__}: {shown(e, 60)}"
            return InputError(f"{self.url}: not a valid HTTP answer while {doing} ({why})")
        reason = getattr(e, "strerror", None) or shown(e, 60) or type(e).__name__
        return InputError(f"{self.url}: the connection failed while {doing} ({reason})")

    def send(self, method: str, body: bytes | None = None, headers: dict | None = None) -> int:
        try:
            self.conn.connect()
            self.sock = self.conn.sock
        except (OSError, http.client.HTTPException, ValueError, OverflowError) as e:
            if self.fired.is_set() or isinstance(e, TimeoutError):
                raise self.late() from e
            raise InputError(f"{self.url}: cannot reach the server ({getattr(e, 'strerror', None) or shown(e, 60)}); "
                             "is it running, and is the URL right?") from e
        if self.fired.is_set():          # the deadline passed while connecting
            self._fire()
            raise self.late()
        try:
            self.conn.request(method, self.path, body=body, headers=headers or {})
            self.resp = self.conn.getresponse()
        except (OSError, http.client.HTTPException, ValueError, OverflowError) as e:
            raise self.broken(e, "reading the status and headers") from e
        return self.resp.status

    def header(self, name: str) -> str:
        return shown(self.resp.getheader(name, "") if self.resp else "", 120)

    def readline(self) -> bytes:
        """One line (b"" at the end); refuses a line over MAX_LINE_BYTES or a stream over MAX_STREAM_BYTES."""
        try:
            line = self.resp.readline(MAX_LINE_BYTES + 1)
        except (OSError, http.client.HTTPException, ValueError, OverflowError) as e:
            raise self.broken(e, "reading the stream") from e
        if self.fired.is_set():
            raise self.late()
        if len(line) > MAX_LINE_BYTES:
            raise InputError(f"{self.url}: a line of the stream is longer than {MAX_LINE_BYTES // 1024} KiB "
                             "(not an OpenAI-compatible event stream)")
        self.bytes += len(line)
        self.lines += 1
        if self.lines > self.max_lines:
            raise InputError(f"{self.url}: the stream sent more than {self.max_lines:,} lines for the tokens asked "
                             "(not an OpenAI-compatible event stream)")
        if self.bytes > MAX_STREAM_BYTES:
            raise InputError(f"{self.url}: the stream is longer than {MAX_STREAM_BYTES // 2**20} MiB for the "
                             "tokens asked (not an OpenAI-compatible event stream)")
        return line

    def read(self, limit: int) -> bytes | None:
        """The body, or None if it is longer than ``limit`` bytes."""
        try:
            data = self.resp.read(limit + 1)
        except (OSError, http.client.HTTPException, ValueError, OverflowError) as e:
            raise self.broken(e, "reading the answer") from e
        if self.fired.is_set():
            raise self.late()
        return None if len(data) > limit else data


# --- JSON as a server may send it --------------------------------------------------------------

class _BadJSON(ValueError):
    pass


def _no_constant(name: str):
    raise _BadJSON(f"holds {name}, not a number")


def _finite(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise _BadJSON(f"holds a number out of range ({shown(text, 20)})")
    return v


def _json(data: bytes | str):
    """Parsed JSON; _BadJSON for invalid JSON, NaN/Infinity, numbers beyond a float, deep nesting."""
    try:
        return json.loads(data, parse_constant=_no_constant, parse_float=_finite)
    except _BadJSON:
        raise
    except RecursionError as e:
        raise _BadJSON("is nested too deeply") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise _BadJSON("is not valid JSON") from e


def _count(v, what: str, url: str) -> int | None:
    """A token count from the server: None, or a whole number 0..10^7 (an integral float is read)."""
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 10_000_000:
        raise InputError(f"{url}: the stream's {what} is {shown(json.dumps(v), 40)}, not a token count")
    return v


def _get_json(url: str, seconds: float):
    """GET a JSON answer: (status, value or None, Server header). InputError for anything broken."""
    with _Exchange(url, seconds) as ex:
        status = ex.send("GET", headers={"Accept": "application/json"})
        server = ex.header("server")
        if status != 200:
            return status, None, server
        data = ex.read(MAX_JSON_BYTES)
    if data is None:
        raise InputError(f"{url}: the answer is longer than {MAX_JSON_BYTES // 2**20} MiB (not an OpenAI-compatible "
                         "server?)")
    try:
        return status, _json(data), server
    except _BadJSON as e:
        raise InputError(f"{url}: not an OpenAI-compatible server (the answer {e})") from e


# --- the server -------------------------------------------------------------------------------

def _base(url: str) -> str:
    raw = url
    url = url.strip().rstrip("/")
    if len(url) > 2000 or not url or not all(c.isprintable() and not c.isspace() for c in url):
        raise InputError(f"--server {shown(raw, 60)!r}: not a URL; give one like http://127.0.0.1:8080")
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise InputError(f"--server {shown(raw, 60)}: not a valid URL ({e}); give one like "
                         "http://127.0.0.1:8080") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--server {shown(raw, 60)}: give an http:// or https:// URL with a host, like "
                         "http://127.0.0.1:8080")
    del port
    try:
        parts.hostname.encode("idna")
    except UnicodeError as e:
        raise InputError(f"--server {shown(raw, 60)}: '{shown(parts.hostname, 60)}' is not a valid host name") from e
    # user:password@ is neither sent (http.client does not) nor echoed in messages
    url = urllib.parse.urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, ""))
    if url.endswith("/v1"):
        url = url[:-3]
    return url


def probe(url: str, model: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> ServerInfo:
    """Check the server answers /v1/models; name the runtime as well as it can be told."""
    base = _base(url)
    seconds = min(PROBE_TIMEOUT_S, timeout)
    status, data, server = _get_json(base + "/v1/models", seconds)
    if status != 200:
        raise InputError(f"{base}: not an OpenAI-compatible server (GET /v1/models answered HTTP {status})")
    models = data.get("data") if isinstance(data, dict) else None
    if not isinstance(models, list) or not models:
        raise InputError(f"{base}: not an OpenAI-compatible server (/v1/models lists no models)")
    ids = [m["id"] for m in models[:10_000] if isinstance(m, dict) and isinstance(m.get("id"), str)
           and 0 < len(m["id"]) <= MAX_ID_CHARS and m["id"].isprintable()]
    if not ids:
        raise InputError(f"{base}: not an OpenAI-compatible server (/v1/models lists no usable model id)")
    if model and model not in ids:
        from ..errors import closest
        near = closest(model, ids)
        hint = f"did you mean: {', '.join(shown(i, 60) for i in near)}?" if near else \
            f"it serves {', '.join(shown(i, 60) for i in ids[:5])}"
        raise InputError(f"{base}: no model '{shown(model, 60)}' on this server; {hint}")
    chosen = model or ids[0]
    owner = models[0].get("owned_by", "") if isinstance(models[0], dict) else ""
    owner = owner.lower() if isinstance(owner, str) else ""
    runtime, version = _runtime(base, owner, server, seconds)
    return ServerInfo(base, chosen, runtime, version)


def _runtime(base: str, owner: str, server: str, seconds: float) -> tuple[str, str]:
    if owner in ("vllm", "sglang"):
        return owner, ""
    for path in ("/api/version", "/props"):
        try:
            status, v, _ = _get_json(base + path, min(3.0, seconds))
        except InputError:      # not this runtime
            continue
        if status != 200 or not isinstance(v, dict):
            continue
        if path == "/api/version" and isinstance(v.get("version"), str):
            return "ollama", shown(v["version"], 60)
        if path == "/props" and ("default_generation_settings" in v or "build_info" in v):
            info = v.get("build_info")
            return "llama.cpp", shown(info, 60) if isinstance(info, str) else "llama-server"
    if owner == "organization_owner":
        return "lmstudio", ""
    if owner == "me" or "uvicorn" in server.lower():
        return "llama.cpp", "llama-cpp-python server"
    return "unknown", ""


def prompt_text(n_tokens: int) -> str:
    """About ``n_tokens`` tokens of plain words (most tokenizers: one word, one token)."""
    words = [_WORDS[i % len(_WORDS)] for i in range(max(n_tokens - 16, 1))]
    return "Continue this list of words for as long as you can: " + " ".join(words)


# --- the stream -------------------------------------------------------------------------------

@dataclass
class _Received:
    t0: float
    times: list[float] = field(default_factory=list)   # arrival of each chunk with content
    completion_tokens: int | None = None
    prompt_tokens: int | None = None
    finished: bool = False                              # [DONE] or a finish_reason was seen


def stream(info: ServerInfo, prompt_tokens: int, max_tokens: int, timeout: float = DEFAULT_TIMEOUT_S) -> ServerSample:
    """One measured repeat: a streamed chat completion, falling back to a plain completion when
    the chat endpoint is missing or the model ends its answer too soon. ``timeout``: the
    overall deadline of each request, in seconds."""
    if max_tokens < MIN_TOKENS:
        raise InputError(f"--decode {max_tokens}: a server bench needs at least {MIN_TOKENS} tokens to time")
    text = prompt_text(prompt_tokens)
    common = {"model": info.model, "max_tokens": max_tokens, "temperature": 0, "stream": True,
              "stream_options": {"include_usage": True}}
    chat_url, comp_url = info.url + "/v1/chat/completions", info.url + "/v1/completions"
    got = _stream(chat_url, {**common, "messages": [{"role": "user", "content": text}]}, timeout, max_tokens)
    if isinstance(got, int) and got not in (400, 404, 405, 422, 500, 501):
        raise InputError(f"{chat_url}: answered HTTP {got}")
    if isinstance(got, _Received) and len(got.times) >= MIN_TOKENS:
        return _sample(chat_url, got, max_tokens)
    # no chat endpoint, or a chat model that ended its answer at once: plain completion continues the text
    comp = _stream(comp_url, {**common, "prompt": text}, timeout, max_tokens)
    if isinstance(comp, int) and isinstance(got, _Received):
        raise InputError(f"{chat_url}: the chat streamed {len(got.times)} token(s), too few to time (at least "
                         f"{MIN_TOKENS}), and {comp_url} answered HTTP {comp}; try a longer --prefill or another model")
    if isinstance(comp, int):
        raise InputError(f"{comp_url}: not an OpenAI-compatible server (streaming completions answered HTTP {comp})")
    if len(comp.times) < MIN_TOKENS:
        raise InputError(f"{comp_url}: the server streamed {len(comp.times)} token(s); a decode speed needs at least "
                         f"{MIN_TOKENS} (is the model ending its answer at once?)")
    return _sample(comp_url, comp, max_tokens)


def _stream(url: str, body: dict, timeout: float, max_tokens: int) -> _Received | int:
    """Read one event stream: what was received, or the HTTP status when it is not 200."""
    data = json.dumps(body).encode("utf-8")
    max_events = 4 * max_tokens + 64
    events = 0
    with _Exchange(url, timeout) as ex:
        # a data line and a blank line per event, and room for keep-alive comments
        ex.max_lines = 2 * max_events + 4096
        got = _Received(time.perf_counter())
        status = ex.send("POST", data, {"Content-Type": "application/json", "Accept": "text/event-stream"})
        if status != 200:
            return status
        while True:
            raw = ex.readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue           # blank lines, event names, ": keep-alive" comments
            payload = line[5:].strip()
            if payload == "[DONE]":
                got.finished = True
                break
            events += 1
            if events > max_events:
                raise InputError(f"{url}: the stream sent more than {max_events} chunks for {max_tokens} tokens asked "
                                 "(not an OpenAI-compatible stream)")
            try:
                chunk = _json(payload)
            except _BadJSON as e:
                raise InputError(f"{url}: chunk {events} of the stream {e} (not an OpenAI-compatible stream)") from e
            if _take(url, events, chunk, got):
                got.times.append(time.perf_counter())
    if not got.times and not got.finished:
        ctype = ex.header("content-type") or "none"
        raise InputError(f"{url}: the server streamed no tokens (Content-Type {ctype}; not an OpenAI-compatible "
                         "event stream?)")
    if not got.finished:
        raise InputError(f"{url}: the stream ended after {len(got.times)} token(s) without [DONE] or a "
                         "finish_reason (the server closed it early)")
    return got


def _jtype(v) -> str:
    """The JSON name of a parsed value's type, with its article."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    return {dict: "an object", list: "an array", str: "a string"}.get(type(v), "a number")


def _take(url: str, n: int, chunk, got: _Received) -> bool:
    """Check one chunk's types and record its usage; True if it carries generated text."""
    def bad(what: str) -> InputError:
        return InputError(f"{url}: chunk {n} of the stream has {what} (not an OpenAI-compatible stream)")

    if not isinstance(chunk, dict):
        raise bad(f"{_jtype(chunk)} where a JSON object belongs")
    if chunk.get("error") is not None:
        err = chunk["error"]
        msg = err.get("message") if isinstance(err, dict) else err
        raise InputError(f"{url}: the server reported an error in the stream: {shown(msg, 120)}")
    usage = chunk.get("usage")
    if usage is not None:
        if not isinstance(usage, dict):
            raise bad("a 'usage' that is not an object")
        c = _count(usage.get("completion_tokens"), "usage.completion_tokens", url)
        p = _count(usage.get("prompt_tokens"), "usage.prompt_tokens", url)
        got.completion_tokens = c if c is not None else got.completion_tokens
        got.prompt_tokens = p if p is not None else got.prompt_tokens
    choices = chunk.get("choices")
    if choices is None:
        return False
    if not isinstance(choices, list) or len(choices) > 16:
        raise bad("'choices' that is not a short list")
    text = False
    for ch in choices:
        if not isinstance(ch, dict):
            raise bad("a choice that is not an object")
        delta = ch.get("delta")
        if delta is not None and not isinstance(delta, dict):
            raise bad("a 'delta' that is not an object")
        pieces = [ch.get("text")] + ([delta.get(k) for k in ("content", "reasoning_content", "reasoning")]
                                     if delta else [])
        for piece in pieces:
            if piece is not None and not isinstance(piece, str):
                raise bad(f"{_jtype(piece)} where the text belongs")
            text = text or bool(piece)
        finish = ch.get("finish_reason")
        if finish is not None:
            if not isinstance(finish, str):
                raise bad("a 'finish_reason' that is not a string")
            got.finished = True
    return text


def _sample(url: str, got: _Received, max_tokens: int) -> ServerSample:
    """The repeat's figures, if they are physically plausible; otherwise one InputError line."""
    received = len(got.times)
    claimed = got.completion_tokens
    if claimed is not None:
        if claimed < received:
            raise InputError(f"{url}: the server's usage claims {claimed} completion tokens but streamed {received} "
                             "(counts disagree: not stored)")
        if claimed > max_tokens:
            raise InputError(f"{url}: the server's usage claims {claimed} completion tokens, more than the "
                             f"{max_tokens} asked for (not stored)")
        if claimed > received * MAX_TOKENS_PER_CHUNK:
            raise InputError(f"{url}: the server's usage claims {claimed} completion tokens but streamed only "
                             f"{received} chunks (counts disagree: not stored)")
    n = claimed or received
    span = got.times[-1] - got.times[0]
    if span < MIN_SPAN_S:
        raise InputError(f"{url}: {received} tokens arrived within {span * 1000:.1f} ms, too close together to time "
                         "decode (is a proxy buffering the stream?); not stored")
    decode = (n - 1) / span
    if decode > MAX_DECODE_TOK_S:
        raise InputError(f"{url}: {decode:,.0f} tok/s is beyond any single stream ({MAX_DECODE_TOK_S:,.0f} tok/s at "
                         "most); not stored")
    return ServerSample(got.times[0] - got.t0, decode, n, got.prompt_tokens)
