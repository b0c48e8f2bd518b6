"""Runtime buffers besides weights and KV: compute (activations), output (logits), and
the per-device reserve each runtime keeps free.

llama.cpp (read from llama-cpp-python 0.3.36's vendored source):

- output buffer: ``4 x n_vocab x n_seq_max`` bytes of host memory at start.
- compute buffer: llama.cpp reserves it by planning the worst-case graph (one micro-batch,
  every token an output, a full KV cache) with ggml-alloc. rigcheck rebuilds that graph
  from the model's tensors (:mod:`rigcheck.memory.ggml.graph`) and runs the same planner
  (:mod:`rigcheck.memory.ggml.alloc`); on the CPU the result equals llama.cpp's logged
  buffer for the shapes tested (tests/test_memory_llamacpp.py, random shapes included).
  With layers on a GPU the scheduler's split (:mod:`rigcheck.memory.ggml.sched`) puts
  the inputs and the embedding lookup in host memory and the rest on the GPU; with
  weights in RAM, op offload copies the largest host-resident weight into the GPU
  compute buffer for big batches (``host_weight_copy``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.model import AttnKind, Model
from .ggml.sched import GraphPlan
from ..notes import Note

MiB = 2**20
GiB = 2**30


@dataclass(frozen=True)
class Compute:
    """Compute buffer bytes per place: ``device`` (the GPU holding the output layer, or the
    CPU when everything runs there) and ``host`` (pinned host memory next to a GPU)."""

    device: int
    host: int = 0
    notes: tuple[str, ...] = ()

    @property
    def bytes(self) -> int:
        return self.device + self.host


def llamacpp_output(model: Model, n_seq_max: int = 1) -> int:
    return 4 * model.n_vocab * max(1, n_seq_max)


def llamacpp_compute(model: Model, n_ubatch: int, n_ctx_seq: int, *, flash_attn: bool = True,
                     backend: str = "cpu", output_on_gpu: bool = True, host_weight_copy: int = 0,
                     n_seq_max: int = 1, kv_unified: bool = False, swa_full: bool = False,
                     cache_type_k: str = "f16", cache_type_v: str | None = None, n_batch: int | None = None,
                     n_kv_swa: int | None = None) -> Compute:
    """llama.cpp's compute buffer: the peak of ggml-alloc's plan for the worst-case graph
    (one micro-batch of ``n_ubatch`` tokens, all of them outputs, a full cache of
    ``n_ctx_seq`` cells per stream), see :mod:`rigcheck.memory.ggml`.

    ``backend`` cpu | cuda | metal | rocm | vulkan; ``output_on_gpu``: the output layer is
    offloaded; ``host_weight_copy``: bytes of the largest weight left in RAM that op
    offload copies to the GPU (0 = none). ``n_kv_swa``: cells of the sliding-window
    cache (default: llama.cpp's rule for ``swa_full``)."""
    plan = graph_plan(model, n_ubatch, n_ctx_seq, flash_attn=flash_attn, n_seq_max=n_seq_max,
                      kv_unified=kv_unified, swa_full=swa_full, cache_type_k=cache_type_k,
                      cache_type_v=cache_type_v, n_batch=n_batch, n_kv_swa=n_kv_swa)
    if backend == "cpu":
        return Compute(plan.cpu, 0, plan.notes)
    dev = plan.gpu if output_on_gpu else plan.gpu_no_output
    host = plan.host if output_on_gpu else plan.host_with_output
    return Compute(dev + host_weight_copy, host, plan.notes)


_PLANS: dict = {}


def graph_plan(model: Model, n_ubatch: int, n_ctx_seq: int, *, flash_attn: bool = True, n_seq_max: int = 1,
               kv_unified: bool = False, swa_full: bool = False, cache_type_k: str = "f16",
               cache_type_v: str | None = None, n_batch: int | None = None,
               n_kv_swa: int | None = None) -> GraphPlan:
    """Build and lay out the reserve graph once per model and parameters (cached)."""
    from .ggml import sched
    from .ggml.graph import GraphParams
    from .kv_llamacpp import CParams, swa_cells

    n_seq_max = max(1, int(n_seq_max))
    n_tokens = max(1, min(int(n_ubatch), n_ctx_seq * (1 if kv_unified else n_seq_max)))
    if n_tokens % n_seq_max:
        n_tokens = -(-n_tokens // n_seq_max) * n_seq_max
    n_outputs = min(n_tokens, n_batch or n_tokens)
    n_stream = 1 if kv_unified else n_seq_max
    if n_kv_swa is None:
        cp = CParams(n_ctx_seq * n_stream, n_ctx_seq, n_seq_max, n_stream, n_batch or n_ubatch, n_ubatch, kv_unified)
        window = max((l.window for l in model.layers if l.kind == AttnKind.SWA), default=0)
        n_kv_swa = swa_cells(cp, window, swa_full) if window else 0
    tk = cache_type_k.upper()
    gp = GraphParams(n_tokens=n_tokens, n_outputs=n_outputs, n_kv=n_ctx_seq, n_kv_swa=n_kv_swa, n_stream=n_stream,
                     flash_attn=flash_attn, type_k=tk, type_v=(cache_type_v or cache_type_k).upper())
    key = (id(model), gp)
    hit = _PLANS.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    try:
        plan = sched.plan(model, gp)
    except (KeyError, IndexError, ZeroDivisionError, AssertionError):
        # only a graph the builder does not model (or a model without its tensors) falls
        # back to the estimate; a modelled architecture that fails to build is a bug
        from ..model.families.archs import arch
        if arch(model.arch).graph_modelled and model.tensors:
            raise
        plan = _formula_plan(model, gp)
    if len(_PLANS) > 256:
        _PLANS.clear()
    _PLANS[key] = (model, plan)
    return plan


def _formula_plan(model: Model, gp) -> GraphPlan:
    """For graphs the builder does not cover (DeepSeek V4's compressed attention, linear
    attention layers): the logits of a full micro-batch, a few hidden-state rows, and the
    attention scores without flash attention."""
    ub, V, E = gp.n_tokens, model.n_vocab, model.n_embd
    n_head = max((l.n_head for l in model.layers), default=0)
    ff = max([t.shape[0] for t in model.tensors if t.name.endswith(("ffn_up.weight", "ffn_gate.weight"))] or [0])
    scores = ub * (gp.n_kv * (n_head + 1) * 4 + 22 * E) if not gp.flash_attn else 0
    act = ub * 4 * max(V + 5 * E, 3 * ff + 2 * E)
    dev = max(act, scores)
    host = ub * (E + gp.n_kv) * 4
    return GraphPlan(dev, (dev, host), (dev, host), notes=(Note("graph_estimated", arch=model.arch),))


# ---- reserves ----------------------------------------------------------------------

LLAMACPP_FIT_MARGIN = 1024 * MiB          # --fit-target default, per device (common/arg.cpp)
OLLAMA_MIN_MEMORY = {"cuda": 457 * MiB, "rocm": 457 * MiB, "metal": 512 * MiB}   # ml/device.go MinimumMemory
CUDA_CONTEXT = 400 * MiB                   # typical CUDA context + cuBLAS workspace (estimate)


def ollama_default_ctx(vram_bytes: int, overhead: int = 0) -> int:
    """Ollama's default num_ctx by total VRAM (server/routes.go): >= 47 GiB 262144,
    >= 23 GiB 32768, else 4096."""
    v = vram_bytes - overhead
    if v >= 47 * GiB:
        return 262144
    if v >= 23 * GiB:
        return 32768
    return 4096


# ---- vLLM / SGLang budgets ------------------------------------------------------------------

def vllm_kv_budget(gpu_bytes: int, weights_bytes: int, *, gpu_memory_utilization: float = 0.92,
                   activation_bytes: int = 0, cudagraph_bytes: int = 0) -> int:
    """KV bytes vLLM allocates per GPU (vllm/v1/worker/gpu_worker.py
    ``determine_available_memory``): utilization x total - weights - profiled activation
    peak - CUDA-graph estimate (subtracted by default since v0.21)."""
    return int(gpu_bytes * gpu_memory_utilization) - weights_bytes - activation_bytes - cudagraph_bytes


def vllm_activation_estimate(model: Model, max_num_batched_tokens: int = 8192, tp: int = 1) -> int:
    """A rough profile-run peak: a few hidden-state-wide rows and the widest MLP
    intermediate for every batched token, in bf16, plus sampler logits for 256 requests
    in f32. vLLM measures this at startup; rigcheck has no closed formula."""
    ff = max(model.n_embd * 4, (model.moe.expert_ff * model.moe.n_expert_used) if model.moe else 0)
    per_tok = (8 * model.n_embd + 2 * ff // tp) * 2
    return max_num_batched_tokens * per_tok + 256 * model.n_vocab * 4


VLLM_CUDAGRAPH = 1 * GiB    # typical captured-graph pool (a few hundred MiB to ~1-3 GiB)


def sglang_mem_fraction_static(gpu_bytes: int, *, tp: int = 1, pp: int = 1, chunked_prefill_size: int | None = None,
                               cuda_graph_max_bs: int = 160, speculative: bool = False) -> float:
    """SGLang's default ``mem_fraction_static`` (server_args.py
    ``_handle_gpu_memory_settings``): reserved MiB = 512 + chunked_prefill x 1.5 +
    tp x pp / 8 x 1024 + cuda_graph_max_bs x 2, at least 10 GiB on a GPU over 60 GiB,
    + 2 GiB with speculative decoding. ``chunked_prefill_size`` defaults by GPU size as
    SGLang picks it (2048 under 35 GiB, 4096 under 60 GiB, else 8192)."""
    if chunked_prefill_size is None:
        chunked_prefill_size = 2048 if gpu_bytes < 35 * GiB else (4096 if gpu_bytes < 60 * GiB else 8192)
    reserved = 512 + chunked_prefill_size * 1.5 + tp * pp / 8 * 1024 + cuda_graph_max_bs * 2
    if gpu_bytes > 60 * GiB:
        reserved = max(reserved, 10 * 1024)
    if speculative:
        reserved += 2048
    gpu_mib = gpu_bytes / MiB
    return round((gpu_mib - reserved) / gpu_mib, 3)
