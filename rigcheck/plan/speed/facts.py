"""What the speed arithmetic needs to know about a model in a build (pure, no I/O).

``ModelFacts`` splits the bytes a decoded token reads into the always-read part (every
tensor but the routed experts and the input embedding lookup) and the routed experts
(of which ``expert_frac`` is read per token), and describes the KV cache read per token
at a given context. It comes from a Model + Build (exact bytes per tensor type) or, for
a measurement whose model is not in the catalogue, from parameter counts and bits per
weight (approximate; ``exact`` says which).
"""

from __future__ import annotations

from dataclasses import dataclass

KV_F16 = 2  # bytes per KV element at the default cache type
# storage types whose matmuls are plain floating-point GEMMs (no dequantizing MMQ kernel)
FLOAT_TYPES = frozenset({"F16", "BF16", "F32"})


@dataclass(frozen=True)
class KVGroup:
    """Layers that read the same KV per context token. ``bytes_per_ctx_token`` is summed
    over the group's layers. ``window``: tokens kept (0 = all). ``ratio``: compression
    (V4 CSA/HCA keep one entry per ``ratio`` tokens). ``fixed_bytes``: recurrent state.
    ``flops_per_ctx_token``: attention FLOPs per decoded token per cached entry, summed
    over the layers (scores and weighted sum: 2 x query heads x (key + value width))."""

    bytes_per_ctx_token: float
    window: int = 0
    ratio: int = 1
    fixed_bytes: float = 0.0
    flops_per_ctx_token: float = 0.0
    # sparse attention (DSA, V4 CSA): each token attends to the ``topk`` entries an
    # indexer picks, reading every entry's index key (``index_bytes_per_ctx_token``)
    topk: int = 0
    index_bytes_per_ctx_token: float = 0.0

    def entries(self, ctx: int) -> float:
        n = ctx if not self.window else min(ctx, self.window)
        return n / max(self.ratio, 1)

    def attended(self, ctx: int) -> float:
        n = self.entries(ctx)
        return min(n, self.topk) if self.topk else n

    def read(self, ctx: int) -> float:
        return (self.bytes_per_ctx_token * self.attended(ctx) + self.index_bytes_per_ctx_token * self.entries(ctx)
                + self.fixed_bytes)

    def flops(self, ctx: int) -> float:
        return self.flops_per_ctx_token * self.attended(ctx) + 2.0 * self.index_bytes_per_ctx_token * self.entries(ctx)


@dataclass(frozen=True)
class ModelFacts:
    dense_bytes: float            # always read per token (non-expert, no input embedding)
    expert_bytes: float           # all routed experts
    expert_frac: float            # share of routed experts read per token
    active_params: float          # for prefill FLOP
    n_layer: int
    n_head: int
    head_dim: int
    kv: tuple[KVGroup, ...] = ()
    total_bytes: float = 0.0      # all weights (what must be resident somewhere)
    moe: bool = False
    arch: str = ""
    exact: bool = True
    float_weights: bool = False   # most weight bytes in F16/BF16/F32 (a dense GEMM in prefill)
    weight_type: str = ""         # the storage type holding most of the read weights ('' = unknown)

    @property
    def active_weight_bytes(self) -> float:
        return self.dense_bytes + self.expert_frac * self.expert_bytes

    def kv_read(self, ctx: int) -> float:
        return sum(g.read(ctx) for g in self.kv)

    def attn_flops(self, ctx: int) -> float:
        """Attention FLOPs of one decoded token at ``ctx`` (0 when the layout is unknown)."""
        return sum(g.flops(ctx) for g in self.kv)


def prompt_flops(facts: "ModelFacts", prompt: int, depth: int = 0) -> float:
    """FLOP per prompt token of a ``prompt``-token prefill after ``depth`` cached tokens:
    2 x active parameters plus attention at the average context the prompt sees (from
    the layers' own attention layout; n_layer x n_head x head_dim when only that is known)."""
    if facts.kv:
        return 2.0 * facts.active_params + facts.attn_flops(int(depth + prompt / 2))
    return 2.0 * facts.active_params + 4.0 * facts.n_layer * facts.n_head * facts.head_dim * (depth + prompt / 2)


def prompt_case_fields(facts: "ModelFacts", prompt: int, depth: int = 0, ubatch: int = 512) -> dict:
    """The model's part of a speed.PrefillCase for a ``prompt``-token prefill after ``depth``
    cached tokens: GEMM and attention FLOPs per token, the routed experts' share, the
    micro-batch and the weights it reads."""
    batch = max(1, min(int(prompt or ubatch), ubatch))
    attn = prompt_flops(facts, prompt, depth) - 2.0 * facts.active_params
    active = facts.active_weight_bytes
    share = facts.expert_frac * facts.expert_bytes / active if facts.moe and active else 0.0
    frac = facts.expert_frac if facts.moe else 1.0
    touched = 1.0 - (1.0 - min(max(frac, 0.0), 1.0)) ** batch if facts.moe else 1.0
    return {"gemm_flops": 2.0 * facts.active_params, "attn_flops": max(attn, 0.0), "expert_share": share,
            "expert_frac": frac, "batch": batch, "float_weights": facts.float_weights,
            "weights_bytes": facts.dense_bytes + facts.expert_bytes * touched}


