"""The bundled catalogue covers what rigcheck has measured, and every card says where its
config came from; tools/card_from_hub.py regenerates a card from a Hub repository.

The card tool is run as a command against a small Hub served on 127.0.0.1 in the Hub's own
shapes (``/api/models/{repo}`` model info, ``/{repo}/resolve/{rev}/config.json`` with the
ETag and X-Repo-Commit headers huggingface_hub reads, the Hub's error codes for a missing
repository or file), pointed to by ``HF_ENDPOINT``; never the network.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from rigcheck import catalogue
from rigcheck.model import catalog
from rigcheck.model.families import build_model

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "card_from_hub.py"

# Measured models with no card yet, because no copy of their config.json was found in any
# public source the project can read (see rigcheck/data/models/README.md). Each entry must
# still be measured and still lack a card, so the list can only shrink; it is empty since
# 2026-12-02, when Qwen3-30B-A3B-Instruct-2507 and Devstral Small 2 gained cards.
NO_PUBLIC_CONFIG: dict[str, str] = {}


def _measured_ids() -> set[str]:
    return {row["model"] for row in catalogue.measurements()}


def test_every_measured_model_resolves_to_a_card():
    missing = sorted(m for m in _measured_ids() if m not in NO_PUBLIC_CONFIG and not _resolves(m))
    assert not missing, f"measurements.csv names models with no card: {missing}"


def test_the_list_of_models_without_a_public_config_only_shrinks():
    measured = _measured_ids()
    for model_id, why in NO_PUBLIC_CONFIG.items():
        assert model_id in measured, f"{model_id} is no longer measured: drop it from NO_PUBLIC_CONFIG"
        assert not _resolves(model_id), f"{model_id} has a card now: drop it from NO_PUBLIC_CONFIG ({why})"


def _resolves(ref: str) -> bool:
    try:
        catalog.card(ref)
    except Exception:  # noqa: BLE001 - any failure to resolve is the answer
        return False
    return True


@pytest.mark.parametrize("card_id", catalogue.card_ids())
def test_every_card_has_a_config_source_url_and_a_checked_date(card_id):
    card = catalogue.card(card_id)
    assert re.fullmatch(r"https://\S+", card["source"]), f"{card_id}: source is not a URL"
    assert "config" in card["source"] or card.get("source_note"), f"{card_id}: source names no config"
    checked = dt.date.fromisoformat(card["checked"])
    assert dt.date(2023, 1, 1) <= checked <= dt.date.today(), f"{card_id}: checked {checked} is not a plausible date"
    assert isinstance(card["config"], dict) and card["config"], f"{card_id}: no config"


# --- tools/card_from_hub.py against a local Hub -------------------------------------------

COMMIT = "995ad96eacd98c81ed38be0c5b274b04031597b0"


class _Hub:
    """repo -> {"info": model-info JSON, "files": {name: bytes}}, served in the Hub's shapes."""

    def __init__(self, repos: dict):
        self.repos = repos
        self.requests: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # noqa: D401 - quiet
                pass

            def _send(self, code, body=b"", headers=None, head=False):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _route(self, head: bool):
                path = unquote(self.path.split("?", 1)[0])
                hub.requests.append(f"{self.command} {path}")
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path)
                if m:
                    repo = hub.repos.get(m.group(1))
                    if repo is None:
                        return self._send(404, b'{"error":"Repository not found"}',
                                          {"X-Error-Code": "RepoNotFound", "Content-Type": "application/json"}, head)
                    return self._send(200, json.dumps(repo["info"]).encode(),
                                      {"Content-Type": "application/json"}, head)
                m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
                if m:
                    repo = hub.repos.get(m.group(1))
                    if repo is None:
                        return self._send(404, b"", {"X-Error-Code": "RepoNotFound"}, head)
                    body = repo["files"].get(m.group(3))
                    if body is None:
                        return self._send(404, b"", {"X-Error-Code": "EntryNotFound",
                                                     "X-Repo-Commit": repo["info"]["sha"]}, head)
                    etag = '"' + hashlib.sha1(body).hexdigest() + '"'
                    return self._send(200, body, {"ETag": etag, "X-Repo-Commit": repo["info"]["sha"],
                                                  "Content-Type": "application/json"}, head)
                return self._send(404, b"", {}, head)

            def do_GET(self):  # noqa: N802
                self._route(head=False)

            def do_HEAD(self):  # noqa: N802
                self._route(head=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _info(repo: str, license_: str | None = "apache-2.0") -> dict:
    return {"id": repo, "modelId": repo, "sha": COMMIT, "createdAt": "2026-04-16T09:30:00.000Z",
            "lastModified": "2026-05-01T10:00:00.000Z", "private": False, "gated": False,
            "tags": ["transformers", "safetensors"] + ([f"license:{license_}"] if license_ else []),
            "cardData": {"license": license_} if license_ else {},
            "siblings": [{"rfilename": "config.json"}, {"rfilename": "model-00001-of-00002.safetensors"}]}


@pytest.fixture()
def hub():
    bundled = catalogue.card("qwen3.6-35b-a3b")
    repos = {
        "Qwen/Qwen3.6-35B-A3B": {"info": _info("Qwen/Qwen3.6-35B-A3B"),
                                 "files": {"config.json": json.dumps(bundled["config"], indent=2).encode()}},
        "someone/odd-arch": {"info": _info("someone/odd-arch", None),
                             "files": {"config.json": b'{"model_type": "qwen3_mo", "hidden_size": 8}'}},
        "someone/gguf-only": {"info": _info("someone/gguf-only"), "files": {}},
    }
    h = _Hub(repos)
    yield h
    h.close()


def _run(hub, tmp_path, *args):
    env = dict(os.environ, HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"), HF_HUB_DISABLE_TELEMETRY="1",
               HF_HUB_DISABLE_PROGRESS_BARS="1", PYTHONPATH=str(ROOT))
    env.pop("HF_HUB_OFFLINE", None)
    env.pop("HF_TOKEN", None)
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=tmp_path)


