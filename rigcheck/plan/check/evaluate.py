"""One build on one rig: its memory, placement, decode range, quality note, verdict and
launch commands (``evaluate``), the model and rig in plain data, and how builds compare
(``quality_class``, ``pick_best``). The reality check (plan.check), what to run instead
(plan.alternatives) and the tier table (plan.tiers) all build on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ... import units
from ...errors import InputError, RigcheckError
from ...model import Model
from ...quant.build import Build
from ..modes import mode
from ...notes import Note



@dataclass
class BuildCheck:
    name: str
    runtime: str
    recipe: str
    file_bytes: int
    bits_per_weight: float
    weights_bytes: int = 0
    kv_bytes: int = 0
    compute_bytes: int = 0
    overhead_bytes: int = 0
    total_bytes: int = 0
    fits: bool = False
    mode: str = "no_fit"
    headroom: float = 0.0
    placement: list[dict] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    decode_tok_s: dict | None = None
    prefill_tok_s: dict | None = None
    verdict: str = "no"
    reasons: list[str] = field(default_factory=list)
    quality_note: Note | None = None
    notes: list[str] = field(default_factory=list)
    commands: dict[str, str] = field(default_factory=dict)
    measure_commands: dict[str, str] = field(default_factory=dict)   # how to check the estimate: rigcheck bench
    evidence: list[dict] = field(default_factory=list)
    quality_class: int = 0
    published: bool = False      # a file that exists in a Hub repo (exact bytes); else computed from a recipe

    @property
    def rank(self) -> int:
        from ..verdict import LABELS
        return LABELS.index(self.verdict)


# ---- the model in one line --------------------------------------------------------

def model_summary(model: Model) -> dict:
    from ...units import params
    total, active = model.total_params, model.active_params()
    d = {"id": model.id, "family": model.family, "arch": model.arch, "total_params": total,
         "active_params": active, "mtp_params": model.mtp_params,
         "moe": bool(model.moe), "n_ctx_train": model.n_ctx_train}
    if model.moe:
        d["line"] = (f"{model.id}: {params(total)} parameters in total, {params(active)} active per token "
                     f"({model.moe.n_expert_used} of {model.moe.n_expert} routed experts). Active parameters "
                     "set the speed (bytes read per token); total parameters set the memory: the router may "
                     "pick any expert for the next token, so every expert must be resident.")
    else:
        d["line"] = (f"{model.id}: {params(total)} parameters, all of them read for every token (dense): "
                     "memory and speed both scale with the full size.")
    return d


# ---- rig in plain data ------------------------------------------------------------

def _platform(rig) -> str:
    node = rig.node
    for d in node.gpus:
        v = (d.vendor or "").lower()
        if v == "apple":
            return "metal"
        if v == "nvidia":
            return "cuda"
        if v == "amd":
            return "rocm"
        if v == "intel":
            return "vulkan"
    return "cpu"


def describe_detected(rig) -> str:
    """'this machine: AMD EPYC (2 threads), 23.5 GiB RAM, no GPU'."""
    node = rig.node
    parts = []
    gpus = [d.name for d in node.devices]
    if node.cpu is not None:
        parts.append(node.cpu.name + (f" ({node.cpu_threads} threads)" if node.cpu_threads else ""))
    parts.append(f"{units.gib(node.ram_bytes or 0, 1)} RAM")
    parts.append(", ".join(gpus) if gpus else "no GPU")
    return "this machine: " + ", ".join(parts)


def rig_summary(rig) -> dict:
    from ...hardware import format_rig
    node = rig.node
    devs = [{"name": d.name, "kind": d.kind, "memory_bytes": d.memory_bytes,
             "bandwidth_bytes_s": d.bandwidth_bytes_s} for n in rig.nodes for d in n.devices]
    return {"spec": format_rig(rig) if rig.source != "detected" else describe_detected(rig),
            "source": rig.source, "devices": devs, "ram_bytes": node.ram_bytes,
            "platform": _platform(rig), "notes": list(getattr(rig, "notes", []) or [])}


# ---- one build on one rig -----------------------------------------------------------

def _container(build: Build) -> str:
    """The format a runtime loads the build as (rigcheck.runtimes.FORMATS)."""
    from ... import runtimes
    if build.recipe == "ds4" or build.name.startswith("ds4-"):
        return "ds4-gguf"
    return build.container if build.container in runtimes.FORMATS else "gguf"


def _runtime_for(build: Build, rig, wanted: str | None) -> str | None:
    """The runtime a build is evaluated with: the one asked for if it loads the format,
    else the format's default runtime where it runs on the rig's platform (each runtime
    module says which formats it loads and defaults for, and on which platforms)."""
    from ... import runtimes
    fmt = _container(build)
    if wanted:
        return wanted if wanted in runtimes.loaders(fmt) else None
    name = runtimes.default_for(fmt)
    if name is None or _platform(rig) not in runtimes.get(name).platforms:
        return None
    return name


def _pool_dicts(placement) -> list[dict]:
    out = []
    for u in placement.placement:
        dev = getattr(u, "device", "")
        name = dev if isinstance(dev, str) else getattr(dev, "name", str(dev))
        out.append({"device": name, "kind": getattr(u, "kind", ""), "bytes": int(u.bytes),
                    "capacity_bytes": int(u.capacity_bytes or 0)})
    return out


def _range(r) -> dict | None:
    if r is None:
        return None
    return {"low": r.low, "mid": r.mid, "high": r.high}


def speed_options(runtime: str, speed: dict | None) -> dict:
    """The estimate's ``backend``, ``threads`` and ``os_name`` the user named (or check took from
    this machine), for a runtime they mean something to: llama.cpp and its family (ggml
    backends, ``-t``, the Vulkan driver the OS implies); {} for the others."""
    from ..speed import GGML_RUNTIMES
    if not speed or runtime not in GGML_RUNTIMES:
        return {}
    return {k: v for k, v in speed.items() if k in ("backend", "threads", "os_name") and v}


def evaluate(model: Model, build: Build, rig, ctx: int, runtime: str, *, commands: bool = True,
             thresholds=None, speed: dict | None = None) -> BuildCheck:
    """Placement, speed, verdict and commands for one build on one rig. ``speed``: the
    backend and CPU thread count the user named ({"backend": "vulkan", "threads": 8});
    they reach the estimate and (threads) llama.cpp's command for the runtimes they apply to."""
    from ... import runtimes
    from ..speed.estimate import estimate
    from .data import speed_data
    from ..placement import plan
    from ..verdict import quality_note, verdict

    bc = BuildCheck(build.name, runtime, build.recipe, build.file_bytes, build.bits_per_weight,
                    published=bool((build.meta or {}).get("published")))
    pl = plan(build, ctx=ctx, runtime=runtime, rig=rig)
    bc.weights_bytes, bc.kv_bytes = pl.weights_bytes, pl.kv_bytes
    bc.compute_bytes, bc.overhead_bytes, bc.total_bytes = pl.compute_bytes, pl.overhead_bytes, pl.total_bytes
    bc.fits, bc.mode, bc.flags = bool(pl.fits), pl.mode, list(pl.flags)
    bc.placement = _pool_dicts(pl)
    bc.notes = list(pl.notes)
    bc.headroom = headroom_fraction(pl)
    mid = low = 0.0
    if pl.fits and pl.mode != "no_fit":
        try:
            est = estimate(pl, rig, runtime, ctx, model, build, **speed_data(), **speed_options(runtime, speed))
        except (ValueError, RigcheckError) as e:
            bc.notes.append(Note("no_speed_estimate", error=str(e)))
        else:
            bc.decode_tok_s, bc.prefill_tok_s = _range(est.decode_tok_s), _range(est.prefill_tok_s)
            bc.evidence = [_evidence_dict(e) for e in est.evidence[:3]]
            bc.notes.extend(est.notes)
            mid, low = est.decode_tok_s.mid, est.decode_tok_s.low
    rt = runtimes.get(runtime)
    cont = _container(build)
    sup = rt.support(model.arch).for_format(cont)
    fits = bool(pl.fits) and pl.mode != "mmap_stream"
    v = verdict(fits, mode(pl.mode).verdict if fits else "none", bc.headroom, mid, low,
                build.bits_per_weight, sup.status, expert_mix=is_expert_mix(build),
                **({"thresholds": thresholds} if thresholds else {}))
    bc.verdict, bc.reasons = v.label, list(v.reasons)
    if pl.mode == "mmap_stream":
        bc.reasons = ["does not fit in GPU memory plus RAM: llama.cpp could only stream the weights from "
                      "disk (mmap) for every token"
                      + (f", at about {units.rate(mid)} tok/s" if mid else "")]
    bc.quality_note = quality_note(build.bits_per_weight, build.name,
                                   [n for n in build.notes if _about_recipe(n)])
    if commands and pl.fits:
        bc.commands = launch_commands(model, build, rig, ctx, pl, threads=(speed or {}).get("threads"))
        bc.measure_commands = {name: runtimes.get(name).measure_command(build_file=_file_name(model, build),
                                                                        published=bc.published)
                               for name in bc.commands}
    return bc


