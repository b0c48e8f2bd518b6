"""Structured notes: the library says a code and its values, report/notes.py says the words.

Walks every ``Note(...)`` call in the package: its code has a template, the keywords it
passes are exactly the template's parameters, and no template is left unused. Then a real
case through the CLI: JSON notes carry code, values (bytes as integers) and the same text
the terminal shows."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

from rigcheck.cli import main
from rigcheck.report.notes import TEMPLATES

PKG = Path(__file__).resolve().parents[1] / "rigcheck"


def _note_calls():
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Note":
                assert node.args and isinstance(node.args[0], ast.Constant), f"{path}:{node.lineno}: code not literal"
                yield path, node.lineno, node.args[0].value, {k.arg for k in node.keywords}


def test_every_note_call_matches_its_template():
    used = set()
    calls = list(_note_calls())
    assert len(calls) >= 15
    for path, line, code, kws in calls:
        assert code in TEMPLATES, f"{path.name}:{line}: no words for note code {code!r} in report/notes.py"
        params = set(inspect.signature(TEMPLATES[code]).parameters)
        assert kws == params, f"{path.name}:{line}: {code} passes {sorted(kws)}, its template takes {sorted(params)}"
        used.add(code)
    assert not set(TEMPLATES) - used, f"templates no code uses: {sorted(set(TEMPLATES) - used)}"


def test_json_notes_are_structured_and_say_what_the_text_says(capsys):
    # Q2_K of V4-Flash on a 128 GB Mac: does not fit the default GPU wire limit
    args = ["memory", "deepseek-v4-flash", "--build", "Q2_K", "--ctx", "32768", "--rig", "m4-max-128"]
    assert main(args + ["--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    wired = [n for n in notes if n["code"] == "wired_limit"]
    assert len(wired) == 1
    v = wired[0]["values"]
    assert isinstance(v["need_bytes"], int) and v["need_bytes"] > v["budget_bytes"] > 0
    assert "iogpu.wired_limit_mb=" in v["command"]
    assert main(args) == 0
    assert f"note: {wired[0]['text']}" in capsys.readouterr().out
