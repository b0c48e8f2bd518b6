"""Runtimes: the programs that load a build and serve it, behind one small interface.

Each runtime is one module here (``llamacpp.py``, ``ollama.py``, ...) that defines a
``RUNTIME = Runtime(...)`` and a ``command(...)`` function. This package collects them:

    get("llama.cpp")            -> Runtime   (aliases forgiven: "llamacpp", "llama-server")
    names()                     -> the canonical names, in display order
    Runtime.support(arch)       -> Support   read from data/runtime_support.csv
    Runtime.command(model_id, build_name, build_file, ctx, flags, parallel=None, **extra)
                                -> str       the exact launch command (several lines when
                                             a fork must be cloned and built first)

**Support status.** ``mainline``: a stable release of this runtime loads the architecture.
``fork``: only a fork or branch does (the command then starts with its clone and build).
``none``: this runtime cannot run it. ``unknown``: the catalogue has no row for this pair.
``since`` is the earliest date a cited source shows the support available, so it is an
upper bound on the real date; ``checked`` is when the row was last checked against its
sources.

**Architecture keys** are llama.cpp's GGUF architecture names; HF ``model_type`` values
and common spellings are mapped to them by ``canonical_arch``, which reads the one
architecture table (rigcheck.model.families.archs).
"""

from __future__ import annotations

import csv
import datetime as _dt
import importlib
import io
import re
import shlex
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from ..errors import InputError, UnknownNameError

STATUSES = ("mainline", "fork", "none", "unknown")
FORMATS = ("gguf", "mlx", "safetensors", "ds4-gguf")
PLATFORMS = ("cuda", "rocm", "metal", "cpu", "vulkan", "sycl")

# module names, in the order runtimes are listed
MODULES = ["llamacpp", "ollama", "lmstudio", "mlx", "vllm", "sglang", "ds4", "ik_llama",
           "ktransformers"]

CSV_NAME = "the runtime support table"   # in messages

# the canonical names in display order, for --help texts without importing every module
# (a test keeps it equal to names())
HELP_NAMES = "llama.cpp, ollama, lmstudio, mlx, vllm, sglang, ds4, ik_llama.cpp, ktransformers"

def canonical_arch(arch: str) -> str:
    """llama.cpp's name for an architecture given as GGUF arch or HF model_type (the
    architecture table, rigcheck.model.families.archs)."""
    from ..model.families.archs import canonical
    return canonical(arch)


@dataclass(frozen=True)
class Support:
    """Whether a runtime runs an architecture, since when, and where that is written."""

    runtime: str
    arch: str
    status: str                      # mainline | fork | none | unknown
    since: _dt.date | None = None
    version: str | None = None
    note: str = ""
    source: str = ""
    checked: _dt.date | None = None
    fork_repo: str | None = None
    fork_branch: str | None = None
    formats: tuple[str, ...] = ()     # the formats the row is about (empty: every format it loads)

    @property
    def runs(self) -> bool:
        return self.status in ("mainline", "fork")

    def for_format(self, fmt: str) -> "Support":
        """This support for builds of one format: ``none`` where the row names other
        formats only (LM Studio runs DeepSeek V4 GGUFs, not V4 in its MLX engine)."""
        if not self.formats or fmt in self.formats:
            return self
        from dataclasses import replace
        return replace(self, status="none", note=f"{self.runtime} runs {self.arch} only as "
                       f"{', '.join(self.formats)}: {self.note}")