# build notes about the file's container, not its precision: left out of the quality note
_CONTAINER_NOTES = frozenset({"gguf_metadata_estimated", "usually_sharded", "gguf_shard_of", "native_checkpoint"})


def _about_recipe(note) -> bool:
    if isinstance(note, Note):
        return note.code not in _CONTAINER_NOTES
    return not any(w in note for w in ("metadata", "shard", "header"))


@dataclass(frozen=True)
class _Split:
    """A build's matrices split into routed experts and the rest: expert types and the
    average bits per weight of each side (None where a side is empty)."""

    expert_types: frozenset
    expert_bpw: float | None
    rest_bpw: float | None


def _split(build: Build) -> _Split:
    types, exp_b, exp_n, rest_b, rest_n = set(), 0, 0, 0, 0
    for t, ty, n in build.items():
        if len(t.shape) < 2:
            continue
        if t.is_expert:
            types.add(ty)
            exp_b, exp_n = exp_b + n, exp_n + t.n_elements
        else:
            rest_b, rest_n = rest_b + n, rest_n + t.n_elements
    return _Split(frozenset(types), exp_b * 8 / exp_n if exp_n else None, rest_b * 8 / rest_n if rest_n else None)


def is_expert_mix(build: Build) -> bool:
    """True when the routed experts carry the low bits (< 3.5 on average) and every other
    matrix keeps 6 bits or more: the 'expert-mode' builds (IQ2_XS-XL, ds4 q2)."""
    sp = _split(build)
    if sp.expert_bpw is None or sp.rest_bpw is None:
        return False
    return sp.expert_bpw < 3.5 and sp.rest_bpw >= 6.0


