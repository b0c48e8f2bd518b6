"""A shape-only ggml: tensors with a type, ``ne``/``nb``, sources and views, the ops
llama.cpp's graph builders use, and ``expand`` (ggml_build_forward_expand's
depth-first walk, sources left to right, leafs and nodes in visit order).

No data is held: a tensor is its metadata, enough for ggml-alloc's planner
(:mod:`rigcheck.memory.ggml.alloc`) to lay the graph out as ggml does. Output shapes,
types and source order follow ggml.c (llama-cpp-python 0.3.36's vendored ggml); each op
says which ggml function it mirrors.
"""

from __future__ import annotations

import functools
import math

from ...quant.types import storage_type

FLAG_INPUT = 1
FLAG_OUTPUT = 2

# ggml-alloc.c ggml_op_can_inplace
INPLACE_OPS = frozenset({"FILL", "SCALE", "DIAG_MASK_ZERO", "DIAG_MASK_INF", "ADD", "ADD_ID", "ADD1", "SUB", "MUL",
                         "DIV", "SQR", "SQRT", "LOG", "UNARY", "ROPE", "ROPE_BACK", "SILU_BACK", "RMS_NORM",
                         "RMS_NORM_BACK", "CLAMP", "SOFT_MAX", "SOFT_MAX_BACK"})
VIEW_OPS = frozenset({"VIEW", "RESHAPE", "PERMUTE", "TRANSPOSE"})


@functools.lru_cache(maxsize=None)
def _type(name: str) -> tuple[int, int]:
    st = storage_type(name)
    return st.block, st.block_bytes


def row_size(type_: str, n: int) -> int:
    block, nbytes = _type(type_)
    return n // block * nbytes