@dataclass(frozen=True)
class Runtime:
    """One runtime: what it loads, where it runs, and how to start it."""

    name: str
    label: str
    aliases: tuple[str, ...]
    formats: tuple[str, ...]          # subset of FORMATS
    platforms: tuple[str, ...]        # subset of PLATFORMS
    homepage: str
    build_command: Callable[..., str] = field(repr=False, compare=False)
    only_arches: tuple[str, ...] | None = None   # a single-model runtime (ds4)
    fork_build: Callable[[str, str, str | None], str] | None = field(default=None, repr=False,
                                                                       compare=False)
    memory: object = field(default=None, repr=False, compare=False)   # its rigcheck.memory.rules.RuntimeMemory
    default_for: tuple[str, ...] = ()       # the formats whose builds it is evaluated with
    launch_with_others: bool = True         # gets a launch command for builds placed for another runtime
    # the launch settings from a sized placement (plan/placement.Placement -> command keywords:
    # cache type, tensor-parallel size, memory fraction); None: the command takes none
    launch_settings: Callable[[object], dict] | None = field(default=None, repr=False, compare=False)
    placement_flags: bool = False           # passes the placement's flags (-ngl, --n-cpu-moe, -ot) on
    serve_url: str | None = None            # where its OpenAI-compatible API listens by default (its docs)
    bench_files: bool = False               # `rigcheck bench FILE` runs its builds in process (llama-cpp-python)

    def settings_for(self, placement) -> dict:
        """The command keywords this runtime takes from a sized placement."""
        return dict(self.launch_settings(placement)) if self.launch_settings else {}

    def measure_command(self, served_model: str | None = None, build_file: str | None = None,
                        published: bool = False) -> str:
        """How to measure a run of this runtime with ``rigcheck bench`` (stored with the
        rig, shown beside later estimates). A ``published`` file is where ``hf download
        --local-dir .`` puts it; fetched by the runtime itself (``-hf``) it sits in the
        runtime's cache, so the running server is the other way to measure it."""
        if self.bench_files and build_file and build_file.endswith(".gguf"):
            text = join(["rigcheck", "bench", build_file])
            if published and self.serve_url:
                text += f"   # after the hf download above; or, while it serves: rigcheck bench --server {self.serve_url}"
            return text
        url = self.serve_url or "URL"
        args = ["rigcheck", "bench", "--server", url]
        if served_model:
            args += ["--model", served_model]
        text = join(args)
        return text if self.serve_url else text + f"   # URL: the address {self.label} prints at start-up"

    def support(self, arch: str, rows: list[dict] | None = None) -> Support:
        """Support for ``arch`` (GGUF arch or HF model_type) from the bundled catalogue."""
        return support_of(self, arch, _rows() if rows is None else rows)

    def command(self, model_id: str, build_name: str, build_file: str | None, ctx: int,
                flags: list[str] | tuple[str, ...] = (), parallel: int | None = None, *,
                arch: str | None = None, platform: str | None = None, **extra) -> str:
        """The exact launch command; a fork-only architecture gets the fork's clone+build first.

        ``flags`` are extra arguments for the runtime (placement flags such as
        ``--n-cpu-moe 30`` or ``-ot REGEX=CPU``), passed through in order.
        ``arch`` (optional) lets the command add the fork's build lines when only a fork
        runs it; ``platform`` picks the build (cuda, rocm, metal, vulkan, cpu). Runtime
        modules get ``fork`` (the fork's Support row, or None) to adjust the binary.
        """
        if int(ctx) <= 0:
            raise InputError(f"context length must be a positive number of tokens, not {ctx}")
        fork = None
        if arch is not None and self.fork_build is not None:
            sup = self.support(arch)
            if sup.status == "fork" and sup.fork_repo:
                fork = sup
        body = self.build_command(model_id=model_id, build_name=build_name,
                                  build_file=build_file, ctx=int(ctx), flags=list(flags),
                                  parallel=parallel, platform=platform, fork=fork,
                                  **extra)
        if fork is not None:
            return self.fork_build(fork.fork_repo, fork.fork_branch or "", platform) + "\n" + body
        return body


def _date(text: str) -> _dt.date | None:
    text = (text or "").strip()
    return _dt.date.fromisoformat(text) if text else None


def parse_rows(text: str) -> list[dict]:
    """The rows of a runtime_support.csv text, validated (status, dates)."""
    return validate_rows(list(csv.DictReader(io.StringIO(text))))


def validate_rows(rows_in) -> list[dict]:
    """Support rows checked: a known status and formats, a source, real dates."""
    rows = []
    for i, row in enumerate(rows_in, start=2):
        if row.get("status") not in STATUSES:
            raise ValueError(f"{CSV_NAME} line {i}: status '{row.get('status')}' is not one of {STATUSES}")
        bad = [f for f in (row.get("formats") or "").split(",") if f.strip() and f.strip() not in FORMATS]
        if bad:
            raise ValueError(f"{CSV_NAME} line {i}: formats {bad} are not among {FORMATS}")
        if not row.get("source") or not row.get("checked"):
            raise ValueError(f"{CSV_NAME} line {i}: every row needs a source and a checked date")
        _date(row.get("since", "")), _date(row["checked"])   # raise on a bad date
        rows.append(row)
    return rows


