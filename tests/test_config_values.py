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
    ("model_type", [[["llama"]]], "must be a string"),     # bench/fuzz.py, seed 7: was 'internal error'
    ("model_type", 5, "must be a string"),
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


# values that passed the type check but not sense (issue 14, second round): each names the key
CROSS = [
    ("qwen3-30b-a3b", {"num_experts_per_tok": 0}, "num_experts_per_tok"),
    ("qwen3-30b-a3b", {"num_experts_per_tok": 500}, "num_experts_per_tok"),
    ("qwen3-30b-a3b", {"num_experts": 1}, "num_experts_per_tok"),
    ("qwen3-30b-a3b", {"mlp_only_layers": ["a", -5]}, "mlp_only_layers"),
    ("qwen3-30b-a3b", {"decoder_sparse_step": 0}, "decoder_sparse_step"),
    ("llama-3.1-8b-instruct", {"head_dim": 0}, "head_dim"),
    ("llama-3.1-8b-instruct", {"max_position_embeddings": 0}, "max_position_embeddings"),
    ("llama-3.1-8b-instruct", {"rope_scaling": {"factor": "abc", "rope_type": "llama3"}}, "rope_scaling.factor"),
    ("llama-3.1-8b-instruct", {"rope_scaling": {"factor": -8.0, "rope_type": "llama3"}}, "rope_scaling.factor"),
    ("llama-3.1-8b-instruct", {"num_attention_heads": 32, "num_key_value_heads": 7}, "num_key_value_heads"),
    ("llama-3.1-8b-instruct", {"num_attention_heads": 30}, "num_attention_heads"),
    ("gpt-oss-20b", {"layer_types": [5, None]}, "layer_types"),
    ("gpt-oss-20b", {"sliding_window": 0}, "sliding window"),
    ("gpt-oss-20b", {"sliding_window": 10**6}, "sliding window"),
    ("deepseek-v4-flash", {"num_hash_layers": 10**6}, "num_hash_layers"),
]


@pytest.mark.parametrize("card_id,changes,needle", CROSS, ids=[f"{c[0]}-{next(iter(c[1]))}" for c in CROSS])
def test_values_against_each_other_are_one_line_exit_2(tmp_path, capsys, card_id, changes, needle):
    cfg = dict(card(card_id).config, **changes)
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    for argv in (["info", str(p)], ["memory", str(p), "--rig", "rtx-4090", "--build", "Q4_K_M"]):
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 2, err
        assert err.count("\n") == 1 and needle in err and "internal error" not in err, err


@pytest.mark.parametrize("card_id,value", [("qwen3.5-27b", 10**6), ("qwen3.5-35b-a3b", 41)])
def test_mtp_blocks_within_the_layers(tmp_path, capsys, card_id, value):
    """Found by bench/fuzz.py on a quiet machine: a million MTP blocks in a Qwen3.5 config took
    40 s and 2.4 GB in check; MTP blocks are counted within the layers, like every layer count."""
    cfg = json.loads(json.dumps(card(card_id).config))
    inner = cfg.get("text_config", cfg)
    inner["mtp_num_hidden_layers"] = value
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    assert main(["check", str(p), "--rig", "rtx-4090+64GB"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mtp_num_hidden_layers" in err


@pytest.mark.parametrize("card_id,changes", [
    ("qwen3-30b-a3b", {"decoder_sparse_step": 3, "intermediate_size": 6144}),
    ("qwen3-30b-a3b", {"mlp_only_layers": [1, 5, 6], "intermediate_size": 6144}),
    ("deepseek-v3", {"moe_layer_freq": 2}),
])
def test_interleaved_dense_layers_are_sized_and_checked(tmp_path, capsys, card_id, changes):
    """bench/fuzz.py (seed 7) found a Qwen3 MoE config with decoder_sparse_step 3 ending in
    'internal error: KeyError: blk.2.ffn_up.weight': the compute graph took the dense-layer count
    for DeepSeek's leading dense layers. Each layer is now sparse where its router is."""
    cfg = json.loads(json.dumps(card(card_id).config))
    cfg.update(changes)
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    assert main(["info", str(p), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    n = cfg["num_hidden_layers"]
    if "decoder_sparse_step" in changes:
        dense = sum(1 for i in range(n) if (i + 1) % changes["decoder_sparse_step"])
    elif "mlp_only_layers" in changes:
        dense = len(changes["mlp_only_layers"])
    else:
        k = cfg.get("first_k_dense_replace", 0)
        dense = sum(1 for i in range(n) if i < k or i % changes["moe_layer_freq"])
    assert info["moe"]["n_dense_layers"] == dense
    # llama.cpp's placement builds the compute graph (the crash was there)
    assert main(["memory", str(p), "--build", "Q4_K_M", "--ctx", "8192", "--rig", "rtx-4090+512GB",
                 "--json"]) == 0, capsys.readouterr().err
    mem = json.loads(capsys.readouterr().out)
    assert "compute" in json.dumps(mem)
    assert main(["check", str(p), "--rig", "rtx-4090+512GB"]) == 0, capsys.readouterr().err
