"""macOS GPU wired limit (research/runtime-memory.md §5.4)."""

from rigcheck.hardware import raise_command, wired_limit_default, wired_limit_from_sysctl

GiB, MiB = 2**30, 2**20


def test_macos_13_to_15_fractions():
    assert wired_limit_default(16 * GiB) == int(16 * GiB * 2 / 3)
    assert abs(wired_limit_default(16 * GiB) / MiB - 10922.67) < 0.01   # as measured in public logs
    assert abs(wired_limit_default(32 * GiB) / GiB - 21.33) < 0.01
    for ram, want in ((36, 27), (48, 36), (64, 48), (96, 72), (128, 96)):
        assert wired_limit_default(ram * GiB, macos_major=15) == want * GiB


def test_macos_26_is_larger_and_matches_measured_points():
    for ram, want in ((32, 24.96), (36, 28.08), (64, 51.84), (128, 107.52)):
        got = wired_limit_default(ram * GiB, macos_major=26) / GiB
        assert abs(got - want) < 0.01, ram
    mid = wired_limit_default(96 * GiB, macos_major=26)
    assert wired_limit_default(96 * GiB, macos_major=15) < mid < 96 * GiB


def test_sysctl_value_overrides_and_zero_means_default():
    assert wired_limit_from_sysctl(26000, 32 * GiB) == 26000 * MiB
    assert wired_limit_from_sysctl(0, 64 * GiB) == 48 * GiB
    assert wired_limit_from_sysctl(10**9, 64 * GiB) == 64 * GiB   # never more than RAM
    assert raise_command(128 * GiB) == "sudo sysctl iogpu.wired_limit_mb=122880"