@lru_cache(maxsize=1)
def _rows_cached() -> tuple:
    from .. import catalogue
    return tuple(validate_rows(catalogue.runtime_support()))


def _rows() -> list[dict]:
    return list(_rows_cached())


def support_of(runtime: Runtime, arch: str, rows: list[dict]) -> Support:
    """Look ``arch`` up for ``runtime`` in ``rows`` (plain dicts as in the CSV)."""
    key = canonical_arch(arch)
    for row in rows:
        if row["runtime"] == runtime.name and canonical_arch(row["arch"]) == key:
            return Support(runtime=runtime.name, arch=key, status=row["status"],
                           since=_date(row.get("since", "")), version=row.get("version") or None,
                           note=row.get("note", ""), source=row["source"],
                           checked=_date(row["checked"]),
                           fork_repo=row.get("fork_repo") or None,
                           fork_branch=row.get("fork_branch") or None,
                           formats=tuple(f.strip() for f in (row.get("formats") or "").split(",") if f.strip()))
    if runtime.only_arches is not None and key not in runtime.only_arches:
        return Support(runtime=runtime.name, arch=key, status="none",
                       note=f"{runtime.label} runs only {', '.join(runtime.only_arches)}",
                       source=runtime.homepage)
    return Support(runtime=runtime.name, arch=key, status="unknown",
                   note=f"no catalogue row for {runtime.label} and {key}")


def support_table(arch: str) -> list[Support]:
    """Every runtime's support for one architecture, in display order."""
    return [rt.support(arch) for rt in all_runtimes()]


@lru_cache(maxsize=1)
def _registry() -> dict[str, Runtime]:
    reg = {}
    for mod_name in MODULES:
        mod = importlib.import_module(f".{mod_name}", __name__)
        rt = mod.RUNTIME
        reg[rt.name] = rt
    return reg


def all_runtimes() -> list[Runtime]:
    return list(_registry().values())


def default_for(fmt: str) -> str | None:
    """The runtime a build of format ``fmt`` is evaluated with (its module says so)."""
    return next((rt.name for rt in all_runtimes() if fmt in rt.default_for), None)


def loaders(fmt: str) -> list[str]:
    """The runtimes that load format ``fmt`` and take a build placed for another: the
    format's default runtime first, then the rest in display order."""
    out = [rt.name for rt in all_runtimes() if fmt in rt.formats and rt.launch_with_others]
    first = default_for(fmt)
    return ([first] if first in out else []) + [n for n in out if n != first]


def names() -> list[str]:
    return list(_registry())


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def get(name: str) -> Runtime:
    """The runtime called ``name`` (or an alias); UnknownNameError with the closest names."""
    want = _norm(str(name))
    for rt in _registry().values():
        if want in {_norm(rt.name), *(_norm(a) for a in rt.aliases)}:
            return rt
    known = [n for rt in _registry().values() for n in (rt.name, *rt.aliases)]
    raise UnknownNameError("runtime", str(name), known,
                           hint="runtimes: " + ", ".join(names()))


# ---- helpers the runtime modules share ----------------------------------------------

def q(arg: str | int) -> str:
    """Shell-quote one argument."""
    return shlex.quote(str(arg))


def ggml_cache_settings(pl) -> dict:
    """llama.cpp-family launch settings from a sized placement: the cache type (-ctk/-ctv)
    when it is not the f16 default."""
    cache = pl.cache_type or ""
    return {"cache_type": cache} if cache and cache != "f16" else {}


def tp_settings(pl) -> dict:
    """vLLM/SGLang-family launch settings from a sized placement: tensor-parallel size and
    the KV cache dtype it was sized with (``auto``: the runtime's default, no flag)."""
    cache = pl.cache_type or ""
    return {"tp": int((pl.settings or {}).get("tp") or 1), "kv_cache_dtype": None if cache in ("", "auto") else cache}


