"""Plans across GPUs and nodes: which parallel layout, how much KV room, how many users,
how fast, and the commands (issue 15).

``plan(model, rig, ctx=..., concurrency=C, runtime=None) -> dict`` lists every layout the
datacenter runtimes support on the rig (tensor parallel within a node, pipeline parallel
across nodes, expert parallel, data-parallel attention), best first; ``best_layout(...)``
is the first that fits, for ``rigcheck check`` on multi-GPU and multi-node rigs.

What is runtime-specific lives on the runtime's module as ``CLUSTER`` (rigcheck/runtimes/
vllm.py, sglang.py): the layouts it supports (``layouts``), its KV pool per GPU
(``kv_pool``: vLLM's gpu_memory_utilization budget, SGLang's mem_fraction_static), the KV
one request holds (``kv_seq_bytes``), its cache dtype, and its commands (``commands``,
``k8s``). This module does the arithmetic, the same for every runtime:

* **Weights per GPU.** Non-expert weights are split over the attention tensor-parallel
  group (``attn_tp``: the TP size, or tp/dp with DP attention, where each DP rank keeps a
  whole copy); routed experts over every GPU of a pipeline stage (TP-sharded or EP, the
  same bytes); a pipeline stage holds ceil(layers / pp) layers plus the embedding or the
  head. The heaviest stage counts.
* **KV capacity.** The runtime's pool per GPU over the bytes one request of ``ctx`` tokens
  holds on that GPU (its layout at ``attn_tp``, times the stage's share of layers): the
  maximum concurrency vLLM logs at start-up ("Maximum concurrency for N tokens per request:
  Xx"); times the DP replicas; tokens = concurrency x ctx (vLLM's "GPU KV cache size").
* **Decode** for B users. One forward step per stage reads its weights (routed experts:
  the share the batch touches, 1 - (1 - k/n)^tokens), the batch's KV, does 2 x active
  parameters FLOP per token, and pays its collectives: two all-reduces per layer over the
  attention TP group (one when experts are EP), an all-to-all dispatch and combine per MoE
  layer over the EP group, the embedding's all-reduce and the logits' gather once a pass
  over the TP group, a hop between pipeline stages. Memory and compute overlap (the
  larger counts); collectives do not. A token takes pp stage-steps (B >= pp users keep
  every stage busy with pp micro-batches). Bandwidth efficiency, per-token fixed cost and
  the runtime/architecture factors are the speed calibration's
  (rigcheck/plan/speed/__init__.py); the collectives' latency and bandwidth come from the
  rig's links (devices.csv), with the per-message latencies below.
* **TTFT**: a prompt of ``prompt`` tokens on an idle deployment, from the single-node prefill
  model (``plan.speed.prefill_seconds``: the matrix peak of the weights' type, the routed
  experts' share of each step's batch, attention at its own efficiency, the weights read per
  step, the device -> family -> vendor -> backend efficiency hierarchy) applied to one GPU's
  share of a pipeline stage (dense weights and attention over the attention TP group, routed
  experts over the stage's GPUs), in the runtime's prefill chunks (``PREFILL_CHUNK``); each
  chunk adds its collectives (per layer two all-reduces of the chunk's activations over the
  TP group, one with EP experts, plus the EP dispatch/combine all-to-alls), the layers'
  kernels and the hop between stages; pipeline stages overlap chunks. ``ttft_terms_s``
  says where the time goes.

Links: within a node the spec's link, else the board's (NVLink on HGX H100/H200/B200 and
A100 SXM, else PCIe of the card's generation); between nodes the spec's network link.
InfiniBand is taken as one port per GPU (HGX systems are rail-optimized: eight NICs per
node); Ethernet and Thunderbolt as one port per node, shared by its GPUs.
"""

from __future__ import annotations

import importlib
import json
import math
from dataclasses import dataclass

from ... import units
from ...errors import InputError
from ...model import Model
from ...model.tensor import Role
from ...quant.build import Build, make_build

# per-collective latency (s) of a small message, by link: NCCL all-reduce / all-to-all of a
# decode batch (estimates from typical nccl-tests small-message figures: ~10 us in an NVLink
# node, ~20-40 us across InfiniBand; TCP over a Thunderbolt bridge ~300 us, Apple TN3205 as
# reported from Jeff Geerling's Mac Studio cluster, 2025-12: under 50 us only with RDMA)
LATENCY_S = {"nvlink": 10e-6, "pcie": 25e-6, "ib": 40e-6, "ethernet": 60e-6, "thunderbolt": 300e-6}
# per layer and forward step: the dozen-odd kernels of an attention + MLP/MoE layer at decode
# batch sizes (a few microseconds each under CUDA graphs), which no byte or FLOP count shows
LAYER_S = 50e-6
LINK_EFF = 0.75          # share of a link's rated bandwidth a collective reaches (bus bandwidth)

# An all-reduce of a decode batch across InfiniBand nodes: NCCL's own latency model
# (NVIDIA/nccl src/graph/tuning.cc at 01afd20a77b5804e0ecf1042509dd9d20ebf9e93, LL protocol,
# the one NCCL picks for small messages): ring = 3.6 + (2(n-1) - 2(N-1)) x 0.47 x 1.8 + 2(N-1)
# x 2.7 us, tree = 4.4 + 2((n/N - 1) x 0.52 x 1.8 + log2(N) x 5.0) us for n ranks on N nodes;
# NCCL takes the faster. Measured all-reduces of a few bytes run slower than that model:
# 19.9 us between 2 A100 nodes over HDR (NVIDIA/nccl-tests issue #150, all_reduce_perf, 8 B)
# where the model says 9.0 us, hence NCCL_MEASURED_OVER_MODEL; with it 16 H100s on 2 nodes
# come to about 61 us, as NVIDIA/nccl issue #1453 measured (61.6 us at 128 B, 2 x 8 H100).
NCCL_MEASURED_OVER_MODEL = 19.9 / 9.0
# A small all-reduce across nodes runs in NCCL's LL protocol, which moves its bytes at a few
# GB/s (8-byte stores, half of them flags, over few channels), not at the links' rate. NCCL's
# own tuning model for 2 x 8 H100 over IB, as its NCCL_DEBUG=INFO log prints it (NVIDIA/nccl
# issue #1453): 25.21 us at 128 B, 25.87 at 4 KB, 26.55 at 8 KB, 37.80 at 64 KB (LL, 'proto 0'),
# then LL128 from 128 KB (51.60 us): 0.19 ns a byte up to 64 KB, scaled like the latency by
# NCCL_MEASURED_OVER_MODEL. Past 64 KB NCCL changes protocol and the bandwidth term takes over.
NCCL_LL_S_PER_BYTE = (37.798233 - 25.214764) / (65536 - 128) * 1e-6
NCCL_LL_MAX_BYTES = 65536
# NICS_PER_NODE_NOTE: an all-reduce across nodes reaches about the node's aggregate NIC
# bandwidth as bus bandwidth (NCCL's rings take one channel per NIC): 3 nodes x 8 A100 with 4
# HDR NICs each measured 84.8 GB/s average, 96 GB/s peak against the 100 GB/s of 4 x 200 Gb/s
# (NVIDIA/nccl-tests issue #119, 2022-11); NVIDIA expects 46-48 GB/s per 400 Gb/s NDR NIC
# (NVIDIA/nccl-tests issue #290, 2025-03, maintainer's reply)
DECODE_USERS = (1, 8)    # plus the --concurrency value
DEFAULT_CONCURRENCY = 32
MAX_NODES = 64