def headroom_fraction(pl) -> float:
    """The fraction of fast memory (GPU or unified pools) left free; for placements that
    use no fast memory (CPU only), the fraction of RAM left. A runtime that caps itself at
    a share of each GPU (vLLM's gpu_memory_utilization, SGLang's mem_fraction_static) has
    its headroom counted within that share: the part it leaves by design is its margin
    already, and what is left inside the share is its room for more KV."""
    fast = [u for u in pl.placement if u.kind in ("gpu", "unified") and u.capacity_bytes]
    pools = fast or [u for u in pl.placement if u.kind == "ram" and u.capacity_bytes]
    if not pools:
        return 0.0
    capped = bool(fast) and any(k in (pl.settings or {}) for k in ("gpu_memory_utilization", "mem_fraction_static"))

    def left(u) -> float:
        budget = u.capacity_bytes - (u.overhead_bytes if capped else 0)
        return (u.capacity_bytes - u.bytes) / budget if budget > 0 else 0.0
    return min(left(u) for u in pools)


def _evidence_dict(e) -> dict:
    if hasattr(e, "__dataclass_fields__"):
        from ...report.jsonout import to_plain
        return to_plain(e)
    return dict(e)


def _file_name(model: Model, build: Build) -> str:
    """What the runtime is pointed at: the GGUF file for GGUF builds (the model's own file
    when it came from one), the card's Hub repo for a safetensors checkpoint."""
    if model.meta.get("path"):
        return model.meta["path"]
    if (build.meta or {}).get("published") and (build.meta.get("files") or []) and _container(build) == "gguf":
        return build.meta["files"][0]["path"]          # the published file (its first part when split)
    if _container(build) in ("safetensors", "mlx"):
        return model.meta.get("hf_repo") or model.id
    base = model.id.split("/")[-1]
    return f"{base}-{build.name}.gguf"


def _published(build: Build) -> dict:
    """A published GGUF's repo, tag and files for the runtimes' commands (runtimes/__init__)."""
    m = build.meta or {}
    if not (m.get("published") and m.get("repo") and m.get("files")) or _container(build) != "gguf":
        return {}
    return {"published": {"repo": m["repo"], "tag": m.get("tag") or "", "revision": m.get("revision"),
                          "files": [f["path"] for f in m["files"]],
                          "repo_files": list(m.get("repo_files") or [f["path"] for f in m["files"]])}}


