"""vLLM's KV cache layout (V1 engine), sized by vLLM's own rules.

vLLM asks every attention layer for a ``KVCacheSpec`` (``get_kv_cache_spec``), forms KV cache
groups from them and checks at start-up that one request of ``max_model_len`` tokens fits
(``_check_enough_kv_cache_memory``: "To serve at least one request with the model's max seq
len (N), (X GiB KV cache is needed ..."; ``estimate_max_model_len`` bisects the same sum).
This module rebuilds those specs from a Model and applies the same arithmetic. Sources
(vllm-project/vllm; the stored commits read, 2026):

- ``vllm/v1/kv_cache_interface.py``: ``FullAttentionSpec.max_memory_usage_bytes`` =
  cdiv(max_model_len, block_size) pages; ``real_page_size_bytes`` = block x kv_heads x
  (head_k + head_v) x dtype; ``SlidingWindowSpec.max_admission_blocks_per_request`` =
  cdiv(min(window - 1 + in_flight, max_model_len), block) + 1 (in_flight =
  ``max_num_batched_tokens``, since mid-2026 ``VllmConfig.max_in_flight_tokens`` = that x the
  batches in flight, 2 with async scheduling); ``MLAAttentionSpec`` (656 bytes per token
  only for ``fp8_ds_mla``, else head_size x dtype; DeepSeek V4: ``storage_block_size`` =
  block // compress_ratio rows of 584 bytes); ``SlidingWindowMLASpec``;
  ``_apply_alignment_padding`` (page rounded up to ``alignment``: 576 for fp8_ds_mla);
  ``UniformTypeKVCacheSpecs`` (``get_page_sizes``, ``get_num_layer_tuples`` = the most common
  page size's count, ``max_memory_usage_pages`` = the largest page count of its layers).
- ``vllm/v1/core/kv_cache_utils.py`` (commit 001cabc1): ``get_kv_cache_groups`` (one spec:
  one group; one type: one UniformType group; else ``unify_kv_cache_spec_page_size`` grows
  the block size of smaller pages to the largest page, and
  ``_get_kv_cache_groups_uniform_page_size`` splits each type into groups of ``group_size``
  layers = the fewest of any type, or the most when most < 1.5 x fewest, padding the last);
  ``_max_memory_usage_bytes_from_groups`` = group_size x page x sum over groups of
  cdiv(group max_memory_usage, page).
- DeepSeek V4 (``vllm/models/deepseek_v4/attention.py`` @0484480b,
  ``vllm/models/deepseek_v4/compressor.py`` @01cc1d3e,
  ``vllm/v1/attention/backends/mla/sparse_swa.py``): per layer a raw-window cache
  (SlidingWindowMLASpec, 64-token blocks, window 128), a compressed cache (MLAAttentionSpec,
  ``--block-size`` 256, ratio 4 or 128) and for ratio-4 layers an indexer cache
  (MLAAttentionSpec, 132-byte fp8 keys or 68-byte MXFP4) with its own compressor; each
  compressor keeps an fp32 state (SlidingWindowMLASpec, 2 x coff x head_dim wide, window
  coff x ratio, blocks of 4 or 8; coff 2 for ratio 4, 1 for 128). ``kv_cache_utils.py``
  ``group_and_unify_kv_cache_specs`` puts every MLA spec in one UniformType group and the
  sliding specs in one per (block, window); ``_get_kv_cache_groups_uniform_groups`` picks
  ``num_layer_tuples`` by ``_approximate_gcd`` of the groups' tuple counts (lower bound: the
  MLA group's) and splits each sliding group into cdiv(count, num_layer_tuples) groups; the
  need is num_layer_tuples x (sum of the MLA group's distinct page sizes) x sum over groups
  of their pages (``_max_memory_usage_bytes_from_groups``' DeepSeek V4 branch, "only
  DeepseekV4 for now"; read in v0.27.1's kv_cache_utils.py L1592-L1937 and in
  ``vllm/v1/core/kv_cache_planning.py _pool_bytes_per_block``). Every group's block is
  charged a whole layer tuple: that is why one V4-Flash request at 30,000 tokens needs
  6.66 GiB per GPU (vllm#44376) though its compressed entries are 0.11 GiB. Sliding pages
  are padded up to the MLA page they share blocks with. That is vLLM before 0.26.
- Since vllm#48993 ("Compact MXFP4 indexer KV cache and packed group overlays", merged
  2026-07-17, first released in v0.26.0; read in ``vllm/v1/core/kv_cache_planning.py``
  ``_get_packed_kv_cache_groups`` / ``_get_kv_cache_bytes_per_block`` /
  ``_max_memory_usage_bytes_from_groups`` @4253bd44 and ``vllm/v1/kv_cache_interface.py``
  ``UniformTypeKVCacheSpecs``): the layers are bucketed greedily into uniform-type buckets
  (one block size; sliding specs of one window); a bucket is *balanced* when every page size
  in it has as many layers; the largest balanced multi-page bucket's count is the floor of
  the repeats per group, ``_approximate_gcd`` of the balanced buckets' counts picks the
  repeats, a balanced bucket splits into cdiv(count, repeats) groups of whole pattern
  repeats, an unbalanced one stays one group; a block is as wide as the widest group's pages
  laid side by side (groups overlay one slab), no sliding page is padded to an MLA page, and
  one request costs that width x the sum over groups of its pages. The MXFP4 indexer's
  keys take 68-byte-row pages. On V4-Pro (attention TP1, fp8_ds_mla, MXFP4 indexer) that is
  the 1,315,008-byte block the PR printed. ``version`` picks the rules (default: the newest,
  what the commands' image runs).
  V4's FlashMLA path takes fp8 only ("DeepseekV4 only supports fp8 kv-cache format for
  now" on ``auto``); bf16 here is the later FlashInfer plain-row layout.
- Tensor parallel: KV heads per rank max(1, n_kv // tp); an MLA/V4 latent is on every rank.

Recurrent (linear-attention) state is added per layer, outside vLLM's grouping (its Mamba
page padding is not modelled).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import zip_longest

from ..model.model import AttnKind, Model
from .cachetypes import check_cache_type
from .kv import KVCache, KVPart, V4_WINDOW, cdiv, check_count, entry_width, is_v4, kv_heads_widths, pad
from ..notes import Note

NAME = "vllm"
CACHE_TYPES = ("auto", "bf16", "fp16", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_ds_mla")
BLOCK_SIZE = 16          # vllm/config/cache.py default block size
V4_BLOCK_SIZE = 256      # DeepseekSparseSWABackend.get_preferred_block_size; V4 recipes pass --block-size 256
V4_SWA_BLOCK = 64        # DeepseekV4SWACache.block_size
FP8_DS_MLA_ALIGN = 576   # alignment of fp8_ds_mla pages
_BYTES = {"auto": 2, "bf16": 2, "fp16": 2, "fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1, "fp8_ds_mla": 1}
SLIDING_PARTS = ("raw", "swa", "csa_state", "hca_state", "indexer_state")
PACKED_SINCE = (0, 26)   # vllm#48993 (2026-07-17): first released in v0.26.0


def packed_planner(version: str | None) -> bool:
    """Whether vLLM ``version`` plans DeepSeek V4 with vllm#48993's packed group overlays
    (None: the newest vLLM, as the generated commands run it)."""
    if version is None:
        return True
    parts = []
    for piece in str(version).strip().lstrip("vV").split(".")[:2]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) < 2:
        parts.append(0)
    return tuple(parts) >= PACKED_SINCE


def mla_entry_bytes(kv_lora_rank: int, rope_dim: int, cache_type: str) -> int:
    """One MLA latent entry in FlashMLA's fp8_ds_mla layout (kv_lora fp8 + fp32 scale per
    128 + bf16 rope), else 2 bytes per element."""
    if _BYTES[cache_type] == 1:
        return kv_lora_rank + 4 * cdiv(kv_lora_rank, 128) + 2 * rope_dim
    return 2 * (kv_lora_rank + rope_dim)


def v4_entry_bytes(width: int, rope_dim: int, cache_type: str) -> int:
    """A V4 K=V entry: fp8 NoPE + bf16 RoPE + one ue8m0 scale per 64, padded to 8 bytes."""
    if _BYTES[cache_type] == 1:
        nope = width - rope_dim
        return cdiv(nope + 2 * rope_dim + nope // 64, 8) * 8
    return 2 * width


def indexer_bytes(index_head_dim: int, cache_type: str, fp4_indexer: bool = False) -> int:
    """An indexer key: fp8 values + one fp32 scale per 128 (MXFP4: packed values + one
    ue8m0 scale per 32), whatever the KV cache dtype (vLLM's indexer k_cache is uint8:
    DeepseekV4Indexer / the V3.2 indexer, ``head_dim + head_dim // 128 * 4``)."""
    if fp4_indexer:
        return index_head_dim // 2 + index_head_dim // 32
    return index_head_dim + index_head_dim // 128 * 4


@dataclass(frozen=True)
class Spec:
    """One layer's KVCacheSpec, as vLLM's planner sees it: ``block`` tokens per block,
    ``page`` bytes per block (after alignment), ``window`` > 0 for a sliding-window spec;
    ``rows`` x ``row`` are the bytes a block really holds (for the named parts)."""

    layer: int
    part: str
    block: int
    page: int
    window: int = 0
    rows: int = 0
    row: int = 0

    def blocks(self, ctx: int, in_flight: int) -> int:
        """Blocks one request of ``ctx`` tokens is charged (max_memory_usage_bytes / page)."""
        if self.window:
            return cdiv(min(self.window - 1 + in_flight, ctx), self.block) + 1
        return cdiv(ctx, self.block)

    @property
    def key(self) -> tuple:
        """What makes two specs equal for vLLM's grouping (layer and part name aside)."""
        return (self.window > 0, self.window, self.block, self.page)


def approximate_gcd(values: list[int], lower_bound: int = 1) -> int:
    """vLLM's ``_approximate_gcd``: the chunk size d >= lower_bound that minimises the upward
    padding sum((d - x % d) % d); ties go to the larger d."""
    lo = max(1, lower_bound)
    best, best_pad = lo, None
    for d in range(lo, max(max(values), lo) + 1):
        p = sum((d - x % d) % d for x in values)
        if best_pad is None or p <= best_pad:
            best, best_pad = d, p
    return best


def _tuples(specs: list[Spec]) -> int:
    """UniformTypeKVCacheSpecs.get_num_layer_tuples: the most common page size's count."""
    return Counter(s.page for s in specs).most_common(1)[0][1]


def v4_groups(specs: list[Spec]) -> tuple[int, int, list[list[Spec]]]:
    """DeepSeek V4's groups (kv_cache_utils group_and_unify_kv_cache_specs +
    _get_kv_cache_groups_uniform_groups): (num_layer_tuples, layer-tuple bytes, groups)."""
    mla = [s for s in specs if not s.window]
    pages = sorted({s.page for s in mla})
    buckets: dict[tuple, list[Spec]] = defaultdict(list)
    for s in specs:
        if s.window:
            # each sliding page is padded up to the MLA page it shares blocks with (vLLM
            # asserts there is one; a page larger than every MLA page is kept as its own)
            fit = next((p for p in pages if p >= s.page), s.page)
            buckets[(s.block, s.window)].append(Spec(s.layer, s.part, s.block, fit, s.window, s.rows, s.row))
    counts = [_tuples(mla)] + [_tuples(b) for b in buckets.values()]
    n = approximate_gcd(counts, lower_bound=counts[0])
    groups = [mla]
    for bucket in buckets.values():
        by_page: dict[int, list[Spec]] = defaultdict(list)
        for s in bucket:
            by_page[s.page].append(s)
        per_size = max(map(len, by_page.values()))       # vLLM asserts the counts are equal
        k = cdiv(per_size, n)
        rows = list(zip_longest(*by_page.values()))
        groups += [[s for t in rows[i::k] for s in t if s] for i in range(k)]
    tuples = max(_tuples(g) for g in groups)
    return tuples, sum({s.page for g in groups for s in g}), groups


def packed_groups(specs: list[Spec]) -> tuple[int, int, list[list[Spec]]]:
    """DeepSeek V4's groups since vllm#48993 (kv_cache_planning._get_packed_kv_cache_groups):
    (1, bytes per block, groups); the bytes per block are the widest group's pages side by side."""
    buckets: dict[tuple, list[Spec]] = {}
    for s in specs:                   # is_uniform_type: one block size; sliding specs of one window
        buckets.setdefault((s.block, s.window > 0, s.window), []).append(s)
    rows = []
    for bucket in buckets.values():
        by_page: dict[int, list[Spec]] = {}
        for s in bucket:
            by_page.setdefault(s.page, []).append(s)
        counts = {len(v) for v in by_page.values()}
        rows.append((by_page, len(counts) == 1, max(counts)))
    floor = max((n for by_page, balanced, n in rows if balanced and len(by_page) > 1), default=0)
    repeats = approximate_gcd([n for _, balanced, n in rows if balanced], lower_bound=floor) if floor else None
    groups: list[list[Spec]] = []
    for by_page, balanced, n in rows:
        k = cdiv(n, repeats) if balanced and repeats else 1
        if k == 1:
            groups.append([s for v in by_page.values() for s in v])
            continue
        pattern = list(zip(*by_page.values()))
        groups += [[s for rep in pattern[i::k] for s in rep] for i in range(k)]
    return 1, max(sum(s.page for s in g) for g in groups), groups


def hybrid_groups(specs: list[Spec]) -> tuple[int, int, list[list[Spec]]] | None:
    """kv_cache_utils get_kv_cache_groups for plain models: (group_size, page, groups), or
    None when the layers form one group of one type (each layer then costs its own pages)."""
    if len({s.key for s in specs}) == 1:
        return None                                                  # _get_kv_cache_groups_uniform_spec
    if len({s.block for s in specs}) == 1 and (all(not s.window for s in specs)
                                              or len({s.window for s in specs}) == 1):
        return None                                                  # UniformTypeKVCacheSpecs
    top = max(s.page for s in specs)
    if any(top % s.page for s in specs):
        return None              # vLLM raises NotImplementedError; sized per layer instead
    # unify_kv_cache_spec_page_size: a smaller page grows its block (and the tokens it holds)
    unified = [Spec(s.layer, s.part, s.block * (top // s.page), top, s.window, s.rows * (top // s.page), s.row)
               for s in specs]
    same: dict[tuple, list[Spec]] = defaultdict(list)
    for s in unified:
        same[s.key].append(s)
    lo, hi = min(map(len, same.values())), max(map(len, same.values()))
    size = hi if hi < 1.5 * lo else lo
    groups = []
    for layers in same.values():
        k = cdiv(len(layers), size)
        groups += [layers[i::k] for i in range(k)]
    return size, top, groups


def _layer_specs(model: Model, ct: str, tp: int, block: int, fp4_indexer: bool,
                 packed: bool = False) -> tuple[list[Spec], list[tuple]]:
    """Every layer's KVCacheSpecs (get_kv_cache_spec), plus fixed recurrent states."""
    eb = _BYTES[ct]
    ds_mla = eb == 1
    specs: list[Spec] = []
    fixed: list[tuple] = []
    v4 = is_v4(model)
    for i, l in enumerate(model.layers):
        if v4:
            rope = l.rope_dim or 64
            width = entry_width(l)
            e = v4_entry_bytes(width, rope, ct)
            align = FP8_DS_MLA_ALIGN if ds_mla else 512

            def mla(part, ratio, row, a=align, page_row=None):
                rows = block // ratio
                return Spec(i, part, block, pad(rows * (page_row or row), a), 0, rows, row)

            def sliding(part, blk, win, row, a=align):
                return Spec(i, part, blk, pad(blk * row, a) if a else blk * row, win, blk, row)

            specs.append(sliding("raw", V4_SWA_BLOCK, l.window or V4_WINDOW, e))
            r = l.compress_ratio or 0
            if r not in (4, 128):
                continue
            coff, sblk = (2, 4) if r == 4 else (1, 8)
            state_align = FP8_DS_MLA_ALIGN if ds_mla else None          # compressor.py: None off fp8_ds_mla
            name = "csa" if r == 4 else "hca"
            specs.append(mla(name, r, e))
            specs.append(sliding(f"{name}_state", sblk, coff * r, 2 * coff * width * 4, state_align))
            if r == 4 and l.index_head_dim:
                # an MXFP4 key is 68 bytes; before vllm#48993 (2026-07-17) its page was still
                # the 132-byte FP8 row's, since then it is sized from the packed row
                row = indexer_bytes(l.index_head_dim, ct, fp4_indexer)
                specs.append(mla("indexer", r, row, page_row=row if packed else indexer_bytes(l.index_head_dim, ct)))
                specs.append(sliding("indexer_state", sblk, coff * r, 2 * coff * l.index_head_dim * 4, state_align))
        elif l.kind in (AttnKind.FULL, AttnKind.SWA):
            k, v = kv_heads_widths(l, tp)
            row = (k + v) * eb
            win = l.window if l.kind == AttnKind.SWA and l.window else 0
            specs.append(Spec(i, l.kind, block, block * row, win, block, row))
        elif l.kind in (AttnKind.MLA, AttnKind.DSA):
            lora = l.kv_lora_rank or entry_width(l) - l.rope_dim
            # MLAAttentionSpec: 656-byte FlashMLA entries only in fp8_ds_mla (the DSA sparse
            # backends switch fp8 to it); plain fp8 MLA keeps head_size (576) bytes
            ds = ct == "fp8_ds_mla" or (l.kind == AttnKind.DSA and eb == 1)
            row = mla_entry_bytes(lora, l.rope_dim, ct) if ds else (lora + l.rope_dim) * eb
            specs.append(Spec(i, "mla", block, block * row, 0, block, row))
            if l.kind == AttnKind.DSA and l.index_head_dim:
                ir = indexer_bytes(l.index_head_dim, ct)
                specs.append(Spec(i, "indexer", block, block * ir, 0, block, ir))
        elif l.kind == AttnKind.LINEAR:
            fixed.append((i, (l.state_r + l.state_s) * 2 // tp))
    return specs, fixed


def kv_cache(model: Model, ctx: int, *, cache_type: str = "auto", n_seq: int = 1, tp: int = 1,
             block_size: int | None = None, max_num_batched_tokens: int = 8192,
             fp4_indexer: bool = False, runtime: str = NAME, batches_in_flight: int = 2,
             version: str | None = None) -> KVCache:
    """KV bytes per GPU rank that vLLM needs for ``n_seq`` requests of ``ctx`` tokens each
    (its start-up check for one request, times ``n_seq``). ``block_size``: ``--block-size``
    (16; 256 for DeepSeek V4); ``batches_in_flight``: 2, or the pipeline stages when more;
    ``version``: the vLLM release whose planner rules apply (None: the newest)."""
    ct = check_cache_type(runtime, cache_type, CACHE_TYPES)
    n_seq = check_count(n_seq, "number of parallel sequences", 1, 1 << 16)
    tp = check_count(tp, "tensor-parallel size", 1, 1024)
    v4 = is_v4(model)
    if v4 and ct == "auto":
        # vLLM's V4 attention refuses the model dtype ("DeepseekV4 only supports fp8 kv-cache
        # format for now"): its default for V4 is the fp8 cache its recipes pass
        ct = "fp8"
    block = check_count(block_size or (V4_BLOCK_SIZE if v4 else BLOCK_SIZE), "block size", 1, 1 << 16)
    in_flight = max_num_batched_tokens * check_count(batches_in_flight, "batches in flight", 1, 1024)
    packed = v4 and packed_planner(version)
    specs, fixed = _layer_specs(model, ct, tp, block, fp4_indexer, packed)
    return _size(model, specs, fixed, ctx, n_seq, in_flight, ct, runtime, v4, packed)


def v4_block_bytes(model: Model, *, cache_type: str = "fp8", tp: int = 1, block_size: int = V4_BLOCK_SIZE,
                   fp4_indexer: bool = False, version: str | None = None) -> int:
    """The bytes one KV block takes per GPU for DeepSeek V4 (vLLM's block stride: the layer
    tuples before v0.26, the widest packed group since vllm#48993)."""
    if not is_v4(model):
        raise ValueError(f"{model.id} is not a DeepSeek V4 model")
    ct = "fp8" if cache_type == "auto" else cache_type
    packed = packed_planner(version)
    specs, _ = _layer_specs(model, ct, tp, block_size, fp4_indexer, packed)
    size, page, _ = packed_groups(specs) if packed else v4_groups(specs)
    return size * page


def _size(model, specs, fixed, ctx, n_seq, in_flight, ct, runtime, v4, packed=False) -> KVCache:
    layer_bytes = [0] * len(model.layers)
    mla = any(not s.window for s in specs)
    if v4 and mla:
        plan = packed_groups(specs) if packed else v4_groups(specs)
    else:
        plan = hybrid_groups(specs) if specs else None
    parts: dict[tuple, int] = {}
    physical = 0
    for s in (specs if plan is None else [s for g in plan[2] for s in g]):
        cells = s.blocks(ctx, in_flight) * s.rows
        key = (s.part, cells, s.row)
        parts[key] = parts.get(key, 0) + 1
        physical += cells * s.row * n_seq
    if plan is None:                                  # one group: each layer its own pages
        for s in specs:
            layer_bytes[s.layer] += s.blocks(ctx, in_flight) * s.page * n_seq
    else:                                             # groups: every block charged size x page
        size, page, groups = plan
        for g in groups:
            b = size * page * max(s.blocks(ctx, in_flight) for s in g) * n_seq
            share, rest = divmod(b, len(g))
            for s in g:
                layer_bytes[s.layer] += share
            layer_bytes[g[0].layer] += rest
    out = [KVPart(name, c, cells, n_seq, row, c * cells * n_seq * row) for (name, cells, row), c in parts.items()]
    padding = sum(layer_bytes) - physical
    if padding:
        out.append(KVPart("page_padding", 0, 0, n_seq, 0, padding))
    for i, b in fixed:
        layer_bytes[i] += b * n_seq
        out.append(KVPart("recurrent", 1, 1, n_seq, b, b * n_seq))
    src = ("vllm/v1/core/kv_cache_planning.py _get_packed_kv_cache_groups (vllm#48993, v0.26+: the widest "
           "packed group per block)" if packed else "vllm/v1/core/kv_cache_utils.py "
           "_max_memory_usage_bytes_from_groups (DeepSeek V4 layer tuples, before v0.26)")
    notes = (Note("kv_layout_source", runtime="vLLM", source=src + ": 584 B per 512-dim entry + 132 B per "
                  "indexer key, pages aligned to 576 B"),) if v4 else ()
    return KVCache(runtime, ct, ctx, n_seq, tuple(out), tuple(layer_bytes), 0, notes)


def max_model_len(model: Model, available_bytes: int, *, upper: int, **kw) -> int:
    """vLLM's ``estimate_max_model_len``: the longest request (bisected up to ``upper``)
    whose need fits ``available_bytes`` per GPU; 0 when not even one token fits."""
    fits = lambda n: kv_cache(model, n, n_seq=1, **kw).bytes <= available_bytes  # noqa: E731
    if not fits(1):
        return 0
    lo, hi, best = 1, upper, 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(mid):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return best


def amortised_bytes_per_token(model: Model, cache_type: str = "fp8", fp4_indexer: bool = False) -> float:
    """Entry bytes per token far from the window (the slope of the compressed entries B(L),
    before vLLM's page alignment and layer-tuple padding)."""
    big = 1 << 20

    def entries(n):
        kc = kv_cache(model, n, cache_type=cache_type, fp4_indexer=fp4_indexer)
        return sum(p.bytes for p in kc.parts if p.name not in SLIDING_PARTS + ("page_padding",))
    return (entries(2 * big) - entries(big)) / big