def join(args: list[str | int]) -> str:
    """One shell command line from already-split arguments (each quoted as needed)."""
    return " ".join(q(a) for a in args)


def cmake_backend_flag(platform: str | None) -> str:
    """The ggml CMake switch for a platform."""
    return {
        "cuda": "-DGGML_CUDA=ON", "rocm": "-DGGML_HIP=ON", "metal": "-DGGML_METAL=ON",
        "vulkan": "-DGGML_VULKAN=ON", "sycl": "-DGGML_SYCL=ON", "cpu": "",
    }.get(platform or "cuda", "-DGGML_CUDA=ON")


def ggml_fork_build(repo: str, branch: str, platform: str | None) -> str:
    """Clone and build a llama.cpp-family fork (the article's recipe)."""
    folder = repo.rstrip("/").rsplit("/", 1)[-1]
    clone = ["git", "clone"] + (["-b", branch] if branch else []) + [repo]
    cfg = ["cmake", "-B", "build"] + ([cmake_backend_flag(platform)] if cmake_backend_flag(platform) else [])
    return "\n".join([
        join(clone),
        f"cd {q(folder)}",
        join(cfg),
        "cmake --build build --config Release -j",
    ])


def split_flags(flags: list[str]) -> list[str]:
    """Flags as argv items; an item written with spaces ('--n-cpu-moe 30') is split."""
    out: list[str] = []
    for f in flags:
        f = str(f)
        out.extend(shlex.split(f) if any(c.isspace() for c in f) else [f])
    return out


# ---- published files on the Hugging Face Hub ------------------------------------------
#
# A published build (a GGUF file in a Hub repo, rigcheck.model.sources.hub_models) reaches
# a runtime's command as ``published={"repo", "tag", "files", "repo_files", "revision"}``:
# the repo, the file's quant tag, its path (every part, in order, for a split file) and
# every GGUF path of the repo in the Hub's order.

def _is_model_file(path: str) -> bool:
    """A GGUF that is a model, not a side file (llama.cpp common/download.cpp,
    gguf_filename_is_model: mmproj, imatrix and draft-model files are not)."""
    base = path.rsplit("/", 1)[-1]
    return path.endswith(".gguf") and not any(k in base for k in ("mmproj", "imatrix", "mtp-", "eagle3-",
                                                                   "dflash-", "dspark-"))


def tag_matches(tag: str, repo_files: list[str]) -> list[str]:
    """The model files a quant tag selects, in the repo's order, as llama.cpp's ``-hf
    REPO:TAG`` looks for them (common/download.cpp, find_best_model in the llama.cpp that
    llama-cpp-python 0.3.36 vendors): a case-insensitive search for ``TAG`` followed by '.'
    or '-' anywhere in the path, first parts of split files only. llama.cpp takes the first."""
    from ..model.sources.gguf import SPLIT_NAME
    pat = re.compile(re.escape(tag) + r"[.-]", re.I)
    out = []
    for p in repo_files:
        m = SPLIT_NAME.match(p)
        if _is_model_file(p) and pat.search(p) and not (m and int(m.group(2)) != 1):
            out.append(p)
    return out


def tag_picks(published: dict) -> bool:
    """True when the published file's own tag, given to a runtime that resolves tags in
    the repo, selects this file and no other (so ``repo:TAG`` is this exact download)."""
    tag, files = published.get("tag") or "", published.get("files") or []
    return bool(tag and files) and tag_matches(tag, published.get("repo_files") or files) == [files[0]]


def at_main(published: dict) -> bool:
    """Whether the published file is at the repo's main revision: the only one a quant tag
    (``REPO:TAG``, ``hf.co/REPO:TAG``, ``REPO@TAG``) or llama.cpp's ``-hf`` resolves."""
    return published.get("revision") in (None, "", "main")


def hf_download(published: dict) -> str:
    """The ``hf download`` line (huggingface_hub's CLI: ``hf download REPO_ID [FILENAMES]...
    --local-dir DIR``) that fetches a published build's files, every part of a split file,
    into the current folder (each at its path in the repo)."""
    args = ["hf", "download", published["repo"], *published["files"]]
    if not at_main(published):
        args += ["--revision", published["revision"]]
    return join(args + ["--local-dir", "."])
