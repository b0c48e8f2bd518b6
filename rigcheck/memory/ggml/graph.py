"""llama.cpp's compute graph for one micro-batch, built the way llama.cpp builds it.

llama.cpp reserves its compute buffer for the worst case: a micro-batch of ``n_ubatch``
tokens, every one an output, against a full KV cache (llama-context.cpp
``sched_reserve`` / ``graph_reserve``). This module rebuilds that graph from a
:class:`~rigcheck.model.model.Model` (its tensors by GGUF name, its layers) with the
shape-only ggml of :mod:`.tensor`, following llama-cpp-python 0.3.36's
``src/llama-graph.cpp`` (``build_inp_embd``, ``build_norm``, ``build_qkv``,
``build_attn``/``build_attn_mha``, ``build_ffn``, ``build_moe_ffn``) and
``src/models/*.cpp``; the KV views and stores
follow ``src/llama-kv-cache.cpp``. The graph is the generic decoder those builders share;
what differs by architecture is a handful of switches (:class:`Traits`: the
architecture table's ``graph`` field, rigcheck.model.families.archs), and the GGUF
metadata where it has them.

What the graph gives is exact where the builder matches llama.cpp's (checked node by
node against the graph llama.cpp itself reserves, tests/test_memory_graph.py); layers
this builder does not model (linear attention, DeepSeek V4's compressed attention) are
built as plain attention, and :func:`build` says so in its notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...model.model import AttnKind, Model
from .tensor import FLAG_OUTPUT, Ctx, Graph, Tensor, row_size
from ...notes import Note


@dataclass(frozen=True)
class Traits:
    """The per-architecture switches of the shared decoder graph."""

    act: str = "silu"                # silu | gelu | swiglu_oai
    embd_scale: bool = False         # inputs scaled by sqrt(n_embd) (Gemma)
    q_scale: bool = False            # Q scaled after RoPE (Gemma 3)
    gating: str = "softmax"          # softmax | sigmoid | softmax_weight
    norm_w: bool = True              # renormalise the selected experts' weights
    w_scale: float = 1.0             # routed weights scale (DeepSeek V3: 2.5)
    expert_groups: int = 0           # DeepSeek V3 group-limited routing
    expert_groups_used: int = 0
    logit_softcap: bool = False      # final logit soft-capping (Gemma 2)
    attn_softcap: bool = False       # attention logit soft-capping (Gemma 2, Grok)


@dataclass(frozen=True)
class GraphParams:
    """The reserve: ``n_tokens`` per micro-batch, ``n_outputs`` of them output, the KV
    cells a full-attention (``n_kv``) and a sliding-window (``n_kv_swa``) layer sees,
    ``n_stream`` KV streams, cache types as ggml type names."""

    n_tokens: int
    n_outputs: int
    n_kv: int
    n_kv_swa: int = 0
    n_stream: int = 1
    flash_attn: bool = True
    type_k: str = "F16"
    type_v: str = "F16"


@dataclass
class Built:
    graph: Graph
    notes: list[str] = field(default_factory=list)


def _is_quantized(type_: str) -> bool:
    return type_ not in ("F32", "F16", "BF16")


class _Builder:
    def __init__(self, model: Model, gp: GraphParams, traits: Traits):
        self.m, self.gp, self.t = model, gp, traits
        self.c = Ctx()
        self.g = Graph()
        self.w = {t.name: Ctx.weight("F32", *reversed(t.shape), name=t.name) for t in model.tensors if not t.mtp}
        self.caches: dict[tuple[int, str], Tensor] = {}

    def W(self, name: str) -> Tensor | None:
        return self.w.get(name)

    # ---- inputs -----------------------------------------------------------------
    def inputs(self) -> None:
        gp, c, m = self.gp, self.c, self.m
        nt, ns = gp.n_tokens, gp.n_stream
        self.tokens = c.input("I32", nt, name="inp_tokens")
        self.embd_in = c.input("F32", m.n_embd, nt, name="inp_embd")
        self.pos = c.input("I32", nt, name="inp_pos")
        mask_t = "F16" if gp.flash_attn else "F32"
        kinds = {l.kind for l in m.layers}
        self.att_inp = {}
        v_trans = not gp.flash_attn
        v_max = max((l.n_head_kv * l.head_dim_v for l in m.layers if l.kind in (AttnKind.FULL, AttnKind.SWA)), default=0)
        for kind, n_kv in ((AttnKind.FULL, gp.n_kv), (AttnKind.SWA, gp.n_kv_swa or gp.n_kv)):
            if kind == AttnKind.FULL and not (kinds - {AttnKind.SWA}):
                continue
            if kind == AttnKind.SWA and AttnKind.SWA not in kinds:
                continue
            mla = any(l.kind in (AttnKind.MLA, AttnKind.DSA) for l in m.layers)
            d = {"k_idxs": c.input("I64", nt, name="attn_inp_k_idxs")}
            if not mla:
                d["v_idxs"] = c.input("I64", nt * (v_max if v_trans else 1), name="attn_inp_v_idxs")
            d["mask"] = c.input(mask_t, n_kv, nt // ns, 1, ns, name="attn_inp_kq_mask")
            d["n_kv"] = n_kv
            if not mla:
                d["k_rot"] = self._rot("k", gp.type_k)
                d["v_rot"] = self._rot("v", gp.type_v)
            self.att_inp[kind] = d
        self.out_ids = c.input("I32", gp.n_outputs, name="out_ids")

    def _rot(self, which: str, type_: str) -> Tensor | None:
        """The Hadamard rotation llama.cpp applies before a quantized cache (kv-cache.cpp
        ``attn_rot_k/v``): every layer the same head width, a multiple of 64."""
        if not _is_quantized(type_):
            return None
        dims = {(l.head_dim_k if which == "k" else l.head_dim_v) for l in self.m.layers
                if l.kind in (AttnKind.FULL, AttnKind.SWA)}
        if len(dims) != 1:
            return None
        d = dims.pop()
        if d <= 0 or d % 64:
            return None
        n = 64
        if which == "k":
            while d % (n * 2) == 0:
                n *= 2
        return self.c.input("F32", n, n, name=f"attn_inp_{which}_rot")

    def _hadamard(self, cur: Tensor, rot: Tensor) -> Tensor:
        n = rot.ne[0]
        c = self.c
        res = c.reshape(cur, n, cur.n_elements // n) if cur.is_contiguous() else c.cont(cur, n, cur.n_elements // n)
        res = c.mul_mat(rot, res)
        return c.reshape(res, *cur.ne)

    # ---- blocks -------------------------------------------------------------------
    def norm(self, cur: Tensor, name: str) -> Tensor:
        w, b = self.W(name + ".weight"), self.W(name + ".bias")
        cur = self.c.rms_norm(cur) if b is None else self.c.norm(cur)
        if w is not None:
            cur = self.c.mul(cur, w)
        if b is not None:
            cur = self.c.add(cur, b)
        return cur

    def mm(self, name: str, cur: Tensor) -> Tensor:
        out = self.c.mul_mat(self.w[name + ".weight"], cur)
        b = self.W(name + ".bias")
        return self.c.add(out, b) if b is not None else out

    def ffn(self, cur: Tensor, prefix: str, suffix: str = "") -> Tensor:
        c = self.c
        up = self.mm(f"{prefix}ffn_up{suffix}", cur)
        gate_name = f"{prefix}ffn_gate{suffix}"
        if self.W(gate_name + ".weight") is not None:
            gate = self.mm(gate_name, cur)
            cur = c.glu(gate, up)
        else:
            cur = c.glu(up) if up.ne[0] % 2 == 0 and self._fused_up(prefix, suffix) else c.unary(up)
        return self.mm(f"{prefix}ffn_down{suffix}", cur)

    def _fused_up(self, prefix: str, suffix: str) -> bool:
        """Phi-3 style: ffn_up holds gate and up (2 x n_ff rows) and swiglu splits it."""
        up, down = self.W(f"{prefix}ffn_up{suffix}.weight"), self.W(f"{prefix}ffn_down{suffix}.weight")
        return up is not None and down is not None and up.ne[1] == 2 * down.ne[0]

    def moe(self, cur: Tensor, p: str, il: int) -> Tensor:
        c, t, m = self.c, self.t, self.m
        n_embd, nt = cur.ne[0], cur.ne[1]
        n_expert, n_used = m.moe.n_expert, m.moe.n_expert_used
        logits = c.mul_mat(self.w[p + "ffn_gate_inp.weight"], cur)
        b = self.W(p + "ffn_gate_inp.bias")
        if b is not None:
            logits = c.add(logits, b)
        probs = {"softmax": lambda x: c.soft_max(x), "sigmoid": c.unary, "softmax_weight": lambda x: x}[t.gating](logits)
        sel = probs
        eb = self.W(p + "exp_probs_b.bias")
        if eb is not None:
            sel = c.add(probs, eb)
        if t.expert_groups > 1:
            per = n_expert // t.expert_groups
            groups = c.reshape(sel, per, t.expert_groups, nt)
            scores = c.argsort_top_k(groups, 2)
            scores = c.get_rows(c.reshape(groups, 1, *groups.ne[:3]), scores)
            scores = c.sum_rows(c.reshape(scores, scores.ne[1], scores.ne[2], scores.ne[3]))
            scores = c.reshape(scores, scores.ne[1], scores.ne[2])
            top_groups = c.argsort_top_k(scores, t.expert_groups_used)
            kept = c.get_rows(groups, top_groups)
            filled = Tensor("FILL", groups.type, groups.ne, src=[groups])
            sel = c.reshape(c.set_rows(filled, kept, top_groups), n_expert, nt)
        selected = c.argsort_top_k(sel, n_used)
        weights = c.get_rows(c.reshape(probs, 1, n_expert, nt), selected)
        if t.gating == "softmax_weight":
            weights = c.reshape(c.soft_max(c.reshape(weights, n_used, nt)), 1, n_used, nt)
        if t.norm_w:
            w2 = c.reshape(weights, n_used, nt)
            s = c.clamp(c.sum_rows(w2))
            weights = c.reshape(c.div(w2, s), 1, n_used, nt)
        if t.w_scale not in (0.0, 1.0):
            weights = c.scale(weights)
        self.g.expand(weights)
        cur = c.reshape(cur, n_embd, 1, nt)

        def mm_id(name: str, x: Tensor) -> Tensor:
            out = c.mul_mat_id(self.w[p + name + ".weight"], x, selected)
            bias = self.W(p + name + ".bias")
            if bias is not None:
                out = Tensor("ADD_ID", out.type, out.ne, src=[out, bias, selected])
            return out

        up = mm_id("ffn_up_exps", cur)
        if self.W(p + "ffn_gate_exps.weight") is not None:
            gate = mm_id("ffn_gate_exps", cur)
            act = c.glu(gate, up)
        else:
            act = c.unary(up)
        experts = mm_id("ffn_down_exps", act)
        experts = c.mul(experts, weights)
        self.g.expand(experts)
        views = []
        for i in range(n_used):
            v = c.view(experts, (n_embd, nt), (experts.nb[2],), i * experts.nb[1])
            self.g.expand(v)
            views.append(v)
        out = views[0]
        for v in views[1:]:
            out = c.add(out, v)
            self.g.expand(out)
        if n_used == 1:
            out = c.cont(out)
        return out

    # ---- attention ------------------------------------------------------------------
    def attention(self, cur: Tensor, il: int, layer) -> Tensor:
        c, p = self.c, f"blk.{il}."
        if layer.kind in (AttnKind.MLA, AttnKind.DSA):
            return self.attention_mla(cur, il, layer)
        kind = AttnKind.SWA if layer.kind == AttnKind.SWA else AttnKind.FULL
        inp = self.att_inp.get(kind) or next(iter(self.att_inp.values()))
        hd_k, hd_v, nh, nkv = layer.head_dim_k, layer.head_dim_v, layer.n_head, layer.n_head_kv
        nt = cur.ne[1]
        if self.W(p + "attn_qkv.weight") is not None:
            qkv = self.mm(p + "attn_qkv", cur)
            q = c.view(qkv, (hd_k, nh, nt), (row_size(qkv.type, hd_k), qkv.nb[1]), 0)
            k = c.view(qkv, (hd_k, nkv, nt), (row_size(qkv.type, hd_k), qkv.nb[1]), row_size(qkv.type, hd_k * nh))
            v = c.view(qkv, (hd_v, nkv, nt), (row_size(qkv.type, hd_v), qkv.nb[1]),
                       row_size(qkv.type, hd_k * nh + hd_k * nkv))
        else:
            q = c.reshape(self.mm(p + "attn_q", cur), hd_k, nh, nt)
            k = c.reshape(self.mm(p + "attn_k", cur), hd_k, nkv, nt)
            v = c.reshape(self.mm(p + "attn_v", cur), hd_v, nkv, nt)
        if self.W(p + "attn_q_norm.weight") is not None:
            q = self.norm(q, p + "attn_q_norm")
        q = c.rope(q, self.pos, self.W("rope_freqs.weight"))
        if self.W(p + "attn_k_norm.weight") is not None:
            k = self.norm(k, p + "attn_k_norm")
        k = c.rope(k, self.pos, self.W("rope_freqs.weight"))
        if self.t.q_scale:
            q = c.scale(q)
        iswa = AttnKind.SWA in self.att_inp
        if inp["k_rot"] is not None:
            q, k = self._hadamard(q, inp["k_rot"]), self._hadamard(k, inp["k_rot"])
        if inp["v_rot"] is not None:
            v = self._hadamard(v, inp["v_rot"])
        for x in ((q, k, v) if iswa else (q, v, k)):
            self.g.expand(x)
        kc, vc = self._cache(il, "k", self.gp.type_k, hd_k * nkv, inp["n_kv"]), \
            self._cache(il, "v", self.gp.type_v, hd_v * nkv, inp["n_kv"])
        self.g.expand(self._cpy_k(kc, k, inp["k_idxs"]))
        self.g.expand(self._cpy_v(vc, v, inp["v_idxs"]))
        kview, vview = self._get_k(kc, hd_k, nkv, inp["n_kv"]), self._get_v(vc, hd_v, nkv, inp["n_kv"])
        out = self.mha(q, kview, vview, inp["mask"], self.W(p + "attn_sinks.weight"), None)
        if inp["v_rot"] is not None:
            out = self._hadamard(out, inp["v_rot"])
        return self.mm(p + "attn_output", out)

    def _cache(self, il: int, which: str, type_: str, width: int, n_kv: int) -> Tensor:
        key = (il, which)
        if key not in self.caches:
            self.caches[key] = Ctx.weight(type_, width, n_kv, self.gp.n_stream, name=f"cache_{which}_l{il}")
        return self.caches[key]

    def _cpy_k(self, kc: Tensor, k: Tensor, idxs: Tensor) -> Tensor:
        c = self.c
        kv = c.view(k, (k.ne[0] * k.ne[1], k.ne[2]), (k.nb[2],), 0)
        if kc.ne[2] > 1:
            kc = c.reshape(kc, kc.ne[0], kc.ne[1] * kc.ne[2])
        return c.set_rows(kc, kv, idxs)

    def _cpy_v(self, vc: Tensor, v: Tensor, idxs: Tensor) -> Tensor:
        c = self.c
        gqa = v.ne[0] * v.ne[1]
        if self.gp.flash_attn:
            vv = c.view(v, (gqa, v.ne[2]), (v.nb[2],), 0)
            if vc.ne[2] > 1:
                vc = c.reshape(vc, vc.ne[0], vc.ne[1] * vc.ne[2])
            return c.set_rows(vc, vv, idxs)
        cur = c.reshape(v, gqa, v.ne[2]) if row_size(v.type, gqa) == v.nb[2] and v.is_contiguous() \
            else c.cont(v, gqa, v.ne[2])
        view = c.reshape(vc, 1, vc.n_elements)
        cur = c.reshape(cur, 1, cur.n_elements)
        return c.set_rows(view, cur, idxs)

    def _get_k(self, kc: Tensor, hd: int, nkv: int, n_kv: int) -> Tensor:
        t = kc.type
        return self.c.view(kc, (hd, nkv, n_kv, self.gp.n_stream),
                           (row_size(t, hd), row_size(t, hd * nkv), row_size(t, hd * nkv * n_kv)), 0)

    def _get_v(self, vc: Tensor, hd: int, nkv: int, n_kv: int) -> Tensor:
        t = vc.type
        if self.gp.flash_attn:
            return self._get_k(vc, hd, nkv, n_kv)
        return self.c.view(vc, (n_kv, nkv, hd, self.gp.n_stream),
                           (row_size(t, n_kv * hd), row_size(t, n_kv), row_size(t, n_kv * hd * nkv)), 0)

    def mha(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor, sinks, v_mla) -> Tensor:
        c = self.c
        v_trans = v.nb[1] > v.nb[2]
        ns = k.ne[3]
        q = c.view(q, (q.ne[0], q.ne[1], q.ne[2] // ns, ns), (q.nb[1], q.nb[2], q.nb[2] * (q.ne[2] // ns)), 0)
        q, k, v = c.permute(q, 0, 2, 1, 3), c.permute(k, 0, 2, 1, 3), c.permute(v, 0, 2, 1, 3)
        if self.gp.flash_attn:
            if v_trans:
                v = c.transpose(v)
            if k.type == "F32":
                k = c.cast(k, "F16")
            if v.type == "F32":
                v = c.cast(v, "F16")
            cur = c.flash_attn_ext(q, k, v, mask, sinks)
            if v_mla is not None:
                cur = c.permute(cur, 0, 2, 1, 3)
                cur = c.mul_mat(v_mla, cur)
                cur = c.permute(cur, 0, 2, 1, 3)
                cur = c.cont(cur)
            cur = c.reshape(cur, cur.ne[0] * cur.ne[1], cur.ne[2] * cur.ne[3])
        else:
            kq = c.mul_mat(k, q)
            if self.t.attn_softcap:
                kq = c.scale(c.unary(c.scale(kq)))
            kq = c.soft_max(kq, mask, sinks)
            if not v_trans:
                v = c.cont(c.transpose(v))
            kqv = c.mul_mat(v, kq)
            if v_mla is not None:
                kqv = c.mul_mat(v_mla, kqv)
            cur = c.permute(kqv, 0, 2, 1, 3)
            cur = c.cont(cur, cur.ne[0] * cur.ne[1], cur.ne[2] * cur.ne[3])
        self.g.expand(cur)
        return cur

    def attention_mla(self, cur: Tensor, il: int, layer) -> Tensor:
        """DeepSeek-V2/V3 MLA with the absorbed k_b (models/deepseek2.cpp, is_mla)."""
        c, p = self.c, f"blk.{il}."
        inp = self.att_inp[AttnKind.FULL]
        nh, rank, rope = layer.n_head, layer.kv_lora_rank, layer.rope_dim
        nt = cur.ne[1]
        if self.W(p + "attn_q_a.weight") is not None:
            q = c.mul_mat(self.w[p + "attn_q_a.weight"], cur)
            q = self.norm(q, p + "attn_q_a_norm")
            q = c.mul_mat(self.w[p + "attn_q_b.weight"], q)
        else:
            q = c.mul_mat(self.w[p + "attn_q.weight"], cur)
        qk = q.ne[0] // nh
        nope = qk - rope
        q = c.reshape(q, qk, nh, nt)
        kv_pe = c.mul_mat(self.w[p + "attn_kv_a_mqa.weight"], cur)
        kv = c.view(kv_pe, (rank, nt), (row_size("F32", rank + rope),), 0)
        k_pe = c.view(kv_pe, (rope, 1, nt), (row_size("F32", rank + rope),) * 2, row_size("F32", rank))
        k_pe = c.rope(k_pe, self.pos)
        kv = self.norm(kv, p + "attn_kv_a_norm")
        q_nope = c.view(q, (nope, nh, nt), (q.nb[1], q.nb[2]), 0)
        q_pe = c.rope(c.view(q, (rope, nh, nt), (q.nb[1], q.nb[2]), row_size("F32", nope)), self.pos)
        q_abs = c.mul_mat(self.w[p + "attn_k_b.weight"], c.permute(q_nope, 0, 2, 1, 3))
        q_abs = c.permute(q_abs, 0, 2, 1, 3)
        qcur = _concat(q_abs, q_pe)
        vcur = c.reshape(kv, rank, 1, nt)
        kcur = _concat(vcur, k_pe)
        for x in (qcur, vcur, kcur):
            self.g.expand(x)
        kc = self._cache(il, "k", self.gp.type_k, rank + rope, inp["n_kv"])
        self.g.expand(self._cpy_k(kc, kcur, inp["k_idxs"]))
        kview = self._get_k(kc, rank + rope, 1, inp["n_kv"])
        vview = c.view(kview, (rank, kview.ne[1], kview.ne[2], kview.ne[3]), kview.nb[1:], 0)
        out = self.mha(qcur, kview, vview, inp["mask"], None, self.w[p + "attn_v_b.weight"])
        return self.mm(p + "attn_output", out)

    # ---- the whole graph ---------------------------------------------------------------
    def build(self) -> Graph:
        c, m, t, g = self.c, self.m, self.t, self.g
        self.inputs()
        rows = c.get_rows(self.w["token_embd.weight"], self.tokens)
        g.expand(rows)
        g.expand(self.embd_in)
        inp_l = rows
        if t.embd_scale:
            inp_l = c.scale(inp_l)
        for il, layer in enumerate(m.layers):
            p = f"blk.{il}."
            inp_sa = inp_l
            cur = self.norm(inp_l, p + "attn_norm")
            cur = self.attention(cur, il, layer)
            if il == m.n_layer - 1:
                cur = c.get_rows(cur, self.out_ids)
                inp_sa = c.get_rows(inp_sa, self.out_ids)
            if self.W(p + "post_attention_norm.weight") is not None:
                cur = self.norm(cur, p + "post_attention_norm")
            ffn_inp = c.add(cur, inp_sa)
            cur = self.norm(ffn_inp, p + "ffn_norm")
            # a layer is sparse where its router is present: leading dense layers (DeepSeek) and
            # interleaved ones (Qwen3 MoE's decoder_sparse_step, GLM's moe_layer_freq) alike
            if self.W(p + "ffn_gate_inp.weight") is not None:
                out = self.moe(cur, p, il)
                if self.W(p + "ffn_up_shexp.weight") is not None:
                    out = c.add(out, self.ffn(cur, p, "_shexp"))
                cur = out
            else:
                cur = self.ffn(cur, p)
            if self.W(p + "post_ffw_norm.weight") is not None:
                cur = self.norm(cur, p + "post_ffw_norm")
            inp_l = c.add(cur, ffn_inp)
        cur = self.norm(inp_l, "output_norm")
        cur.flags |= FLAG_OUTPUT
        head = self.W("output.weight")
        if head is None:    # tied: llama.cpp duplicates token_embd as the output layer (TENSOR_DUPLICATED)
            emb = self.w["token_embd.weight"]
            head = Ctx.weight(emb.type, *emb.ne, name="output.weight")
        logits = c.mul_mat(head, cur)
        if t.logit_softcap:
            logits = c.scale(c.unary(c.scale(logits)))
        logits.flags |= FLAG_OUTPUT
        g.expand(logits)
        return g


def _concat(a: Tensor, b: Tensor) -> Tensor:
    """ggml_concat along dim 0 (a new F32 tensor)."""
    return Tensor("CONCAT", a.type, (a.ne[0] + b.ne[0],) + a.ne[1:], src=[a, b])


def traits_for(model: Model) -> Traits:
    """The architecture's switches (the architecture table's ``graph``), then what the
    GGUF metadata says (gating function, weight norm and scale, expert groups)."""
    from ...model.families.archs import arch
    base = Traits(**arch(model.arch).graph)
    meta = model.meta or {}
    kw = {}
    gating = meta.get("expert_gating_func")
    if gating in (1, 2, 3):
        kw["gating"] = {1: "softmax", 2: "sigmoid", 3: "softmax_weight"}[gating]
    if isinstance(meta.get("expert_weights_norm"), bool):
        kw["norm_w"] = meta["expert_weights_norm"]
    if isinstance(meta.get("expert_weights_scale"), (int, float)):
        kw["w_scale"] = float(meta["expert_weights_scale"])
    if isinstance(meta.get("expert_group_count"), int):
        kw["expert_groups"] = meta["expert_group_count"]
        kw["expert_groups_used"] = int(meta.get("expert_group_used_count") or 0)
    if meta.get("final_logit_softcapping"):
        kw["logit_softcap"] = True
    if meta.get("attn_logit_softcapping"):
        kw["attn_softcap"] = True
    if not kw:
        return base
    from dataclasses import replace
    return replace(base, **kw)


def build(model: Model, gp: GraphParams) -> Built:
    notes = []
    kinds = {l.kind for l in model.layers}
    from ...model.families.archs import arch
    if not arch(model.arch).graph_modelled or kinds - {AttnKind.FULL, AttnKind.SWA, AttnKind.MLA}:
        notes.append(Note("graph_standard_decoder", arch=model.arch))
    return Built(_Builder(model, gp, traits_for(model)).build(), notes)