# the board link of GPUs that ship on NVLink baseboards (HGX / SXM), by catalogue id
_BOARD_LINK = {"h100-sxm": "nvlink4", "h200": "nvlink4", "b200": "nvlink5", "a100-80gb": "nvlink3",
               "a100-40gb": "nvlink3"}
# the only NVLink that joins these cards (a two-card bridge)
_BRIDGE_CARDS = {"rtx-3090", "rtx-a6000"}


def _rules() -> dict:
    """Each runtime's multi-GPU rules: the ``CLUSTER`` attribute of its module, where it has one."""
    from ... import runtimes
    out = {}
    for mod_name in runtimes.MODULES:
        mod = importlib.import_module(f"rigcheck.runtimes.{mod_name}")
        rules = getattr(mod, "CLUSTER", None)
        if rules is not None:
            out[mod.RUNTIME.name] = rules
    return out


def runtimes_with_layouts() -> list[str]:
    return list(_rules())


# ---- the model in numbers -----------------------------------------------------------------

@dataclass(frozen=True)
class Shape:
    """What the arithmetic needs from a model in a build (bytes and parameter counts)."""

    embed_bytes: int
    head_bytes: int
    layer_dense_bytes: int        # non-expert weights of the repeating layers
    expert_bytes: int             # routed experts, all layers
    dense_active_params: float    # per token, without the input embedding
    expert_active_params: float   # per token (k of n experts)
    n_layer: int
    n_moe_layers: int
    hidden: int
    n_expert: int
    n_expert_used: int
    n_head: int
    head_dim: int
    low_precision: bool           # weights mostly FP8/FP4: the FP8 tensor peak applies
    mtp_dense_bytes: int = 0      # the MTP (next-n) block: the draft model of EAGLE / MTP decoding
    mtp_expert_bytes: int = 0
    mtp_dense_params: float = 0.0
    mtp_expert_active_params: float = 0.0
    float_weights: bool = False   # weights mostly F16/BF16/F32: the prefill GEMMs run at the FP16 peak
    vocab: int = 0                # the LM head's rows: the logits one decode token gathers

    @property
    def weights_bytes(self) -> int:
        return self.embed_bytes + self.head_bytes + self.layer_dense_bytes + self.expert_bytes


def shape_of(model: Model, build: Build) -> Shape:
    embed = head = dense = expert = 0
    dense_p = expert_p = 0.0
    moe_layers = set()
    low = flt = 0
    mtp_dp = mtp_ep = 0.0
    for t in model.tensors:               # the MTP block: builds leave it out; sized below at the layers' rate
        if t.mtp and t.role != Role.EMBED:
            if t.is_expert:
                mtp_ep += t.n_elements
            else:
                mtp_dp += t.n_elements
    dense_el = 0.0
    for t, ty, n in build.items():
        if t.mtp:
            continue
        if not t.is_expert and t.layer is not None and t.role != Role.EMBED:
            dense_el += t.n_elements
        if ty.startswith(("FP8", "FP4", "MXFP4", "NVFP4")):
            low += n
        elif ty.startswith(("F16", "BF16", "F32")):
            flt += n
        if t.is_expert:
            expert += n
            expert_p += t.n_elements
            if t.layer is not None:
                moe_layers.add(t.layer)
        elif t.role == Role.EMBED:
            embed += n
        elif t.layer is None:
            head += n
            dense_p += t.n_elements
        else:
            dense += n
            dense_p += t.n_elements
    la = next((la for la in model.layers if la.n_head), None)
    mtp_d = int(mtp_dp * dense / dense_el) if dense_el else 0
    mtp_e = int(mtp_ep * expert / expert_p) if expert_p else 0
    moe = model.moe
    frac = model.expert_fraction() if moe else 0.0
    return Shape(embed, head, dense, expert, dense_p, expert_p * frac, model.n_layer, len(moe_layers),
                 model.n_embd, moe.n_expert if moe else 0, moe.n_expert_used if moe else 0,
                 la.n_head if la else 0, la.head_dim_k if la else 0, low * 2 > build.weights_bytes,
                 mtp_d, mtp_e, mtp_dp, mtp_ep * frac, flt * 2 > build.weights_bytes, int(model.n_vocab or 0))


# checkpoints the datacenter runtimes load besides the published one: the layer matrices' type
QUANT_BUILDS = {"fp8": "FP8_E4M3", "awq-int4": "AWQ_4BIT_G128", "gptq-int4": "GPTQ_4BIT_G128"}


def derived_build(model: Model, kind: str) -> Build:
    """A checkpoint the runtimes load beside the published one: ``fp8`` (vLLM/SGLang
    ``--quantization fp8``, quantized at load time from a 16-bit checkpoint: every layer
    matrix FP8 e4m3 with a per-tensor scale) or ``awq-int4`` (a published AWQ 4-bit group-128
    checkpoint: every layer matrix 4-bit, embedding and head kept 16-bit; ``gptq-int4`` the same
    for a GPTQ 4-bit group-128 checkpoint)."""
    from ...quant import recipes
    native = recipes.build(model, "native")
    ty_of = QUANT_BUILDS.get(kind)
    if ty_of is None:
        raise InputError(f"unknown build '{kind}' for a cluster plan: use native, " + ", ".join(QUANT_BUILDS))
    types = []
    for t, ty in zip(model.tensors, native.types):
        if ty is None:
            types.append(None)
        elif t.layer is not None and len(t.shape) >= 2 and not t.mtp and t.shape[-1] % 128 == 0:
            types.append(ty_of)
        else:
            types.append(ty)
    return make_build(model, types, name=kind, header_bytes=native.header_bytes, container="safetensors",
                      recipe="native", notes=(f"{kind}: layer matrices {ty_of}",))


# ---- the rig in numbers ---------------------------------------------------------------------

@dataclass(frozen=True)
class Links:
    intra_kind: str
    intra_bw: float               # per direction, per GPU pair
    intra_id: str
    net_kind: str | None
    net_bw_per_gpu: float | None
    net_id: str | None
    assumed: tuple[str, ...] = ()


