"""SGLang: a datacenter server for safetensors builds on CUDA and ROCm.

``--mem-fraction-static`` is the share of GPU memory for weights plus the KV pool;
SGLang's own default leaves room for activations and CUDA graphs (about 0.85 on a
24 GB card, 0.84 on an 80 GB H100 per research/runtime-memory.md §6.3).
"""

from __future__ import annotations

from ..memory import kv_sglang
from ..memory.kv import is_v4
from ..memory.rules import RuntimeMemory

from ..memory.buffers import sglang_mem_fraction_static

from . import Runtime, join, split_flags, tp_settings


def command(*, model_id, build_name, build_file, ctx, flags, parallel=None, platform=None,
            tp: int = 1, mem_fraction_static: float = 0.85, kv_cache_dtype: str | None = None,
            **_):
    args: list = ["python", "-m", "sglang.launch_server", "--model-path", build_file or model_id,
                  "--tp", int(tp), "--context-length", ctx,
                  "--mem-fraction-static", f"{mem_fraction_static:.2f}"]
    if kv_cache_dtype:
        args += ["--kv-cache-dtype", kv_cache_dtype]
    if parallel:
        args += ["--max-running-requests", int(parallel)]
    args += split_flags(flags)
    return join(args)


def launch_settings(pl) -> dict:
    """Tensor-parallel size, KV cache dtype and mem_fraction_static: the one the placement was
    sized with, or (for a placement sized for vLLM) SGLang's own rule for the same GPUs."""
    out = tp_settings(pl)
    frac = (pl.settings or {}).get("mem_fraction_static")
    if frac is None:
        caps = [u.capacity_bytes for u in pl.placement if u.kind in ("gpu", "unified") and u.capacity_bytes]
        frac = sglang_mem_fraction_static(min(caps), tp=out["tp"]) if caps else None
    if frac is not None:
        out["mem_fraction_static"] = frac
    return out

MEMORY = RuntimeMemory("sglang", layout="sglang", cache_types=kv_sglang.CACHE_TYPES, default_cache_type="auto",
                       parallel=1, split="tp", cpu_offload=False, strategy="tp",
                       source="sglang python/sglang/srt/server_args.py, model_runner.py")

RUNTIME = Runtime(
    name="sglang",
    label="SGLang",
    aliases=("sg-lang", "sglang-server"),
    formats=("safetensors",),
    platforms=("cuda", "rocm"),
    homepage="https://github.com/sgl-project/sglang",
    build_command=command,
    memory=MEMORY,
    default_for=(),
    launch_settings=launch_settings,
    serve_url="http://127.0.0.1:30000",    # sglang.launch_server --port default
)


# ---- several GPUs and nodes (rigcheck.plan.check.cluster reads these) --------------------

