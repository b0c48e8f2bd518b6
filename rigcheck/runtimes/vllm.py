"""vLLM: a datacenter server for safetensors builds (BF16, FP8, FP4, AWQ, GPTQ) on CUDA and ROCm.

``--gpu-memory-utilization`` is the share of each GPU's *total* memory vLLM may take
(weights + KV + graphs); the KV cache gets what is left after profiling. Tensor parallel
(``--tensor-parallel-size``) splits every layer across GPUs. Memory rules:
research/runtime-memory.md §6.1-6.2.
"""

from __future__ import annotations

from ..memory import buffers, kv_vllm
from ..memory.kv import is_v4
from ..memory.rules import RuntimeMemory

from . import Runtime, join, split_flags, tp_settings


def command(*, model_id, build_name, build_file, ctx, flags, parallel=None, platform=None,
            tp: int = 1, gpu_memory_utilization: float = 0.92, kv_cache_dtype: str | None = "fp8",
            **_):
    args: list = ["vllm", "serve", build_file or model_id, "--max-model-len", ctx,
                  "--tensor-parallel-size", int(tp),
                  "--gpu-memory-utilization", f"{gpu_memory_utilization:.2f}"]
    if kv_cache_dtype:
        args += ["--kv-cache-dtype", kv_cache_dtype]
    if parallel:
        args += ["--max-num-seqs", int(parallel)]
    args += split_flags(flags)
    return join(args)


def launch_settings(pl) -> dict:
    """Tensor-parallel size, KV cache dtype and gpu_memory_utilization the placement was sized with."""
    out = tp_settings(pl)
    if "gpu_memory_utilization" in (pl.settings or {}):
        out["gpu_memory_utilization"] = pl.settings["gpu_memory_utilization"]
    return out

MEMORY = RuntimeMemory("vllm", layout="vllm", cache_types=kv_vllm.CACHE_TYPES, default_cache_type="auto", parallel=1,
                       split="tp", cpu_offload=False, gpu_memory_utilization=0.92, strategy="tp",
                       source="vllm/config/cache.py, vllm/v1/worker/gpu_worker.py")

RUNTIME = Runtime(
    name="vllm",
    label="vLLM",
    aliases=("v-llm", "vllm-serve"),
    formats=("safetensors",),
    platforms=("cuda", "rocm"),
    homepage="https://github.com/vllm-project/vllm",
    build_command=command,
    memory=MEMORY,
    default_for=("safetensors",),
    launch_settings=launch_settings,
    serve_url="http://127.0.0.1:8000",     # vllm serve --port default
)


# ---- several GPUs and nodes (rigcheck.plan.check.cluster reads these) --------------------

