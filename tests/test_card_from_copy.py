"""tools/card_from_hub.py --config: a card from a verified copy of a config.json, for a
repository the Hub cannot be asked about (no network here). The command is run as a user
runs it; the card it writes must build through rigcheck's families and reproduce the bundled
card made the same way, and bad input is one line with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rigcheck import catalogue

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "card_from_hub.py"


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_a_card_from_a_copy_reproduces_the_bundled_one(tmp_path):
    bundled = catalogue.card("nemotron-3-nano-30b-a3b")
    copy = tmp_path / "config.json"
    copy.write_text(json.dumps(bundled["config"]))
    out = tmp_path / "card.json"
    out.write_text(json.dumps({"id": bundled["id"], "name": bundled["name"], "aliases": bundled["aliases"],
                               "stated": bundled["stated"]}))
    r = _run(bundled["hf_repo"], "--config", str(copy), "--copy-of", "a test copy", "--note", "n",
             "--license", bundled["license"], "--license-source", bundled["license_source"],
             "--released", bundled["released"], "--released-source", bundled["released_source"], "--out", str(out))
    assert r.returncode == 0, r.stderr
    card = json.loads(out.read_text())
    assert card["config"] == bundled["config"] and card["family"] == "nemotron_h"
    assert (card["id"], card["aliases"], card["stated"]) == (bundled["id"], bundled["aliases"], bundled["stated"])
    assert card["source"] == bundled["source"] and card["source_note"].startswith(
        f"copy of {bundled['hf_repo']}/config.json read from a test copy; n; 31.58B parameters")
    assert "license_verified" not in card and "released_verified" not in card


def test_a_fact_without_its_source_is_marked_unverified(tmp_path):
    copy = tmp_path / "config.json"
    copy.write_text(json.dumps(catalogue.card("qwen3-4b-instruct-2507")["config"]))
    r = _run("Qwen/Qwen3-4B-Instruct-2507", "--config", str(copy), "--copy-of", "x", "--license", "Apache-2.0")
    assert r.returncode == 0, r.stderr
    card = json.loads(r.stdout)
    assert card["license"] == "Apache-2.0" and card["license_verified"] is False
    assert card["released"] == "" and card["released_verified"] is False


@pytest.mark.parametrize("args,words", [
    (["--config", "{copy}"], "--copy-of"),
    (["--config", "{copy}", "--copy-of", "x", "--released", "June 2026"], "YYYY-MM-DD"),
    (["--config", "{missing}", "--copy-of", "x"], "cannot read"),
])
def test_bad_input_is_one_line(tmp_path, args, words):
    copy = tmp_path / "config.json"
    copy.write_text(json.dumps(catalogue.card("qwen3-4b-instruct-2507")["config"]))
    args = [a.format(copy=copy, missing=tmp_path / "nope.json") for a in args]
    r = _run("Qwen/Qwen3-4B-Instruct-2507", *args)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and words in lines[0] and "Traceback" not in r.stderr
