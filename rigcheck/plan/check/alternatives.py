"""What to run instead, and what the next tier costs: the parts of the reality check
that look beyond the model and the rig at hand."""

from __future__ import annotations

import functools

from ... import units
from ...errors import RigcheckError
from ...model import Model
from .evaluate import BuildCheck, evaluate


@functools.lru_cache(maxsize=64)
def _alt_build(model_id: str):
    from ...model import catalog
    from ...quant import recipes
    m = catalog.model_of(catalog.card(model_id))
    return m, recipes.build(m, "Q4_K_M")


def alternatives_for(model: Model | None, rig, ctx: int, limit: int = 5, max_tries: int = 16) -> list[dict]:
    """Catalogue models whose Q4_K_M build is comfortable on this rig, best quality score
    first (the score's metric and source are on each card); when fewer than ``limit`` are
    comfortable, models that at least run fill the list, after them.

    Models whose Q4_K_M weights (~0.6 bytes per parameter) fit the rig's fast memory are
    tried first, as only they can be comfortable (without a GPU: those whose active
    weights the RAM can read a few times a second); each group in order of score (cards
    without one last). At most ``max_tries`` builds are evaluated (it keeps ``rigcheck
    check`` under a second); a model that cannot fit fast memory plus RAM is not tried."""
    from ...model import catalog
    node = rig.node
    fast = node.gpu_memory_bytes or 0
    room = fast + (0 if node.unified else (node.ram_bytes or 0))
    ram_bw = getattr(node, "ram_bandwidth_bytes_s", None) or 0
    cards = [c for c in catalog.all_cards() if (model is None or c.id != model.id)
             and not (c.stated_total and c.stated_total * 0.6 > room)]

    def quick(c) -> bool:
        """Could it run well here at all? On fast memory: its weights fit. On a machine
        without a GPU: its active weights (~0.6 bytes per parameter) read at the RAM's
        bandwidth allow a few tokens per second (the CPU-only case: small models first)."""
        if fast:
            return bool(c.stated_total and c.stated_total * 0.6 <= fast)
        active = c.stated_active or c.stated_total
        return bool(active and ram_bw and ram_bw / (active * 0.6) >= 5.0)
    cards.sort(key=lambda c: (not quick(c), c.quality.get("score") is None, -(c.quality.get("score") or 0),
                              -(c.stated_total or 0)))
    good: list[dict] = []
    for card in cards[:max_tries]:
        try:
            m, b = _alt_build(card.id)
            if b.file_bytes > room:
                continue
            bc = evaluate(m, b, rig, min(ctx, m.n_ctx_train or ctx, 32768), "llama.cpp", commands=False)
        except (RigcheckError, ValueError, KeyError):
            continue
        if bc.rank < 3:
            continue
        q = card.quality
        good.append({"model": card.id, "build": b.name, "file_bytes": b.file_bytes,
                     "total_params": m.total_params, "verdict": bc.verdict,
                     "decode_tok_s": bc.decode_tok_s, "quality": q.get("score"),
                     "quality_metric": q.get("metric"), "quality_source": q.get("source"),
                     "quality_date": q.get("date")})
        if sum(a["verdict"] == "comfortable" for a in good) >= limit:
            break
        if not fast and len(good) >= limit:
            break           # without fast memory few are comfortable: enough that run well
    good.sort(key=lambda a: (a["verdict"] != "comfortable", a["quality"] is None, -(a["quality"] or 0)))
    return good[:limit]


# ---- what the next tier costs -----------------------------------------------------------

def upgrade_for(rows: list[BuildCheck], rig) -> list[dict]:
    """Purchases that put a build on fast memory: the smallest build (usually 2-bit class)
    and a 4-bit-class build, the cheapest options for each, with dated prices."""
    from ...hardware import prices
    from .upgrade import candidates_from_catalog, upgrade_options
    if any(b.verdict == "comfortable" for b in rows) or not rows:
        return []
    q4 = [b for b in rows if 3.5 <= b.bits_per_weight <= 5.5]
    targets = [min(rows, key=lambda b: b.total_bytes)]
    if q4:
        targets.append(min(q4, key=lambda b: b.total_bytes))
    node = rig.node
    fast = node.gpu_memory_bytes or 0
    try:
        ram_price = prices.ram_price_per_gib()
    except (RigcheckError, LookupError, ValueError):
        ram_price = None
    vendors = {(d.vendor or "").lower() for d in node.gpus if not d.unified}
    # an added card must work beside the ones there (one vendor's stack); machines always can
    cands = [c for c in candidates_from_catalog()
             if not (c.get("adds_to_fast") and vendors) or (c.get("vendor") or "").lower() in vendors]
    out, seen = [], set()
    if len(targets) == 2 and targets[0] is targets[1]:
        targets.pop()
    for target in targets:
        need = int(target.total_bytes * 1.1)          # 10% headroom on top of what it needs
        if need <= fast:
            continue
        for o in upgrade_options(need, need, int(fast), int(node.ram_bytes or 0), ram_price, cands,
                                 ram_upgradable=not node.unified, limit=2):
            if o.label in seen:
                continue
            seen.add(o.label)
            out.append(dict(o.as_dict(), text=f"for {target.name} ({units.gb(target.total_bytes, 0)}): {o.text()}",
                            build=target.name))
    return out
