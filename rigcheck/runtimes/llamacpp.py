"""llama.cpp (``llama-server``): GGUF on CUDA, ROCm, Metal, Vulkan, SYCL and CPU.

The command puts every layer on the GPU (``-ngl 999``, unless the plan passes its own
``-ngl``) with flash attention on, and
passes the planner's placement flags through (``--n-cpu-moe N`` or ``-ot REGEX=CPU``
to keep routed experts in system RAM). Without a local file it downloads with
``-hf REPO:QUANT``. Memory rules: research/runtime-memory.md §3.
"""

from __future__ import annotations

from ..memory.buffers import LLAMACPP_FIT_MARGIN
from ..memory.rules import RuntimeMemory, llamacpp_like

from . import Runtime, ggml_cache_settings, ggml_fork_build, join, split_flags

_NGL = {"-ngl", "--n-gpu-layers", "--gpu-layers"}
_FA = {"-fa", "--flash-attn"}


def hub_args(published: dict) -> tuple[list, str | None]:
    """How llama-server fetches a published file itself: ``-hf REPO:TAG`` when the tag
    selects exactly this file in the repo (llama.cpp's own rule: runtimes.tag_matches),
    else ``-hf REPO -hff FILE`` (--hf-file overrides the tag; for a split file the first
    part, and llama.cpp fetches the other parts: common/download.cpp get_split_files).
    Flags: tools/server/README.md, ``-hf, -hfr, --hf-repo <user>/<model>[:quant]`` and
    ``-hff, --hf-file FILE``. A revision other than main: None (-hf has no revision; the
    file is downloaded first). Also the download-first alternative, as a comment line."""
    from . import at_main, hf_download, tag_picks
    files = published["files"]
    alt = f"# or download it first: {hf_download(published)}   then: -m {files[0]}"
    if not at_main(published):
        return [], None
    if tag_picks(published):
        return ["-hf", f"{published['repo']}:{published['tag']}"], alt
    return ["-hf", published["repo"], "-hff", files[0]], alt


def command(*, model_id, build_name, build_file, ctx, flags, parallel=None, platform=None,
            fork=False, binary="llama-server", cache_type: str | None = None,
            published: dict | None = None, **_):
    exe = f"./build/bin/{binary}" if fork else binary
    args: list = [exe]
    pre: list[str] = []
    hub, alt = hub_args(published) if published else ([], None)
    if published and not hub:
        from . import hf_download
        pre.append(hf_download(published))
        build_file = published["files"][0]
    if hub:
        args += hub
        pre.append(alt)
    elif build_file:
        args += ["-m", build_file]
    else:
        args += ["-hf", f"{model_id}:{build_name}" if build_name else model_id]
    extra = split_flags(flags)
    args += ["-c", ctx]
    if not _NGL & set(extra):
        args += ["-ngl", 999]
    if not _FA & set(extra):
        args += ["--flash-attn", "on"]
    args += extra
    if cache_type and cache_type != "f16":
        k, _, v = cache_type.partition("/")
        args += ["-ctk", k, "-ctv", v or k]
    if parallel:
        args += ["-np", int(parallel)]
    return "\n".join(pre + [join(args)])


MEMORY = RuntimeMemory("llama.cpp", **llamacpp_like(parallel=4, kv_unified=True, gpu_reserve=LLAMACPP_FIT_MARGIN,
                      source="llama.cpp tools/server/server.cpp, common/common.h, common/arg.cpp"))

RUNTIME = Runtime(
    name="llama.cpp",
    label="llama.cpp",
    aliases=("llamacpp", "llama-cpp", "llama-server", "llama_cpp", "ggml"),
    formats=("gguf",),
    platforms=("cuda", "rocm", "metal", "vulkan", "sycl", "cpu"),
    homepage="https://github.com/ggml-org/llama.cpp",
    build_command=command,
    fork_build=ggml_fork_build,
    memory=MEMORY,
    default_for=("gguf",),
    launch_settings=ggml_cache_settings,
    placement_flags=True,
    serve_url="http://127.0.0.1:8080",     # llama-server --port default (tools/server/README.md)
    bench_files=True,
)


# ---- several machines (rigcheck.plan.check.cluster reads these) ---------------------------

