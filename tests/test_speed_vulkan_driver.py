"""The Vulkan driver of a run (speed.vulkan_driver) and its decode factor (Calibration.eff_driver)."""

from __future__ import annotations

import random

import pytest

from rigcheck.plan.speed import Calibration, PoolRead, calibrate, decode_seconds, vulkan_driver

GB = 1e9


@pytest.mark.parametrize("backend, family, text, want", [
    ("vulkan", "intel", "b9739 Vulkan; Ubuntu 26.04 LTS, Mesa 26.0.3 ANV", "intel:mesa"),
    ("vulkan", "intel", "Linux 6.17, xe driver", "intel:mesa"),          # Linux: ANV is Intel's only Vulkan driver
    ("vulkan", "intel", "Windows, Intel driver 8250", "intel:vendor"),
    ("vulkan", "intel", "b7189 Vulkan", ""),                             # the run does not say
    ("vulkan", "intel", "Mesa on Linux vs Windows", ""),                 # both named: not told
    ("sycl", "intel", "Ubuntu 24.04", ""),                               # not a Vulkan run
    ("vulkan", "nvidia", "Linux, Mesa", ""),                             # a family without the factor
    ("vulkan", "intel", "anvil-llm wrapper; windowsill", ""),            # words, not substrings
])
def test_vulkan_driver_of_a_run(backend, family, text, want):
    assert vulkan_driver(backend, family, text) == want


def test_driver_factor_scales_only_the_accelerators_read():
    pools = [PoolRead(10 * GB, 500 * GB, "gpu", "intel", "arc-pro-b70"), PoolRead(2 * GB, 80 * GB, "ram", "host")]
    cal = Calibration(eff={("intel", "gpu"): 0.5, ("host", "ram"): 0.4}, fixed_s={"intel": 0.004},
                      eff_driver={"intel:mesa": 0.5}, hybrid_s=0.0)
    base = decode_seconds(pools, "llama.cpp", calib=cal, backend="vulkan")
    slow = decode_seconds(pools, "llama.cpp", calib=cal, backend="vulkan", driver="intel:mesa")
    gpu_read = 10 * GB / (500 * GB * 0.5)
    assert slow - base == pytest.approx(gpu_read)            # the GPU read takes twice as long, RAM unchanged
    assert decode_seconds(pools, "llama.cpp", calib=cal, backend="vulkan", driver="intel:vendor") == base


def test_fit_finds_a_driver_factor_the_data_hold():
    """Samples made by the model with a Mesa factor of 0.6 on one family's Vulkan runs: the fit
    moves the factor from 1 toward 0.6 and leaves the runs that name no driver alone."""
    truth = Calibration(eff={("intel", "gpu"): 0.7}, fixed_s={"intel": 0.004}, eff_driver={"intel:mesa": 0.6})
    rng = random.Random(3)
    samples = []
    for i in range(120):
        b = rng.uniform(2, 25) * GB
        drv = ("intel:mesa", "intel:vendor", "")[i % 3]
        pools = [PoolRead(b, rng.choice([456, 560, 608]) * GB, "gpu", "intel", f"dev{i % 4}")]
        t = decode_seconds(pools, "llama.cpp", calib=truth, backend="vulkan", driver=drv)
        samples.append(calibrate.Sample(pools, "llama.cpp", "mature", "single", "pcie", 1 / t, source=f"s{i % 12}",
                                        device=f"dev{i % 4}", backend="vulkan", driver=drv))
    got = calibrate.fit_decode(samples)
    ratio = got.eff_driver["intel:mesa"] / got.eff_driver["intel:vendor"]
    assert ratio == pytest.approx(0.6, rel=0.15)
    assert ratio < 0.8


def _mid(argv, capsys):
    import json
    from rigcheck.cli import main
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_os_names_the_intel_vulkan_driver_for_estimate_and_check(capsys):
    """`--os linux` on an Intel GPU through Vulkan is Mesa's ANV: the estimate takes the fitted
    Mesa factor (slower, a note says so); `--os windows` Intel's own; no OS, the unknown-driver
    average; a CUDA card is not moved by it. check passes it too."""
    from rigcheck.plan.check.data import speed_calibration
    cal = speed_calibration()
    mesa, vendor = cal.eff_driver["intel:mesa"], cal.eff_driver.get("intel:vendor", 1.0)
    assert mesa < vendor
    base = ["estimate", "qwen3-8b", "--build", "Q4_K_M", "--rig", "arc-b580", "--backend", "vulkan"]
    lin, win, none = (_mid(base + o, capsys) for o in (["--os", "linux"], ["--os", "windows"], []))
    assert lin["decode_tok_s"]["mid"] < none["decode_tok_s"]["mid"] and lin["decode_tok_s"]["mid"] < win["decode_tok_s"]["mid"]
    assert any(n["code"] == "vulkan_driver" and "Mesa's driver" in n["text"] for n in lin["notes"])
    assert not any(n["code"] == "vulkan_driver" for n in none["notes"])
    cuda = ["estimate", "qwen3-8b", "--build", "Q4_K_M", "--rig", "rtx-4090"]
    assert _mid(cuda + ["--os", "linux"], capsys)["decode_tok_s"] == _mid(cuda, capsys)["decode_tok_s"]
    chk = ["check", "qwen3-8b", "--rig", "arc-b580", "--backend", "vulkan", "--build", "Q4_K_M"]
    c_lin, c_win = (_mid(chk + ["--os", o], capsys) for o in ("linux", "windows"))
    speed = lambda d: d["builds"][0]["decode_tok_s"]["mid"]  # noqa: E731
    assert speed(c_lin) < speed(c_win)


