"""The nemotron_h family (Nemotron-H / Nemotron 3: Mamba-2 + attention + MoE or MLP layers)
against the real llama.cpp (llama-cpp-python 0.3.36).

A small config of each shape is built into the family's tensor inventory and written as a
GGUF with the ``gguf`` package, with the hyperparameters llama.cpp's converter writes
(conversion/nemotron.py NemotronHModel + granite.py GraniteHybridModel: per-layer KV-head and
feed-forward arrays, the ssm.* keys, the expert keys). llama.cpp's loader
(src/models/nemotron-h.cpp) refuses a missing, misshapen or unused tensor, so a load that
succeeds means the inventory is the one it expects; the KV cache (attention layers only) and
the recurrent state (Mamba-2 layers) it allocates are compared with rigcheck's llama.cpp
cache model for the same Model. The Nemotron 3 Nano card is checked against NVIDIA's stated
31.6B total parameters.
"""

from __future__ import annotations

import pytest

import llamacpp_probe
import synth
from rigcheck.errors import InputError
from rigcheck.model import catalog
from rigcheck.model.families import build_model
from rigcheck.model.model import AttnKind



def _config(pattern: str, moe: bool = True) -> dict:
    c = {"architectures": ["NemotronHForCausalLM"], "model_type": "nemotron_h", "hidden_size": 256,
         "num_hidden_layers": len(pattern), "hybrid_override_pattern": pattern, "vocab_size": 512,
         "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 32, "mamba_num_heads": 8,
         "mamba_head_dim": 32, "ssm_state_size": 16, "n_groups": 2, "conv_kernel": 4, "use_conv_bias": True,
         "layer_norm_epsilon": 1e-5, "max_position_embeddings": 4096, "tie_word_embeddings": False,
         "intermediate_size": 384}
    if moe:
        c.update(n_routed_experts=8, num_experts_per_tok=2, moe_intermediate_size=128,
                 moe_shared_expert_intermediate_size=256, n_shared_experts=1, n_group=1,
                 norm_topk_prob=True, routed_scaling_factor=2.5)
    return c


def _write(path, model, c: dict) -> None:
    """As conversion/nemotron.py (and its parent GraniteHybridModel) writes the file."""
    kinds = c["hybrid_override_pattern"]
    moe = "n_routed_experts" in c
    w = synth._W(path, model.arch, "F16", seed=5)
    g = w.w
    L = len(kinds)
    d_inner = c["mamba_num_heads"] * c["mamba_head_dim"]
    w.attention(n_ctx=c["max_position_embeddings"], n_embd=c["hidden_size"], n_layer=L,
                n_head=c["num_attention_heads"], n_head_kv=[c["num_key_value_heads"] if k == "*" else 0 for k in kinds],
                head_dim=c["head_dim"])
    ffn_kind = "E" if moe else "-"
    ff = c["moe_intermediate_size"] if moe else c["intermediate_size"]
    g.add_feed_forward_length([ff if k == ffn_kind else 0 for k in kinds])
    g.add_ssm_conv_kernel(c["conv_kernel"])
    g.add_ssm_inner_size(d_inner)
    g.add_ssm_state_size(c["ssm_state_size"])
    g.add_ssm_time_step_rank(c["mamba_num_heads"])
    g.add_ssm_group_count(c["n_groups"])
    g.add_layer_norm_eps(c["layer_norm_epsilon"])
    g.add_layer_norm_rms_eps(c["layer_norm_epsilon"])
    g.add_vocab_size(c["vocab_size"])
    if moe:
        g.add_expert_count(c["n_routed_experts"])
        g.add_expert_used_count(c["num_experts_per_tok"])
        g.add_expert_feed_forward_length(c["moe_intermediate_size"])
        g.add_expert_shared_feed_forward_length(c["moe_shared_expert_intermediate_size"])
        g.add_expert_shared_count(c["n_shared_experts"])
        g.add_expert_weights_norm(c["norm_topk_prob"])
        g.add_expert_weights_scale(c["routed_scaling_factor"])
        g.add_expert_group_count(c["n_group"])
    w.vocab(c["vocab_size"])
    w.tensors(model.tensors, f32=lambda t: t.name.split(".")[-1] in ("ssm_a", "ssm_d") or "ssm_conv1d" in t.name
              or t.name.endswith(("ffn_gate_inp.weight", "ssm_a", "ssm_d")))
    w.close()


CASES = {
    "MoE (Nano's shape)": (_config("MEME*EMEM*E"), "nemotron_h_moe"),
    "dense MLP (Nemotron-H)": (_config("M-M*-M-*M-", moe=False), "nemotron_h"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_llamacpp_loads_the_inventory_and_sizes_the_cache_alike(case, tmp_path):
    config, arch = CASES[case]
    model = build_model(config, "synthetic")
    assert model.arch == arch
    path = str(tmp_path / "m.gguf")
    _write(path, model, config)
    r = llamacpp_probe.cache_alike(model, path)
    got = r["llamacpp"]
    assert got["kv"] > 0 and got["rs"] > 0
    assert abs(got["kv"] - r["kv"]) <= r["tol"], f"{case}: llama.cpp KV {got['kv']:.3f} MiB, rigcheck {r['kv']:.3f} MiB"
    assert abs(got["rs"] - r["rs"]) <= r["tol"], f"{case}: llama.cpp RS {got['rs']:.3f} MiB, rigcheck {r['rs']:.3f} MiB"


def test_layers_follow_the_pattern():
    m = build_model(_config("MEME*EMEM*E"), "x")
    kinds = [la.kind for la in m.layers]
    assert kinds == [AttnKind.LINEAR, AttnKind.NONE, AttnKind.LINEAR, AttnKind.NONE, AttnKind.FULL, AttnKind.NONE,
                     AttnKind.LINEAR, AttnKind.NONE, AttnKind.LINEAR, AttnKind.FULL, AttnKind.NONE]
    same = build_model(dict(_config("MEME*EMEM*E"), hybrid_override_pattern=None,
                            layers_block_type=["mamba", "moe", "mamba", "moe", "attention", "moe", "mamba", "moe",
                                               "mamba", "attention", "moe"]), "x")
    assert same.tensors == m.tensors and same.layers == m.layers


@pytest.mark.parametrize("change,words", [
    ({"hybrid_override_pattern": "MEX*"}, "'X'"),
    ({"hybrid_override_pattern": "ME*"}, "lists 3 layers"),
    ({"num_nextn_predict_layers": 1}, "MTP"),
    ({"hybrid_override_pattern": None}, "neither"),
])
def test_a_config_it_cannot_size_is_one_clear_error(change, words):
    with pytest.raises(InputError) as e:
        build_model(dict(_config("MEME*EMEM*E"), **change), "x")
    assert words in str(e.value)


def test_nemotron_3_nano_card_counts_the_stated_parameters():
    """NVIDIA's model card states 31.6B total parameters for NVIDIA-Nemotron-3-Nano-30B-A3B
    (and '3.2B active, 3.6B including embeddings'); the card's stated counts record it."""
    card = catalog.card("nemotron-3-nano-30b-a3b")
    m = catalog.model_of(card)
    assert m.arch == "nemotron_h_moe"
    assert round(m.total_params / 1e9, 1) == 31.6
    assert round(m.active_params() / 1e9, 1) == 3.2
    assert sum(1 for la in m.layers if la.kind == AttnKind.FULL) == 6
    assert sum(1 for la in m.layers if la.kind == AttnKind.LINEAR) == 23