def kv_groups(layers, kv_bytes: float = KV_F16) -> tuple[KVGroup, ...]:
    """KV read per context token for a Model's ``layers`` (LayerAttention records)."""
    groups: dict[tuple, list] = {}
    for la in layers:
        kind = getattr(la, "kind", "full")
        if kind == "none":
            continue
        fl = 2.0 * la.n_head * (la.head_dim_k + la.head_dim_v)
        topk = getattr(la, "index_topk", 0) or 0
        idx = (getattr(la, "index_head_dim", 0) or 0) * kv_bytes if topk else 0.0
        if kind == "linear":
            key = ("linear", 0, 1, 0)
            per, fixed, fl = 0.0, (la.state_r + la.state_s) * 4.0, 0.0
        elif kind in ("mla", "dsa"):
            key = (kind, la.window, 1, topk)
            per, fixed = la.n_head_kv * la.head_dim_k * kv_bytes or (la.kv_lora_rank + la.rope_dim) * kv_bytes, 0.0
        else:
            ratio = la.compress_ratio or 1
            key = (kind, la.window if kind == "swa" else 0, ratio, topk)
            per, fixed = la.n_head_kv * (la.head_dim_k + la.head_dim_v) * kv_bytes, 0.0
        g = groups.setdefault(key, [0.0, 0.0, 0.0, 0.0])
        g[0] += per
        g[1] += fixed
        g[2] += fl
        g[3] += idx
    return tuple(KVGroup(p, window=k[1], ratio=k[2], fixed_bytes=f, flops_per_ctx_token=x, topk=k[3],
                         index_bytes_per_ctx_token=i)
                 for k, (p, f, x, i) in groups.items())


def facts_from_build(model, build) -> ModelFacts:
    """Exact facts from a Model and a Build (bytes per tensor at its storage type)."""
    from ...model.tensor import EXPERT_ROLES, Role
    dense = expert = 0.0
    floats = total = 0.0
    by_type: dict[str, float] = {}
    for t, _ty, n in build.items():
        if t.mtp:
            continue
        total += n
        if str(_ty).upper() in FLOAT_TYPES:
            floats += n
        if t.role != Role.EMBED:
            by_type[str(_ty).upper()] = by_type.get(str(_ty).upper(), 0.0) + n
        if t.role in EXPERT_ROLES:
            expert += n
        elif model.is_lookup(t):
            continue  # a row lookup per token, not a full read
        else:
            dense += n
    la0 = next((la for la in model.layers if la.n_head), None)
    return ModelFacts(
        dense_bytes=dense, expert_bytes=expert, expert_frac=model.expert_fraction(),
        active_params=float(model.active_params()), n_layer=model.n_layer,
        n_head=la0.n_head if la0 else 0, head_dim=la0.head_dim_k if la0 else 0,
        kv=kv_groups(model.layers), total_bytes=float(build.weights_bytes),
        moe=bool(model.moe and model.moe.n_expert), arch=model.arch, exact=True,
        float_weights=bool(total) and floats > 0.5 * total,
        weight_type=max(by_type, key=by_type.get) if by_type else "")


def facts_from_params(params_b: float, active_b: float, bpw: float, *, n_layer: int = 0,
                      kv_bytes_per_ctx_token: float = 0.0, arch: str = "",
                      expert_share: float | None = None) -> ModelFacts:
    """Approximate facts from parameter counts (billions) and average bits per weight.

    For a MoE without a tensor inventory the split between always-read weights and routed
    experts is unknown; ``expert_share`` (share of the total parameters in routed experts)
    defaults to the value that makes ``active`` consistent with a 1/16 routing ratio."""
    total = params_b * 1e9
    active = active_b * 1e9
    moe = active < 0.9 * total
    if moe:
        frac = 1 / 16
        # active = dense + frac * experts, total = dense + experts
        experts = (total - active) / (1 - frac) if expert_share is None else expert_share * total
        dense = max(total - experts, 0.0)
        frac = (active - dense) / experts if experts else 0.0
    else:
        experts, dense, frac = 0.0, active, 0.0
    b = bpw / 8
    kv = (KVGroup(kv_bytes_per_ctx_token),) if kv_bytes_per_ctx_token else ()
    return ModelFacts(dense_bytes=dense * b, expert_bytes=experts * b, expert_frac=max(frac, 0.0),
                      active_params=active, n_layer=n_layer, n_head=0, head_dim=0, kv=kv,
                      total_bytes=total * b, moe=moe, arch=arch, exact=False, float_weights=bpw >= 15)
