"""A non-editable install ('pip install .', the README's first command) ships every file the
package reads: each non-Python file under rigcheck/ matches a package-data pattern in
pyproject.toml (setuptools copies nothing else)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_bundled_file_is_package_data():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = conf["tool"]["setuptools"]["package-data"]["rigcheck"]
    pkg = ROOT / "rigcheck"
    files = [p.relative_to(pkg).as_posix() for p in pkg.rglob("*")
             if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    assert any(f.startswith("serve/static/") for f in files) and any(f.startswith("data/models/") for f in files)
    missed = [f for f in files if not any(fnmatch.fnmatch(f, pat) and f.count("/") == pat.count("/")
                                          for pat in patterns)]
    assert not missed, f"not in [tool.setuptools.package-data]: {missed}"
