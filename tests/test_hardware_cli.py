"""`rigcheck rigs` and `rigcheck rig`: text and JSON through the real CLI entry point."""

import json
import os

from rigcheck.cli import main
from rigcheck.hardware import devices, links, tiers


def run_json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_rig_json_for_a_spec(capsys):
    out = run_json(capsys, "rig", "2x rtx-3090+64GB ddr4-3200", "--json")
    assert out["spec"] == "2x rtx-3090+64GB ddr4-3200" and out["source"] == "spec"
    node = out["nodes"][0]
    assert node["ram_bytes"] == 64 * 2**30 and node["ram_bandwidth_bytes_s"] == 51.2e9
    d = node["devices"][0]
    assert {k: d[k] for k in ("name", "kind", "memory_bytes", "bandwidth_bytes_s", "fp16_flops")} == {
        "name": "NVIDIA GeForce RTX 3090", "kind": "gpu", "memory_bytes": 24 * 2**30,
        "bandwidth_bytes_s": 936e9, "fp16_flops": 71e12}
    assert len(node["devices"]) == 2


def test_rig_json_for_this_machine(capsys):
    out = run_json(capsys, "rig", "--json")
    assert out["source"] == "detected"
    node = out["nodes"][0]
    assert node["devices"] == [] and node["cpu_only"]
    assert node["cpu_threads"] == len(os.sched_getaffinity(0))


def test_rig_text_labels_sizes(capsys):
    assert main(["rig", "m4-max-128"]) == 0
    text = capsys.readouterr().out
    assert "128.00 GiB" in text and "137.44 GB" in text and "546.0 GB/s" in text
    assert "iogpu.wired_limit_mb" in text


def test_rigs_json_lists_everything(capsys):
    out = run_json(capsys, "rigs", "--json")
    assert len(out["gpu"]) == len(devices("gpu")) and len(out["soc"]) == len(devices("soc"))
    assert len(out["cpu"]) == len(devices("cpu")) and len(out["link"]) == len(links())
    assert [t["id"] for t in out["tiers"]] == [t.id for t in tiers()]
    assert all(d["source"] and d["verified"] in "SDM" for d in out["gpu"])


def test_rigs_text_groups_by_kind(capsys):
    assert main(["rigs"]) == 0
    text = capsys.readouterr().out
    for title in ("GPUs (", "Unified-memory machines", "CPUs (", "Links (", "Tiers ("):
        assert title in text
    assert "rtx-pro-6000" in text and "tier-128gb-unified" in text


def test_help_has_examples(capsys):
    for cmd in ("rig", "rigs"):
        try:
            main([cmd, "--help"])
        except SystemExit as e:
            assert e.code == 0
        assert "Examples:" in capsys.readouterr().out
