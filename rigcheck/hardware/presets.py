"""The article's hardware tiers as named presets.

Source: "Running DeepSeek V4-Flash Locally: The Hardware Reality Check" (June 2026),
shared/seed/000_a9df31e385f7d23f.txt, table "Tier by Tier: Can Your Machine Run It?".
Each Tier lists rig specs, the representative rig first; the article_* fields quote the
article's row for DeepSeek V4-Flash (its claims, kept for comparison, not our estimates).
"""

from __future__ import annotations

from dataclasses import dataclass

ARTICLE = "shared/seed/000_a9df31e385f7d23f.txt (Running DeepSeek V4-Flash Locally, June 2026)"


@dataclass(frozen=True)
class Tier:
    id: str
    label: str
    rigs: tuple[str, ...]          # rig specs; the representative rig first
    article_best_build: str
    article_speed: str
    article_verdict: str
    note: str = ""
    source: str = ARTICLE


TIERS: tuple[Tier, ...] = (
    Tier("tier-32gb-mini-pc", "32GB mini PC or laptop",
         ("ryzen-7-8845hs+32GB ddr5-5600", "ryzen-ai-9-hx-370+32GB ddr5-5600", "m4-32", "m4-pro-24"),
         "None fits", "Not applicable", "No. Run the small-MoE class instead.",
         note="a typical 32 GB mini PC: 8-core Ryzen, dual-channel DDR5-5600 (89.6 GB/s)"),
    Tier("tier-gaming-gpu", "Gaming GPU, 24 to 32GB VRAM",
         ("rtx-5090+128GB ddr5-6000", "rtx-4090+128GB ddr5-6000", "rtx-3090+128GB ddr4-3200",
          "rx-7900-xtx+128GB ddr5-6000"),
         "Fork build with experts offloaded to system RAM", "Single-digit tokens per second",
         "Not practical",
         note="the article: an offload build wants 128GB of system RAM next to the card"),
    Tier("tier-96gb-workstation", "96GB workstation GPU, single or dual-card",
         ("rtx-pro-6000+128GB ddr5-6000", "rtx-pro-6000-max-q+128GB ddr5-6000",
          "2x rtx-6000-ada+128GB ddr5-6000", "2x rtx-a6000+128GB ddr4-3200"),
         "IQ2_XS-XL at 81GB, fully on GPU", "8 to 12 tokens per second", "Runs, on an expert-mode build",
         note="the article: one RTX PRO 6000 or two 48GB cards"),
    Tier("tier-128gb-unified", "128GB unified memory (M4 Max, Ryzen AI Max+ 395, DGX Spark)",
         ("m4-max-128", "strix-halo-128", "dgx-spark"),
         "2-bit expert mixes via forks", "Usable chat speeds; early reports vary", "The true borderline"),
    Tier("tier-192gb-mac-studio", "192 to 256GB Mac Studio (M3/M4 Ultra)",
         ("m3-ultra-256", "m2-ultra-192", "m3-ultra-512"),
         "Q3_K_M to Q4_K_M, or MLX 4-bit", "~25 tokens per second",
         "The one comfortable tier; see availability note",
         note="the article names M3/M4 Ultra; the catalogue has no M4 Ultra chip (Mac Studio 2025 "
              "shipped M4 Max or M3 Ultra), so the tier uses M3 Ultra 256GB and M2 Ultra 192GB"),
)


def tiers() -> tuple[Tier, ...]:
    """All tiers, smallest first."""
    return TIERS


def find_tier(name: str) -> Tier | None:
    key = name.strip().lower()
    for t in TIERS:
        if key in (t.id, t.id.removeprefix("tier-")):
            return t
    return None


def get_tier(name: str) -> Tier:
    """The tier ``name`` (``tier-128gb-unified`` or ``128gb-unified``); UnknownNameError otherwise."""
    t = find_tier(name)
    if t is None:
        from ..errors import UnknownNameError
        raise UnknownNameError("tier", name, [t.id for t in TIERS])
    return t
