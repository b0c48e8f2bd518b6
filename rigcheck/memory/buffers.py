"""Runtime buffers besides weights and KV: compute (activations), output (logits), and
the per-device reserve each runtime keeps free.

llama.cpp (research/runtime-memory.md §3.3-3.4; CPU rules re-measured with
llama-cpp-python 0.3.36, tests/test_memory_llamacpp.py):

- output buffer: ``4 x n_vocab x n_seq_max`` bytes of host memory at start.
- compute buffer, CPU backend, flash attention on: ``n_ubatch x (n_vocab + 2 n_embd) x 4``
  (the logits of a full ubatch plus two hidden-state rows); exact for dense, MoE and
  sliding-window models. MLA graphs keep about three more hidden-state rows live:
  ``n_ubatch x (n_vocab + 5 n_embd) x 4`` (measured exact to ~15 floats per token at
  n_ctx >= 8192 on two MLA shapes; at short contexts ggml-alloc packs the graph
  differently and the extra term ranges from 1 to 4 n_embd).
- flash attention off: the attention scores dominate when larger,
  ``n_ubatch x (n_kv x (n_head + 1) x 4 + 22 n_embd)`` (within 1.5 %).
- CUDA/Metal (published logs, not measured here): the main GPU holds the logits term
  ``n_ubatch x (n_vocab + n_embd) x 4`` (or the scores term with FA off); the host keeps
  ``n_ubatch x (n_embd + n_kv) x 4``; when the output layer is on the CPU the logits move
  to the host. With weights in RAM, op offload copies the largest host-resident weight
  into the GPU compute buffer for big batches.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.model import AttnKind, Model

MiB = 2**20
GiB = 2**30


@dataclass(frozen=True)
class Compute:
    """Compute buffer bytes per place: ``device`` (the GPU holding the output layer, or the
    CPU when everything runs there) and ``host`` (pinned host memory next to a GPU)."""

    device: int
    host: int = 0

    @property
    def bytes(self) -> int:
        return self.device + self.host


def n_kv_max(model: Model, n_ctx_seq: int) -> int:
    """Cells a full-attention layer sees (the widest attention in the graph)."""
    return n_ctx_seq


def llamacpp_output(model: Model, n_seq_max: int = 1) -> int:
    return 4 * model.n_vocab * max(1, n_seq_max)


def llamacpp_compute(model: Model, n_ubatch: int, n_ctx_seq: int, *, flash_attn: bool = True,
                     backend: str = "cpu", output_on_gpu: bool = True, host_weight_copy: int = 0) -> Compute:
    """llama.cpp's compute buffer. ``backend`` cpu | cuda | metal | rocm | vulkan;
    ``output_on_gpu``: the output layer is offloaded; ``host_weight_copy``: bytes of the
    largest weight left in RAM that op offload copies to the GPU (0 = none)."""
    ub, V, E = n_ubatch, model.n_vocab, model.n_embd
    n_head = max((l.n_head for l in model.layers), default=0)
    n_kv = n_kv_max(model, n_ctx_seq)
    has_attn = any(l.kind != AttnKind.LINEAR for l in model.layers)
    mla = any(l.kind in (AttnKind.MLA, AttnKind.DSA) for l in model.layers)
    if backend == "cpu":
        # MLA graphs keep three more hidden-state rows live at the peak (measured: 3 E + ~15
        # floats per token at n_ctx >= 8192 for two MLA shapes; 1-4 E at short contexts,
        # as ggml-alloc packs the graph differently)
        logits = ub * (V + (5 if mla else 2) * E) * 4
        scores = ub * (n_kv * (n_head + 1) * 4 + 22 * E) if (not flash_attn and has_attn) else 0
        return Compute(max(logits, scores))
    logits = ub * (V + E) * 4
    scores = ub * (n_kv * (n_head + 1) * 4 + 16 * E) if (not flash_attn and has_attn) else 0
    host = ub * (E + (0 if flash_attn else n_kv)) * 4
    if output_on_gpu:
        dev = max(logits, scores)
    else:
        dev = max(scores, ub * 16 * E)
        host += ub * V * 4
    return Compute(dev + host_weight_copy, host)


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
