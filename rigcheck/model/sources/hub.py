"""The Hugging Face Hub, header-only: repo references, the repo's file listing, and
bounded HTTP range reads of GGUF and safetensors headers, with a cache.

A Hub reference is ``org/name``, ``org/name@revision``, ``org/name:file.gguf`` or a quant
tag (``org/name-GGUF:Q4_K_M``, as Ollama and llama.cpp's ``-hf`` spell it). The endpoint,
token and offline switch are huggingface_hub's: ``HF_ENDPOINT``, ``HF_TOKEN`` (or the token
``hf auth login`` saved), ``HF_HUB_OFFLINE=1``; requests go through huggingface_hub's HTTP
session with its headers.

Reads are bounded. A GGUF header is read by ranges that start at ``FIRST_READ`` bytes and
grow only as far as the header's own lengths require (the reader in sources/gguf.py asks
for the bytes; this module fetches them); a safetensors header is its 8-byte length and
then exactly that many bytes. No file gets more than ``max_header_bytes`` read, and no
file more than ``deadline_s`` seconds of transfer, whatever the server sends (an endless
header length, a slow drip, a body that ignores the Range request).

Cache (``$RIGCHECK_HOME/hub-cache``): the repo listing of each revision with its ETag
(revalidated with If-None-Match), and the header bytes of every file read, keyed by the
file's ETag (its LFS sha256 or git blob id): a second run reads no header again, and
``--offline`` answers from the cache alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field

from ...errors import FormatError, InputError, closest

FIRST_READ = 256 << 10            # the first range asked for: a small GGUF's whole header
READ_CHUNK = 64 << 10             # the GGUF reader's read-ahead over the fetched bytes
MAX_HEADER_BYTES = 64 << 20       # per file; a 262k-token tokenizer takes ~6 MB
DEADLINE_S = 120.0                # per file, all its ranges together
CONNECT_TIMEOUT_S = 15.0
MAX_API_BYTES = 32 << 20          # a model info answer (siblings of a big repo) is ~1 MB

_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class HubError(InputError):
    """The Hub said no (gated, not found, rate limit) or could not be reached. ``kind``:
    'gated', 'not_found', 'rate_limit', 'unreachable' (no network, timeout, --offline
    without a cached answer) or 'other'."""

    def __init__(self, message: str, kind: str = "other"):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class HubRef:
    repo: str
    revision: str | None = None       # None: the default branch
    selector: str | None = None       # a file path (…gguf) or a quant tag

    @property
    def rev(self) -> str:
        return self.revision or "main"

    def __str__(self) -> str:
        s = self.repo + (f"@{self.revision}" if self.revision else "")
        return s + (f":{self.selector}" if self.selector else "")


def parse_ref(text: str) -> HubRef | None:
    """A HubRef when ``text`` is spelled like a Hub repo id, else None."""
    text = str(text).strip()
    if text.startswith("hf://"):
        text = text[5:]
    elif text.startswith(("https://huggingface.co/", "hf.co/")):
        text = text.split("huggingface.co/", 1)[-1].split("hf.co/", 1)[-1]
    repo, sel = text, None
    if ":" in repo:
        repo, sel = repo.split(":", 1)
    rev = None
    if "@" in repo:
        repo, rev = repo.split("@", 1)
        if not rev:
            return None
    if not _REPO.match(repo) or ".." in repo:
        return None
    return HubRef(repo, rev, sel or None)


def looks_like_repo(text: str) -> bool:
    return parse_ref(text) is not None


# ---- settings -----------------------------------------------------------------------

def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def _true(v: str | None) -> bool:
    return (v or "").strip().lower() in ("1", "true", "yes", "on")


def offline() -> bool:
    """HF_HUB_OFFLINE=1 (huggingface_hub's switch; rigcheck --offline sets it)."""
    return _true(os.environ.get("HF_HUB_OFFLINE")) or _true(os.environ.get("RIGCHECK_OFFLINE"))


def cache_dir() -> str:
    from ...paths import user_dir
    return os.path.join(user_dir(), "hub-cache")


def _limit(name: str, default: float) -> float:
    v = os.environ.get(name)
    try:
        return float(v) if v else default
    except ValueError:
        raise InputError(f"{name}={v!r} must be a number") from None


# ---- the HTTP layer ---------------------------------------------------------------

@dataclass
class ReadStats:
    """Bytes received per file (the body bytes of every range answer) and requests made."""

    bytes_by_file: dict = field(default_factory=dict)
    last_read: dict = field(default_factory=dict)
    requests: int = 0
    cached: int = 0


STATS = ReadStats()


def _headers(extra: dict | None = None) -> dict:
    from huggingface_hub.utils import build_hf_headers
    from ... import __version__
    h = build_hf_headers(library_name="rigcheck", library_version=__version__)
    if extra:
        h.update(extra)
    return h


def _session():
    from huggingface_hub import get_session
    return get_session()


def _fail(status: int, what: str, repo: str, headers=None) -> HubError:
    """One line for an HTTP error answer."""
    if status in (401, 403):
        token = "HF_TOKEN is set but its token has no access" if os.environ.get("HF_TOKEN") else \
            "set HF_TOKEN to a read token (https://huggingface.co/settings/tokens)"
        return HubError(f"{repo} is gated or private on the Hub (HTTP {status} for {what}): accept its terms on "
                        f"{endpoint()}/{repo} and {token}", "gated")
    if status == 404:
        return HubError(f"{what}: not found on the Hub (HTTP 404)", "not_found")
    if status == 429:
        wait = (headers or {}).get("retry-after") if headers is not None else None
        return HubError(f"the Hub is rate-limiting requests (HTTP 429 for {what}); wait"
                        + (f" {wait} s" if wait else " a minute") + " and retry, or set HF_TOKEN for a higher limit", "rate_limit")
    return HubError(f"the Hub answered HTTP {status} for {what}; try again later, or use --offline for cached answers")


def _net_error(e: Exception, what: str) -> HubError:
    import httpx2 as httpx
    if isinstance(e, httpx.TimeoutException):
        return HubError(f"the Hub at {endpoint()} timed out reading {what}; try again, or use --offline for "
                        "cached answers and the bundled catalogue", "unreachable")
    return HubError(f"cannot reach the Hub at {endpoint()} for {what} ({type(e).__name__}: {str(e)[:120]}); "
                    "check the network, or use --offline for cached answers and the bundled catalogue", "unreachable")


def _timeout(remaining: float):
    import httpx2 as httpx
    r = max(0.5, remaining)
    return httpx.Timeout(connect=min(CONNECT_TIMEOUT_S, r), read=min(30.0, r), write=min(30.0, r), pool=min(30.0, r))


def _get_json(url: str, what: str, repo: str, etag: str | None = None, params: dict | None = None):
    """(status, etag, data) of a Hub API GET; 304 gives (304, etag, None). Bounded in
    bytes and time."""
    import httpx2 as httpx
    deadline = time.monotonic() + _limit("RIGCHECK_HUB_DEADLINE_S", DEADLINE_S)
    extra = {"If-None-Match": etag} if etag else {}
    STATS.requests += 1
    try:
        with _session().stream("GET", url, params=params, headers=_headers(extra),
                               timeout=_timeout(deadline - time.monotonic()), follow_redirects=True) as r:
            if r.status_code == 304:
                return 304, etag, None
            if r.status_code >= 400:
                raise _fail(r.status_code, what, repo, r.headers)
            body = bytearray()
            for chunk in r.iter_bytes():
                body += chunk
                if len(body) > MAX_API_BYTES:
                    raise HubError(f"the Hub's answer for {what} exceeds {MAX_API_BYTES >> 20} MiB; not a Hub API "
                                   "answer (check HF_ENDPOINT)")
                if time.monotonic() > deadline:
                    raise HubError(f"the Hub's answer for {what} is too slow ({len(body):,} bytes so far); try again")
            try:
                data = json.loads(bytes(body))
            except ValueError:
                raise HubError(f"the Hub's answer for {what} is not JSON (check HF_ENDPOINT={endpoint()})") from None
            return r.status_code, r.headers.get("etag"), data
    except (httpx.HTTPError, OSError) as e:        # OSError: huggingface_hub's offline mode
        raise _net_error(e, what) from None


class _Progress:
    """A concise progress line on stderr while headers are read (only on a terminal)."""

    def __init__(self):
        self.tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        self.shown = False

    def show(self, text: str) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K" + text[:110])
            sys.stderr.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False


PROGRESS = _Progress()


class RangeFile:
    """A remote file as a read-only file object over the prefix fetched so far.

    ``read`` fetches the missing part of the prefix with one Range request: at least
    ``FIRST_READ`` bytes the first time, then what the read needs plus half the prefix
    (so a header of H bytes takes O(log H) requests and at most ~1.5 H bytes), never
    more than ``budget`` bytes in all and never past ``deadline_s`` seconds."""

    def __init__(self, url: str, size: int, label: str, repo: str, budget: int | None = None,
                 deadline_s: float | None = None):
        self.url, self.size, self.label, self.repo = url, size, label, repo
        self.budget = int(budget if budget is not None else _limit("RIGCHECK_HUB_MAX_HEADER_BYTES", MAX_HEADER_BYTES))
        self.deadline = time.monotonic() + (deadline_s if deadline_s is not None
                                            else _limit("RIGCHECK_HUB_DEADLINE_S", DEADLINE_S))
        self.prefix = bytearray()
        self.pos = 0
        self.received = 0

    # file protocol used by the readers
    def seek(self, pos: int) -> None:
        self.pos = pos

    def read(self, n: int) -> bytes:
        end = min(self.pos + max(n, 0), self.size)
        self._ensure(end)
        out = bytes(self.prefix[self.pos:end])
        self.pos = end
        return out

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def _ensure(self, end: int) -> None:
        have = len(self.prefix)
        if end <= have:
            return
        if end > self.budget:
            raise FormatError(f"{self.label}: the header needs more than {self.budget:,} bytes "
                              f"(byte {end:,} of a {self.size:,}-byte file); rigcheck reads headers only "
                              f"(limit: RIGCHECK_HUB_MAX_HEADER_BYTES)")
        grow = FIRST_READ if have == 0 else have // 2
        stop = min(self.size, self.budget, max(end, have + grow))
        self.prefix += self._fetch(have, stop)
        PROGRESS.show(f"rigcheck: reading headers: {self.label} ({len(self.prefix) / 1e6:.1f} MB)")

    def _fetch(self, start: int, stop: int) -> bytes:
        import httpx2 as httpx
        want = stop - start
        STATS.requests += 1
        try:
            with _session().stream("GET", self.url, headers=_headers({"Range": f"bytes={start}-{stop - 1}",
                                                                       "Accept-Encoding": "identity"}),
                                   timeout=_timeout(self.deadline - time.monotonic()), follow_redirects=True) as r:
                if r.status_code >= 400:
                    raise _fail(r.status_code, self.label, self.repo, r.headers)
                if r.status_code != 206 and start > 0:
                    raise HubError(f"{self.label}: the server ignored the Range request (HTTP {r.status_code}); "
                                   "rigcheck reads headers only, so it stops here")
                body = bytearray()
                for chunk in r.iter_bytes():
                    body += chunk
                    self.received += len(chunk)
                    STATS.bytes_by_file[self.label] = STATS.bytes_by_file.get(self.label, 0) + len(chunk)
                    if len(body) >= want:
                        break
                    if time.monotonic() > self.deadline:
                        raise HubError(f"{self.label}: the server is too slow ({self.received:,} bytes in the "
                                       "time allowed); try again later (limit: RIGCHECK_HUB_DEADLINE_S)")
        except (httpx.HTTPError, OSError) as e:        # OSError: huggingface_hub's offline mode
            raise _net_error(e, self.label) from None
        if len(body) < want:
            raise FormatError(f"{self.label}: the server sent {len(body):,} of the {want:,} bytes asked for "
                              f"(bytes {start:,}-{stop - 1:,} of a {self.size:,}-byte file)")
        return bytes(body[:want])


# ---- the repo listing -------------------------------------------------------------

@dataclass(frozen=True)
class RepoFile:
    path: str
    size: int
    etag: str          # LFS sha256, else the git blob id


@dataclass(frozen=True)
class RepoInfo:
    repo: str
    revision: str
    sha: str
    files: tuple[RepoFile, ...]
    base_models: tuple[str, ...] = ()
    from_cache: bool = False

    def file(self, path: str) -> RepoFile | None:
        return next((f for f in self.files if f.path == path), None)


def _slug(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]


def _api_cache(repo: str, rev: str) -> str:
    return os.path.join(cache_dir(), "api", repo.replace("/", "--"), _slug(rev) + ".json")


def _write_atomic(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _info_of(repo: str, rev: str, data: dict, from_cache: bool) -> RepoInfo:
    if not isinstance(data, dict):
        raise HubError(f"{repo}: the Hub's model info is not a JSON object (check HF_ENDPOINT={endpoint()})")
    files = []
    for s in data.get("siblings") or []:
        if not isinstance(s, dict) or not isinstance(s.get("rfilename"), str):
            continue
        lfs = s.get("lfs") if isinstance(s.get("lfs"), dict) else {}
        size = lfs.get("size", s.get("size"))
        size = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else -1
        etag = str(lfs.get("sha256") or s.get("blobId") or "")
        files.append(RepoFile(s["rfilename"], size, etag))
    card = data.get("cardData") if isinstance(data.get("cardData"), dict) else {}
    base = card.get("base_model") or []
    base = [base] if isinstance(base, str) else [b for b in base if isinstance(b, str)]
    return RepoInfo(repo, rev, str(data.get("sha") or ""), tuple(files), tuple(base), from_cache)


def cached_info(repo: str, revision: str | None = None) -> RepoInfo | None:
    """The listing kept in the cache (no request), or None."""
    rev = revision or "main"
    try:
        with open(_api_cache(repo, rev), "rb") as f:
            return _info_of(repo, rev, json.loads(f.read()).get("data"), True)
    except (OSError, ValueError, AttributeError, HubError):
        return None


def repo_info(repo: str, revision: str | None = None) -> RepoInfo:
    """The repo's files (sizes, ETags) at a revision: from the Hub, revalidated by ETag
    against the cache; offline, from the cache alone."""
    rev = revision or "main"
    path = _api_cache(repo, rev)
    cached = None
    try:
        with open(path, "rb") as f:
            cached = json.loads(f.read())
    except (OSError, ValueError):
        cached = None
    if offline():
        if cached is None:
            raise HubError(f"{repo}@{rev} is not in rigcheck's Hub cache and the Hub is off (--offline or "
                           "HF_HUB_OFFLINE=1): run once online, or name a catalogue model (rigcheck models)",
                           "unreachable")
        STATS.cached += 1
        return _info_of(repo, rev, cached.get("data"), True)
    url = f"{endpoint()}/api/models/{repo}" + ("" if revision is None else f"/revision/{_quote(rev)}")
    try:
        status, etag, data = _get_json(url, f"{repo}@{rev}", repo, (cached or {}).get("etag"),
                                       params={"blobs": "true"})
    except HubError as e:
        if "HTTP 404" in str(e):
            raise HubError(_not_found(repo, revision), "not_found") from None
        raise
    if status == 304 and cached is not None:
        STATS.cached += 1
        return _info_of(repo, rev, cached.get("data"), True)
    info = _info_of(repo, rev, data, False)
    _write_atomic(path, json.dumps({"etag": etag, "data": data, "fetched": time.time()}).encode())
    return info


def _quote(s: str) -> str:
    from urllib.parse import quote
    return quote(s, safe="")


def _not_found(repo: str, revision: str | None) -> str:
    """'no such repo' with the closest names the Hub's search and the catalogue know."""
    msg = f"{repo}" + (f"@{revision}" if revision else "") + ": no such model repo on the Hub (HTTP 404), nor a local path"
    names: list[str] = []
    term = repo.split("/", 1)[1]
    for key in dict.fromkeys((term, re.split(r"[-_.]", term)[0])):
        if key and len(names) < 50:
            try:
                names += search_models({"search": key, "limit": 50})
            except HubError:        # the suggestion is a courtesy: the 404 is the answer
                break
    try:
        from .. import catalog
        names += [c.id for c in catalog.all_cards()]
    except Exception:
        pass
    near = closest(repo, names) or closest(repo.split("/", 1)[1], names)
    if near:
        msg += "; did you mean: " + ", ".join(near) + "?"
    elif revision:
        msg += f" (or it has no revision {revision})"
    return msg


def search_models(params: dict) -> list[str]:
    """Repo ids from the Hub's model search (``/api/models``, as HfApi.list_models asks it;
    one bounded page): ``search``, ``filter`` (a list: all must hold), ``sort``, ``limit``."""
    if offline():
        return []
    _, _, data = _get_json(f"{endpoint()}/api/models", "the model search", "", params=params)
    if not isinstance(data, list):
        raise HubError(f"the Hub's model search did not answer a list (check HF_ENDPOINT={endpoint()})")
    return [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]


def resolve_url(repo: str, sha: str, path: str) -> str:
    from huggingface_hub import hf_hub_url
    return hf_hub_url(repo, path, revision=sha or None, endpoint=endpoint())


# ---- header bytes, cached ---------------------------------------------------------

def _head_cache(repo: str, f: RepoFile) -> str:
    return os.path.join(cache_dir(), "headers", _slug(repo, f.path, f.etag, str(f.size)) + ".bin")


def cached_header_bytes(repo: str, f: RepoFile) -> bytes | None:
    if not f.etag:
        return None
    try:
        with open(_head_cache(repo, f), "rb") as fh:
            return fh.read()
    except OSError:
        return None


class CachedFile(RangeFile):
    """A RangeFile whose prefix comes from the cache; it fetches only what the cache
    lacks (a reader that needs more than was kept)."""

    def __init__(self, url, size, label, repo, data: bytes):
        super().__init__(url, size, label, repo)
        self.prefix = bytearray(data)

    def _fetch(self, start, stop):
        if offline():
            raise HubError(f"{self.label}: the cached header is incomplete and the Hub is off (--offline)")
        return super()._fetch(start, stop)


def hf_cache_dir() -> str:
    """huggingface_hub's cache of downloaded files: HF_HUB_CACHE, else $HF_HOME/hub."""
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                      os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    return os.environ.get("HF_HUB_CACHE") or os.path.join(home, "hub")


def downloaded(repo: str, info: RepoInfo, f: RepoFile) -> str | None:
    """The file when huggingface_hub has already downloaded it at this commit (and it has
    the listed size): its header is read from disk, not the network."""
    if not info.sha:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
        p = try_to_load_from_cache(repo, f.path, cache_dir=hf_cache_dir(), revision=info.sha)
    except Exception:            # an unreadable cache is no cache
        return None
    if isinstance(p, str) and os.path.isfile(p) and os.path.getsize(p) == f.size:
        return p
    return None


class _LocalFile:
    """A downloaded file as the readers' file object (bytes read are counted as 0)."""

    received = 0
    prefix = b""

    def __init__(self, path: str):
        self.f = open(path, "rb")

    def seek(self, pos):
        self.f.seek(pos)

    def read(self, n):
        return self.f.read(n)

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def read_remote(repo: str, info: RepoInfo, f: RepoFile, parse):
    """``parse(fileobj, size, label)`` over the file's header bytes: from huggingface_hub's
    download cache when the file is there, from rigcheck's cache when the file's ETag was
    read before, else by bounded range reads (kept afterwards)."""
    label = f"{repo}/{f.path}"
    if f.size < 0:
        raise HubError(f"{label}: the Hub's listing gives no size for this file")
    local = downloaded(repo, info, f)
    if local is not None:
        STATS.cached += 1
        STATS.last_read[label] = 0
        return parse(_LocalFile(local), f.size, label)
    data = cached_header_bytes(repo, f)
    url = resolve_url(repo, info.sha, f.path)
    if data is not None:
        STATS.cached += 1
        src = CachedFile(url, f.size, label, repo, data)
    elif offline():
        raise HubError(f"{label}: its header is not in rigcheck's Hub cache and the Hub is off (--offline): "
                       "run once online")
    else:
        src = RangeFile(url, f.size, label, repo)
    try:
        out = parse(src, f.size, label)
    finally:
        PROGRESS.done()
        STATS.last_read[label] = src.received
    if f.etag and (data is None or len(src.prefix) > len(data)):
        _write_atomic(_head_cache(repo, f), bytes(src.prefix))
    return out


def header_bytes_read(label: str) -> int:
    """Bytes received for a file ('org/name/path') the last time its header was read
    (0 when the cache answered)."""
    return STATS.last_read.get(label, 0)