class Tensor:
    __slots__ = ("op", "type", "ne", "nb", "src", "view_src", "view_offs", "flags", "external", "name", "_nbytes",
                 "alloc")

    def __init__(self, op: str, type_: str, ne, nb=None, src=(), view_src=None, view_offs=0, external=False,
                 name: str = ""):
        self.op = op
        self.type = type_
        self.ne = tuple(int(x) for x in ne) + (1,) * (4 - len(ne))
        if nb is None:
            block, nbytes = _type(type_)
            nb0 = nbytes
            nb1 = nb0 * (self.ne[0] // block)
            nb = (nb0, nb1, nb1 * self.ne[1], nb1 * self.ne[1] * self.ne[2])
        self.nb = tuple(int(x) for x in nb)
        self.src = list(src)
        if view_src is not None and view_src.view_src is not None:   # views point at the root tensor
            view_offs += view_src.view_offs
            view_src = view_src.view_src
        self.view_src = view_src
        self.view_offs = view_offs
        self.flags = 0
        self.external = external
        self.name = name
        self._nbytes = None
        self.alloc = None       # the planner's bookkeeping (rigcheck.memory.ggml.alloc)

    @property
    def nbytes(self) -> int:
        """ggml_nbytes (computed once: a tensor's layout never changes)."""
        if self._nbytes is None:
            self._nbytes = self._ggml_nbytes()
        return self._nbytes

    def _ggml_nbytes(self) -> int:
        if any(n <= 0 for n in self.ne):
            return 0
        block, size = _type(self.type)
        if block == 1:
            return size + sum((n - 1) * b for n, b in zip(self.ne, self.nb))
        return self.ne[0] * self.nb[0] // block + sum((self.ne[i] - 1) * self.nb[i] for i in range(1, 4))

    @property
    def n_elements(self) -> int:
        return math.prod(self.ne)

    def same_layout(self, other: "Tensor") -> bool:
        return self.type == other.type and self.ne == other.ne and self.nb == other.nb

    def is_contiguous(self) -> bool:
        return self.nb == Tensor("NONE", self.type, self.ne).nb

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<{self.op} {self.name} {self.type} {self.ne}>"


class Graph:
    """ggml_cgraph: nodes and leafs in ggml_build_forward_expand order."""

    def __init__(self):
        self.nodes: list[Tensor] = []
        self.leafs: list[Tensor] = []
        self._seen: set[int] = set()

    def expand(self, t: Tensor) -> None:
        stack = [(t, 0)]
        seen = self._seen
        while stack:
            node, i = stack.pop()
            if i == 0:
                if id(node) in seen:
                    continue
                seen.add(id(node))
            while i < len(node.src) and (node.src[i] is None or id(node.src[i]) in seen):
                i += 1
            if i < len(node.src):
                stack.append((node, i + 1))
                stack.append((node.src[i], 0))
                continue
            (self.leafs if node.op == "NONE" else self.nodes).append(node)


class Ctx:
    """The ggml ops llama.cpp's builders call, shape and layout only."""

    # ---- leafs -----------------------------------------------------------------
    @staticmethod
    def new(type_: str, *ne: int, name: str = "") -> Tensor:
        return Tensor("NONE", type_, ne, name=name)

    @staticmethod
    def input(type_: str, *ne: int, name: str = "") -> Tensor:
        t = Tensor("NONE", type_, ne, name=name)
        t.flags |= FLAG_INPUT
        return t

    @staticmethod
    def weight(type_: str, *ne: int, name: str = "") -> Tensor:
        """A tensor in an external buffer (weights, the KV cache)."""
        return Tensor("NONE", type_, ne, external=True, name=name)

    # ---- views (ggml_view_*, ggml_reshape_*, ggml_permute, ggml_transpose) --------
    @staticmethod
    def view(a: Tensor, ne, nb_rest=(), offset: int = 0, op: str = "VIEW") -> Tensor:
        ne = tuple(ne) + (1,) * (4 - len(ne))
        nb = [a.nb[0]] + list(nb_rest)
        while len(nb) < 4:
            nb.append(nb[-1] * ne[len(nb) - 1])
        return Tensor(op, a.type, ne, nb, src=[a], view_src=a, view_offs=offset)

    @staticmethod
    def reshape(a: Tensor, *ne: int) -> Tensor:
        assert math.prod(ne) == a.n_elements, (ne, a.ne)
        return Tensor("RESHAPE", a.type, ne, src=[a], view_src=a)

    @staticmethod
    def permute(a: Tensor, *axes: int) -> Tensor:
        ne, nb = [0] * 4, [0] * 4
        for i, ax in enumerate(axes):
            ne[ax], nb[ax] = a.ne[i], a.nb[i]
        return Tensor("PERMUTE", a.type, ne, nb, src=[a], view_src=a)

    @staticmethod
    def transpose(a: Tensor) -> Tensor:
        ne = (a.ne[1], a.ne[0], a.ne[2], a.ne[3])
        nb = (a.nb[1], a.nb[0], a.nb[2], a.nb[3])
        return Tensor("TRANSPOSE", a.type, ne, nb, src=[a], view_src=a)

    @staticmethod
    def view_tensor(a: Tensor, op: str) -> Tensor:
        return Tensor(op, a.type, a.ne, a.nb, view_src=a)

    # ---- compute ops -------------------------------------------------------------
    @staticmethod
    def _dup(op: str, a: Tensor, *src) -> Tensor:
        return Tensor(op, a.type, a.ne, src=[a, *src])

    def add(self, a, b):
        return self._dup("ADD", a, b)

    def mul(self, a, b):
        return self._dup("MUL", a, b)

    def div(self, a, b):
        return self._dup("DIV", a, b)

    def scale(self, a):
        return self._dup("SCALE", a)

    def clamp(self, a):
        return self._dup("CLAMP", a)

    def unary(self, a):            # silu, gelu, sigmoid, relu, tanh...
        return self._dup("UNARY", a)

    def rms_norm(self, a):
        return self._dup("RMS_NORM", a)

    def norm(self, a):
        return self._dup("NORM", a)

    def rope(self, a, pos, factors=None):
        return Tensor("ROPE", a.type, a.ne, src=[a, pos, factors])

    def soft_max(self, a, mask=None, sinks=None):
        return Tensor("SOFT_MAX", a.type, a.ne, src=[a, mask, sinks])

    @staticmethod
    def mul_mat(a: Tensor, b: Tensor) -> Tensor:
        return Tensor("MUL_MAT", "F32", (a.ne[1], b.ne[1], b.ne[2], b.ne[3]), src=[a, b])

    @staticmethod
    def mul_mat_id(a: Tensor, b: Tensor, ids: Tensor) -> Tensor:
        return Tensor("MUL_MAT_ID", "F32", (a.ne[1], ids.ne[0], b.ne[2], 1), src=[a, b, ids])

    @staticmethod
    def get_rows(a: Tensor, b: Tensor) -> Tensor:
        return Tensor("GET_ROWS", "I32" if a.type == "I32" else "F32", (a.ne[0], b.ne[0], b.ne[1], b.ne[2]),
                      src=[a, b])

    @staticmethod
    def set_rows(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
        t = Ctx.view_tensor(a, "SET_ROWS")
        t.src = [b, c, a]
        return t

    @staticmethod
    def cont(a: Tensor, *ne: int) -> Tensor:
        return Tensor("CONT", a.type, ne or a.ne, src=[a])

    @staticmethod
    def cast(a: Tensor, type_: str) -> Tensor:
        t = Tensor("CPY", type_, a.ne)
        t.src = [a, t]
        return t

    @staticmethod
    def glu(a: Tensor, b: Tensor | None = None) -> Tensor:
        ne = a.ne if b is not None else (a.ne[0] // 2,) + a.ne[1:]
        return Tensor("GLU", a.type, ne, src=[a, b])

    @staticmethod
    def sum_rows(a: Tensor) -> Tensor:
        return Tensor("SUM_ROWS", a.type, (1,) + a.ne[1:], src=[a])

    def argsort_top_k(self, a: Tensor, k: int) -> Tensor:
        s = Tensor("ARGSORT", "I32", a.ne, src=[a])
        return self.view(s, (k, s.ne[1], s.ne[2], s.ne[3]), (s.nb[1], s.nb[2], s.nb[3]))

    @staticmethod
    def flash_attn_ext(q, k, v, mask, sinks=None) -> Tensor:
        return Tensor("FLASH_ATTN_EXT", "F32", (v.ne[0], q.ne[2], q.ne[1], q.ne[3]), src=[q, k, v, mask, sinks])
