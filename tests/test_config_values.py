"""Values read from a config.json are checked for type and range before any arithmetic
(issue 14's first finding): a string, a bool, a negative or an absurd number where a size
is expected gets one line naming the key and the value, and exit 2, in every command."""

from __future__ import annotations

import json

import pytest

from rigcheck.cli import main
from rigcheck.model.catalog import card

BAD = [
    ("hidden_size", "4096", "whole number"),
    ("num_key_value_heads", "2", "whole number"),
    ("num_attention_heads", -32, "out of range"),
    ("num_hidden_layers", 10**15, "out of range"),
    ("vocab_size", True, "whole number"),
    ("max_position_embeddings", "abc", "whole number"),
    ("rope_scaling", 5, "an object"),
    ("tie_word_embeddings", "yes", "true or false"),
]


def _config(tmp_path, key, value):
    cfg = dict(card("llama-3.1-8b-instruct").config)
    cfg[key] = value
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    return str(p)


@pytest.mark.parametrize("key,value,needle", BAD)
@pytest.mark.parametrize("argv", [["info"], ["memory", "--ctx", "4096", "--rig", "rtx-4090"], ["size"]])
def test_bad_config_value_is_one_line_exit_2(tmp_path, capsys, key, value, needle, argv):
    path = _config(tmp_path, key, value)
    rc = main([argv[0], path, *argv[1:]])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and f"'{key}'" in err and needle in err, err


def test_integral_float_and_zero_one_bools_are_read(tmp_path, capsys):
    """What HF configs really contain: 4096.0 for a size, 0/1 for a flag."""
    cfg = dict(card("llama-3.1-8b-instruct").config, hidden_size=4096.0, tie_word_embeddings=0)
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    assert main(["info", str(p), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_params"] > 7e9