class Cluster:
    """vLLM across GPUs and nodes.

    Layouts (docs.vllm.ai serving/parallelism_scaling and serving/data_parallel_deployment):
    tensor parallel within a node and pipeline parallel across nodes (the docs'
    recommendation), tensor parallel over every GPU (Kimi K2's deploy guide: TP16 on two
    H200 nodes), ``--enable-expert-parallel`` for MoE (EP size = TP x DP), and data-parallel
    attention + EP (``--data-parallel-size``, one attention replica per GPU) for MoE models.
    Multi-node TP/PP runs on a Ray cluster (``--distributed-executor-backend ray``); DP across
    nodes uses ``--data-parallel-backend ray`` from the head.

    KV pool per GPU (vllm/v1/worker/gpu_worker.py ``determine_available_memory``):
    gpu_memory_utilization x total - weights - profiled activation peak - CUDA graphs.
    Maximum concurrency (vllm/v1/core/kv_cache_utils.py, logged as "Maximum concurrency for
    N tokens per request: Xx") = pool / bytes one request of N tokens holds; "GPU KV cache
    size: T tokens" = X x N. With PP each stage sizes its own pool for its layers and the
    engine takes the smallest.
    """

    runtime = "vllm"
    formats = ("safetensors",)
    flags = "vllm-0.33.0"                  # tests/fixtures/cli_flags/<flags>.json
    image = "vllm/vllm-openai:v0.33.0"
    port = 8000

    def layouts(self, *, nodes: int, gpus_per_node: int, moe: bool, latent_kv: bool) -> list[dict]:
        g, n = int(gpus_per_node), int(nodes)
        out: list[dict] = []

        def add(tp, pp=1, dp=1, ep=False):
            d = dict(tp=tp, pp=pp, dp=dp, ep=tp * dp if ep else 1, dp_attention=dp > 1,
                     attn_tp=tp, gpus=tp * pp * dp)
            if d not in out:
                out.append(d)

        add(g, n)
        if n > 1:
            add(g * n)
        elif g > 1:
            add(1, g)                      # pipeline over the GPUs of one node (PCIe cards, odd counts)
        if moe:
            add(g, n, ep=True)
            if n > 1:
                add(g * n, ep=True)
            if g * n > 1:
                add(1, 1, g * n, ep=True)
        return out

    def cache_types(self, model) -> tuple[str, ...]:
        """The KV dtypes a cluster plan tries, in order: V4's cache is fp8 entries in vLLM (its
        recipes pass --kv-cache-dtype fp8); elsewhere the model dtype, then fp8."""
        return ("fp8",) if is_v4(model) else ("auto", "fp8")

    def kv_seq_bytes(self, model, ctx: int, *, attn_tp: int, cache_type: str, pp: int = 1,
                     spec: dict | None = None) -> int:
        """What one request of ``ctx`` tokens holds per GPU in vLLM's pool (rigcheck.memory.kv_vllm,
        V4's per-request window state included: async scheduling keeps 2 batches in flight,
        pipeline parallel one per stage; vllm/config/vllm.py max_in_flight_tokens). vLLM's
        draft-model memory under speculative decoding (``spec``) is not modelled."""
        return kv_vllm.kv_cache(model, ctx, cache_type=cache_type, n_seq=1, tp=attn_tp,
                                batches_in_flight=2 if pp == 1 else pp).bytes

    def max_requests(self, model, layout: dict, spec: dict | None = None) -> int | None:
        """No cap on running requests by default beyond the pool (--max-num-seqs is not sized)."""
        return None

    def kv_pool(self, model, *, gpu_bytes: int, weights_bytes: int, layout: dict,
                spec: dict | None = None) -> tuple[int, dict]:
        util = MEMORY.gpu_memory_utilization
        act = buffers.vllm_activation_estimate(model, tp=layout["attn_tp"])
        pool = buffers.vllm_kv_budget(gpu_bytes, weights_bytes, gpu_memory_utilization=util,
                                      activation_bytes=act, cudagraph_bytes=buffers.VLLM_CUDAGRAPH)
        return pool, {"gpu_memory_utilization": util, "activation_bytes": act,
                      "cudagraph_bytes": buffers.VLLM_CUDAGRAPH}

    def serve_args(self, *, repo: str, layout: dict, ctx: int, settings: dict, nodes: int,
                   gpus_per_node: int, cache_type: str, trust_remote_code: bool,
                   quantization: str | None = None, **_) -> list:
        args: list = ["vllm", "serve", repo]
        if layout["dp"] > 1:
            args += ["--data-parallel-size", layout["dp"]]
            if nodes > 1:
                args += ["--data-parallel-size-local", gpus_per_node // max(1, layout["tp"] * layout["pp"]),
                         "--data-parallel-backend", "ray"]
        if layout["tp"] > 1 or layout["dp"] == 1:
            args += ["--tensor-parallel-size", layout["tp"]]
        if layout["pp"] > 1:
            args += ["--pipeline-parallel-size", layout["pp"]]
        if layout["ep"] > 1:
            args += ["--enable-expert-parallel"]
        args += ["--max-model-len", ctx, "--gpu-memory-utilization", f"{settings['gpu_memory_utilization']:.2f}"]
        if cache_type not in ("", "auto"):
            args += ["--kv-cache-dtype", cache_type]
        if quantization:
            args += ["--quantization", quantization]
        if nodes > 1 and layout["dp"] == 1:
            args += ["--distributed-executor-backend", "ray"]
        if trust_remote_code:
            args += ["--trust-remote-code"]
        return args

    def commands(self, *, head: str = "HEAD_IP", **kw) -> dict[str, str]:
        """Each step's command, in order: Ray on every node, then the server on the head."""
        nodes = kw["nodes"]
        out: dict[str, str] = {}
        if nodes > 1:
            out["node 0 (head)"] = join(["ray", "start", "--head", "--port", RAY_PORT])
            for r in range(1, nodes):
                out[f"node {r}"] = join(["ray", "start", f"--address={head}:{RAY_PORT}", "--block"])
        out["serve (on the head node)" if nodes > 1 else "serve"] = join(self.serve_args(**kw))
        return out

    def k8s(self, **kw) -> tuple[str, str]:
        """(leader, worker) container commands for a LeaderWorkerSet (LWS_LEADER_ADDRESS is
        set by LWS in every pod of the group)."""
        wait = ("import ray, time; ray.init(address='auto')\n"
                f"while sum(n['Alive'] for n in ray.nodes()) < {kw['nodes']}: time.sleep(5)")
        leader = " && ".join([join(["ray", "start", "--head", "--port", RAY_PORT]),
                              join(["python3", "-c", wait]),          # every node joined
                              join(self.serve_args(**kw))])
        worker = join(["ray", "start", f"--address=$(LWS_LEADER_ADDRESS):{RAY_PORT}", "--block"])
        return leader, worker


RAY_PORT = 6379
CLUSTER = Cluster()
