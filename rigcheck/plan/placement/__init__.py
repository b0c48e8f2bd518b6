"""Placement: what lives where, and does it fit.

``plan(build, ctx=..., runtime=..., rig=... | vram_bytes=..., ram_bytes=...)`` puts each
tensor of a Build, the KV cache and the runtime's buffers on the rig's pools (GPUs, system
RAM, unified memory, disk) the way the runtime would, and returns a ``Placement``.

The order tried follows what people do (research/runtime-memory.md §3.5-3.7):

1. everything on one GPU, or split across GPUs (llama.cpp: whole layers per GPU, the
   output layer on the last; vLLM/SGLang: tensor parallel over all GPUs);
2. MoE: routed experts of the first N layers in system RAM, the smallest N that fits
   (``--n-cpu-moe N``, or the equivalent ``-ot`` pattern);
3. whole layers in RAM (``-ngl N``: the output layer and the last N-1 layers on the GPU);
4. CPU only;
5. when RAM cannot hold the weights, llama.cpp's mmap streams them from disk: it runs,
   at a speed cliff;
6. unified memory (Apple, Strix Halo, DGX Spark): one pool with a GPU budget (macOS wired
   limit), with the command that raises it when that is what is short.

Each PoolUse carries ``active_bytes_per_token``: the weight bytes in that pool read per
decoded token (routed experts at n_expert_used / n_expert, the input embedding as one
row, everything else in full), from the Build's per-tensor bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ... import units
from ...errors import InputError
from ...memory import buffers, kv_llamacpp, limits, runtimes
from ...memory.kv import KVCache, beyond_train_note, check_count, check_ctx
from ...model.tensor import Role
from ...notes import Note
from ...quant.build import Build

MiB = 2**20
GiB = 2**30


@dataclass
class PoolUse:
    """One memory pool and what the placement puts in it. ``kind``: gpu | ram | unified |
    disk. ``capacity_bytes``: what the pool may hold (a GPU's memory, the unified GPU
    budget, RAM), or None when unknown."""

    device: str
    kind: str
    bytes: int
    capacity_bytes: int | None
    weights_bytes: int = 0
    kv_bytes: int = 0
    compute_bytes: int = 0
    overhead_bytes: int = 0
    active_bytes_per_token: float = 0.0
    device_id: str = ""
    layers: tuple[int, int] | None = None     # [first, last] repeating layers held (llama.cpp split)

    @property
    def weight_bytes(self) -> int:            # spelling used by plan/estimate.py
        return self.weights_bytes

    @property
    def used_bytes(self) -> int:
        return self.bytes


@dataclass
class Placement:
    runtime: str
    build: str
    ctx: int
    parallel_seqs: int
    cache_type: str
    weights_bytes: int
    kv_bytes: int
    compute_bytes: int
    overhead_bytes: int
    total_bytes: int
    placement: list[PoolUse]
    fits: bool
    headroom: int
    mode: str
    flags: list[str] = field(default_factory=list)
    notes: list = field(default_factory=list)     # Note objects (words in report/notes.py)
    parallel: str = "single"                  # how GPUs share the work: single | layer | tensor
    # the runtime settings this placement was sized with, for its launch command:
    # tp (tensor-parallel GPUs), gpu_memory_utilization (vLLM), mem_fraction_static (SGLang)
    settings: dict = field(default_factory=dict)

    def pool(self, kind: str) -> list[PoolUse]:
        return [u for u in self.placement if u.kind == kind]


@dataclass
class Share:
    """One pool while a placement fills it: a GPU (whole layers ``first``..``last``) or
    the host's RAM. ``weights`` bytes resident, ``active`` bytes read per token, ``kv``
    and ``compute`` bytes, against ``cap`` (None: not bounded here)."""

    name: str
    id: str
    cap: int | None
    weights: int = 0
    active: float = 0.0
    kv: int = 0
    compute: int = 0
    first: int | None = None
    last: int | None = None


# ---- the budget: a tiny interface over a Rig or plain numbers --------------------------

@dataclass(frozen=True)
class Budget:
    gpus: tuple[tuple[str, str, int], ...]     # (name, id, bytes)
    ram: int | None
    unified: bool = False
    gpu_budget: int | None = None
    apple: bool = False
    backend: str = "cuda"
    nodes: int = 1


def budget_of(rig=None, vram_bytes: int | None = None, ram_bytes: int | None = None) -> Budget:
    if rig is not None:
        node = rig.node
        gpus = tuple((d.name, d.id, int(d.memory_bytes or 0)) for d in node.gpus)
        if node.unified and not node.cpu_only:
            soc = node.devices[0]
            apple = (soc.vendor or "").lower() == "apple"
            ram = int(node.ram_bytes or soc.memory_bytes or 0)
            gb = limits.gpu_budget(ram, apple_silicon=apple, live_bytes=node.gpu_budget_bytes,
                                   device_budget=soc.gpu_budget_bytes)
            return Budget((), ram, True, gb, apple, "metal" if apple else ("cuda" if "nvidia" in
                                                                            (soc.vendor or "").lower() else "vulkan"),
                          len(rig.nodes))
        vendor = (node.gpus[0].vendor or "").lower() if node.gpus else ""
        backend = "rocm" if "amd" in vendor else ("cuda" if gpus else "cpu")
        return Budget(gpus, int(node.ram_bytes) if node.ram_bytes else None, backend=backend, nodes=len(rig.nodes))
    for v, what in ((vram_bytes, "--vram"), (ram_bytes, "--ram")):
        if v is not None and (int(v) < 0 or int(v) > 2**50):
            raise InputError(f"{what} {v} is out of range (0 to 1 PiB)")
    gpus = (("GPU", "gpu", int(vram_bytes)),) if vram_bytes else ()
    return Budget(gpus, int(ram_bytes) if ram_bytes else None, backend="cuda" if gpus else "cpu")


# ---- weights, by where llama.cpp puts them ----------------------------------------------

@dataclass
class _Weights:
    n_layer: int
    embed: int = 0
    embed_active: float = 0.0
    output: int = 0
    dense: list = field(default_factory=list)       # per layer: non-expert bytes
    exps: list = field(default_factory=list)        # per layer: routed-expert bytes
    frac: float = 1.0
    tied: bool = False
    tied_bytes: int = 0     # of ``embed``, the table a tied model reuses as its output head
    largest_exp: int = 0

    @property
    def total(self) -> int:
        return self.embed + self.output + sum(self.dense) + sum(self.exps)

    @property
    def tied_head(self) -> int:
        """With tied embeddings the input embedding table is also the output head, read in
        full for every token; 0 otherwise (the head is then in ``output``). Other embedding
        tables (per-layer input embeddings) stay lookups (Model.is_lookup)."""
        return self.tied_bytes if self.tied else 0


def _weights(build: Build) -> _Weights:
    m = build.model
    L = m.n_layer
    w = _Weights(L, dense=[0] * L, exps=[0] * L, frac=m.expert_fraction(), tied=m.tied_embeddings)
    for t, _, n in build.items():
        if t.mtp:
            continue
        if t.layer is not None and t.layer < L:
            if t.is_expert:
                w.exps[t.layer] += n
                w.largest_exp = max(w.largest_exp, n)
            else:
                w.dense[t.layer] += n
        elif t.role == Role.EMBED:
            w.embed += n
            w.embed_active += n / max(1, m.n_vocab)
            if not m.is_lookup(t):
                w.tied_bytes += n
        else:
            w.output += n
    return w


# ---- the public entry --------------------------------------------------------------------

def plan(build: Build, *, ctx: int, runtime: str = "llama.cpp", rig=None, vram_bytes: int | None = None,
         ram_bytes: int | None = None, cache_type: str | None = None, parallel: int | None = None,
         flash_attn: bool | None = None, ubatch: int | None = None) -> Placement:
    """Place ``build`` at ``ctx`` tokens of context in ``runtime`` on ``rig`` (or on one GPU of
    ``vram_bytes`` plus ``ram_bytes`` of RAM)."""
    model = build.model
    ctx = check_ctx(model, ctx)
    if parallel is not None:
        parallel = check_count(parallel, "number of parallel sequences", 1, 256)
    if ubatch is not None:
        ubatch = check_count(ubatch, "ubatch size", 1, 65536)
    rt = runtimes.get(runtime)
    runtimes.check(rt, cache_type)
    bud = budget_of(rig, vram_bytes, ram_bytes)
    if rt.needs_apple and not bud.apple:
        raise InputError(f"{rt.name} runs on Apple Silicon only; this rig has no Apple chip")
    # the strategy the runtime's module declares (RuntimeMemory.strategy)
    if rt.strategy == "tp":
        out = _plan_tp(build, rt, bud, ctx, cache_type, parallel)
    elif rt.strategy == "whole":
        out = _plan_whole(build, rt, bud, ctx, cache_type, parallel)
    elif rt.strategy == "tp_experts_in_ram":
        out = _plan_tp(build, rt, bud, ctx, cache_type, parallel, experts_in_ram=True)
    else:
        out = _plan_llamacpp(build, rt, bud, ctx, cache_type, parallel, flash_attn, ubatch)
    note = beyond_train_note(model, ctx)
    if note and note not in out.notes:
        out.notes.insert(0, note)
    return out


# ---- llama.cpp and its relatives -------------------------------------------------------------

def _plan_llamacpp(build, rt, bud: Budget, ctx, cache_type, parallel, flash_attn, ubatch) -> Placement:
    model = build.model
    w = _weights(build)
    L = model.n_layer
    fa = rt.flash_attn if flash_attn is None else flash_attn
    kc = runtimes.kv_cache(rt, model, ctx, cache_type=cache_type, parallel=parallel, ubatch=ubatch, flash_attn=fa)
    n_seq = kc.n_seq
    unified_kv = rt.kv_unified and parallel is None
    cp = kv_llamacpp.cparams(model, ctx if unified_kv else ctx * n_seq, n_seq_max=n_seq, kv_unified=unified_kv,
                             n_batch=rt.n_batch, n_ubatch=ubatch or rt.n_ubatch)
    kvl = list(kc.layer_bytes)
    out_buf = buffers.llamacpp_output(model, n_seq)
    tk, _, tv = kc.cache_type.partition("/")
    ckw = dict(flash_attn=fa, n_seq_max=cp.n_seq_max, kv_unified=cp.kv_unified, n_batch=cp.n_batch,
               cache_type_k=tk, cache_type_v=tv or tk)
    notes = list(kc.notes)
    reserve = rt.gpu_reserve
    if rt.name == "ollama" and bud.backend == "metal":
        reserve = buffers.OLLAMA_MIN_MEMORY["metal"]
    base = dict(runtime=rt.name, build=build.name, ctx=ctx, parallel_seqs=n_seq, cache_type=kc.cache_type)

    if bud.unified:
        return _unified(build, w, kc, bud, base, notes, reserve, ckw, cp, out_buf)
    if not bud.gpus:
        comp = buffers.llamacpp_compute(model, cp.n_ubatch, cp.n_ctx_seq, backend="cpu", **ckw).bytes
        return _cpu_only(w, kc, comp + out_buf, bud, base, notes)

    def try_place(first_gpu_layer: int, n_cpu_moe: int, output_on_gpu: bool):
        """GPU pools (whole layers, in proportion to each GPU's memory; output on the last
        GPU) and the host pool."""
        host_copy = 0
        if n_cpu_moe or first_gpu_layer:
            host_copy = w.largest_exp if n_cpu_moe else max([w.dense[i] + w.exps[i] for i in range(first_gpu_layer)] or [0])
            host_copy = min(host_copy, 2 * w.largest_exp or host_copy)
        comp = buffers.llamacpp_compute(model, cp.n_ubatch, cp.n_ctx_seq, backend=bud.backend,
                                        output_on_gpu=output_on_gpu, host_weight_copy=host_copy, **ckw)
        # a GPU that holds layers but not the output layer: the same graph's layer peak
        # (needed only where there are several GPUs)
        small = buffers.llamacpp_compute(model, cp.n_ubatch, cp.n_ctx_seq, backend=bud.backend,
                                         output_on_gpu=False, **ckw).device if len(bud.gpus) > 1 else 0
        gpus = [Share(n, i, c) for n, i, c in bud.gpus]
        last = gpus[-1]
        out_w = (w.embed if w.tied else w.output) if output_on_gpu else 0
        tail = out_w + comp.device + reserve
        g = 0
        # llama.cpp splits layers across GPUs in proportion to their memory (-ts by free
        # memory): each GPU's share of the layers' bytes, the last one also holding the tail
        layer_need = [w.dense[il] + (w.exps[il] if il >= n_cpu_moe else 0) + kvl[il] for il in range(L)]
        total_need = sum(layer_need[first_gpu_layer:]) + tail
        caps = [max(0, gg.cap - reserve) for gg in gpus]
        share = [total_need * c / (sum(caps) or 1) for c in caps]
        for il in range(first_gpu_layer, L):
            e = w.exps[il] if il >= n_cpu_moe else 0
            need = layer_need[il]
            while True:
                room = gpus[g].cap - reserve - gpus[g].weights - gpus[g].kv - (tail - reserve if g == len(gpus) - 1 else
                                                                                   small)
                used = gpus[g].weights + gpus[g].kv
                over_share = used + need / 2 > share[g] and used > 0
                if (need <= room and not over_share) or g == len(gpus) - 1:
                    break
                g += 1
            gg = gpus[g]
            gg.weights += w.dense[il] + e
            gg.active += w.dense[il] + e * w.frac
            gg.kv += kvl[il]
            gg.first = il if gg.first is None else gg.first
            gg.last = il
        for j, gg in enumerate(gpus):
            gg.compute = comp.device if gg is last else (small if gg.weights else 0)
        last.weights += out_w
        last.active += out_w
        host_w = w.embed + (0 if output_on_gpu and not w.tied else 0) + (w.output if not output_on_gpu else 0)
        if w.tied and output_on_gpu:
            host_w = w.embed           # the tied table is loaded twice: host (input) and GPU (output)
        host_wa = w.embed_active + ((w.output + w.tied_head) if not output_on_gpu else 0)
        host_kv = 0
        for il in range(L):
            if il < first_gpu_layer:
                host_w += w.dense[il] + w.exps[il]
                host_wa += w.dense[il] + w.exps[il] * w.frac
                host_kv += kvl[il]
            elif il < n_cpu_moe:
                host_w += w.exps[il]
                host_wa += w.exps[il] * w.frac
        host_kv += kc.extra_bytes
        ok = all(gg.weights + gg.kv + gg.compute + reserve <= gg.cap for gg in gpus)
        return ok, gpus, Share("RAM", "ram", None, host_w, host_wa, host_kv, comp.host + out_buf)

    def result(mode, gpus, host, flags, extra_notes=()):
        uses = []
        for gg in gpus:
            if not (gg.weights or gg.kv):
                continue
            b = gg.weights + gg.kv + gg.compute + reserve
            uses.append(PoolUse(gg.name, "gpu", b, gg.cap, gg.weights, gg.kv, gg.compute, reserve,
                                gg.active, gg.id, (gg.first, gg.last) if gg.first is not None else None))
        return _finish(base, uses, host, bud, mode, flags, notes + list(extra_notes),
                       "layer" if len(uses) > 1 else "single")

    ok, gpus, host = try_place(0, 0, True)
    if ok:
        used = [gg for gg in gpus if gg.weights]
        flags = ["-ngl", "999"]
        if len(used) > 1:
            flags += ["--tensor-split", ",".join(str(0 if gg.first is None else gg.last - gg.first + 1) for gg in gpus)]
        return result("gpu" if len(used) == 1 else "multi_gpu", gpus, host, flags)
    if model.moe and sum(w.exps) and rt.cpu_offload:
        for n in range(1, L + 1):
            ok, gpus, host = try_place(0, n, True)
            if ok:
                pattern = _ot_pattern(n)
                return result("experts_in_ram", gpus, host, ["-ngl", "999", "--n-cpu-moe", str(n)],
                              [Note("experts_in_ram", layers=n, pattern=pattern)])
    for ngl in range(L, -1, -1):
        first = L + 1 - ngl if ngl else L
        ok, gpus, host = try_place(min(first, L), 0, ngl >= 1)
        if ok and ngl >= 1:
            return result("layers_offload", gpus, host, ["-ngl", str(ngl)],
                          [Note("layers_in_ram", in_ram=L + 1 - ngl, layers=L, ngl=ngl)])
    comp = buffers.llamacpp_compute(model, cp.n_ubatch, cp.n_ctx_seq, backend="cpu", **ckw).bytes
    return _cpu_only(w, kc, comp + out_buf, bud, base, notes, ["-ngl", "0"], gpus_present=True)


def _ot_pattern(n: int) -> str:
    """A regex for blk.0 ... blk.(n-1) expert tensors (what --n-cpu-moe n means)."""
    parts = []
    if n >= 1:
        parts.append(r"\d" if n >= 10 else (f"[0-{n - 1}]" if n > 1 else "0"))
    tens, ones = divmod(n, 10)
    for t in range(1, tens):
        parts.append(f"{t}\\d")
    if tens >= 1 and ones:
        parts.append(f"{tens}[0-{ones - 1}]" if ones > 1 else f"{tens}0")
    return r"blk\.(" + "|".join(parts) + r")\.ffn_(up|down|gate|gate_up)_(ch|)exps=CPU"


def _host_pool(host: "Share", bud: Budget, notes: list[str]) -> tuple[list[PoolUse], str | None]:
    """The RAM pool, and a disk pool when RAM cannot hold the mapped weights (mmap streams them)."""
    need = host.weights + host.kv + host.compute
    ram = bud.ram
    uses = [PoolUse("RAM", "ram", need, ram, host.weights, host.kv, host.compute, 0, host.active, "ram")]
    if ram is None or need <= ram:
        return uses, None
    fixed = host.kv + host.compute
    if fixed >= ram:
        return uses, "no_fit"
    spill = need - ram
    frac = spill / host.weights if host.weights else 0.0
    ru = uses[0]
    ru.bytes, ru.weights_bytes, ru.active_bytes_per_token = ram, host.weights - spill, host.active * (1 - frac)
    uses.append(PoolUse("disk (mmap)", "disk", spill, None, spill, 0, 0, 0, host.active * frac, "disk"))
    notes.append(Note("ram_short", spill_bytes=int(spill)))
    return uses, "mmap_stream"


def _finish(base, gpu_uses, host, bud: Budget, mode, flags, notes, parallel) -> Placement:
    host_uses, host_mode = _host_pool(host, bud, notes)
    uses = gpu_uses + [u for u in host_uses if u.bytes]
    fits = True
    if host_mode == "no_fit":
        fits, mode = False, "no_fit"
        notes.append(Note("host_ram_full"))
    elif host_mode == "mmap_stream":
        mode = "mmap_stream"
    return _assemble(base, uses, fits, mode, flags, notes, parallel)


def _assemble(base, uses, fits, mode, flags, notes, parallel) -> Placement:
    wb = sum(u.weights_bytes for u in uses)
    kvb = sum(u.kv_bytes for u in uses)
    cb = sum(u.compute_bytes for u in uses)
    ob = sum(u.overhead_bytes for u in uses)
    rooms = [u.capacity_bytes - u.bytes for u in uses if u.capacity_bytes is not None and u.kind != "disk"]
    headroom = min(rooms) if rooms else 0
    return Placement(**base, weights_bytes=wb, kv_bytes=kvb, compute_bytes=cb, overhead_bytes=ob,
                     total_bytes=wb + kvb + cb + ob, placement=uses, fits=fits, headroom=int(headroom), mode=mode,
                     flags=flags, notes=list(dict.fromkeys(notes)), parallel=parallel)


def _cpu_only(w: _Weights, kc: KVCache, comp: int, bud: Budget, base, notes, flags=None, gpus_present=False):
    host = Share("RAM", "ram", None, w.total, w.embed_active + w.output + w.tied_head + sum(w.dense) + sum(w.exps) * w.frac,
                  kc.bytes, comp)
    if gpus_present:
        notes = notes + [Note("gpu_too_small_cpu_only")]
    return _finish(base, [], host, bud, "cpu", flags or [], notes, "single")


def _unified(build, w: _Weights, kc: KVCache, bud: Budget, base, notes, reserve, ckw, cp, out_buf) -> Placement:
    """One pool: the GPU holds weights, KV and compute within its budget (Metal maps the
    weights from the page cache, no second copy)."""
    model = build.model
    comp = buffers.llamacpp_compute(model, cp.n_ubatch, cp.n_ctx_seq, backend=bud.backend, **ckw)
    gpu_need = w.total - w.embed + (w.embed if w.tied else 0) + kc.bytes + comp.device + reserve
    wa = w.output + w.tied_head + sum(w.dense) + sum(w.exps) * w.frac
    return _unified_result(base, bud, gpu_need, w.total, kc.bytes, comp.device + comp.host + out_buf, reserve, wa,
                           notes, ["-ngl", "999"], w.embed_active)


def _unified_result(base, bud: Budget, gpu_need, weights, kvb, compb, reserve, wa, notes, flags,
                    host_wa=0.0) -> Placement:
    cap = bud.gpu_budget or bud.ram
    total = weights + kvb + compb + reserve
    use = PoolUse("unified memory (GPU budget)", "unified", total, cap, weights, kvb, compb, reserve, wa + host_wa,
                  "unified")
    fits = gpu_need <= cap and total <= (bud.ram or total)
    mode = "unified" if fits else "no_fit"
    if not fits:
        if bud.apple:
            cmd = limits.wired_limit_advice(gpu_need, bud.ram or 0)
            if cmd:
                notes.append(Note("wired_limit", need_bytes=int(gpu_need), budget_bytes=int(cap), command=cmd))
            else:
                notes.append(Note("mac_ram_short", need_bytes=int(gpu_need)))
        else:
            notes.append(Note("gpu_budget_short", need_bytes=int(gpu_need), budget_bytes=int(cap)))
    return _assemble(base, [use], fits, mode, flags if fits else [], notes, "single")


# ---- vLLM / SGLang / ktransformers: tensor parallel on GPUs -----------------------------------

def _plan_tp(build, rt, bud: Budget, ctx, cache_type, parallel, experts_in_ram=False) -> Placement:
    model = build.model
    w = _weights(build)
    n_seq = parallel or rt.parallel
    if bud.unified:
        gpus = (("unified memory (GPU budget)", "unified", bud.gpu_budget or bud.ram or 0),)
    else:
        gpus = bud.gpus
    if not gpus:
        raise InputError(f"{rt.name} needs a GPU; this rig has none (try --runtime llama.cpp)")
    notes = []
    gpu_w = w.total - (sum(w.exps) if experts_in_ram else 0)
    gpu_wa = w.embed_active + w.output + w.tied_head + sum(w.dense) + (0 if experts_in_ram else sum(w.exps) * w.frac)
    # the fewest GPUs (a power of two) whose share fits
    best = None
    for tp in [t for t in (1, 2, 4, 8, 16, 32, 64) if t <= len(gpus)]:
        kc = runtimes.kv_cache(rt, model, ctx, cache_type=cache_type, parallel=n_seq, tp=tp)
        cap = min(c for _, _, c in gpus[:tp])
        act = buffers.vllm_activation_estimate(model, tp=tp)
        graphs = buffers.VLLM_CUDAGRAPH
        if rt.layout == "vllm":
            usable = int(cap * rt.gpu_memory_utilization)
            reserve = cap - usable
        else:
            frac = buffers.sglang_mem_fraction_static(cap, tp=tp)
            usable = int(cap * frac)
            reserve = cap - usable
            act = graphs = 0          # SGLang keeps activations and graphs in the reserved part
        need = gpu_w // tp + kc.bytes + act + graphs
        best = (tp, kc, cap, act + graphs, reserve, need, usable)
        if need <= usable:
            break
    tp, kc, cap, comp, reserve, need, usable = best
    settings = {"tp": tp}
    if rt.layout == "vllm":
        settings["gpu_memory_utilization"] = rt.gpu_memory_utilization
    else:
        settings["mem_fraction_static"] = buffers.sglang_mem_fraction_static(cap, tp=tp)
    uses = []
    for name, did, c in gpus[:tp]:
        uses.append(PoolUse(name, "unified" if bud.unified else "gpu", gpu_w // tp + kc.bytes + comp + reserve, c,
                            gpu_w // tp, kc.bytes, comp, reserve, gpu_wa / tp, did))
    fits = need <= usable
    base = dict(runtime=rt.name, build=build.name, ctx=ctx, parallel_seqs=n_seq, cache_type=kc.cache_type)
    flags = ["--tensor-parallel-size", str(tp)] if tp > 1 else []
    if rt.layout == "vllm" and fits:
        pool = buffers.vllm_kv_budget(cap, gpu_w // tp, gpu_memory_utilization=rt.gpu_memory_utilization,
                                      activation_bytes=comp)
        per_seq = max(1, kc.bytes // max(1, n_seq))
        notes.append(Note("vllm_kv_pool", pool_bytes=int(pool), sequences=int(pool // per_seq), ctx=ctx))
    if experts_in_ram:
        host = Share("RAM", "ram", None, sum(w.exps), sum(w.exps) * w.frac)
        out = _finish(base, uses, host, bud, "experts_in_ram" if fits else "no_fit", flags, notes,
                      "tensor" if tp > 1 else "single")
        out.settings = settings
        return out
    if not fits:
        notes.append(Note("tp_short", runtime=rt.name, need_bytes=int(need), usable_bytes=int(usable), tp=tp))
    mode = ("unified" if bud.unified else ("gpu" if tp == 1 else "multi_gpu")) if fits else "no_fit"
    out = _assemble(base, uses, fits, mode, flags, notes, "tensor" if tp > 1 else "single")
    out.settings = settings
    return out


# ---- MLX and ds4: the whole model in GPU memory ------------------------------------------------

def _plan_whole(build, rt, bud: Budget, ctx, cache_type, parallel) -> Placement:
    model = build.model
    w = _weights(build)
    kc = runtimes.kv_cache(rt, model, ctx, cache_type=cache_type, parallel=parallel)
    base = dict(runtime=rt.name, build=build.name, ctx=ctx, parallel_seqs=kc.n_seq, cache_type=kc.cache_type)
    comp = model.n_vocab * 4 * 2048 // 8 + 2048 * model.n_embd * 4 * 4     # prefill chunk activations (estimate)
    wa = w.embed_active + w.output + w.tied_head + sum(w.dense) + sum(w.exps) * w.frac
    notes = list(kc.notes)
    if bud.unified:
        need = w.total + kc.bytes + comp
        return _unified_result(base, bud, need, w.total, kc.bytes, comp, 0, wa, notes, [])
    if not bud.gpus:
        raise InputError(f"{rt.name} needs a GPU or Apple Silicon; this rig has neither")
    name, did, cap = bud.gpus[0]
    reserve = buffers.CUDA_CONTEXT
    b = w.total + kc.bytes + comp + reserve
    fits = b <= cap
    if not fits:
        notes.append(Note("whole_short", runtime=rt.name, need_bytes=int(b), capacity_bytes=int(cap)))
    use = PoolUse(name, "gpu", b, cap, w.total, kc.bytes, comp, reserve, wa, did)
    return _assemble(base, [use], fits, "gpu" if fits else "no_fit", [], notes, "single")
