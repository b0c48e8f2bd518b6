"""Regenerate a bundled model card from a Hugging Face Hub repository.

    python tools/card_from_hub.py Qwen/Qwen3.6-35B-A3B --out rigcheck/data/models/qwen3.6-35b-a3b.json
    python tools/card_from_hub.py google/gemma-4-31B-it@<commit>          # print to stdout
    python tools/card_from_hub.py nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16 --config copy.json \
        --copy-of 'github.com/jax-ml/jax-llm-examples nemotron3/tests/test_model.py @8b4b246' ...

Reads config.json only (never a weight file) and the repository's model info (licence
from its card metadata or ``license:`` tag, the resolved commit, the creation date) with
huggingface_hub, so its endpoint (``HF_ENDPOINT``), token (``HF_TOKEN``) and cache
conventions apply. The card's ``source`` is the config's blob URL on the Hub and
``checked`` today's date; the release date is the repository's creation date on the Hub
(marked in ``provenance_note``, as the model card's own date is not machine-readable).
Fields a person adds by hand (``aliases``, ``stated``, ``quality``) are kept from an
existing card at ``--out``. The card is built through rigcheck's families before it is
written, so a config no family reads fails here with one line and exit status 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys

class CardError(Exception):
    """A problem with the repository or its config, said in one line."""


def _endpoint() -> str:
    from huggingface_hub import constants
    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def display_name(repo_name: str) -> str:
    """'Qwen3.6-35B-A3B' -> 'Qwen3.6 35B A3B' (the catalogue's display style)."""
    return " ".join(part for part in repo_name.replace("_", "-").split("-") if part)


def _licence(info) -> str:
    card = getattr(info, "card_data", None) or getattr(info, "cardData", None) or {}
    value = card.get("license") if hasattr(card, "get") else None
    if not value:
        value = next((t.split(":", 1)[1] for t in (info.tags or []) if t.startswith("license:")), "")
    return str(value or "")


def fetch(repo: str, revision: str | None = None) -> tuple[dict, object]:
    """The repository's config.json (as a dict) and its model info, read through huggingface_hub."""
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import (EntryNotFoundError, GatedRepoError, HfHubHTTPError,
                                        RepositoryNotFoundError, RevisionNotFoundError)
    try:
        info = HfApi(endpoint=_endpoint()).model_info(repo, revision=revision)
        path = hf_hub_download(repo, "config.json", revision=info.sha or revision, endpoint=_endpoint())
    except GatedRepoError:
        raise CardError(f"{repo} is gated: accept its terms on the Hub and set HF_TOKEN") from None
    except RepositoryNotFoundError:
        raise CardError(f"{repo}: no such repository on {_endpoint()} (check the spelling, or set HF_TOKEN "
                        "for a private one)") from None
    except RevisionNotFoundError:
        raise CardError(f"{repo}: no revision {revision!r}") from None
    except EntryNotFoundError:
        raise CardError(f"{repo} has no config.json (a GGUF-only repository has no card to make)") from None
    except HfHubHTTPError as e:
        raise CardError(f"{repo}: the Hub answered {getattr(e.response, 'status_code', '?')}; try again later") \
            from None
    except OSError as e:
        raise CardError(f"{repo}: could not reach {_endpoint()} ({e.__class__.__name__}); check the network "
                        "or HF_ENDPOINT") from None
    with open(path, encoding="utf-8") as f:
        try:
            config = json.load(f)
        except json.JSONDecodeError as e:
            raise CardError(f"{repo}: config.json is not JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(config, dict):
        raise CardError(f"{repo}: config.json is not a JSON object")
    return config, info


def make_card(repo: str, config: dict, info, *, card_id: str | None = None, name: str | None = None,
              today: dt.date | None = None, previous: dict | None = None) -> dict:
    """A card (catalog.py's format) for ``repo`` from its config and model info."""
    from rigcheck.errors import RigcheckError
    from rigcheck.model.families import build_model, model_type_of

    repo_name = repo.split("/", 1)[-1]
    cid = (card_id or repo_name).lower()
    try:
        family = model_type_of(config)
        model = build_model(config, cid)
    except RigcheckError as e:
        raise CardError(f"{repo}: {e}") from None
    today = today or dt.date.today()
    created = getattr(info, "created_at", None)
    sha = getattr(info, "sha", None) or ""
    endpoint = _endpoint()
    card = {
        "id": cid,
        "name": name or display_name(repo_name),
        "hf_repo": repo,
        "aliases": [],
        "family": family,
        "license": _licence(info),
        "released": created.date().isoformat() if created else "",
        "source": f"https://huggingface.co/{repo}/blob/main/config.json",
        "checked": today.isoformat(),
        "source_note": (f"config.json at commit {sha} read with huggingface_hub from {endpoint} "
                        f"by tools/card_from_hub.py; {model.total_params / 1e9:.2f}B parameters as rigcheck "
                        "counts them"),
        "license_source": f"https://huggingface.co/{repo}",
        "released_source": f"{endpoint}/api/models/{repo}",
        "provenance_note": "licence from the repository's card metadata; release date is the repository's "
                           "creation date on the Hub (createdAt), not a date the publisher states",
        "config": config,
    }
    if not card["license"]:
        card["license_verified"] = False
    if not card["released"]:
        card["released_verified"] = False
    if previous:
        for key in ("aliases", "stated", "quality"):
            if key in previous:
                card[key] = previous[key]
        for fact in ("license", "released"):       # the Hub says nothing: keep the sourced value
            if not card[fact] and previous.get(fact):
                for key in (fact, f"{fact}_source", f"{fact}_verified"):
                    card.pop(key, None)
                    if key in previous:
                        card[key] = previous[key]
                card["provenance_note"] += f"; {fact} kept from the previous card"
    return card


def from_copy(repo: str, path: str, copy_of: str, *, license: str = "", license_source: str = "",
              released: str = "", released_source: str = "", note: str = "", card_id: str | None = None,
              name: str | None = None, previous: dict | None = None, today: dt.date | None = None) -> dict:
    """A card from a verified copy of the repository's config.json, for a config the Hub
    cannot be asked for (no network, or a repository that is gone): ``copy_of`` says where
    the copy was read (a URL or repository path with its commit), and the licence and
    release date come with their own sources or are marked unverified."""
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise CardError(f"{path}: cannot read a config.json from it ({e.__class__.__name__}: {e})") from None
    if not isinstance(config, dict):
        raise CardError(f"{path}: config.json is not a JSON object")

    class _Info:                       # what make_card reads of a Hub answer
        card_data = {"license": license}
        tags: list = []
        created_at = None
        sha = None
    card = make_card(repo, config, _Info(), card_id=card_id, name=name, today=today, previous=previous)
    card["source_note"] = (f"copy of {repo}/config.json read from {copy_of}" + (f"; {note}" if note else "")
                           + card["source_note"][card["source_note"].index(";"):])
    card.pop("released_verified", None)
    card.pop("license_verified", None)
    card["released"] = released
    for fact, value, src in (("license", license, license_source), ("released", released, released_source)):
        if src:
            card[f"{fact}_source"] = src
        else:
            card.pop(f"{fact}_source", None)
        if not (value and src):
            card[f"{fact}_verified"] = False
    card["provenance_note"] = ("licence and release date as their sources state them"
                               if license_source and released_source else
                               "a fact without a source is marked unverified")
    return card


def _split_ref(ref: str) -> tuple[str, str | None]:
    repo, _, revision = ref.partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise CardError(f"'{ref}' is not a Hub repository id: write it as org/name (or org/name@revision)")
    return repo, revision or None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="card_from_hub.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("repo", help="org/name or org/name@revision")
    ap.add_argument("--out", help="write the card here (default: print it)")
    ap.add_argument("--id", dest="card_id", help="card id (default: the repository name, lower-case)")
    ap.add_argument("--name", help="display name (default: from the repository name)")
    ap.add_argument("--config", help="make the card from this copy of the repository's config.json instead of "
                                     "asking the Hub (give --copy-of: where the copy was read)")
    ap.add_argument("--copy-of", help="with --config: where the copy was read (repository, path and commit, or URL)")
    ap.add_argument("--note", default="", help="with --config: what the copy changed or left out")
    ap.add_argument("--license", default="", help="with --config: the licence (with --license-source)")
    ap.add_argument("--license-source", default="", help="with --config: the URL that states the licence")
    ap.add_argument("--released", default="", help="with --config: the release date, YYYY-MM-DD")
    ap.add_argument("--released-source", default="", help="with --config: the URL that states the release date")
    args = ap.parse_args(argv)
    try:
        repo, revision = _split_ref(args.repo)
        previous = None
        if args.out and os.path.exists(args.out):
            with open(args.out, encoding="utf-8") as f:
                previous = json.load(f)
        cid, name = args.card_id or (previous or {}).get("id"), args.name or (previous or {}).get("name")
        if args.config:
            if not args.copy_of:
                raise CardError("--config needs --copy-of: where the copy of config.json was read")
            if args.released:
                try:
                    dt.date.fromisoformat(args.released)
                except ValueError:
                    raise CardError(f"--released '{args.released}' is not a YYYY-MM-DD date") from None
            card = from_copy(repo, args.config, args.copy_of, license=args.license,
                             license_source=args.license_source, released=args.released,
                             released_source=args.released_source, note=args.note, card_id=cid, name=name,
                             previous=previous)
        else:
            config, info = fetch(repo, revision)
            card = make_card(repo, config, info, card_id=cid, name=name, previous=previous)
    except CardError as e:
        print(f"card_from_hub: {e}", file=sys.stderr)
        return 2
    text = json.dumps(card, indent=1, ensure_ascii=False) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {args.out} ({card['family']}, {card['id']})")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