class Cluster:
    """SGLang across GPUs and nodes (docs.sglang.ai advanced_features/server_arguments and
    the DeepSeek / large-scale-EP deployment guides; lmsys.org blog 2025-05-05).

    Layouts: ``--tp`` over every GPU of every node (``--nnodes N --node-rank R
    --dist-init-addr HEAD:PORT``, one launch per node, no Ray), pipeline parallel across
    nodes (``--pp-size``), expert parallel for MoE (``--ep`` = the TP size), and
    data-parallel attention (``--dp D --enable-dp-attention``: attention TP size = tp / dp,
    each DP rank its own KV pool) for latent-KV MoE models (DeepSeek-style MLA / V4), where
    server_args.py says it is supported.

    KV pool per GPU (model_runner.py ``profile_max_num_token``): mem_fraction_static x
    total - weights, in token cells; the default fraction by its own rule
    (rigcheck.memory.buffers.sglang_mem_fraction_static, which grows the reserve with tp x pp,
    + 2 GiB with speculative decoding). DeepSeek V4 has SGLang's own pool
    (rigcheck.memory.kv_sglang: ``DSV4PoolConfigurator`` of sglang 0.5.15): the c128 state of
    max_running_requests slots comes off the budget first, then each request of N tokens
    holds N (page-rounded) x bytes_per_full_token; SGLang runs at most
    ``max_running_requests`` (256 for V4 when not given) requests per DP rank.

    Speculative decoding: where SGLang's recipe for a model turns EAGLE / MTP on
    (rigcheck/data/speculative.csv, ``default`` yes), the plan passes that row as ``spec``:
    the flags go in the command, the V4 pool is sized as SGLang sizes it with a draft
    worker, and cluster.py's decode counts the draft passes and the acceptance length.
    """

    runtime = "sglang"
    formats = ("safetensors",)
    flags = "sglang-0.5.5"                 # tests/fixtures/cli_flags/<flags>.json
    image = "lmsysorg/sglang:latest"
    port = 30000
    dist_port = 20000

    def layouts(self, *, nodes: int, gpus_per_node: int, moe: bool, latent_kv: bool) -> list[dict]:
        g, n = int(gpus_per_node), int(nodes)
        out: list[dict] = []

        def add(tp, pp=1, dp=1, ep=False):
            d = dict(tp=tp, pp=pp, dp=dp, ep=tp if ep else 1, dp_attention=dp > 1,
                     attn_tp=tp // dp, gpus=tp * pp)
            if d not in out:
                out.append(d)

        add(g * n)
        if n > 1:
            add(g, n)
        elif g > 1:
            add(1, g)                      # --pp-size over the GPUs of one node
        if moe:
            add(g * n, ep=True)
            if latent_kv and g * n > 1:
                add(g * n, dp=g * n, ep=True)
        return out

    def cache_types(self, model) -> tuple[str, ...]:
        """The KV dtypes a cluster plan tries, in order (V4: fp8 entries)."""
        return ("fp8_e4m3",) if is_v4(model) else ("auto", "fp8_e4m3")

    def kv_seq_bytes(self, model, ctx: int, *, attn_tp: int, cache_type: str, pp: int = 1,
                     spec: dict | None = None) -> int:
        """What one request of ``ctx`` tokens holds per GPU (the V4 per-slot state is a fixed
        cost, taken off the pool by :meth:`kv_pool`)."""
        return kv_sglang.kv_cache(model, ctx, cache_type=cache_type, n_seq=1, tp=attn_tp,
                                  speculative=spec is not None, max_running_requests=0).bytes

    def max_requests(self, model, layout: dict, spec: dict | None = None) -> int | None:
        """SGLang's cap on running requests per DP rank where it sets one by default: the
        server's max_running_requests split over the DP workers (model_runner_kv_cache_mixin.py
        ``_resolve_max_num_reqs``: requested // dp_size)."""
        return max(1, kv_sglang.V4_MAX_RUNNING_REQUESTS // layout["dp"]) if is_v4(model) else None

    def kv_pool(self, model, *, gpu_bytes: int, weights_bytes: int, layout: dict,
                spec: dict | None = None) -> tuple[int, dict]:
        frac = sglang_mem_fraction_static(gpu_bytes, tp=layout["tp"], pp=layout["pp"], speculative=spec is not None)
        pool = int(gpu_bytes * frac) - weights_bytes
        settings = {"mem_fraction_static": frac}
        if is_v4(model):
            state = kv_sglang.v4_state_bytes(model, speculative=spec is not None,
                                             max_running_requests=self.max_requests(model, layout, spec))
            share = -(-model.n_layer // layout["pp"]) / model.n_layer
            pool -= int(state * share)
            settings["v4_state_bytes"] = int(state * share)
        return pool, settings

    def serve_args(self, *, repo: str, layout: dict, ctx: int, settings: dict, nodes: int,
                   gpus_per_node: int, cache_type: str, trust_remote_code: bool, rank="0",
                   head: str = "HEAD_IP", quantization: str | None = None, spec: dict | None = None, **_) -> list:
        args: list = ["python", "-m", "sglang.launch_server", "--model-path", repo, "--tp", layout["tp"]]
        if layout["pp"] > 1:
            args += ["--pp-size", layout["pp"]]
        if layout["dp"] > 1:
            args += ["--dp", layout["dp"], "--enable-dp-attention"]
        if layout["ep"] > 1:
            args += ["--ep", layout["ep"]]
        if nodes > 1:
            args += ["--nnodes", nodes, "--node-rank", rank, "--dist-init-addr", f"{head}:{self.dist_port}"]
        args += ["--context-length", ctx, "--mem-fraction-static", f"{settings['mem_fraction_static']:.2f}"]
        if cache_type not in ("", "auto"):
            args += ["--kv-cache-dtype", cache_type]
        if quantization:
            args += ["--quantization", quantization]
        if spec and spec.get("flags"):
            args += split_flags([spec["flags"]])
        if trust_remote_code:
            args += ["--trust-remote-code"]
        return args

    def commands(self, **kw) -> dict[str, str]:
        """One launch per node (the same command, its own --node-rank)."""
        nodes = kw["nodes"]
        if nodes == 1:
            return {"serve": join(self.serve_args(**kw))}
        return {f"node {r}" + (" (head)" if r == 0 else ""): join(self.serve_args(rank=r, **kw))
                for r in range(nodes)}

    def k8s(self, **kw) -> tuple[str, str]:
        """(leader, worker) container commands for a LeaderWorkerSet: LWS sets
        LWS_LEADER_ADDRESS and LWS_WORKER_INDEX (0 on the leader) in every pod."""
        cmd = join(self.serve_args(rank="$(LWS_WORKER_INDEX)", head="$(LWS_LEADER_ADDRESS)", **kw))
        return cmd, cmd


CLUSTER = Cluster()
