"""The CLI agrees with itself: one context default, --rig defaulting to this machine,
one memory-size parser (--ram 64GB is the +64GB of a rig spec), one runtime registry."""

from __future__ import annotations

import json

from rigcheck import units
from rigcheck.cli import main
from rigcheck.hardware.spec import parse_rig
from rigcheck.memory.kv import DEFAULT_CTX


def _json(capsys, *argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_one_memory_size_parser():
    assert units.parse_memory("64GB") == units.parse_memory("+64GB") == 64 * 2**30
    assert parse_rig("rtx-4090+64GB").node.ram_bytes == units.parse_memory("64GB")
    assert units.parse_memory("1.5TB") == int(1.5 * 2**40) and units.parse_memory("96GiB") == 96 * 2**30


def test_ram_flag_means_what_the_spec_means(capsys):
    # a build too big for the card, so the host pool (and its capacity) shows
    a = _json(capsys, "memory", "qwen3-30b-a3b", "--build", "Q8_0", "--ctx", "8192", "--vram", "24GB", "--ram", "64GB")
    b = _json(capsys, "memory", "qwen3-30b-a3b", "--build", "Q8_0", "--ctx", "8192", "--rig", "rtx-4090+64GB")
    ram_a = [u["capacity_bytes"] for u in a["placement"] if u["kind"] == "ram"]
    ram_b = [u["capacity_bytes"] for u in b["placement"] if u["kind"] == "ram"]
    assert ram_a and ram_a == ram_b


def test_one_context_default(capsys):
    m = _json(capsys, "memory", "qwen3-8b", "--build", "Q4_K_M", "--rig", "rtx-4090")
    e = _json(capsys, "estimate", "qwen3-8b", "--build", "Q4_K_M", "--rig", "rtx-4090")
    c = _json(capsys, "check", "qwen3-8b", "--rig", "rtx-4090")
    assert m["ctx"] == e["ctx"] == c["ctx"] == DEFAULT_CTX
    small = _json(capsys, "estimate", "gemma-3-1b-it", "--build", "Q4_K_M", "--rig", "rtx-4090")
    assert small["ctx"] == 32768 and _json(capsys, "memory", "llama-2-7b-hf", "--build", "Q4_K_M",
                                           "--rig", "rtx-4090")["ctx"] == 4096     # its trained maximum


def test_memory_defaults_to_this_machine(capsys):
    d = _json(capsys, "memory", "gemma-3-270m", "--build", "Q4_K_M", "--ctx", "2048")
    assert any(u["capacity_bytes"] for u in d["placement"])     # sized against this machine's RAM
