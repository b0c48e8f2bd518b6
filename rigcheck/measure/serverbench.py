"""Measure any OpenAI-compatible server (llama-server, llama-cpp-python, Ollama, LM Studio,
vLLM, SGLang) by streaming a completion: time to first token and decode tokens/s.

urllib only. Tokens are counted from the server's own ``usage`` when it sends one,
otherwise one per streamed content chunk (each chunk carries one token on these servers).
Decode speed is (tokens - 1) / (time of the last token - time of the first).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from ..errors import InputError

TIMEOUT_S = 120.0
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


def _base(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        url = "http://" + url
    if url.endswith("/v1"):
        url = url[:-3]
    return url


def _get_json(url: str, timeout: float = 10.0):
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        body = r.read(4 * 1024 * 1024)
        return json.loads(body.decode("utf-8")), dict(r.headers)


def probe(url: str, model: str | None = None) -> ServerInfo:
    """Check the server answers /v1/models; name the runtime as well as it can be told."""
    base = _base(url)
    try:
        data, headers = _get_json(base + "/v1/models")
    except urllib.error.HTTPError as e:
        raise InputError(f"{base}: not an OpenAI-compatible server (GET /v1/models answered HTTP {e.code})") from e
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        reason = getattr(e, "reason", e)
        raise InputError(f"{base}: cannot reach the server ({reason}); is it running, and is the URL right?") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{base}: not an OpenAI-compatible server (/v1/models is not JSON)") from e
    models = data.get("data") if isinstance(data, dict) else None
    if not isinstance(models, list) or not models:
        raise InputError(f"{base}: not an OpenAI-compatible server (/v1/models lists no models)")
    ids = [m.get("id") for m in models if isinstance(m, dict) and m.get("id")]
    if model and model not in ids:
        raise InputError(f"{base}: serves {', '.join(ids[:5])}; no model '{model}'")
    chosen = model or ids[0]
    owner = str(models[0].get("owned_by", "")).lower() if isinstance(models[0], dict) else ""
    runtime, version = _runtime(base, owner, headers)
    return ServerInfo(base, chosen, runtime, version)


def _runtime(base: str, owner: str, headers: dict) -> tuple[str, str]:
    if owner in ("vllm", "sglang"):
        return owner, ""
    try:
        v, _ = _get_json(base + "/api/version", timeout=3)
        if isinstance(v, dict) and "version" in v:
            return "ollama", str(v["version"])
    except Exception:  # noqa: BLE001 - not Ollama
        pass
    try:
        p, _ = _get_json(base + "/props", timeout=3)
        if isinstance(p, dict) and ("default_generation_settings" in p or "build_info" in p):
            return "llama.cpp", str(p.get("build_info", "llama-server"))
    except Exception:  # noqa: BLE001 - not llama-server
        pass
    if owner == "organization_owner":
        return "lmstudio", ""
    if owner == "me" or "uvicorn" in str(headers.get("server", headers.get("Server", ""))).lower():
        return "llama.cpp", "llama-cpp-python server"
    return "unknown", ""


def prompt_text(n_tokens: int) -> str:
    """About ``n_tokens`` tokens of plain words (most tokenizers: one word, one token)."""
    words = [_WORDS[i % len(_WORDS)] for i in range(max(n_tokens - 16, 1))]
    return "Continue this list of words for as long as you can: " + " ".join(words)


def stream(info: ServerInfo, prompt_tokens: int, max_tokens: int, timeout: float = TIMEOUT_S) -> ServerSample:
    """One streamed request: chat completions, falling back to plain completions."""
    text = prompt_text(prompt_tokens)
    chat = {"model": info.model, "messages": [{"role": "user", "content": text}], "max_tokens": max_tokens,
            "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}
    comp = {"model": info.model, "prompt": text, "max_tokens": max_tokens, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}}
    try:
        s = _stream(info.url + "/v1/chat/completions", chat, timeout)
        if s.tokens > 1:
            return s
        # a chat model may end its answer at once; plain completion continues the text
    except urllib.error.HTTPError as e:
        if e.code not in (400, 404, 405, 422, 500, 501):
            raise InputError(f"{info.url}: /v1/chat/completions answered HTTP {e.code}") from e
    try:
        return _stream(info.url + "/v1/completions", comp, timeout)
    except urllib.error.HTTPError as e:
        raise InputError(f"{info.url}: not an OpenAI-compatible server (streaming completions answered HTTP {e.code})") from e


def _stream(url: str, body: dict, timeout: float) -> ServerSample:
    data = json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json",
                                                          "Accept": "text/event-stream"})
    t0 = time.perf_counter()
    times: list[float] = []
    usage_tokens = None
    prompt_tokens = None
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            for raw in r:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                try:
                    chunk = json.loads(payload)
                except ValueError:
                    continue
                usage = chunk.get("usage") if isinstance(chunk, dict) else None
                if usage:
                    usage_tokens = usage.get("completion_tokens") or usage_tokens
                    prompt_tokens = usage.get("prompt_tokens") or prompt_tokens
                for ch in (chunk.get("choices") or []) if isinstance(chunk, dict) else []:
                    delta = ch.get("delta") or {}
                    piece = delta.get("content") or delta.get("reasoning_content") or ch.get("text")
                    if piece:
                        times.append(time.perf_counter())
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        if isinstance(e, urllib.error.HTTPError):
            raise
        raise InputError(f"{url}: the stream broke off ({getattr(e, 'reason', e)})") from e
    if not times:
        if url.endswith("/chat/completions"):
            return ServerSample(time.perf_counter() - t0, None, 0, prompt_tokens)
        raise InputError(f"{url}: the server streamed no tokens (not an OpenAI-compatible stream?)")
    n = max(usage_tokens or 0, len(times))
    ttft = times[0] - t0
    span = times[-1] - times[0]
    decode = (n - 1) / span if n > 1 and span > 0 else None
    return ServerSample(ttft, decode, n, prompt_tokens)