def _link_class(link) -> str:
    if link.kind == "nvlink":
        return "nvlink"
    if link.kind == "pcie":
        return "pcie"
    if link.kind == "thunderbolt":
        return "thunderbolt"
    return "ib" if link.id.startswith("ib-") else "ethernet"


def rig_links(rig) -> Links:
    """The links a collective crosses, with what was assumed."""
    from ...hardware.catalog import get_link
    node = rig.node
    dev = node.gpus[0]
    assumed = []
    link = node.link
    if link is not None and link.kind == "nvlink":
        if link.id == "nvlink-3090" and dev.id not in _BRIDGE_CARDS:
            raise InputError(f"{dev.id} has no NVLink bridge ({link.id} joins two RTX 3090 / A6000 cards); "
                             f"leave the link out or write e.g. pcie4-x16")
        if link.id != "nvlink-3090" and dev.id not in _BOARD_LINK:
            raise InputError(f"{dev.id} does not connect over {link.id} (NVLink baseboards carry H100/H200/B200/"
                             f"A100 SXM); write its PCIe link, e.g. pcie4-x16")
    if link is None and len(node.gpus) > 1:
        lid = _BOARD_LINK.get(dev.id) or ("pcie5-x16" if (dev.release_year or 0) >= 2025 else "pcie4-x16")
        link = get_link(lid)
        assumed.append(f"link between the GPUs of a node not given: assumed {link.id} ({link.name}); "
                       f"add e.g. 'pcie4-x8' to the spec if the slots are narrower")
    net = rig.link if len(rig.nodes) > 1 else None
    if len(rig.nodes) > 1 and net is None:
        net = get_link("100gbe")
        assumed.append("no link between the nodes given: assumed 100gbe; add e.g. 'ib-400g', '200gbe' or 'tb5'")
    if link is None:                       # one GPU per node: the collectives cross the network only
        link = net
    intra_kind = _link_class(link) if link is not None else "nvlink"
    intra_bw = link.bandwidth_bytes_s if link is not None else 1e12
    net_kind = _link_class(net) if net is not None else None
    net_bw = None
    if net is not None:
        per_gpu = net_kind == "ib"
        net_bw = net.bandwidth_bytes_s / (1 if per_gpu else max(1, len(node.gpus)))
        if net_kind == "ib" and len(node.gpus) > 1:
            assumed.append(f"{net.id}: one port per GPU (rail-optimized HGX nodes)")
    return Links(intra_kind, intra_bw, link.id if link is not None else "", net_kind, net_bw,
                 net.id if net is not None else None, tuple(assumed))


def nccl_allreduce_latency_s(ranks: int, nodes: int, nbytes: float = 0.0) -> float:
    """A small all-reduce of ``nbytes`` over ``ranks`` GPUs on ``nodes`` InfiniBand nodes (see
    NCCL_MEASURED_OVER_MODEL): NCCL's LL-protocol model, ring or tree, the faster, plus LL's
    per-byte time (NCCL_LL_S_PER_BYTE) up to the size NCCL leaves LL at."""
    return _nccl_allreduce_latencies_s(ranks, nodes, nbytes)[1]


def _nccl_allreduce_latencies_s(ranks: int, nodes: int, nbytes: float) -> tuple[float, float]:
    """:func:`nccl_allreduce_latency_s` of an empty message and of ``nbytes``, both from one
    working of NCCL's ring/tree model."""
    if ranks <= 1:
        return 0.0, 0.0
    nodes = max(1, nodes)
    intra = 0.47 * (1.8 if nodes > 1 else 1.0)
    steps, inter_steps = 2 * (ranks - 1), 2 * (nodes - 1)
    ring = 3.6 + (steps - inter_steps) * intra + inter_steps * 2.7
    tree = 4.4 + 2 * ((ranks / nodes - 1) * 0.52 * (1.8 if nodes > 1 else 1.0) + math.log2(nodes) * 5.0)
    model = min(ring, tree) * 1e-6
    ll = min(max(0.0, nbytes), NCCL_LL_MAX_BYTES) * NCCL_LL_S_PER_BYTE
    return model * NCCL_MEASURED_OVER_MODEL, (model + ll) * NCCL_MEASURED_OVER_MODEL


