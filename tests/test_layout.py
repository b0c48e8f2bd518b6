"""The layout keeps its promises: no import cycles (module-level and function-level
imports alike), and no architecture named by string outside rigcheck/model/families/
(its quirks live on its family module and in the architecture table there)."""

from __future__ import annotations

import ast
import os

import rigcheck
from rigcheck.model.families import archs

ROOT = os.path.dirname(os.path.abspath(rigcheck.__file__))


def _modules() -> dict[str, str]:
    out = {}
    for dp, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dp, f)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                out[rel[:-9] if rel.endswith(".__init__") else rel] = path
    return out


def _imports(mod: str, path: str, mods: dict[str, str]) -> set[str]:
    pkg = mod if path.endswith("__init__.py") else mod.rsplit(".", 1)[0]
    deps = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = pkg
            for _ in range(max(0, node.level - 1)):
                base = base.rsplit(".", 1)[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            names = [target] + [f"{target}.{a.name}" for a in node.names]
        for n in names:
            while n and n not in mods and "." in n:
                n = n.rsplit(".", 1)[0]
            # a package's own children import it (the registry pattern): not a cycle
            if n in mods and n != mod and not mod.startswith(n + "."):
                deps.add(n)
    return deps


def test_no_import_cycles():
    mods = _modules()
    graph = {m: _imports(m, p, mods) for m, p in mods.items()}
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def _string_constants(path: str):
    tree = ast.parse(open(path, encoding="utf-8").read())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_architecture_named_outside_the_families():
    families = os.path.join(ROOT, "model", "families")
    names = set(archs.names())
    found = []
    for _, path in _modules().items():
        if path.startswith(families + os.sep):
            continue
        for line, text in _string_constants(path):
            if text.strip().lower() in names:
                found.append(f"{os.path.relpath(path, ROOT)}:{line} {text!r}")
    assert not found, "architecture names outside model/families: " + "; ".join(found)


def test_the_check_finds_a_planted_name(tmp_path):
    """The scan above sees an architecture string in code (and not in a docstring)."""
    p = tmp_path / "m.py"
    p.write_text('"""mentions deepseek4 in prose"""\nX = "deepseek4"\n')
    assert [t for _, t in _string_constants(str(p))] == ["deepseek4"]


def test_only_the_catalogue_reads_the_bundled_data():
    """rigcheck/catalogue.py is the one reader of rigcheck/data/: no other module names
    the data folder in a string, nor opens a bundled data file."""
    found = []
    data_files = {f for f in os.listdir(os.path.join(ROOT, "data")) if not f.startswith(".")}
    for _, path in _modules().items():
        if path.endswith(os.sep + "catalogue.py"):
            continue
        for line, text in _string_constants(path):
            if text in data_files - {"models"}:
                found.append(f"{os.path.relpath(path, ROOT)}:{line} {text!r}")
        if "resources.files(" in open(path, encoding="utf-8").read():
            found.append(f"{os.path.relpath(path, ROOT)}: importlib.resources.files")
    assert not found, "bundled data read outside rigcheck/catalogue.py: " + "; ".join(found)


def test_catalogue_rows_carry_source_and_date():
    from rigcheck import catalogue
    for name, schema in catalogue.SCHEMAS.items():
        rows = catalogue.rows(name)
        assert rows and all(r[schema.source].strip() and r[schema.date].strip() for r in rows), name
    assert all(catalogue.card(i)["source"] for i in catalogue.card_ids())


def test_catalogue_refuses_a_row_without_its_source():
    import pytest
    from rigcheck import catalogue
    from rigcheck.errors import FormatError
    schema = catalogue.SCHEMAS["ram_prices.csv"]
    good = {c: "1" for c in schema.required} | {"source": "https://example.org", "checked": "2026-12-01"}
    catalogue.check_rows("ram_prices.csv", [good], schema)
    with pytest.raises(FormatError, match="line 3: 'source' is empty"):
        catalogue.check_rows("ram_prices.csv", [good, dict(good, source=" ")], schema)