def launch_commands(model: Model, build: Build, rig, ctx: int, pl, threads: int | None = None) -> dict[str, str]:
    """The exact command for each runtime that loads this build's format and runs this
    architecture (mainline or fork), with the placement's flags and sized settings;
    ``threads``: the CPU threads the user named, as ``-t N`` for the runtimes that take the
    placement's flags (llama.cpp's family)."""
    from ... import runtimes
    cont = _container(build)
    plat = _platform(rig)
    out: dict[str, str] = {}
    for name in runtimes.loaders(cont):
        try:
            rt = runtimes.get(name)
        except RigcheckError:
            continue
        if plat not in rt.platforms and plat != "cpu":
            continue
        sup = rt.support(model.arch).for_format(cont)
        if sup.status == "none":
            continue
        flags = list(pl.flags) + ([f"-t {int(threads)}"] if threads else []) if rt.placement_flags else []
        try:
            out[name] = rt.command(model.id, build.name, _file_name(model, build), ctx, flags,
                                   arch=model.arch, platform=plat, **rt.settings_for(pl), **_published(build))
        except (RigcheckError, TypeError, ValueError):
            continue
    return out


# ---- the whole check ----------------------------------------------------------------

def make_builds(model: Model, names: list[str] | None = None) -> list[Build]:
    from ...quant import recipes
    out = []
    for name in names or recipes.standard_builds(model):
        try:
            out.append(recipes.build(model, name))
        except InputError:
            continue
    return out


# 4-bit float expert types of a checkpoint (V4's FP4, gpt-oss's MXFP4) and the GGUF type
# that keeps them (MXFP4 is the same e2m1 values with a power-of-two scale per 32)
NATIVE_FP4 = frozenset({"FP4_E2M1_B32", "MXFP4"})


def quality_class(build: Build, native: Build | None) -> int:
    """2: the published weights, or as good (the native checkpoint; 6 bits or more per
    weight; a GGUF that keeps a 4-bit float checkpoint's experts as MXFP4 with 8-bit or
    better elsewhere); 1: 4.5-6 bits; 0: below. Re-quantizing a 4-bit float checkpoint's
    experts to another type under 8 bits cannot beat the source: at most 1."""
    if build.recipe == "native":
        return 2
    bpw = build.bits_per_weight
    cls = 2 if bpw >= 6.0 else (1 if bpw >= 4.5 else 0)
    if native is None or not build.model.moe:
        return cls
    nat = {ty for t, ty, _ in native.items() if t.is_expert}
    if not nat or not nat <= NATIVE_FP4:
        return cls
    sp = _split(build)
    if sp.expert_types == {"MXFP4"} and sp.rest_bpw is not None:
        # the experts are the checkpoint's own values: the class is the rest's
        return 2 if sp.rest_bpw >= 6.0 else (1 if sp.rest_bpw >= 4.5 else 0)
    if sp.expert_bpw is not None and sp.expert_bpw < 8.0:
        return min(cls, 1)
    return cls


# a build one verdict below the best still wins when it runs all on fast memory, is of the
# same or a better quality class and decodes at least this many times faster: the margin it
# lacks costs the user less than the speed it gives (vLLM's native V4-Pro on 8x H200 at ~120
# tok/s with room for 3 requests of 32K, over a comfortable GGUF in llama.cpp at ~26)
FASTER_WINS = 2.0


def pick_best(rows: list[BuildCheck]) -> BuildCheck | None:
    """Across builds and runtimes: the best verdict; at equal verdicts, a build all on fast
    memory over an offloaded one; then, for builds that run, the higher quality class
    (:func:`quality_class`), then the faster; for builds that barely run, the faster. A
    build that merely runs beats a comfortable one when it is ``FASTER_WINS`` times as fast,
    all on fast memory and no worse in quality."""
    ok = [b for b in rows if b.verdict != "no"]
    if not ok:
        return None

    def speed(b: BuildCheck) -> float:
        return (b.decode_tok_s or {}).get("mid", 0.0) or 0.0

    def key(b: BuildCheck):
        return (b.rank, mode(b.mode).fast, b.quality_class if b.rank >= 3 else 0, speed(b))
    best = max(ok, key=key)
    faster = [b for b in ok if b.rank == best.rank - 1 >= 3 and mode(b.mode).fast
              and b.quality_class >= best.quality_class and speed(b) >= FASTER_WINS * speed(best) > 0]
    if not faster:
        return best
    quick = max(faster, key=key)
    if not any(n.code == "chosen_for_speed" for n in quick.notes if isinstance(n, Note)):
        quick.notes.insert(0, Note("chosen_for_speed", build=best.name, runtime=best.runtime, verdict=best.verdict,
                                   speedup=speed(quick) / speed(best)))
    return quick