class Cluster:
    """llama.cpp across machines with its RPC backend (tools/rpc/README.md): every other
    node runs ``rpc-server``; the head's ``llama-server --rpc HOST:PORT,...`` treats each as
    one more device and splits whole layers over all of them in proportion to their memory,
    as ``--tensor-split`` does inside one machine. A token visits the devices in turn (no
    tensor parallelism), so the plan is a pipeline without micro-batches, paying a network
    round trip per hop: over TCP on a Thunderbolt bridge that is ~300 us (Apple TN3205, as
    reported with Jeff Geerling's Mac Studio cluster, 2025-12). For Macs and any rig the
    datacenter runtimes do not run on; GGUF builds, the best that fits."""

    runtime = "llama.cpp"
    flags = "llama.cpp-0.3.36"             # tests/fixtures/cli_flags/<flags>.json
    formats = ("gguf",)
    rpc_port = 50052
    layer_s = 0.0                          # the fitted per-token cost of llama.cpp covers its kernels

    def layouts(self, *, nodes: int, gpus_per_node: int, moe: bool, latent_kv: bool) -> list[dict]:
        if nodes < 2:
            return []                      # one machine: 'rigcheck check' places it
        n = nodes * gpus_per_node
        return [dict(tp=1, pp=n, dp=1, ep=1, dp_attention=False, attn_tp=1, gpus=n, layer_split=True)]

    def cache_types(self, model) -> tuple[str, ...]:
        return ("f16", "q8_0")

    def kv_seq_bytes(self, model, ctx: int, *, attn_tp: int, cache_type: str, pp: int = 1,
                     spec: dict | None = None) -> int:
        """One request's KV over the whole layer split (llama.cpp's cache does not depend on
        the number of RPC stages; no speculative decoding is planned)."""
        from ..memory import kv_llamacpp
        return kv_llamacpp.kv_cache(model, ctx, cache_type_k=cache_type, n_seq_max=1).bytes

    def max_requests(self, model, layout: dict, spec: dict | None = None) -> int | None:
        return None

    def kv_pool(self, model, *, gpu_bytes: int, weights_bytes: int, layout: dict,
                spec: dict | None = None) -> tuple[int, dict]:
        # the --fit margin per device and a compute-buffer estimate (logits of one 512-token
        # micro-batch + 256 MiB of activations)
        compute = model.n_vocab * 4 * 512 + 256 * 2**20
        return gpu_bytes - weights_bytes - LLAMACPP_FIT_MARGIN - compute, {"compute_bytes": compute}

    def serve_args(self, *, layout: dict, ctx: int, nodes: int, cache_type: str, build_file: str,
                   slots: int = 1, **_) -> list:
        """llama-server on the head: every layer offloaded, split over its own device and the
        RPC servers; ``slots`` requests of ``ctx`` tokens each (-np, -c slots x ctx)."""
        servers = ",".join(f"NODE{r}_IP:{self.rpc_port}" for r in range(1, nodes))
        args: list = ["llama-server", "-m", build_file, "-c", ctx * slots, "-ngl", 999, "--flash-attn", "on",
                      "--rpc", servers]
        if slots > 1:
            args += ["-np", slots]
        if cache_type and cache_type != "f16":
            args += ["-ctk", cache_type, "-ctv", cache_type]
        return args

    def commands(self, *, platform: str = "metal", **kw) -> dict[str, str]:
        flag = "-DGGML_METAL=ON" if platform == "metal" else "-DGGML_CUDA=ON" if platform == "cuda" else ""
        build = "\n".join(["git clone https://github.com/ggml-org/llama.cpp", "cd llama.cpp",
                           join(["cmake", "-B", "build", *([flag] if flag else []), "-DGGML_RPC=ON"]),
                           "cmake --build build --config Release -j"])
        out = {"every node: build with RPC": build}
        for r in range(1, kw["nodes"]):
            out[f"node {r}"] = join(["./build/bin/rpc-server", "--host", "0.0.0.0", "--port", self.rpc_port])
        out["node 0 (head)"] = join(["./build/bin/" + a if i == 0 else a for i, a in enumerate(self.serve_args(**kw))])
        return out


CLUSTER = Cluster()
