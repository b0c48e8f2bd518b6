"""Where each node of the reserve graph runs, and the buffers that follow.

On the CPU alone the compute buffer is ggml-alloc's plan of the whole graph. With the
layers on a GPU, ggml-backend's scheduler (ggml-backend.cpp
``ggml_backend_sched_split_graph``) runs the token-embedding lookup on the CPU (the
input layer stays in RAM), keeps the graph inputs (token ids, positions, KV indices,
masks) in host memory, and runs every other node on the GPU. Each run of nodes on one
backend is a split; a tensor a split reads from another backend is copied into that
backend's buffer once (``tensor_id_copy``), allocated where the split starts and freed
after its last reader. With op offload (the default), a matmul on weights left in RAM
also runs on the GPU once the batch has 32 or more tokens, so the GPU buffer plans the
same graph; the weight copy it then needs is added by the caller.

Alignments: CPU and pinned host buffers 32 bytes (TENSOR_ALIGNMENT); every GPU plan
uses CUDA's and ROCm's 128 (ggml-cuda.cu ``get_alignment``), also for Metal (32) and
Vulkan (the device's ``minStorageBufferOffsetAlignment``), where the difference is a few
KiB per buffer. The GPU plans are built from llama.cpp's source,
not measured here (no GPU on the machines this was built on); the CPU plan is checked
against real llama.cpp.
"""

from __future__ import annotations

import functools

from ...model.model import Model
from .alloc import reserve, reserve_n
from .graph import GraphParams, build
from .tensor import FLAG_INPUT, Graph, Tensor

CPU, GPU = 0, 1
ALIGN_CPU = 32
ALIGN_GPU = 128


class GraphPlan:
    """Compute-buffer bytes of one reserve graph, each laid out when first asked for:
    ``cpu`` when everything runs on the CPU; with every layer on a GPU, ``gpu`` (its
    buffer) and ``host`` (the CPU's: inputs and the token-embedding lookup);
    ``gpu_no_output``/``host_with_output`` when the output layer stays in RAM."""

    def __init__(self, cpu, offloaded, offloaded_no_output, notes=()):
        self._cpu, self._off, self._off_no = cpu, offloaded, offloaded_no_output
        self.notes = tuple(notes)

    @staticmethod
    def _get(v):
        return v() if callable(v) else v

    @functools.cached_property
    def cpu(self) -> int:
        return self._get(self._cpu)

    @functools.cached_property
    def _offloaded(self) -> tuple[int, int]:
        return self._get(self._off)

    @functools.cached_property
    def _offloaded_no_output(self) -> tuple[int, int]:
        return self._get(self._off_no)

    @property
    def gpu(self) -> int:
        return self._offloaded[0]

    @property
    def host(self) -> int:
        return self._offloaded[1]

    @property
    def gpu_no_output(self) -> int:
        return self._offloaded_no_output[0]

    @property
    def host_with_output(self) -> int:
        return self._offloaded_no_output[1]


def plan(model: Model, gp: GraphParams) -> GraphPlan:
    try:
        built = build(model, gp)      # raises KeyError where the model lacks a tensor the graph reads
    except KeyError as e:
        if model.source != "gguf":
            raise
        from ...errors import FormatError    # a file that lacks it is damaged, not a bug (issue 14)
        raise FormatError(f"{model.id}: the file has no tensor {e.args[0]!r}, which llama.cpp's "
                          f"{model.arch} graph reads; the GGUF is damaged or incomplete") from None
    fresh = [built.graph]             # the first graph serves the first plan that asks (the split one mutates it)

    def graph_to_read() -> Graph:
        return fresh[0] if fresh else build(model, gp).graph

    def graph_to_split() -> Graph:
        return fresh.pop() if fresh else build(model, gp).graph

    return GraphPlan(lambda: reserve(graph_to_read(), ALIGN_CPU), lambda: offloaded(graph_to_split()),
                     lambda: offloaded(graph_to_split(), output_on_gpu=False), notes=built.notes)


OUTPUT_WEIGHTS = ("output.weight", "output_norm.weight", "output_norm.bias")


def _on_cpu(node: Tensor, cpu_weights: tuple[str, ...]) -> bool:
    """A node that reads a weight left in RAM runs on the CPU: the input layer's lookup
    always (GET_ROWS is never offloaded), the output layer's nodes when it stays in RAM."""
    return any(s is not None and s.external and s.name in cpu_weights for s in node.src)


def offloaded(graph: Graph, gpu_alignment: int = ALIGN_GPU, output_on_gpu: bool = True) -> tuple[int, int]:
    """(GPU buffer, host buffer) bytes for ``graph`` with every layer on one GPU, and the
    output layer there too or in RAM (``output_on_gpu``; then its logits are computed in
    host memory, as published logs of partial offloads show)."""
    cpu_weights = ("token_embd.weight",) + (() if output_on_gpu else OUTPUT_WEIGHTS)
    backend: dict[int, int] = {}
    for leaf in graph.leafs:
        backend[id(leaf)] = CPU if (leaf.flags & FLAG_INPUT or leaf.name in cpu_weights) else GPU
    for node in graph.nodes:
        backend[id(node)] = CPU if _on_cpu(node, cpu_weights) else GPU
    nodes: list[Tensor] = []
    copies: dict[tuple[int, int], Tensor] = {}
    split_backend, split_inputs, split_nodes = None, [], []

    def flush():
        for inp in split_inputs:
            dep = Tensor("NONE", inp.type, inp.ne, inp.nb, src=[inp], view_src=inp)
            backend[id(dep)] = backend[id(inp)]
            nodes.append(dep)
            cpy = copies[(id(inp), split_backend)]
            nodes.append(cpy)
        nodes.extend(split_nodes)

    for node in graph.nodes:
        b = backend[id(node)]
        if b != split_backend:
            if split_backend is not None:
                flush()
            split_backend, split_inputs, split_nodes = b, [], []
        for j, src in enumerate(node.src):
            if src is None or src is node:
                continue
            sb = backend.get(id(src), GPU)
            if src.external and src.name not in cpu_weights:
                continue                # weights and KV views live where the node runs
            if sb != b:
                key = (id(src), b)
                if key not in copies:
                    cpy = Tensor("NONE", src.type, src.ne, src.nb, name=f"copy#{src.name}")
                    backend[id(cpy)] = b
                    copies[key] = cpy
                    split_inputs.append(src)
                node.src[j] = copies[key]
        split_nodes.append(node)
    flush()
    sched_graph = Graph()
    sched_graph.nodes = nodes
    sched_graph.leafs = list(graph.leafs)
    sizes = reserve_n(sched_graph, {CPU: ALIGN_CPU, GPU: gpu_alignment}, lambda t: backend.get(id(t), GPU))
    return sizes[GPU], sizes[CPU]
