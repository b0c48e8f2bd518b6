"""The mistral3 family (Mistral 3 wrapper: Ministral 3, Devstral Small 2; llama.cpp arch
'mistral3') against the real llama.cpp (llama-cpp-python 0.3.36).

A small config of the Devstral Small 2 shape (a ``Mistral3ForConditionalGeneration`` whose
``text_config`` is 'ministral3', head_dim not hidden / heads, YaRN rope with the Llama 4
attention temperature) is built into the family's tensor inventory and written as a GGUF
with the ``gguf`` package and the hyperparameters llama.cpp's converter writes for it
(conversion/mistral3.py Ministral3Model over conversion/llama.py LlamaModel: key/value
lengths, rope dimension, the yarn keys, the yarn log multiplier and the attention
temperature scale). llama.cpp's loader (src/models/mistral3.cpp) refuses a missing, misshapen
or unused tensor, and refuses a temperature scale without an original context, so a load
that succeeds means the inventory is the one it expects; the KV cache it allocates is
compared with rigcheck's llama.cpp cache model for the same Model. The Devstral Small 2
card is checked against the text parameters its text-only FP8 republication states.
"""

from __future__ import annotations

import pytest

import llamacpp_probe
import synth
from rigcheck.model import catalog
from rigcheck.model.families import build_model, model_type_of
from rigcheck.model.model import AttnKind


def _config(tied: bool = False, wrapped: bool = True) -> dict:
    text = {"model_type": "ministral3", "hidden_size": 320, "num_hidden_layers": 4, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 64, "intermediate_size": 672, "vocab_size": 512,
            "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "sliding_window": None,
            "rope_parameters": {"rope_type": "yarn", "type": "yarn", "factor": 4.0, "beta_fast": 32.0,
                                "beta_slow": 1.0, "mscale": 1.0, "mscale_all_dim": 1.0,
                                "original_max_position_embeddings": 1024, "llama_4_scaling_beta": 0.1,
                                "rope_theta": 100000000.0}}
    if not wrapped:
        return dict(text, architectures=["Ministral3ForCausalLM"], tie_word_embeddings=tied)
    return {"architectures": ["Mistral3ForConditionalGeneration"], "model_type": "mistral3",
            "tie_word_embeddings": tied, "text_config": text,
            "vision_config": {"model_type": "pixtral", "hidden_size": 64, "num_hidden_layers": 1}}


def _write(path, model, config: dict) -> None:
    """As conversion/mistral3.py (Ministral3Model, a LlamaModel) writes the text model."""
    import gguf
    c = config.get("text_config", config)
    rope = c["rope_parameters"]
    w = synth._W(path, "mistral3", "F16", seed=13)
    g = w.w
    w.attention(n_ctx=c["max_position_embeddings"], n_embd=c["hidden_size"], n_layer=c["num_hidden_layers"],
                n_ff=c["intermediate_size"], n_head=c["num_attention_heads"], n_head_kv=c["num_key_value_heads"],
                head_dim=c["head_dim"])
    g.add_layer_norm_rms_eps(c["rms_norm_eps"])
    g.add_rope_freq_base(rope["rope_theta"])
    g.add_rope_scaling_type(gguf.RopeScalingType.YARN)
    g.add_rope_scaling_factor(rope["factor"])
    g.add_rope_scaling_orig_ctx_len(rope["original_max_position_embeddings"])
    g.add_rope_scaling_yarn_beta_fast(rope["beta_fast"])
    g.add_rope_scaling_yarn_beta_slow(rope["beta_slow"])
    g.add_rope_scaling_yarn_log_mul(rope["mscale_all_dim"])
    g.add_attn_temperature_scale(rope["llama_4_scaling_beta"])
    g.add_vocab_size(c["vocab_size"])
    g.add_rope_dimension_count(c["head_dim"])
    w.vocab(c["vocab_size"])
    w.tensors(model.tensors)
    w.close()


@pytest.mark.parametrize("tied, wrapped", [(False, True), (True, True), (False, False)],
                         ids=["devstral shape", "tied embeddings", "Ministral3ForCausalLM"])
def test_llamacpp_loads_the_inventory_and_sizes_the_cache_alike(tied, wrapped, tmp_path):
    config = _config(tied, wrapped)
    model = build_model(config, "synthetic")
    assert model.arch == "mistral3" and model.family == "mistral3"
    names = {t.name for t in model.tensors}
    assert ("output.weight" in names) is not tied and "rope_freqs.weight" not in names
    assert all(la.kind == AttnKind.FULL and la.head_dim_k == 64 for la in model.layers)
    path = str(tmp_path / "m.gguf")
    _write(path, model, config)
    r = llamacpp_probe.cache_alike(model, path)
    got = r["llamacpp"]
    assert abs(got["kv"] - r["kv"]) <= r["tol"], f"llama.cpp KV {got['kv']:.3f} MiB, rigcheck {r['kv']:.3f} MiB"
    assert got["kv"] > 0 and got["rs"] == 0


def test_the_vision_tower_is_not_counted():
    """Only the text model is the GGUF's: the same text config with or without the wrapper
    (and its vision_config) gives the same tensors."""
    wrapped = build_model(_config(), "a")
    bare = build_model(_config(wrapped=False), "b")
    assert [(t.name, t.shape) for t in wrapped.tensors] == [(t.name, t.shape) for t in bare.tensors]
    assert model_type_of(_config()) == "mistral3" and model_type_of(_config(wrapped=False)) == "ministral3"


def test_devstral_small_2_card_counts_the_stated_text_parameters():
    """levara/Devstral-Small-2-24B-TextOnly-FP8's card: 'Language model (23.57B params)'."""
    card = catalog.card("devstral-small-2-24b-instruct-2512")
    model = catalog.model_of(card)
    assert model.arch == "mistral3"
    assert round(model.total_params / 1e9, 2) == 23.57
    assert model.n_ctx_train == 393_216
