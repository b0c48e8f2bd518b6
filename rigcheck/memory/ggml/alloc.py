"""ggml's graph allocator (ggml-alloc.c, ``ggml_gallocr``), in pure Python.

llama.cpp sizes its compute buffer by reserving the worst-case graph (one micro-batch,
every token an output) with this allocator: leafs and graph inputs first, then each node
in graph order, reusing a parent's memory in place where the op allows it and the parent
has no other user, and freeing a tensor as soon as its last child has run. The buffer is
the allocator's high-water mark. This module follows the C code step by step (best-fit
over the free blocks except the last, then the last block, blocks merged on free, extra
space returned when an in-place child is smaller), for one buffer and one chunk, so the
size it returns is the size llama.cpp logs for that graph.

It takes a :class:`~rigcheck.memory.ggml.tensor.Graph` and returns bytes; it reads no
files. Several buffers (one per backend, as ggml-backend's scheduler uses it) are planned
together, each node in the buffer its backend owns.
"""

from __future__ import annotations

from .tensor import FLAG_INPUT, FLAG_OUTPUT, INPLACE_OPS, Graph, Tensor


class _Allocator:
    """ggml_dyn_tallocr for one chunk: free blocks sorted by offset, the last block
    being the open end of the buffer."""

    def __init__(self, alignment: int):
        self.alignment = alignment
        self.blocks: list[list[int]] = [[0, 1 << 62]]   # [offset, size]
        self.max_size = 0

    def _align(self, n: int) -> int:
        a = self.alignment
        return (n + a - 1) // a * a

    def alloc(self, size: int) -> int:
        size = self._align(size)
        best, best_size = -1, None
        for i in range(len(self.blocks) - 1):
            bsize = self.blocks[i][1]
            if bsize >= size and (best_size is None or bsize <= best_size):
                best, best_size = i, bsize
        if best == -1:
            best = len(self.blocks) - 1        # the open end, which may grow the buffer
        block = self.blocks[best]
        offset = block[0]
        block[0] += size
        block[1] -= size
        if block[1] == 0:
            del self.blocks[best]
        self.max_size = max(self.max_size, offset + size)
        return offset

    def free(self, offset: int, size: int) -> None:
        size = self._align(size)
        blocks = self.blocks
        for i, block in enumerate(blocks):
            if block[0] + block[1] == offset:
                block[1] += size
                if i < len(blocks) - 1 and block[0] + block[1] == blocks[i + 1][0]:
                    block[1] += blocks[i + 1][1]
                    del blocks[i + 1]
                return
            if offset + size == block[0]:
                block[0] = offset
                block[1] += size
                if i > 0 and blocks[i - 1][0] + blocks[i - 1][1] == block[0]:
                    blocks[i - 1][1] += block[1]
                    del blocks[i]
                return
        pos = 0
        while pos < len(blocks) and blocks[pos][0] < offset:
            pos += 1
        blocks.insert(pos, [offset, size])


class _Info:
    __slots__ = ("n_children", "n_views", "allocated", "offset", "buffer")

    def __init__(self):
        self.n_children = 0
        self.n_views = 0
        self.allocated = False
        self.offset = 0
        self.buffer = 0


def reserve(graph: Graph, alignment: int = 32) -> int:
    """Bytes of the compute buffer ggml-alloc reserves for ``graph`` on one backend
    (``alignment``: the buffer type's, 32 on the CPU)."""
    return reserve_n(graph, {0: alignment}, lambda t: 0)[0]


def reserve_n(graph: Graph, alignments: dict[int, int], buffer_of) -> dict[int, int]:
    """ggml_gallocr_reserve_n: ``buffer_of(tensor)`` is the buffer a node or leaf is
    planned in; returns each buffer's high-water mark."""
    allocs = {b: _Allocator(a) for b, a in alignments.items()}
    for t in graph.leafs:            # fresh bookkeeping on the graph's tensors (sources are among them)
        t.alloc = _Info()
    for t in graph.nodes:
        t.alloc = _Info()

    def get(t: Tensor) -> _Info:
        a = t.alloc
        if a is None:
            a = t.alloc = _Info()
        return a

    def is_allocated(t: Tensor) -> bool:
        return t.external or get(t).allocated

    def allocate(node: Tensor, buffer: int) -> None:
        hn = get(node)
        if is_allocated(node) or node.view_src is not None:
            return
        hn.allocated = True
        if node.op in INPLACE_OPS:
            for parent in node.src:
                if parent is None or not get(parent).allocated:
                    continue
                if parent.flags & FLAG_OUTPUT or (parent.view_src is not None and parent.view_src.flags & FLAG_OUTPUT):
                    continue
                if not node.same_layout(parent):
                    continue
                p_hn = get(parent)
                if p_hn.n_children == 1 and p_hn.n_views == 0:
                    if parent.view_src is not None:
                        vs = parent.view_src
                        vs_hn = get(vs)
                        if vs_hn.n_views == 1 and vs_hn.n_children == 0:
                            hn.offset, hn.buffer = vs_hn.offset, vs_hn.buffer
                            p_hn.allocated = False
                            vs_hn.allocated = False
                            _free_extra(node, vs, vs_hn)
                            return
                    else:
                        hn.offset, hn.buffer = p_hn.offset, p_hn.buffer
                        p_hn.allocated = False
                        _free_extra(node, parent, p_hn)
                        return
        hn.buffer = buffer
        hn.offset = allocs[buffer].alloc(node.nbytes)

    def _free_extra(node: Tensor, parent: Tensor, p_hn: _Info) -> None:
        alloc = allocs[p_hn.buffer]
        p_size, n_size = alloc._align(parent.nbytes), alloc._align(node.nbytes)
        if p_size > n_size:
            alloc.free(p_hn.offset + n_size, p_size - n_size)

    def free(node: Tensor) -> None:
        if node.flags & FLAG_OUTPUT:
            return
        hn = get(node)
        allocs[hn.buffer].free(hn.offset, node.nbytes)
        hn.allocated = False

    for leaf in graph.leafs:
        allocate(leaf, buffer_of(leaf))
    for node in graph.nodes:
        if node.view_src is not None and node.op != "NONE":
            get(node.view_src).n_views += 1
        b = buffer_of(node)
        if node.flags & FLAG_INPUT:
            allocate(node, b)
        for src in node.src:
            if src is None:
                continue
            get(src).n_children += 1
            if src.flags & FLAG_INPUT:
                allocate(src, b)
    for node in graph.nodes:
        b = buffer_of(node)
        for parent in node.src:
            if parent is not None:
                allocate(parent, b)
        allocate(node, b)
        for parent in node.src:
            if parent is None:
                continue
            p_hn = get(parent)
            p_hn.n_children -= 1
            if p_hn.n_children == 0 and p_hn.n_views == 0:
                if parent.view_src is not None:
                    vs = parent.view_src
                    vs_hn = get(vs)
                    vs_hn.n_views -= 1
                    if vs_hn.n_views == 0 and vs_hn.n_children == 0 and vs_hn.allocated:
                        free(vs)
                elif p_hn.allocated:
                    free(parent)
    return {b: a.max_size for b, a in allocs.items()}