def _collective_s(links: Links, group: int, gpus_per_node: int, payload: float, kind: str) -> float:
    """One all-reduce (``kind='ar'``, ring: 2(n-1)/n x payload) or all-to-all (``'a2a'``:
    payload out of each GPU, the share for other nodes over the network) over ``group`` GPUs.
    An all-reduce across InfiniBand nodes pays NCCL's latency for that many ranks and nodes
    (:func:`nccl_allreduce_latency_s`); other links a fixed latency per collective."""
    if group <= 1:
        return 0.0
    spans = group > gpus_per_node
    nccl_ib = kind == "ar" and spans and links.net_kind == "ib"
    if nccl_ib:      # NCCL's latency for an empty message, and with the payload's LL time
        lat, lat_ll = _nccl_allreduce_latencies_s(group, -(-group // gpus_per_node), payload)
    else:
        lat = LATENCY_S[links.intra_kind] + (LATENCY_S[links.net_kind] if spans and links.net_kind else 0.0)
    intra = links.intra_bw * LINK_EFF
    net = (links.net_bw_per_gpu or links.intra_bw) * LINK_EFF
    if kind == "ar":
        # a ring across nodes runs a channel through every NIC of a node at once, so its bus
        # bandwidth is the node's whole network share (NICS_PER_NODE_NOTE), not one NIC's
        bw = min(intra, net * min(group, gpus_per_node)) if spans else intra
        t = lat + 2 * (group - 1) / group * payload / bw
        if nccl_ib:      # a decode-sized message: LL's own per-byte time (NCCL_LL_S_PER_BYTE)
            t = max(t, lat_ll)
        return t
    local = min(group, gpus_per_node)
    remote_share = (group - local) / group
    return lat + payload * ((local - 1) / group / intra + remote_share / net)


# ---- one layout -------------------------------------------------------------------------------

def attention_span(model: Model, ctx: int) -> float:
    """Mean tokens a layer attends to at position ``ctx``, as a share of ``ctx``: 1 for full
    attention; a window for sliding layers; compressed entries (+ the raw window) for V4's
    CSA/HCA; the indexer's top-k for sparse (DSA) layers; none for linear layers."""
    from ...model.model import AttnKind
    spans = []
    for la in model.layers:
        if la.kind in (AttnKind.NONE, AttnKind.LINEAR):
            spans.append(0.0)
        elif la.kind == AttnKind.SWA and la.window:
            spans.append(min(ctx, la.window))
        elif la.kind in (AttnKind.CSA, AttnKind.HCA):
            comp = ctx / max(1, la.compress_ratio or 1)
            if la.index_topk:
                comp = min(comp, la.index_topk)
            spans.append(comp + min(ctx, la.window or 128))
        elif la.kind == AttnKind.DSA and la.index_topk:
            spans.append(min(ctx, la.index_topk))
        else:
            spans.append(ctx)
    return (sum(spans) / len(spans) / ctx) if spans and ctx else 1.0


def kv_read_share(model: Model, ctx: int) -> float:
    """Share of a request's cached entries one decode step reads. Full, sliding and MLA
    layers read all they hold (a sliding layer holds only its window); sparse layers read
    their top-k: a DSA layer ``index_topk`` of its ``ctx`` entries (its indexer keys all), a
    V4 CSA layer ``index_topk`` of its ctx/4 compressed entries plus the raw window, an HCA
    layer all of its ctx/128 entries and the window. Weighted by entries held."""
    from ...model.model import AttnKind
    held = read = 0.0
    for la in model.layers:
        if la.kind in (AttnKind.NONE, AttnKind.LINEAR):
            continue
        if la.kind in (AttnKind.CSA, AttnKind.HCA):
            comp = ctx / max(1, la.compress_ratio or 1)
            win = min(ctx, la.window or 128)
            held += comp + win
            read += (min(comp, la.index_topk) if la.index_topk else comp) + win
        elif la.kind == AttnKind.DSA and la.index_topk:
            held += ctx
            read += min(ctx, la.index_topk)
        else:
            n = min(ctx, la.window) if la.kind == AttnKind.SWA and la.window else ctx
            held += n
            read += n
    return read / held if held else 1.0


def _touched(tokens: float, k: int, n: int) -> float:
    """Share of a layer's routed experts a batch of ``tokens`` tokens reads (uniform routing)."""
    if not n:
        return 0.0
    return 1.0 - (1.0 - k / n) ** max(tokens, 0.0)


@dataclass(frozen=True)
class Device:
    id: str
    kind: str                  # gpu | unified
    family: str
    memory_bytes: int
    bandwidth: float
    peak_flops: float | None   # the peak the weights' GEMMs run at (FP8 for FP8/FP4 weights)
    fp16_flops: float | None = None
    int8_ops: float | None = None


def _device(rig, low_precision: bool) -> Device:
    from ..speed import device_family
    node = rig.node
    d = node.gpus[0]
    kind = "unified" if node.unified else "gpu"
    mem = int(node.gpu_memory_bytes if node.unified else (d.memory_bytes or 0))
    peak = (d.fp8_flops if low_precision and d.fp8_flops else None) or d.fp16_flops
    return Device(d.id, kind, device_family(d.vendor, d.kind), mem, float(d.bandwidth_bytes_s or 0), peak,
                  d.fp16_flops, d.int8_ops)


# Tokens one prefill step runs: vLLM's max_num_batched_tokens (8192, as kv_vllm sizes the
# in-flight window), SGLang's chunked_prefill_size (8192 on 80-160 GB GPUs: assumed for every
# GPU here), llama.cpp's micro-batch (-ub 512).
PREFILL_CHUNK = {"vllm": 8192, "sglang": 8192}


def prefill_stage_case(rules, sh: Shape, dev: Device, lay: dict, *, prompt: int, attn_flops: float,
                       maturity: str, float_weights: bool):
    """The single-node prefill model's case (rigcheck.plan.speed.PrefillCase) for one GPU of
    one pipeline stage: per prompt token, the stage's dense weights' FLOP over the attention
    TP group, its routed experts' over every GPU of the stage (TP-sharded or EP), attention
    over the TP group; the chunk a prefill step runs is the GEMMs' batch, of which each routed
    expert sees k/n; the weights the GPU reads per chunk at its own bandwidth. ``float_weights``:
    F16/BF16 weights run at the FP16 peak; quantized ones (FP8/FP4, AWQ/GPTQ, GGUF) at the
    INT8 peak (the FP8 one where the catalogue has no INT8 figure), the convention the prefill
    fit's efficiencies are measured against (PrefillCase.matrix_peak)."""
    from ..speed import UBATCH, PrefillCase, backend_of
    tp_a, pp, gpus = lay["attn_tp"], lay["pp"], lay["gpus"]
    stage_gpus = gpus // pp
    L = max(1, sh.n_layer)
    share = math.ceil(L / pp) / L
    chunks = math.ceil(prompt / PREFILL_CHUNK.get(rules.runtime, UBATCH))
    batch = max(1, math.ceil(prompt / chunks))
    dense = 2.0 * sh.dense_active_params * share / tp_a
    experts = 2.0 * sh.expert_active_params * share / stage_gpus
    gemm = dense + experts
    frac = sh.n_expert_used / sh.n_expert if sh.n_expert else 1.0
    ends = sh.embed_bytes + sh.head_bytes if pp == 1 else max(sh.embed_bytes, sh.head_bytes)
    read = (sh.layer_dense_bytes * share + ends) / tp_a
    read += sh.expert_bytes * share / stage_gpus * _touched(batch, sh.n_expert_used, sh.n_expert)
    low = None if float_weights else (dev.int8_ops or (dev.peak_flops if dev.peak_flops != dev.fp16_flops else None))
    return PrefillCase(gemm_flops=gemm, attn_flops=attn_flops * share / tp_a,
                       peak_flops=dev.fp16_flops or dev.peak_flops, int8_ops=low, family=dev.family,
                       runtime=rules.runtime, backend=backend_of(rules.runtime, dev.family), device=dev.id,
                       maturity=maturity, float_weights=float_weights,
                       expert_share=experts / gemm if gemm else 0.0, expert_frac=frac, batch=batch,
                       weights_bytes=read, bandwidth_bytes_s=dev.bandwidth or None)


def evaluate_layout(rules, model: Model, sh: Shape, dev: Device, links: Links, lay: dict, *, ctx: int,
                    nodes: int, gpus_per_node: int, users: list[int], prompt: int, calib,
                    cache_type: str | None = None, spec: dict | None = None) -> dict:
    """Weights, KV capacity, concurrency, decode and TTFT of one layout (see the module doc).

    ``spec``: the runtime's speculative decoding (a row of rigcheck/data/speculative.csv) where
    its recipe turns it on. A decode step then runs ``num_steps`` draft passes of the MTP
    block (its weights, the LM head and one layer's collectives and kernels each) and one
    verify pass of the target over ``draft_tokens`` tokens per request; each request gains
    ``acceptance_length`` tokens per step. The MTP block's weights and the runtime's draft
    memory (rules.kv_pool / kv_seq_bytes with ``spec``) count against the GPU."""
    from ..speed import PRIOR_FIXED_S, PRIOR_MATURITY, arch_key, maturity_of, prefill_flops_per_token, spread_of
    tp_a, pp, dp, gpus = lay["attn_tp"], lay["pp"], lay["dp"], lay["gpus"]
    span_dec = attention_span(model, ctx)
    span_pre = attention_span(model, max(1, prompt // 2))
    stage_gpus = gpus // pp
    L = max(1, sh.n_layer)
    share = math.ceil(L / pp) / L
    ends = sh.embed_bytes + sh.head_bytes if pp == 1 else max(sh.embed_bytes, sh.head_bytes)
    w_dense = (sh.layer_dense_bytes * share + ends) / tp_a
    w_exp = sh.expert_bytes * share / stage_gpus
    # the draft worker's MTP block lives on the last stage (TP-sharded like a layer)
    w_mtp = (sh.mtp_dense_bytes / tp_a + sh.mtp_expert_bytes / stage_gpus) if spec else 0.0
    weights = int(w_dense + w_exp + w_mtp)
    ct = cache_type or rules.cache_types(model)[0]
    seq = rules.kv_seq_bytes(model, ctx, attn_tp=tp_a, cache_type=ct, pp=pp, spec=spec) * share
    pool, settings = rules.kv_pool(model, gpu_bytes=dev.memory_bytes, weights_bytes=weights, layout=lay, spec=spec)
    conc_rep = max(0.0, pool / seq) if seq > 0 else 0.0
    cap_rep = rules.max_requests(model, lay, spec)
    if cap_rep:
        conc_rep = min(conc_rep, float(cap_rep))
    conc = conc_rep * dp
    fits = pool > 0 and conc_rep >= 1.0
    kv_read = seq * kv_read_share(model, ctx)           # what a decode step reads of one request's KV

    # ---- decode
    eff = calib.eff_of(dev.family, dev.kind, dev.id)
    fixed = calib.fixed_s.get(dev.family, PRIOR_FIXED_S.get(dev.family, 0.003)) * calib.fixed_rt.get(rules.runtime, 1.0)
    maturity = maturity_of(model.arch, rules.runtime)
    factor = calib.runtime.get(rules.runtime, 1.0) / calib.maturity.get(maturity, PRIOR_MATURITY.get(maturity, 1.0))
    factor /= calib.arch_eff.get(arch_key(model.arch, rules.runtime), 1.0)
    c_eff = calib.prefill_eff.get(dev.family, 0.3)
    Lm = L * share
    moe_l = sh.n_moe_layers * share
    head_read = sh.head_bytes / tp_a
    ep = lay["ep"] > 1

    q = int(spec["draft_tokens"]) if spec else 1         # tokens per request a verify pass runs

    def stage_s(m: float) -> float:
        b = math.ceil(m / dp)
        read = (sh.layer_dense_bytes * share) / tp_a + head_read
        read += w_exp * _touched(m * q, sh.n_expert_used, sh.n_expert)
        read += b * kv_read
        t_mem = read / (dev.bandwidth * eff)
        flops = 2 * q * (b * sh.dense_active_params * share / tp_a + m * sh.expert_active_params * share / stage_gpus)
        flops += 4 * Lm * sh.n_head * sh.head_dim * ctx * span_dec * b * q / tp_a
        t_cmp = flops / (dev.peak_flops * c_eff) if dev.peak_flops else 0.0
        msg = b * q * sh.hidden * 2
        n_ar = Lm + (Lm - moe_l if ep else Lm) if tp_a > 1 else 0
        t_com = n_ar * _collective_s(links, tp_a, gpus_per_node, msg, "ar")
        if ep:
            per_gpu_tokens = b / tp_a
            payload = per_gpu_tokens * sh.n_expert_used * sh.hidden * 1.5      # fp8 dispatch, bf16 combine
            t_com += 2 * moe_l * _collective_s(links, stage_gpus, gpus_per_node, payload, "a2a")
        return max(t_mem, t_cmp) + t_com + Lm * getattr(rules, "layer_s", LAYER_S)

    def ends_s(m: float, tokens: int) -> float:
        """The two collectives a forward pass pays outside its layers, ``tokens`` tokens for each
        of ``m`` requests: the vocab-parallel embedding's all-reduce of the hidden states
        (VocabParallelEmbedding.forward in vLLM and SGLang: tensor_model_parallel_all_reduce) and
        the gather of the TP-split logits before sampling (SGLang's LogitsProcessor:
        tensor_model_parallel_all_gather; vLLM's: a gather to rank 0), 16-bit logits; a ring
        all-gather moves half the bytes an all-reduce of the result would."""
        if tp_a <= 1:
            return 0.0
        b = math.ceil(m / dp) * tokens
        return (_collective_s(links, tp_a, gpus_per_node, b * sh.hidden * 2, "ar")
                + _collective_s(links, tp_a, gpus_per_node, b * sh.vocab * 2 / 2, "ar"))

    def hop_s(m: float) -> float:
        if pp == 1:
            return 0.0
        spans = stage_gpus >= gpus_per_node and nodes > 1
        kind = links.net_kind if spans and links.net_kind else links.intra_kind
        bw = (links.net_bw_per_gpu if spans and links.net_bw_per_gpu else links.intra_bw) * LINK_EFF
        return LATENCY_S[kind] + math.ceil(m / dp) * sh.hidden * 2 / bw

    def draft_s(m: float) -> float:
        """One draft pass of the MTP block for ``m`` requests (the last stage's GPUs)."""
        b = math.ceil(m / dp)
        read = sh.mtp_dense_bytes / tp_a + head_read
        read += sh.mtp_expert_bytes / stage_gpus * _touched(m, sh.n_expert_used, sh.n_expert)
        read += b * kv_read / max(1.0, Lm)
        t_mem = read / (dev.bandwidth * eff)
        flops = 2 * (b * sh.mtp_dense_params / tp_a + m * sh.mtp_expert_active_params / stage_gpus)
        t_cmp = flops / (dev.peak_flops * c_eff) if dev.peak_flops else 0.0
        t_com = 2 * _collective_s(links, tp_a, gpus_per_node, b * sh.hidden * 2, "ar") if tp_a > 1 else 0.0
        return max(t_mem, t_cmp) + t_com + getattr(rules, "layer_s", LAYER_S) + ends_s(m, 1)

    steps = int(spec["num_steps"]) if spec else 0
    accept = float(spec["acceptance_length"]) if spec else 1.0

    def token_s(b_users: int) -> float:
        """Seconds per token of one request with ``b_users`` decoding (a step's time over the
        tokens it emits per request)."""
        # pipeline stages overlap micro-batches (vLLM/SGLang PP); a layer split (llama.cpp RPC)
        # runs the whole batch through the devices in turn
        mb = 1 if lay.get("layer_split") else min(pp, b_users)
        m = b_users / mb
        step = pp * stage_s(m) + ends_s(m, q) + fixed + (pp - 1) * hop_s(m) + steps * draft_s(m)
        return step * factor / accept

    per_user, aggregate = {}, {}
    cap = max(1, int(conc)) if fits else 0
    for u in users:
        served = min(u, cap) if cap else u
        t = token_s(served)
        per_user[str(u)] = round(1.0 / t, 2)
        aggregate[str(u)] = round(served / t, 1)
    lo_q, hi_q = spread_of(calib, "multi", dev.id)
    lo_q, hi_q = min(lo_q, -0.35), max(hi_q, 0.35)
    mid1 = 1.0 / token_s(1)

    # ---- time to first token (one prompt, idle deployment): the single-node prefill model
    # (plan.speed.prefill_seconds) on one GPU's share of a stage, chunk by chunk; the stages
    # overlap chunks (vLLM/SGLang PP; a llama.cpp layer split runs them in turn); each chunk
    # pays its collectives (two all-reduces of its activations per layer over the attention TP
    # group, one with EP experts, whose dispatch and combine are all-to-alls) and the hop to the
    # next stage; each layer's kernels (LAYER_S, as in decode); the step's fixed cost
    # (scheduling, sampling) once
    ttft, ttft_terms = 0.0, {}
    if dev.fp16_flops or dev.peak_flops:
        from ..speed import UBATCH, prefill_seconds, prefill_terms
        attn = 4.0 * L * sh.n_head * sh.head_dim * (prompt / 2) * span_pre        # per prompt token, all layers
        case = prefill_stage_case(rules, sh, dev, lay, prompt=prompt, attn_flops=attn, maturity=maturity,
                                  float_weights=sh.float_weights)
        chunks = math.ceil(prompt / PREFILL_CHUNK.get(rules.runtime, UBATCH))
        c = prompt / chunks
        t_cmp = c * prefill_seconds(case, calib)
        n_ar = (Lm + (Lm - moe_l if ep else Lm)) if tp_a > 1 else 0
        t_com = n_ar * _collective_s(links, tp_a, gpus_per_node, c * sh.hidden * 2, "ar")
        if ep:
            t_com += 2 * moe_l * _collective_s(links, stage_gpus, gpus_per_node,
                                               c / tp_a * sh.n_expert_used * sh.hidden * 1.5, "a2a")
        step = t_cmp + t_com + Lm * getattr(rules, "layer_s", LAYER_S) + (hop_s(c * dp) if pp > 1 else 0.0)
        steps_on_path = chunks * pp if lay.get("layer_split") else chunks + pp - 1
        ttft = steps_on_path * step + fixed * factor
        terms = prefill_terms(case, calib)
        scale = prefill_seconds(case, calib) / max(sum(terms.values()), 1e-30)      # the maturity factor
        ttft_terms = {k: round(v * scale * c * steps_on_path, 4) for k, v in terms.items()}
        ttft_terms["collectives"] = round(t_com * steps_on_path, 4)

    return {
        "runtime": rules.runtime, "label": layout_label(lay), "tp": lay["tp"], "pp": pp, "ep": lay["ep"],
        "dp": dp, "dp_attention": lay["dp_attention"], "layer_split": bool(lay.get("layer_split")),
        "attention_tp": tp_a, "gpus": gpus,
        "nodes": nodes if gpus > gpus_per_node else 1,
        "per_gpu_weights_bytes": weights, "kv_pool_bytes_per_gpu": int(pool), "kv_bytes_per_request": int(seq),
        "kv_cache_dtype": ct, "kv_capacity_tokens": int(conc * ctx) if fits else 0,
        "kv_capacity_tokens_per_replica": int(conc_rep * ctx) if fits else 0,
        "max_concurrency": round(conc, 2) if fits else 0.0,
        "max_concurrency_per_replica": round(conc_rep, 2) if fits else 0.0, "fits": fits,
        "decode_tok_s_per_user": per_user, "decode_tok_s_aggregate": aggregate,
        "decode_range_1_user": {"low": round(mid1 * math.exp(lo_q), 2), "mid": round(mid1, 2),
                                "high": round(mid1 * math.exp(hi_q), 2)},
        "ttft_s": round(ttft, 3), "ttft_prompt_tokens": prompt, "ttft_terms_s": ttft_terms, "maturity": maturity,
        "settings": {k: v for k, v in settings.items()},
        "max_running_requests_per_replica": cap_rep,
        "speculative": ({"method": spec["method"], "num_steps": steps, "draft_tokens": q,
                         "acceptance_length": accept, "source": spec["source"]} if spec else None),
    }


def layout_label(lay: dict) -> str:
    parts = []
    if lay["dp_attention"]:
        parts.append(f"DP{lay['dp']} attention")
        if lay["attn_tp"] > 1:
            parts.append(f"TP{lay['attn_tp']}")
    elif lay["tp"] > 1 or lay["pp"] == 1:
        parts.append(f"TP{lay['tp']}")
    if lay["pp"] > 1:
        parts.append(f"PP{lay['pp']}")
    if lay["ep"] > 1:
        parts.append(f"EP{lay['ep']}")
    return " + ".join(parts)


# ---- the plan ---------------------------------------------------------------------------------

def check_rig(rig) -> tuple[int, int]:
    """(nodes, GPUs per node) of a rig a cluster plan can use; one clear line otherwise."""
    nodes = len(rig.nodes)
    if nodes > MAX_NODES:
        raise InputError(f"{nodes} nodes: a cluster plan covers {MAX_NODES} at most")
    node = rig.node
    if not node.gpus:
        raise InputError("a cluster plan needs GPUs in every node; this rig has none "
                         "(try 'rigcheck check' for CPU-only machines)")
    if len({d.id for d in node.gpus}) > 1:
        raise InputError("a cluster plan needs the same GPU throughout (tensor parallel splits evenly); "
                         f"this node mixes {', '.join(sorted({d.id for d in node.gpus}))}")
    if not (node.gpus[0].bandwidth_bytes_s and (node.gpus[0].memory_bytes or node.unified)):
        raise InputError(f"{node.gpus[0].id} has no memory size or bandwidth in the device catalogue")
    return nodes, len(node.gpus)


def _platform(rig) -> str:
    v = (rig.node.gpus[0].vendor or "").lower()
    return {"nvidia": "cuda", "amd": "rocm", "apple": "metal"}.get(v, "vulkan")


def plan(model: Model, rig, *, ctx: int | None = None, concurrency: int | None = None,
         runtime: str | None = None, build: str | None = None, repo: str | None = None,
         prompt: int | None = None, k8s: bool = False, cache_type: str | None = None, calib=None) -> dict:
    """Every supported layout of ``model`` on ``rig``, best first (see the module doc).
    ``cache_type``: size the KV cache in this dtype only (default: the model's dtype, then
    8-bit where that does not fit)."""
    from ... import runtimes
    from ...memory.kv import check_count, is_v4, resolve_ctx
    from ...quant import recipes
    from ...model.model import AttnKind
    from .data import speed_calibration

    ctx = resolve_ctx(model, ctx)
    conc = check_count(concurrency if concurrency is not None else DEFAULT_CONCURRENCY, "concurrency", 1, 1 << 16)
    prompt = check_count(prompt if prompt is not None else ctx, "prompt length", 1, ctx)
    nodes, g = check_rig(rig)
    links = rig_links(rig)
    rules_all = _rules()
    wanted = runtimes.get(runtime).name if runtime else None
    if wanted and wanted not in rules_all:
        raise InputError(f"{wanted} has no multi-GPU plan here; plan covers {', '.join(rules_all)}")
    plat = _platform(rig)
    notes = list(links.assumed)
    chosen = {}
    for name, rules in rules_all.items():
        if wanted and name != wanted:
            continue
        rt = runtimes.get(name)
        if plat not in rt.platforms:
            notes.append(f"{rt.label} does not run on {rig.node.gpus[0].name} ({plat})")
            continue
        sup = rt.support(model.arch).for_format("safetensors")
        if sup.status == "unknown":
            notes.append(f"{rt.label}: the support table has no row for {model.id}'s architecture; planned as if "
                         "it runs it")
        elif not sup.runs:
            notes.append(f"{rt.label} does not run {model.id} ({sup.status}: {sup.note or sup.source})")
            continue
        chosen[name] = rules
    if plat == "metal" and nodes > 1:
        notes.append("exo (MLX; tensor parallel over RDMA on Thunderbolt 5 with macOS 26.2) is not planned here: with "
                     "RDMA it avoids the per-hop TCP latency that a llama.cpp RPC split pays")
    if not chosen:
        hint = " (one Mac: 'rigcheck check' plans it)" if plat == "metal" else ""
        raise InputError(f"no datacenter runtime runs {model.id} on {rig.spec or 'this rig'}: "
                         + "; ".join(notes[-2:]) + hint)

    if build and build != "native":
        if build.endswith("-int4") and not repo:
            raise InputError(f"--build {build} needs --repo: the Hub repo of that checkpoint of this model")
        builds = [derived_build(model, build)]
    else:
        try:
            builds = [recipes.build(model, "native")]
        except InputError as e:               # e.g. a model read from a .gguf file: no checkpoint to serve
            builds = []
            if any("safetensors" in getattr(r, "formats", ("safetensors",)) for r in chosen.values()):
                notes.append(f"vLLM/SGLang: {e}")
    calib = calib or speed_calibration()
    moe = bool(model.moe and model.moe.n_expert)
    latent = is_v4(model) or any(la.kind in (AttnKind.MLA, AttnKind.DSA) for la in model.layers)
    users = sorted(set(DECODE_USERS) | {conc})
    specs = speculative_defaults(model.id)

    def cache_for(rules) -> tuple[str, ...]:
        if not cache_type:
            return rules.cache_types(model)
        from ...memory.cachetypes import check_cache_type
        from ... import runtimes as rts
        valid = rts.get(rules.runtime).memory.cache_types
        same = {"fp8": "fp8_e4m3", "fp8_e4m3": "fp8"}          # the runtimes spell the 8-bit cache differently
        want = cache_type.strip().lower()
        if want not in valid and same.get(want) in valid:
            want = same[want]
        return (check_cache_type(rules.runtime, want, valid),)

    def run(b: Build, group: dict) -> list[dict]:
        sh = shape_of(model, b)
        dev = _device(rig, sh.low_precision)
        out = []
        for name, rules in group.items():
            for lay in rules.layouts(nodes=nodes, gpus_per_node=g, moe=moe, latent_kv=latent):
                if lay["gpus"] > nodes * g:
                    continue
                heads = next((la.n_head for la in model.layers if la.n_head), 0)
                if heads and heads % lay["attn_tp"]:
                    note = f"{rules.runtime}: TP{lay['attn_tp']} does not divide {model.id}'s {heads} attention heads"
                    if note not in notes:
                        notes.append(note)
                    continue
                spec = specs.get(name) if sh.mtp_dense_bytes else None
                for ct in cache_for(rules):              # the model's dtype first, then an 8-bit cache
                    r = evaluate_layout(rules, model, sh, dev, links, lay, ctx=ctx, nodes=nodes, gpus_per_node=g,
                                        users=users, prompt=prompt, calib=calib, cache_type=ct, spec=spec)
                    if r["fits"]:
                        break
                if spec:
                    note = (f"{rules.runtime}: decode assumes {spec['method']} speculative decoding as its recipe runs "
                            f"it ({spec['num_steps']} draft steps, {spec['draft_tokens']} tokens verified, "
                            f"{float(spec['acceptance_length']):g} accepted per step: {spec['source'].split(' ')[0]})")
                    if note not in notes:
                        notes.append(note)
                quant = "fp8" if b.name == "fp8" else None
                src = repo or model.meta.get("hf_repo") or model.id
                kw = dict(repo=src, layout=lay, ctx=ctx, settings=r["settings"], nodes=r["nodes"],
                          gpus_per_node=g, cache_type=r["kv_cache_dtype"], trust_remote_code=moe,
                          quantization=quant, build_file=model.meta.get("path") or f"{model.id.split('/')[-1]}-{b.name}.gguf",
                          platform=plat, slots=max(1, min(conc, int(r["max_concurrency"]))) if r["fits"] else 1)
                if spec:
                    kw["spec"] = spec
                r["build"], r["build_weights_bytes"] = b.name, b.weights_bytes
                r["commands"] = rules.commands(**kw)
                if k8s and r["nodes"] > 1 and hasattr(rules, "k8s"):
                    leader, worker = rules.k8s(**kw)
                    r["k8s"] = lws_manifest(f"{name.replace('.', '')}-{model.id}", rules.image, r["nodes"], g,
                                            leader, worker, rules.port)
                out.append(r)
        return out

    def formats(rules) -> tuple[str, ...]:
        return getattr(rules, "formats", ("safetensors",))

    layouts: list[dict] = []
    datacenter = {n: r for n, r in chosen.items() if "safetensors" in formats(r)}
    if datacenter and builds:
        layouts = run(builds[0], datacenter)
        if not any(r["fits"] for r in layouts) and not build and _sixteen_bit(builds[0]):
            notes.append(f"the published checkpoint ({units.gb(builds[0].weights_bytes)}) does not fit; "
                         "planned with vLLM/SGLang's load-time FP8 (--quantization fp8) instead")
            builds = [derived_build(model, "fp8")]
            layouts = run(builds[0], datacenter)
    ggml = {n: r for n, r in chosen.items() if "gguf" in formats(r)}
    ggml_build = None
    if ggml and not (build and build != "native"):
        tried = []
        for name in recipes.standard_builds(model):   # best quality first: the first GGUF build that fits
            try:
                gb = recipes.build(model, name)
            except InputError:
                continue
            if gb.container != "gguf":
                continue
            tried, ggml_build = run(gb, ggml), gb
            if any(r["fits"] for r in tried):
                break
        layouts += tried
    if not layouts:
        why = [n for n in notes if "does not" in n]
        raise InputError(f"no multi-GPU layout for {model.id} on {rig.spec or 'this rig'}"
                         + (": " + "; ".join(why) if why else "")
                         + " (one machine, one GPU or Apple Silicon: 'rigcheck check' plans it)")
    key = {str(u): u for u in users}[str(conc)]
    # best first: fits, then the aggregate at the asked concurrency (users beyond the KV room
    # wait, so it already counts capacity), then one user's speed
    layouts.sort(key=lambda r: (not r["fits"], -r["decode_tok_s_aggregate"][str(key)] if r["fits"] else 0,
                                -r["decode_tok_s_per_user"]["1"]))
    four_bit_hint = bool(builds) and (_sixteen_bit(builds[0]) or builds[0].name == "fp8")
    if not any(r["fits"] for r in layouts):
        need = min(layouts, key=lambda r: -r["kv_pool_bytes_per_gpu"]) if layouts else None
        if need and need["kv_pool_bytes_per_gpu"] < 0:
            notes.append(f"no layout fits: the weights take {units.gb(need['per_gpu_weights_bytes'])} per GPU, "
                         f"{units.gb(-need['kv_pool_bytes_per_gpu'])} more than {need['runtime']} leaves for them"
                         + ("; a 4-bit checkpoint (--build awq-int4 --repo REPO) may fit" if four_bit_hint else ""))
        elif need:
            notes.append(f"no layout fits: the best leaves {units.gib(need['kv_pool_bytes_per_gpu'], 1)} of KV per GPU "
                         f"for {units.gib(need['kv_bytes_per_request'], 2)} per request at {ctx:,} tokens"
                         + ("; a 4-bit checkpoint (--build awq-int4 --repo REPO) may fit" if four_bit_hint else ""))
    node = rig.node
    dev = node.gpus[0]
    b = builds[0] if builds else None
    if (not datacenter or b is None) and ggml_build is not None:
        b = ggml_build
    return {
        "model": model.id, "hf_repo": repo or model.meta.get("hf_repo"), "build": b.name,
        "build_weights_bytes": b.weights_bytes, "ctx": ctx, "concurrency": conc, "prompt_tokens": prompt,
        "rig": {"spec": rig.spec, "nodes": nodes, "gpus_per_node": g, "gpu": dev.id, "gpu_name": dev.name,
                "gpu_memory_bytes": _device(rig, False).memory_bytes,
                "interconnect": {"within_node": links.intra_id if g > 1 else None,
                                 "between_nodes": links.net_id}},
        "layouts": layouts, "notes": notes,
        "best": next((r["label"] + " on " + r["runtime"] for r in layouts if r["fits"]), None),
    }


def speculative_defaults(model_id: str) -> dict[str, dict]:
    """The speculative decoding each runtime's recipe turns on for ``model_id``, by runtime
    (rigcheck/data/speculative.csv rows with ``default`` yes)."""
    from ... import catalogue
    out: dict[str, dict] = {}
    for row in catalogue.speculative():
        if row["model"] == model_id and row["default"].strip().lower() == "yes":
            out.setdefault(row["runtime"], row)
    return out


def _sixteen_bit(b: Build) -> bool:
    return not shape_of(b.model, b).low_precision and b.bits_per_weight > 12


def best_layout(model: Model, rig, ctx: int | None = None, *, runtime: str | None = None,
                concurrency: int | None = None) -> dict | None:
    """The best layout that fits on a multi-GPU or multi-node rig (a layout dict from
    :func:`plan` with ``build``, ``ctx`` and ``rig`` added), or None: one GPU, no GPU, no
    datacenter runtime for this model or platform, or nothing fits."""
    from ...errors import RigcheckError
    if not rig.node.gpus or (len(rig.nodes) == 1 and len(rig.node.gpus) < 2):
        return None
    try:
        p = plan(model, rig, ctx=ctx, concurrency=concurrency, runtime=runtime)
    except RigcheckError:
        return None
    best = next((r for r in p["layouts"] if r["fits"]), None)
    if best is None:
        return None
    return dict(best, build=p["build"], ctx=p["ctx"], rig=p["rig"], notes=p["notes"])


# ---- Kubernetes -----------------------------------------------------------------------------

def lws_manifest(name: str, image: str, nodes: int, gpus_per_node: int, leader: str, worker: str,
                 port: int) -> str:
    """A LeaderWorkerSet (leaderworkerset.x-k8s.io/v1) of one group of ``nodes`` pods, one per
    node, each with all its GPUs; the leader runs ``leader``, the others ``worker``."""
    safe = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:50]

    def pod(role: str, cmd: str, with_port: bool) -> str:
        lines = [
            "      spec:",
            "        containers:",
            f"          - name: {role}",
            f"            image: {image}",
            "            command: [\"sh\", \"-c\"]",
            f"            args: [{_yaml_str(cmd)}]",
            "            resources:",
            "              limits:",
            f"                nvidia.com/gpu: \"{gpus_per_node}\"",
            "            volumeMounts:",
            "              - {name: dshm, mountPath: /dev/shm}",
        ]
        if with_port:
            lines += ["            ports:", f"              - containerPort: {port}"]
        lines += ["        volumes:", "          - name: dshm", "            emptyDir: {medium: Memory}"]
        return "\n".join(lines)

    return "\n".join([
        "apiVersion: leaderworkerset.x-k8s.io/v1",
        "kind: LeaderWorkerSet",
        "metadata:",
        f"  name: {safe}",
        "spec:",
        "  replicas: 1",
        "  leaderWorkerTemplate:",
        f"    size: {nodes}",
        "    restartPolicy: RecreateGroupOnPodRestart",
        "    leaderTemplate:",
        "      metadata:",
        "        labels: {role: leader}",
        pod("leader", leader, True),
        "    workerTemplate:",
        pod("worker", worker, False),
        "",
    ])


def _yaml_str(s: str) -> str:
    """A double-quoted YAML scalar."""
    return json.dumps(s)          # JSON strings are YAML double-quoted scalars (escapes included)
