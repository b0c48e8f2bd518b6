"""Models and published builds from a Hugging Face Hub repo, read header-only.

* A GGUF repo: every ``.gguf`` file (split files ``-00001-of-0000N`` joined) is a
  published build with its exact bytes and per-tensor types, read from its headers.
  ``org/name:Q4_K_M`` or ``org/name:file.gguf`` picks one; otherwise the model is the
  highest-precision file's.
* A safetensors repo: config.json + every shard's header give the exact tensor
  inventory and dtypes (a family module's inventory with the checkpoint dtypes attached,
  or the generic family for an architecture rigcheck has no module for); the ``native``
  build is the published checkpoint with its exact bytes.
* ``gguf_repos_of(repo)``: the GGUF repos quantized from a base repo (the Hub's model
  tree, ``base_model:quantized:org/name``; plus ``$RIGCHECK_GGUF_PUBLISHERS``, a
  comma-separated list of publishers whose ``{publisher}/{name}-GGUF`` repos are tried).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, replace

from ...errors import FormatError, InputError, UnknownNameError
from ..model import Model
from . import hub
from .gguf import SPLIT_NAME
from .hub import HubError, HubRef, RepoFile, RepoInfo

_TAG = re.compile(r"(?:^|[-_.])((?:UD-)?(?:I?Q\d[A-Z0-9_]*|BF16|F16|F32|FP16|MXFP4(?:_MOE)?|TQ\d_\d))$", re.I)
MAX_CONFIG = 16 << 20
MAX_PUBLISHED = 64        # GGUF files (or split sets) read per repo
MAX_LISTED = 4096         # GGUF paths of a repo kept with each published build (for launch commands)
GGUF_REPOS = 3            # of a base repo's quantized repos, the most downloaded (RIGCHECK_GGUF_REPOS)


@dataclass(frozen=True)
class GGUFSet:
    """One published GGUF: a file, or the parts of a split file in order."""

    name: str                  # the quant tag (Q4_K_M, UD-Q4_K_XL, BF16) or the file stem
    parts: tuple[RepoFile, ...]

    @property
    def path(self) -> str:
        return self.parts[0].path

    @property
    def listed_bytes(self) -> int:
        return sum(p.size for p in self.parts)


def _stem(path: str) -> str:
    base = os.path.basename(path)
    m = SPLIT_NAME.match(base)
    return m.group(1) if m else base[:-5] if base.lower().endswith(".gguf") else base


def quant_tag(path: str) -> str:
    """'gpt-oss-20b-Q4_K_M.gguf' -> 'Q4_K_M'; a name with no tag gives its stem."""
    stem = _stem(path)
    m = _TAG.search(stem)
    if m:
        return m.group(1).upper().replace("FP16", "F16")
    folder = os.path.dirname(path)
    m = _TAG.search(os.path.basename(folder)) if folder else None
    return m.group(1).upper() if m else stem


def gguf_sets(info: RepoInfo) -> list[GGUFSet]:
    """The repo's GGUF files, split parts joined (a set missing a part is left out).
    Multimodal projector files (mmproj) are not builds of the model and are skipped."""
    singles, splits = [], {}
    for f in info.files:
        if not f.path.lower().endswith(".gguf") or "mmproj" in os.path.basename(f.path).lower():
            continue
        m = SPLIT_NAME.match(os.path.basename(f.path))
        if m:
            key = (os.path.dirname(f.path), m.group(1), int(m.group(3)))
            splits.setdefault(key, {})[int(m.group(2))] = f
        else:
            singles.append(GGUFSet(quant_tag(f.path), (f,)))
    sets = list(singles)
    for (folder, stem, n), parts in splits.items():
        if sorted(parts) == list(range(1, n + 1)):
            sets.append(GGUFSet(quant_tag(parts[1].path), tuple(parts[i] for i in range(1, n + 1))))
    names = [s.name for s in sets]
    out = []
    for s in sets:       # the same tag twice (two folders, two variants): name them by path
        out.append(s if names.count(s.name) == 1 else replace(s, name=_stem(s.path)))
    return sorted(out, key=lambda s: -s.listed_bytes)


def select(sets: list[GGUFSet], selector: str, repo: str) -> GGUFSet:
    low = selector.lower()
    for s in sets:
        if any(p.path.lower() == low or os.path.basename(p.path).lower() == low for p in s.parts):
            return s
    for s in sets:
        if s.name.lower() == low:
            return s
    # Ollama / llama.cpp -hf spell tags without the UD- prefix or in lower case
    for s in sets:
        if s.name.lower().removeprefix("ud-") == low.removeprefix("ud-"):
            return s
    raise UnknownNameError(f"file or quant tag in {repo}", selector, [s.name for s in sets] +
                           [p.path for s in sets for p in s.parts][:40])


# ---- headers ----------------------------------------------------------------------

_HEADERS: dict = {}          # (repo, path, etag, size) -> GGUFHeader, within one process


def gguf_header(ref_repo: str, info: RepoInfo, f: RepoFile):
    from .gguf import read_header
    key = (ref_repo, f.path, f.etag, f.size)
    if f.etag and key in _HEADERS:
        return _HEADERS[key]

    def parse(src, size, label):
        return read_header(label, fileobj=src, size=size, chunk=hub.READ_CHUNK)
    hdr = hub.read_remote(ref_repo, info, f, parse)
    if len(_HEADERS) > 256:
        _HEADERS.clear()
    _HEADERS[key] = hdr
    return hdr


def safetensors_header(ref_repo: str, info: RepoInfo, f: RepoFile):
    from .safetensors import read_header

    def parse(src, size, label):
        return read_header(label, fileobj=src, size=size)
    return hub.read_remote(ref_repo, info, f, parse)


def _joined_header(repo: str, info: RepoInfo, s: GGUFSet):
    """One GGUFHeader for a set: the first part's metadata, every part's tensors, the
    sizes summed; plus the per-part headers."""
    from .gguf import GGUFHeader
    heads = [gguf_header(repo, info, p) for p in s.parts]
    first = heads[0]
    if len(heads) > 1:
        count = first.get("split.count")
        if count not in (None, len(heads)):
            raise FormatError(f"{repo}/{s.path}: split.count says {count} parts, the repo has {len(heads)}")
    tensors = [t for h in heads for t in h.tensors]
    joined = GGUFHeader(f"{repo}/{s.path}", sum(h.file_size for h in heads), first.version, dict(first.metadata),
                        dict(first.kv_bytes), tensors, first.alignment, first.data_offset,
                        [p.path for p in s.parts])
    return joined, heads


def _header_file_bytes(heads) -> int:
    """A set's size from its headers alone: each part's padded header, then its tensors
    each padded to the alignment."""
    from ...quant.build import pad
    total = 0
    for h in heads:
        total += h.data_offset + sum(pad(t.nbytes, h.alignment) for t in h.tensors)
    return total


def _model_of_set(repo: str, info: RepoInfo, s: GGUFSet) -> tuple[Model, list]:
    from .gguf_model import model_from_header
    joined, heads = _joined_header(repo, info, s)
    m = model_from_header(joined, model_id=repo)
    meta = {"hub": {"repo": repo, "revision": info.revision, "sha": info.sha, "file": s.path},
            "file_size": joined.file_size}
    return replace(m, meta=meta), heads


def published_gguf_build(repo: str, info: RepoInfo, s: GGUFSet):
    """The Build a published GGUF is: its tensors' exact types and bytes, its real header
    sizes; ``meta['files']`` lists the parts with their bytes."""
    from ...quant.build import make_build
    model, heads = _model_of_set(repo, info, s)
    header = sum(h.data_offset for h in heads)
    b = make_build(model, [t.dtype for t in model.tensors], name=s.name, header_bytes=header,
                   header_estimated=False, container="gguf", recipe="published", align=heads[0].alignment,
                   meta={})
    from_headers = _header_file_bytes(heads)
    notes = []
    if from_headers != s.listed_bytes:
        notes.append(f"the Hub lists {s.listed_bytes:,} bytes, the headers give {from_headers:,}")
    if len(s.parts) > 1:
        notes.append(f"published in {len(s.parts)} parts")
    files = [{"path": p.path, "bytes": p.size} for p in s.parts]
    read = sum(hub.header_bytes_read(f"{repo}/{p.path}") for p in s.parts)
    # what a launch command needs to fetch this very file: the repo, the file's quant tag,
    # and every GGUF path of the repo in the Hub's order (a runtime that resolves a tag
    # itself, as llama.cpp's -hf does, may pick another file for the same tag)
    listing = [f.path for f in info.files if f.path.lower().endswith(".gguf")][:MAX_LISTED]
    return replace(b, file_bytes=from_headers, notes=tuple(notes),
                   meta={"published": True, "repo": repo, "files": files, "header_bytes_read": read,
                         "tag": s.name, "repo_files": listing, "revision": info.revision})


# ---- safetensors repos ------------------------------------------------------------

def _read_small(repo: str, info: RepoInfo, f: RepoFile, what: str) -> dict:
    if f.size > MAX_CONFIG:
        raise FormatError(f"{repo}/{f.path}: {f.size:,} bytes is too large for {what}")

    def parse(src, size, label):
        raw = src.read(size)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise FormatError(f"{label}: not valid JSON ({e})") from None
        if not isinstance(data, dict):
            raise FormatError(f"{label}: {what} must hold a JSON object")
        return data
    return hub.read_remote(repo, info, f, parse)


def _shards(repo: str, info: RepoInfo) -> list[RepoFile]:
    """The safetensors shards of the checkpoint at the repo's top level (an index names
    them; otherwise every top-level .safetensors file)."""
    idx = info.file("model.safetensors.index.json")
    top = [f for f in info.files if f.path.endswith(".safetensors") and "/" not in f.path]
    if idx is not None:
        wm = _read_small(repo, info, idx, "a safetensors index").get("weight_map")
        if not isinstance(wm, dict):
            raise FormatError(f"{repo}/{idx.path}: a safetensors index needs a 'weight_map' object")
        names = sorted(set(map(str, wm.values())))
        out = []
        for n in names:
            f = info.file(n)
            if f is None:
                raise HubError(f"{repo}: the index names shard {n}, which the repo does not hold")
            out.append(f)
        return out
    return sorted(top, key=lambda f: f.path)


def _safetensors_model(repo: str, info: RepoInfo) -> Model:
    from dataclasses import replace as rep

    from ..families import FAMILIES, build_model, model_type_of
    from .safetensors import attach
    cfg_file = info.file("config.json")
    config = _read_small(repo, info, cfg_file, "config.json") if cfg_file else None
    shards = _shards(repo, info)
    stensors = []
    shard_rows = []
    for f in shards:
        meta, ts = safetensors_header(repo, info, f)
        stensors += [rep(t, file=f.path) for t in ts]
        shard_rows.append({"path": f.path, "bytes": f.size, "header_bytes": f.size - sum(t.nbytes for t in ts),
                           "header_bytes_read": hub.header_bytes_read(f"{repo}/{f.path}")})
    if config is None:
        from .safetensors import generic_model
        model = generic_model(stensors, repo)
        model = rep(model, meta=dict(model.meta, not_inferred=["config.json (the repo has none): no attention "
                                                                 "layout, context or MoE facts"]))
    else:
        try:
            known = model_type_of(config) in FAMILIES
        except (InputError, UnknownNameError):
            known = False
        fallback = None
        if known:
            try:
                model = attach(build_model(config, repo), stensors)
                model = rep(model, meta=dict(model.meta, checkpoint_tensor_bytes=tensor_bytes(model, stensors)))
            except InputError as e:      # a variant the family module does not read: the generic one
                known, fallback = False, f"the {model_type_of(config)} family could not read this config ({e})"
        if not known:
            from ..families import generic
            model = generic.build(config, repo, stensors)
            from ..families import STORAGE_KEYS
            model = rep(model, meta=dict(model.meta, **{k: config[k] for k in STORAGE_KEYS if config.get(k)}))
            if fallback:
                model = rep(model, meta=dict(model.meta, not_inferred=[fallback] + model.meta["not_inferred"]))
        q = config.get("quantization_config")
        if isinstance(q, dict):
            model = rep(model, meta=dict(model.meta, quantization_config=q))
    hubmeta = {"repo": repo, "revision": info.revision, "sha": info.sha, "shards": shard_rows,
               "checkpoint_bytes": sum(f.size for f in shards),
               "quant_method": str((config or {}).get("quantization_config", {}).get("quant_method", ""))
               if isinstance((config or {}).get("quantization_config"), dict) else ""}
    return rep(model, id=repo, meta=dict(model.meta, hub=hubmeta))


def _names_of(t) -> list[str]:
    if not t.hf_name:
        return []
    if "{e}" in t.hf_name:
        return [t.hf_name.format(e=e) for e in range(t.shape[0])]
    return [t.hf_name]


def tensor_bytes(model: Model, stensors) -> list[int]:
    """The checkpoint bytes behind each tensor of a family's inventory: its own checkpoint
    tensor(s) (each expert of a fused one) plus their companions, the tensors a quantized
    checkpoint stores beside a weight (``q_proj.qweight``/``qzeros``/``scales`` of AWQ and
    GPTQ, ``weight_scale_inv`` of FP8, ``gate_up_proj_blocks``/``_scales`` of MXFP4), found
    by stripping the companion's suffix back to the weight's module. A checkpoint tensor
    two inventory tensors share (gpt-oss's fused gate_up_proj) is split by their sizes."""
    by = {t.name: t.nbytes for t in stensors}
    owners: dict[str, list[int]] = {}
    for i, t in enumerate(model.tensors):
        for n in _names_of(t):
            owners.setdefault(n, []).append(i)
    stems = {(n[:-7] if n.endswith(".weight") else n): n for n in owners}
    extra: dict[str, int] = {}
    for cname, nb in by.items():
        if cname in owners:
            continue
        key = cname
        while True:
            cut = max(key.rfind("."), key.rfind("_"))
            if cut <= 0:
                break
            key = key[:cut]
            hit = key if key in owners else stems.get(key)
            if hit:
                extra[hit] = extra.get(hit, 0) + nb
                break
    out = [0] * len(model.tensors)
    for name, idxs in owners.items():
        total = by.get(name, 0) + extra.get(name, 0)
        weights = [model.tensors[i].n_elements for i in idxs]
        for i, w in zip(idxs, weights):
            out[i] += round(total * w / sum(weights))
    return out


# storage types a checkpoint tensor may be in, for matching its bytes (quant/types.py)
_CHECKPOINT_TYPES = ("F32", "BF16", "F16", "FP8_E4M3", "FP8_B128", "FP8_E4M3_T128_UE8M0", "FP8_E4M3_T128_F32",
                     "FP4_E2M1_B32", "NVFP4_B16", "NF4", "AWQ_4BIT_G128", "GPTQ_4BIT_G128", "GPTQ_8BIT_G128")


def _closest_type(t, measured: int, first: str) -> str:
    """The storage type whose size for ``t`` is nearest the checkpoint's bytes (``first``,
    the format's own reading, wins within 1%)."""
    from ...quant.build import tensor_nbytes
    if abs(tensor_nbytes(t.shape, first) - measured) <= 0.01 * measured:
        return first
    best, err = first, None
    for ty in _CHECKPOINT_TYPES:
        try:
            d = abs(tensor_nbytes(t.shape, ty) - measured)
        except Exception:        # a type that cannot hold this shape
            continue
        if err is None or d < err:
            best, err = ty, d
    return best


def published_native(model: Model):
    """The checkpoint as published: the native build's types, with the exact bytes of
    the shards (data and headers) from the Hub; ``meta['files']`` lists the shards."""
    from ...quant import recipes
    h = model.meta.get("hub") or {}
    shards = h.get("shards") or []
    if not shards:
        return None
    try:
        b = recipes.build(model, "native")
    except InputError:
        return None
    exact = sum(s["bytes"] for s in shards)
    heads = sum(s["header_bytes"] for s in shards)
    notes = [f"the published checkpoint: {len(shards)} safetensors file(s), {exact:,} bytes"]
    measured = model.meta.get("checkpoint_tensor_bytes")
    if measured and len(measured) == len(model.tensors):
        # each tensor in the type its checkpoint bytes say (AWQ, GPTQ, NVFP4... that the
        # quantization_config reading does not know), so memory and speed use real bytes
        from ...quant.build import make_build
        types = [ty if ty is None or not m else _closest_type(t, m, ty)
                 for t, ty, m in zip(model.tensors, b.types, measured)]
        changed = sum(1 for a, c in zip(types, b.types) if a != c)
        if changed:
            notes.append(f"{changed} tensor(s) typed from their checkpoint bytes")
        b = make_build(model, types, name=b.name, header_bytes=heads, header_estimated=False,
                       container="safetensors", recipe="native")
    if abs(b.weights_bytes + heads - exact) > 0.005 * exact:
        notes.append(f"the tensors rigcheck accounts for take {b.weights_bytes + heads:,} bytes")
    q = h.get("quant_method")
    if q:
        notes.append(f"quantization_config: {q}")
    return replace(b, file_bytes=exact, header_bytes=heads, header_estimated=False, notes=tuple(notes),
                   meta={"published": True, "repo": h.get("repo"),
                         "files": [{"path": s["path"], "bytes": s["bytes"]} for s in shards]})


# ---- the entry points -------------------------------------------------------------

def load(ref: HubRef) -> Model:
    """A Model from a Hub reference. When the Hub cannot be reached (no network, or
    --offline without a cached answer) and the catalogue has a card for the repo, the
    card's model, with ``meta['hub_unreachable']`` saying why."""
    try:
        info = hub.repo_info(ref.repo, ref.revision)
    except HubError as e:
        if e.kind != "unreachable" or ref.revision or ref.selector:
            raise
        from .. import catalog
        try:
            card = catalog.card(ref.repo)
        except UnknownNameError:
            raise e from None
        m = catalog.model_of(card)
        return replace(m, meta=dict(m.meta, hub_unreachable=str(e)))
    sets = gguf_sets(info)
    if ref.selector:
        if not sets:
            raise InputError(f"{ref.repo} has no GGUF files, so ':{ref.selector}' names nothing; "
                             f"try {ref.repo} alone")
        model, _ = _model_of_set(ref.repo, info, select(sets, ref.selector, ref.repo))
        return model
    has_st = any(f.path.endswith(".safetensors") and "/" not in f.path for f in info.files)
    if has_st:
        return _safetensors_model(ref.repo, info)
    if sets:
        model, _ = _model_of_set(ref.repo, info, _representative(sets))
        return model
    if info.file("config.json"):
        from ..families import build_model
        cfg = _read_small(ref.repo, info, info.file("config.json"), "config.json")
        m = build_model(cfg, ref.repo)
        return replace(m, meta=dict(m.meta, hub={"repo": ref.repo, "revision": info.revision, "sha": info.sha}))
    raise InputError(f"{ref.repo} holds neither safetensors nor GGUF files nor a config.json: not a model "
                     "rigcheck can read")


_PRECISION = ["F32", "BF16", "F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M"]


def _representative(sets: list[GGUFSet]) -> GGUFSet:
    for tag in _PRECISION:
        for s in sets:
            if s.name.upper() == tag:
                return s
    return sets[0]


def is_hub_model(model: Model) -> bool:
    return isinstance(model.meta.get("hub"), dict)


def published_builds(model: Model) -> list:
    """The builds published for a Hub model: every GGUF of its repo (a GGUF repo) or of
    the GGUF repos quantized from it (a base repo), and its native checkpoint."""
    h = model.meta.get("hub") or {}
    repo = h.get("repo")
    if not repo:
        return []
    out = []
    if model.source == "gguf":
        out += repo_builds(repo, h.get("revision"), sha=h.get("sha"))
    else:
        nat = published_native(model)
        if nat is not None:
            out.append(nat)
        own = hub.cached_info(repo, None if h.get("revision") in (None, "main") else h.get("revision"))
        if own is not None and own.sha == h.get("sha") and gguf_sets(own):
            out += repo_builds(repo, h.get("revision"), sha=h.get("sha"))     # GGUFs beside the checkpoint
        for other in gguf_repos_of(repo):
            try:
                out += repo_builds(other, None, prefix=True, common_only=True)
            except HubError:
                continue
    return out


def published_build(model: Model, name: str | None = None):
    """The published build that ``name`` names for a Hub model, or None where a recipe
    makes it ('size', 'memory' and 'estimate' then compute it as before).

    A GGUF repo: no name (or 'file') is the file the reference picked
    (``org/name-GGUF:Q4_K_M``, or the highest-precision file of the repo); a quant tag or
    file name is that published file when the repo has it. A safetensors repo: 'native' is
    the published checkpoint; 'publisher:TAG' (as 'check' names them) a file of a GGUF repo
    quantized from it."""
    h = model.meta.get("hub")
    if not isinstance(h, dict) or not h.get("repo"):
        return None
    key = (name or "").strip()
    low = key.lower()
    if model.source == "gguf":
        rev = None if h.get("revision") in (None, "main") else h.get("revision")
        info = hub.cached_info(h["repo"], rev)
        if info is None or (h.get("sha") and info.sha != h.get("sha")):
            info = hub.repo_info(h["repo"], rev)
        sets = gguf_sets(info)
        if low in ("", "file", "as-is"):
            s = next((s for s in sets if s.path == h.get("file")), None)
        else:
            try:
                s = select(sets, key, h["repo"])
            except UnknownNameError:
                return None
        return published_gguf_build(h["repo"], info, s) if s is not None else None
    if low == "native":
        return published_native(model)
    if ":" in key:
        return next((b for b in published_builds(model) if b.name.lower() == low), None)
    return None


def published_fields(build) -> dict:
    """What a report adds for a published build: ``published``, its ``repo`` and ``files``
    (list of {path, bytes}: split parts in order, the build's file_bytes their sum from the
    headers); {} for a computed build."""
    m = build.meta or {}
    if not m.get("published"):
        return {}
    return {"published": True, "repo": m.get("repo"), "files": list(m.get("files") or [])}


# the file types read from a base repo's quantized repos (all of them: 'builds org/name-GGUF')
COMMON_TAGS = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K", "IQ2_XS", "MXFP4", "MXFP4_MOE", "BF16", "F16")


def repo_builds(repo: str, revision: str | None, prefix: bool = False, sha: str | None = None,
                common_only: bool = False) -> list:
    """Every published GGUF of a repo (``common_only``: the common file types only);
    ``sha``: the commit this run already listed (that listing is used without asking again)."""
    rev = None if revision in (None, "main") else revision
    info = hub.cached_info(repo, rev) if sha else None
    if info is None or info.sha != sha:
        info = hub.repo_info(repo, rev)
    sets = gguf_sets(info)
    if common_only:
        sets = [s for s in sets if s.name.upper().removeprefix("UD-") in COMMON_TAGS]
    out = []
    for s in sets[:MAX_PUBLISHED]:
        b = published_gguf_build(repo, info, s)
        if prefix:
            b = replace(b, name=f"{repo.split('/')[0]}:{b.name}")
        out.append(b)
    return out


def gguf_repos_of(repo: str) -> list[str]:
    """GGUF repos quantized from ``repo``: the Hub's model tree, then the publishers in
    $RIGCHECK_GGUF_PUBLISHERS. Offline: the ones found before (cached)."""
    cache = os.path.join(hub.cache_dir(), "tree", repo.replace("/", "--") + ".json")
    if hub.offline():
        try:
            with open(cache) as f:
                return [r for r in json.load(f) if isinstance(r, str)]
        except (OSError, ValueError):
            return []
    found: list[str] = []
    n = int(hub._limit("RIGCHECK_GGUF_REPOS", GGUF_REPOS))
    if n > 0:
        try:
            found += hub.search_models({"filter": [f"base_model:quantized:{repo}", "gguf"],
                                        "sort": "downloads", "direction": -1, "limit": n})[:n]
        except HubError:     # the tree is a courtesy: the base repo's own answer stands
            pass
    name = repo.split("/", 1)[1]
    for pub in filter(None, (p.strip() for p in os.environ.get("RIGCHECK_GGUF_PUBLISHERS", "").split(","))):
        cand = f"{pub}/{name}-GGUF"
        if cand in found:
            continue
        try:
            if any(f.path.endswith(".gguf") for f in hub.repo_info(cand).files):
                found.append(cand)
        except HubError:
            continue
    try:
        hub._write_atomic(cache, json.dumps(found).encode())
    except OSError:
        pass
    return found