def test_a_typo_in_os_is_one_line_and_exit_2(capsys):
    from rigcheck.cli import main
    with pytest.raises(SystemExit) as e:
        main(["estimate", "qwen3-8b", "--build", "Q4_K_M", "--rig", "arc-b580", "--os", "linx"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("rigcheck estimate: error: argument --os: unknown OS 'linx'; did you mean linux?")


@pytest.mark.parametrize("backend, family, text, want", [
    ("vulkan", "amd-soc", "b9187 Vulkan; toolbox/flags vulkan_amdvlk__fa1", "amd:vendor"),
    ("vulkan", "amd", "Vulkan RADV", "amd:mesa"),                 # a Radeon card and Strix Halo share the key
    ("vulkan", "amd-soc", "b6077 Vulkan; Ubuntu 24.04", "amd:mesa"),  # Linux without AMDVLK named: RADV
    ("vulkan", "intel", "Mesa 26.0.3 ANV", "intel:mesa"),
    ("rocm", "amd", "amdvlk", ""),                                 # not a Vulkan run
    ("vulkan", "nvidia", "Linux, Mesa", ""),                       # no prefill driver factor for NVIDIA
    ("vulkan", "amd", "b8123 Vulkan", ""),                         # not told
])
def test_prefill_driver_key(backend, family, text, want):
    from rigcheck.plan.speed import prefill_driver_key
    assert prefill_driver_key(backend, family, text) == want


def test_prefill_fit_finds_a_driver_factor_the_data_hold():
    """The real catalogue's prefill samples, their speeds replaced by the fitted model's with
    AMDVLK's prompt GEMMs at half of RADV's efficiency: the fit recovers that ratio."""
    import dataclasses
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
    import speed_accuracy as sa
    from rigcheck.plan.check.data import speed_calibration
    from rigcheck.plan.speed import prefill_seconds
    truth = dataclasses.replace(speed_calibration(), prefill_driver={"amd:vendor": 0.5, "amd:mesa": 1.0})
    samples = [s for s in sa.build_samples()[0] if calibrate._prefill_ok(s)]
    assert {s.prefill_case.driver for s in samples} >= {"amd:vendor", "amd:mesa"}
    made = [dataclasses.replace(s, prefill_tok_s=1.0 / prefill_seconds(s.prefill_case, truth)) for s in samples]
    got = calibrate.fit(made).prefill_driver
    assert got["amd:vendor"] / got["amd:mesa"] == pytest.approx(0.5, rel=0.15), got


def test_os_names_the_amd_vulkan_driver_of_a_prompt(capsys):
    """On an AMD GPU through Vulkan, --os windows is the vendor's driver and --os linux RADV: the
    prefill takes that driver's fitted factor and a note says so; decode is not moved (its driver
    factor is Intel's only)."""
    from rigcheck.plan.check.data import speed_calibration
    cal = speed_calibration()
    base = ["estimate", "qwen3-8b", "--build", "Q4_K_M", "--rig", "rx-9070-xt", "--backend", "vulkan"]
    out = {o: _mid(base + (["--os", o] if o else []), capsys) for o in ("linux", "windows", "")}
    for o, key in (("linux", "amd:mesa"), ("windows", "amd:vendor")):
        note = next(n for n in out[o]["notes"] if n["code"] == "prefill_vulkan_driver")
        assert note["values"]["factor"] == pytest.approx(cal.prefill_driver[key])
        assert out[o]["decode_tok_s"] == out[""]["decode_tok_s"]
    ratio = out["windows"]["prefill_tok_s"]["mid"] / out["linux"]["prefill_tok_s"]["mid"]
    want = cal.prefill_driver["amd:vendor"] / cal.prefill_driver["amd:mesa"]
    assert min(want, 1.0) - 1e-6 <= ratio <= max(want, 1.0) + 1e-6      # GEMMs scale by it, attention does not
    assert not any(n["code"] == "prefill_vulkan_driver" for n in out[""]["notes"])


def test_bf16_through_vulkan_takes_its_drivers_factor_only(capsys):
    """The F16/BF16 factor of Vulkan is fitted per driver (PrefillCase.float_key): AMDVLK's slow
    BF16 path applies with --os windows on AMD, not to a Vulkan run whose driver is unknown."""
    from rigcheck.plan.check.data import speed_calibration
    cal = speed_calibration()
    assert "vulkan/amd:vendor" in cal.prefill_float and "vulkan" not in cal.prefill_float
    base = ["estimate", "qwen3-8b", "--build", "BF16", "--rig", "rx-7900-xtx", "--backend", "vulkan"]
    win, lin, none = (_mid(base + o, capsys)["prefill_tok_s"]["mid"] for o in (["--os", "windows"], ["--os", "linux"], []))
    # the slow path is AMDVLK's on Windows only: not Linux's (RADV) nor an unknown driver's; how
    # RADV compares with an unnamed driver is the fit's (prefill_driver amd:mesa), not fixed here
    assert win < 0.5 * lin and win < 0.5 * none
