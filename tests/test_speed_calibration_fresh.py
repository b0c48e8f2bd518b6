"""rigcheck/data/speed_calibration.json is what `python bench/speed_accuracy.py
--write-calibration` fits from the bundled measurements today: a change to the data or
to the model that moves a constant makes this fail until the file is regenerated."""

from __future__ import annotations

import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))

import speed_accuracy  # noqa: E402

from rigcheck.plan.speed import calibrate  # noqa: E402
from rigcheck.plan.speed.estimate import calibration_to_json  # noqa: E402
from rigcheck.plan.speed import DEFAULT  # noqa: E402

FITTED = ("eff", "fixed_s", "hybrid_s", "hop_s", "tp_s", "runtime", "maturity", "prefill_eff", "prefill_runtime",
          "pcie_eff", "device_eff", "arch_eff", "fixed_rt", "legacy_fixed", "prefill_device",
          "fixed_backend", "prefill_backend", "prefill_vendor", "prefill_family", "prefill_float", "prefill_attn",
          "prefill_m0", "prefill_intensity", "eff_backend", "eff_driver")


def _close(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), f"{path}: keys {sorted(set(a) ^ set(b))}"
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12), f"{path}: fitted {a}, file {b}"
    else:
        assert a == b, f"{path}: fitted {a!r}, file {b!r}"


def test_calibration_file_is_fresh():
    samples, _ = speed_accuracy.build_samples()
    fitted = calibration_to_json(calibrate.fit(samples, DEFAULT))
    path = os.path.join(HERE, "..", "rigcheck", "data", "speed_calibration.json")
    with open(path, encoding="utf-8") as f:
        on_disk = json.load(f)
    for key in FITTED:
        _close(fitted[key], on_disk[key], key)
    assert on_disk["meta"]["rows"] == len(samples)
