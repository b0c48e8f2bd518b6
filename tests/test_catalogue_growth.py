"""The bundled model catalogue: every card loads, states where its facts come from, and
its computed parameter count matches the count its source states.

Cards are rigcheck/data/models/<id>.json (format: rigcheck/model/catalog.py). A card's
``stated`` holds the counts its source gives, as integers, and the quoted ``text`` ("32.8B");
the check allows 1% or the quoted figure's rounding (half a unit of its last digit; "1 trillion" reads as 1T),
whichever is larger.
"""

from __future__ import annotations

import importlib
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

MODELS_DIR = Path(__file__).resolve().parents[1] / "rigcheck" / "data" / "models"
CARD_FILES = sorted(MODELS_DIR.glob("*.json"))
UNITS = {"K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}


def _load(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


CARDS = {p.stem: _load(p) for p in CARD_FILES}


def _model_of(card: dict):
    """Through the catalogue loader when it exists, else straight through the family."""
    try:
        catalog = importlib.import_module("rigcheck.model.catalog")
    except ModuleNotFoundError:
        catalog = None
    if catalog is not None and hasattr(catalog, "model_of"):
        return catalog.model_of(catalog.card(card["id"]))
    config = card["config"]
    family = importlib.import_module(f"rigcheck.model.families.{config['model_type']}")
    return family.build(config, card["id"])


def _half_step(count: int, text: str) -> float:
    """Half a unit of the last digit of the figure in ``text`` ('32.8B') that states
    ``count``; 0 when the text quotes no such figure."""
    words = {"thousand": "K", "million": "M", "billion": "B", "trillion": "T"}
    for num, unit in re.findall(r"([0-9]+(?:\.[0-9]+)?)\s*([KMBT]|thousand|million|billion|trillion)\b",
                                str(text)):
        unit = words.get(unit, unit)
        value = Decimal(num)
        if abs(float(value) * UNITS[unit] - count) <= 0.001 * count:
            return float(Decimal(1).scaleb(value.as_tuple().exponent) / 2) * UNITS[unit]
    return 0.0


def _tolerance(count: int, text: str, share: float) -> float:
    return max(share * count, _half_step(count, text))


def test_catalogue_has_at_least_40_cards():
    assert len(CARDS) >= 40, f"only {len(CARDS)} model cards in {MODELS_DIR}"


@pytest.mark.parametrize("stem", sorted(CARDS))
def test_card_is_sourced(stem):
    card = CARDS[stem]
    assert card.get("id") == stem, "file name and id differ"
    for key in ("source", "checked", "license"):
        assert card.get(key), f"{stem}: no '{key}'"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(card["checked"])), f"{stem}: checked is not a date"
    assert str(card["source"]).startswith("http"), f"{stem}: source is not a URL"
    quality = card.get("quality")
    if quality is not None:
        for key in ("score", "metric", "source", "date"):
            assert key in quality, f"{stem}: quality has no '{key}'"


def test_ids_unique_and_aliases_unambiguous():
    owner: dict[str, str] = {}
    for stem, card in CARDS.items():
        names = [card["id"]] + list(card.get("aliases") or [])
        for name in names:
            key = name.lower()
            assert owner.get(key, stem) == stem, f"'{name}' names both {owner[key]} and {stem}"
            owner[key] = stem


@pytest.mark.parametrize("stem", sorted(CARDS))
def test_card_loads_into_a_model(stem):
    model = _model_of(CARDS[stem])
    assert model.total_params > 0
    assert model.n_layer > 0 and model.tensors


@pytest.mark.parametrize("stem", sorted(s for s, c in CARDS.items()
                                        if (c.get("stated") or {}).get("total_params")))
def test_total_params_match_stated(stem):
    stated = CARDS[stem]["stated"]
    want = int(stated["total_params"])
    total = _model_of(CARDS[stem]).total_params
    assert stated.get("source"), f"{stem}: stated figures without a source"
    assert abs(total - want) <= _tolerance(want, stated.get("text", ""), 0.01), \
        f"{stem}: computed {total / 1e9:.3f}B, card states {want / 1e9:.3f}B"


@pytest.mark.parametrize("stem", sorted(s for s, c in CARDS.items()
                                        if (c.get("stated") or {}).get("active_params")))
def test_active_params_near_stated(stem):
    """Labs count active parameters with or without the embedding table; accept either
    convention, within 5% or the figure's rounding."""
    stated = CARDS[stem]["stated"]
    want = int(stated["active_params"])
    model = _model_of(CARDS[stem])
    candidates = [model.active_params(count_embedding=e) for e in (False, True)]
    if "output" in (stated.get("active_excludes") or []):
        # some labs (Z.ai, Qwen for Qwen3-Next) leave out the output head as well
        head = model.params_by_role().get("output", 0)
        candidates.append(model.active_params() - head)
    best = min(abs(c - want) for c in candidates)
    assert best <= _tolerance(want, stated.get("text", ""), 0.05), f"{stem}: active params far from {want}"


@pytest.mark.parametrize("stem", sorted(CARDS))
def test_licence_and_release_carry_a_source_or_say_unverified(stem):
    c = CARDS[stem]
    assert c.get("license_source") or c.get("license_verified") is False, f"{stem}: licence without a source"
    assert c.get("released_source") or c.get("released_verified") is False, f"{stem}: release date without a source"
