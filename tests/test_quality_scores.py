"""Quality scores on the model cards come from LMArena's own published data.

Every ``quality`` block on a card in rigcheck/data/models/ must name a number in a sane Elo
range, an LMArena metric that says whether it is style-controlled, the lmarena/arena-catalog
file at a fixed commit it was read from, and that snapshot's date. See the README there.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

MODELS_DIR = Path(__file__).resolve().parents[1] / "rigcheck" / "data" / "models"
CARDS = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(MODELS_DIR.glob("*.json"))}
SCORED = {stem: c["quality"] for stem, c in CARDS.items() if c.get("quality")}

SOURCE_RE = re.compile(r"https://github\.com/lmarena/arena-catalog/blob/[0-9a-f]{40}/data/"
                       r"leaderboard-text(-style-control)?\.json")

# Cards whose score may come from somewhere else (card id -> why). Keep it empty unless a
# score is LMArena-derived but not in arena-catalog; say where it comes from here.
SOURCE_EXCEPTIONS: dict[str, str] = {}

# Does the newest LMArena data found list DeepSeek V4 Flash? arena-catalog's newest
# text snapshot is the 2025-12-11/12-17 one, months before V4 (2026-04-24), so no.
# Flip this when a snapshot that has it is used.
V4_FLASH_IN_DATA = False


def test_some_cards_are_scored():
    assert len(SCORED) >= 20, f"only {len(SCORED)} cards have a quality score"


@pytest.mark.parametrize("stem", sorted(SCORED))
def test_quality_score_is_sourced_and_labelled(stem):
    q = SCORED[stem]
    for key in ("score", "metric", "source", "date", "style_control", "arena_name"):
        assert key in q, f"{stem}: quality has no '{key}'"
    assert isinstance(q["score"], (int, float)) and not isinstance(q["score"], bool), stem
    assert 800 <= q["score"] <= 1700, f"{stem}: {q['score']} is not an arena Elo"
    assert "LMArena" in q["metric"], f"{stem}: metric {q['metric']!r} does not name LMArena"
    assert isinstance(q["style_control"], bool), f"{stem}: style_control is not a boolean"
    assert ("style control" in q["metric"].lower()) == q["style_control"], \
        f"{stem}: metric {q['metric']!r} and style_control={q['style_control']} disagree"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(q["date"])), f"{stem}: date is not YYYY-MM-DD"
    if stem in SOURCE_EXCEPTIONS:
        assert str(q["source"]).startswith("http"), stem
    else:
        assert SOURCE_RE.fullmatch(q["source"]), f"{stem}: source {q['source']!r} is not arena-catalog"
        assert q["source"].endswith("-style-control.json") == q["style_control"], \
            f"{stem}: style_control does not match the file read"
    if "ci95" in q:
        assert 0 < q["ci95"] < 100, stem


@pytest.mark.parametrize("stem", sorted(SCORED))
def test_snapshot_is_not_older_than_the_model(stem):
    assert SCORED[stem]["date"] >= CARDS[stem]["released"], \
        f"{stem}: scored by a {SCORED[stem]['date']} snapshot but released {CARDS[stem]['released']}"


def test_one_metric_for_the_whole_catalogue():
    """Alternatives are ranked by score, so every card must be on the same scale."""
    assert len({(q["metric"], q["style_control"]) for q in SCORED.values()}) == 1


def test_arena_names_are_not_shared():
    names = [q["arena_name"] for q in SCORED.values()]
    assert len(names) == len(set(names)), "two cards use the same arena entry"


def test_unmatched_checkpoints_have_no_score():
    """Base models, distills and other versions are not the arena's entries."""
    for stem in ("llama-2-7b-hf", "llama-2-13b-hf", "llama-2-70b-hf", "deepseek-r1-distill-qwen-7b",
                 "deepseek-r1-distill-qwen-14b", "deepseek-r1-distill-qwen-32b",
                 "mistral-7b-instruct-v0.3", "minimax-m2.1", "qwen3-coder-30b-a3b-instruct"):
        if stem in CARDS:
            assert stem not in SCORED, f"{stem} is not on the arena but has a score"
    if "qwen3-30b-a3b" in SCORED:
        assert SCORED["qwen3-30b-a3b"]["arena_name"] == "qwen3-30b-a3b"


def test_deepseek_v4_flash_score_matches_the_data_found():
    assert ("deepseek-v4-flash" in SCORED) == V4_FLASH_IN_DATA
    if V4_FLASH_IN_DATA:
        assert SCORED["deepseek-v4-flash"]["arena_name"].startswith("deepseek-v4-flash")
