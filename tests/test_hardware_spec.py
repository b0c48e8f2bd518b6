"""The rig spec language: parse, canonical print, round trip, defaults said, and bad specs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rigcheck.report.notes import text

from rigcheck.cli import main
from rigcheck.errors import InputError
from rigcheck.hardware import format_rig, get_tier, parse_rig, tiers

GiB = 2**30

SPECS = [
    "rtx-5090+128GB", "2x rtx-3090+64GB ddr4-3200", "m4-max-128", "strix-halo-128", "dgx-spark",
    "rtx-pro-6000", "2 nodes x 8x h200 ib-400g", "m2-max-64 cpu-only", "2x xeon-gold-6138+768GB ddr4-2666",
    "rtx-4090+ryzen-9-7950x+96GB ddr5-6000", "4x rtx-3090+256GB ddr4-3200x8 nvlink-3090",
    "2 nodes x m3-ultra-512 tb5", "64GB ddr5-5600", "epyc-9654+1.5TB ddr5-4800x12",
]


@pytest.mark.parametrize("spec", SPECS + [s for t in tiers() for s in t.rigs])
def test_round_trip(spec):
    rig = parse_rig(spec)
    text = format_rig(rig)
    assert text == rig.spec
    again = parse_rig(text)
    assert again == rig
    assert format_rig(again) == text


def test_canonical_form_tidies_spelling():
    assert parse_rig("2X  RTX 3090 + 64gb  DDR4-3200").spec == "2x rtx-3090+64GB ddr4-3200"
    assert parse_rig("2 x rtx-3090+64GB").spec == "2x rtx-3090+64GB"


def test_gpu_rig_facts():
    node = parse_rig("2x rtx-3090+64GB ddr4-3200").node
    assert [d.id for d in node.gpus] == ["rtx-3090", "rtx-3090"]
    assert node.vram_bytes == 48 * GiB and node.ram_bytes == 64 * GiB
    assert node.ram_bandwidth_bytes_s == 2 * 8 * 3200e6
    assert not node.unified and node.gpu_budget_bytes is None


def test_gpu_rig_without_ram_gets_a_default_and_says_so():
    rig = parse_rig("rtx-pro-6000")
    assert rig.node.ram_assumed and rig.node.ram_bytes == 192 * GiB
    assert any("RAM not given" in text(n) for n in rig.notes)
    assert any("memory type not given" in text(n) for n in rig.notes)
    assert parse_rig("rtx-4090").node.ram_bytes == 64 * GiB


def test_unified_rigs_use_the_gpu_budget():
    mac = parse_rig("m4-max-128").node
    assert mac.ram_bytes == 128 * GiB and mac.gpu_budget_bytes == 96 * GiB and mac.os == "macos"
    assert mac.gpu_memory_bytes == 96 * GiB
    assert parse_rig("strix-halo-128").node.gpu_memory_bytes == 96 * GiB
    assert parse_rig("dgx-spark").node.ram_bandwidth_bytes_s == 273e9


def test_cpu_only_forms():
    mac = parse_rig("m2-max-64 cpu-only").node
    assert mac.cpu_only and mac.gpus == () and mac.gpu_memory_bytes == 0 and mac.cpu.id == "m2-max-64"
    srv = parse_rig("2x xeon-gold-6138+768GB ddr4-2666").node
    assert srv.cpu_only and srv.sockets == 2 and srv.ram_bytes == 768 * GiB
    assert srv.ram_bandwidth_bytes_s == 12 * 8 * 2666e6  # 6 channels per socket x 2 sockets


def test_multi_node():
    rig = parse_rig("2 nodes x 8x h200 ib-400g")
    assert len(rig.nodes) == 2 and len(rig.node.gpus) == 8 and rig.link.id == "ib-400g"
    assert parse_rig("tier-128gb-unified").spec == "m4-max-128"
    assert parse_rig("tier-128gb-unified").source == "catalogue"


@pytest.mark.parametrize("spec,words", [
    ("rtx-9090", ["unknown device 'rtx-9090'", "rtx-5090"]),
    ("2x", ["'2x' needs a device"]),
    ("m4-max-12", ["unknown device 'm4-max-12'", "m4-max-128"]),
    ("", ["empty rig spec"]),
    ("m4-max-128+64GB", ["memory built in"]),
    ("2x m4-max-128", ["one unified-memory chip per node", "2 nodes x m4-max-128"]),
    ("rtx-4090 ib-400g", ["joins nodes"]),
    ("rtx-4090+64GB+32GB", ["RAM is given twice"]),
    ("2000x rtx-4090", ["count must be"]),
])
def test_bad_specs_raise_one_line(spec, words):
    with pytest.raises(InputError) as e:
        parse_rig(spec)
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


@pytest.mark.parametrize("spec,hint", [("rtx-9090", "rtx-5090"), ("2x", "2x rtx-3090"), ("m4-max-12", "m4-max-128")])
def test_bad_specs_through_the_cli_exit_2_with_one_line(spec, hint, capsys):
    assert main(["rig", spec]) == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rigcheck: error:") and hint in lines[0]
    assert out.out == ""


def test_bad_spec_in_a_real_process_exits_2():
    p = subprocess.run([sys.executable, "-m", "rigcheck", "rig", "rtx-9090"], capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "did you mean" in p.stderr and "Traceback" not in p.stderr


def test_tier_presets():
    ids = [t.id for t in tiers()]
    assert ids == ["tier-32gb-mini-pc", "tier-gaming-gpu", "tier-96gb-workstation", "tier-128gb-unified",
                   "tier-192gb-mac-studio"]
    t = get_tier("128gb-unified")
    assert t.rigs[0] == "m4-max-128" and t.article_verdict == "The true borderline"
    ws = parse_rig(get_tier("tier-96gb-workstation").rigs[0]).node
    assert ws.vram_bytes == 96 * GiB
    for spec in get_tier("tier-96gb-workstation").rigs:
        assert parse_rig(spec).node.vram_bytes == 96 * GiB, spec
    for spec in get_tier("tier-192gb-mac-studio").rigs[:2]:
        assert 192 * GiB <= parse_rig(spec).node.ram_bytes <= 256 * GiB
    assert parse_rig(get_tier("tier-32gb-mini-pc").rigs[0]).node.ram_bytes == 32 * GiB
