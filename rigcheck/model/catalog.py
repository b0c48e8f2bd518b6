"""The bundled model catalogue: one JSON card per model in rigcheck/data/models/<id>.json.

A card is a JSON object:

    id          HF repo name, lower-case ("deepseek-v4-flash"); also the file name
    name        display name ("DeepSeek V4 Flash")
    hf_repo     "deepseek-ai/DeepSeek-V4-Flash"
    aliases     short names a user may type (["v4-flash", "dsv4-flash"]), lower-case
    family      the family module (HF model_type) that builds it
    license     licence name as the model card states it
    released    release date, YYYY-MM-DD
    source      URL of the config.json the "config" field reproduces
    checked     date the source was read, YYYY-MM-DD
    source_note optional: where the copy was read when not from the URL itself
    stated      what the publisher's model card says: {"total_params": int,
                "active_params": int (MoE only), "source": URL, "text": the words quoted}
    config      the HF config.json content (the only thing the Model is built from)

Cards are read lazily: listing ids touches file names only, ``card()`` parses one
file, ``all_cards()`` parses all (a few ms). ``model_of`` builds and caches the Model.
To add a model, drop a card here (and a family module if its model_type is new).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

from ..errors import UnknownNameError
from .model import Model



@dataclass(frozen=True)
class Card:
    id: str
    name: str
    hf_repo: str
    family: str
    license: str
    released: str
    source: str
    checked: str
    config: dict = field(repr=False, compare=False, hash=False)
    aliases: tuple[str, ...] = ()
    stated: dict = field(default_factory=dict, compare=False, hash=False)
    source_note: str = ""
    quality: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def stated_total(self) -> int | None:
        return self.stated.get("total_params")

    @property
    def stated_active(self) -> int | None:
        return self.stated.get("active_params")


_FIELDS = ("id", "name", "hf_repo", "family", "license", "released", "source", "checked", "config")


def _ids() -> list[str]:
    from .. import catalogue
    return catalogue.card_ids()


@lru_cache(maxsize=None)
def _load(card_id: str) -> Card:
    from .. import catalogue
    d = catalogue.card(card_id)
    return Card(**{k: d[k] for k in _FIELDS}, aliases=tuple(a.lower() for a in d.get("aliases", [])),
                stated=d.get("stated", {}), source_note=d.get("source_note", ""),
                quality=d.get("quality") or {})


@lru_cache(maxsize=1)
def _alias_map() -> dict[str, str]:
    out = {}
    for cid in _ids():
        out[cid] = cid
        c = _load(cid)
        out[c.hf_repo.lower()] = cid
        for a in c.aliases:
            out[a] = cid
    return out


def card(ref: str) -> Card:
    """The card for an id, alias or HF repo name (case-insensitive)."""
    key = str(ref).strip().lower()
    ids = _ids()
    if key in ids:
        return _load(key)
    amap = _alias_map()
    if key in amap:
        return _load(amap[key])
    raise UnknownNameError("model", str(ref), ids, hint="see 'rigcheck models'")


def all_cards() -> list[Card]:
    return [_load(i) for i in _ids()]


@lru_cache(maxsize=None)
def _model(card_id: str) -> Model:
    from .families import build_model
    c = _load(card_id)
    m = build_model(c.config, c.id)
    return replace(m, source="catalogue", meta=dict(m.meta, card=c.id, config_source=c.source,
                                                    checked=c.checked, hf_repo=c.hf_repo))


def model_of(c: Card | str) -> Model:
    """The Model of a card (built once, then cached); Model.id is the card id."""
    return _model(c.id if isinstance(c, Card) else card(c).id)
