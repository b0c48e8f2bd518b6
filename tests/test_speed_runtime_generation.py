"""A runtime's engine generations (Runtime.speed_generation): Ollama's CGO runners up to 0.29,
llama-server since ollama#16031 (v0.30.0, 2026-05-29). The speed fit keeps the old engine's
per-token costs apart (speed.runtime_key), so today's estimates are for today's engine."""

from __future__ import annotations

import pytest

from rigcheck import runtimes
from rigcheck.plan.speed import runtime_key


@pytest.mark.parametrize("date, version, want", [
    ("2025-08-05", "Ollama 0.11.2", "cgo"),
    ("2026-07-01", "0.29.1", "cgo"),        # the version decides over the date
    ("2025-01-01", "v0.30.2", ""),
    ("2026-07-01", "", ""),                 # after the switch, no version: llama-server
    ("2026-05-28", "", "cgo"),
    ("", "", ""),                           # an estimate: today's engine
])
def test_ollama_generation(date, version, want):
    gen = runtimes.get("ollama").speed_generation
    assert gen(date, version) == want
    assert runtime_key("ollama", want) == ("ollama:cgo" if want else "ollama")


def test_the_fit_keeps_the_old_engine_apart():
    from rigcheck.plan.check.data import speed_calibration
    cal = speed_calibration()
    assert "ollama:cgo" in cal.fixed_rt or "ollama:cgo" in cal.runtime
    assert runtimes.get("llama.cpp").speed_generation is None