def _load_through_catalog(card_path: Path, tmp_path: Path, monkeypatch):
    """The card through rigcheck's own loader and catalog, from a data folder holding only it."""
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / card_path.name).write_bytes(card_path.read_bytes())
    monkeypatch.setattr(catalogue, "_path", lambda name: data / name)
    for f in (catalogue.card, catalog._load, catalog._alias_map, catalog._model):
        f.cache_clear()
    try:
        card = catalog.card(card_path.stem)
        return card, catalog.model_of(card)
    finally:
        for f in (catalogue.card, catalog._load, catalog._alias_map, catalog._model):
            f.cache_clear()


def test_card_from_hub_writes_a_card_that_loads(hub, tmp_path, monkeypatch):
    out = tmp_path / "qwen3.6-35b-a3b.json"
    r = _run(hub, tmp_path, "Qwen/Qwen3.6-35B-A3B", "--out", str(out))
    assert r.returncode == 0, r.stderr
    card = json.loads(out.read_text())
    bundled = catalogue.card("qwen3.6-35b-a3b")
    assert card["id"] == "qwen3.6-35b-a3b" and card["hf_repo"] == "Qwen/Qwen3.6-35B-A3B"
    assert card["family"] == "qwen3_5_moe" and card["license"] == "apache-2.0" and card["released"] == "2026-04-16"
    assert card["source"] == "https://huggingface.co/Qwen/Qwen3.6-35B-A3B/blob/main/config.json"
    assert card["checked"] == dt.date.today().isoformat() and COMMIT in card["source_note"]
    assert card["config"] == bundled["config"]
    got, model = _load_through_catalog(out, tmp_path, monkeypatch)
    assert got.family == "qwen3_5_moe" and got.source == card["source"]
    assert model.total_params == build_model(bundled["config"], "x").total_params
    # only the model info and config.json were asked for: no weight file
    assert all("safetensors" not in line for line in hub.requests)
    assert any(line.endswith("/resolve/" + COMMIT + "/config.json") for line in hub.requests)


def test_card_from_hub_keeps_what_a_person_added(hub, tmp_path):
    out = tmp_path / "qwen3.6-35b-a3b.json"
    previous = dict(catalogue.card("qwen3.6-35b-a3b"), aliases=["q36"], stated={"total_params": 35_000_000_000,
                    "source": "https://huggingface.co/Qwen/Qwen3.6-35B-A3B", "text": "35B"})
    out.write_text(json.dumps(previous))
    r = _run(hub, tmp_path, "Qwen/Qwen3.6-35B-A3B", "--out", str(out))
    assert r.returncode == 0, r.stderr
    card = json.loads(out.read_text())
    assert card["aliases"] == ["q36"] and card["stated"]["total_params"] == 35_000_000_000
    assert card["name"] == previous["name"]
    assert card["license_source"] == "https://huggingface.co/Qwen/Qwen3.6-35B-A3B"   # the Hub said apache-2.0


@pytest.mark.parametrize("ref, says", [
    ("someone/missing", "no such repository"),
    ("someone/gguf-only", "has no config.json"),
    ("someone/odd-arch", "architecture"),
    ("not-a-repo", "org/name"),
])
def test_card_from_hub_errors_are_one_line(hub, tmp_path, ref, says):
    r = _run(hub, tmp_path, ref)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in r.stderr, r.stderr
