"""What the browser may name, checked before anything is computed.

A model is a catalogue id, an alias or a Hugging Face Hub id (``owner/name``); a rig is a
spec or a catalogue id; neither is ever a file path (the page runs on the user's machine
and must not be a way to make rigcheck read local files). Every refusal is an InputError
with one line saying what is wrong and what to try.
"""

from __future__ import annotations

import os
import re
import threading

from ..errors import InputError, RigcheckError, UnknownNameError

MAX_VALUE = 200           # characters in one query value
MAX_CTX = 1 << 24         # tokens: bounded work (the page's slider stops at the model's maximum)

# owner/name, optionally @revision and :file-or-tag (the Hub loader's spelling, model/sources/hub.py)
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}"
                     r"(@[A-Za-z0-9][A-Za-z0-9_.-]{0,63})?(:[A-Za-z0-9][A-Za-z0-9_.+-]{0,95})?$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+:-]*$")
_RIG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+,:x-]*$")
_FILE_SUFFIXES = (".gguf", ".json", ".safetensors", ".bin", ".pt", ".pth", ".txt", ".toml", ".csv")


def looks_like_path(text: str) -> bool:
    t = text.strip().lower()
    return (t.startswith(("/", "~", ".", "\\", "file:")) or "\\" in t or ".." in t or "\x00" in t
            or bool(re.match(r"^[a-z]:", t)) or t.endswith(_FILE_SUFFIXES) or t.count("/") > 1)


def _bounded(what: str, text: str) -> str:
    if not isinstance(text, str):
        raise InputError(f"{what} must be text")
    text = text.strip()
    if len(text) > MAX_VALUE:
        raise InputError(f"{what} is too long ({len(text)} characters; {MAX_VALUE} at most)")
    if any(ord(c) < 32 for c in text):
        raise InputError(f"{what} contains control characters")
    return text


def model_ref(text: str) -> str:
    """A model reference the page may ask for, or InputError."""
    text = _bounded("model", text)
    if not text:
        raise InputError("no model given: name a catalogue id or alias (see /api/models), "
                         "e.g. model=deepseek-v4-flash")
    if looks_like_path(text):
        raise InputError(f"'{text}' looks like a file path: the web page reads catalogue ids and Hub ids "
                         "(owner/name), never files; run 'rigcheck check FILE' for a local file")
    if "/" in text:
        if not _HUB_ID.match(text):
            raise InputError(f"'{text}' is neither a catalogue id nor a Hub id (owner/name[@revision][:tag])")
    elif not _NAME.match(text):
        raise InputError(f"'{text}' is not a model name: use letters, digits, '-', '_', '.' "
                         "(see /api/models)")
    return text


def load_model(text: str):
    """The Model for a reference checked by :func:`model_ref`: a catalogue card (id, alias or
    the card's Hub repo), else a Hub id through the library's one model loader, but only when
    no local file or folder of that name exists (the loader would read it)."""
    from ..model import catalog
    ref = model_ref(text)
    try:
        return catalog.model_of(catalog.card(ref))
    except UnknownNameError:
        if "/" not in ref:
            raise
    if os.path.exists(ref) or os.path.exists(ref.split("@")[0].split(":")[0]):
        raise InputError(f"'{ref}' names a local path here: the web page never reads files")
    from ..model.resolve import load_model as _load
    return _load(ref)


def rig_spec(text: str | None) -> str:
    """A rig spec the page may ask for ('' means this machine), or InputError."""
    if text is None:
        return ""
    text = _bounded("rig", text)
    if not text:
        return ""
    if looks_like_path(text) or "/" in text:
        raise InputError(f"'{text}' looks like a file path: a rig is a spec like rtx-5090+128GB "
                         "or a catalogue id (see /api/rigs)")
    if not _RIG.match(text):
        raise InputError(f"'{text}' is not a rig spec: write e.g. rtx-5090+128GB, m4-max-128 "
                         "or '2x rtx-3090+64GB ddr4-3200'")
    return text


_detected = None
_detect_lock = threading.Lock()


def this_machine():
    """This machine as detected, once per process (detection runs tools and reads /proc)."""
    global _detected
    with _detect_lock:
        if _detected is None:
            from ..hardware import detect
            _detected = detect()
        return _detected


def load_rig(text: str | None):
    """(rig, key): the Rig and its canonical spec ('this machine' for the detected one)."""
    spec = rig_spec(text)
    if not spec:
        return this_machine(), "this machine"
    from ..hardware import format_rig, parse_rig
    rig = parse_rig(spec)
    return rig, format_rig(rig)


def ctx_value(ctx: int | None) -> int | None:
    if ctx is None:
        return None
    if ctx <= 0:
        raise InputError(f"ctx must be a positive number of tokens, not {ctx}")
    if ctx > MAX_CTX:
        raise InputError(f"ctx {ctx:,} is beyond what the page checks ({MAX_CTX:,} tokens at most)")
    return ctx


def runtime_name(text: str | None) -> str | None:
    """The canonical runtime name ('' or None: each build's own runtime)."""
    if text is None:
        return None
    text = _bounded("runtime", text)
    if not text:
        return None
    from .. import runtimes
    return runtimes.get(text).name


def suggestions(text: str, limit: int = 12) -> list[dict]:
    """Catalogue models whose id, alias or Hub repo contains ``text`` (case-insensitive),
    those starting with it first: ``{"id", "name", "source": "catalogue", "matched"}``."""
    from ..model import catalog
    key = _bounded("q", text).lower()
    if not key:
        return []
    found = []
    for c in catalog.all_cards():
        names = [c.id, *c.aliases, c.hf_repo.lower()]
        hit = next((n for n in names if n.startswith(key)), None) or next((n for n in names if key in n), None)
        if hit is not None:
            found.append((0 if hit.startswith(key) else 1, c.id, {"id": c.id, "name": c.name,
                                                                  "source": "catalogue", "matched": hit}))
    return [d for _, _, d in sorted(found, key=lambda t: t[:2])][:limit]


def hub_suggestions(text: str, limit: int = 8) -> tuple[list[dict], str]:
    """Hub repo ids from the Hub's model search, and how the Hub answered ('ok', 'offline' or
    the one-line error): only when rigcheck may go online (not HF_HUB_OFFLINE)."""
    from ..model.sources import hub
    key = _bounded("q", text)
    if len(key) < 3 or looks_like_path(key):
        return [], "ok"
    if hub.offline():
        return [], "offline"
    try:
        ids = hub.search_models({"search": key, "limit": limit})
    except RigcheckError as e:
        return [], str(e)
    except Exception as e:  # noqa: BLE001 - suggestions are optional: say why the Hub gave none
        return [], f"the Hub's model search failed ({type(e).__name__}: {e})"
    from ..model import catalog
    out = []
    for i in ids[:limit]:
        if not _HUB_ID.match(i):
            continue
        try:
            catalog.card(i)            # a catalogue card's own repo: the card stands for it
            continue
        except UnknownNameError:
            out.append({"id": i, "name": i, "source": "hub", "matched": i})
    return out, "ok"
