"""Tiny random-weight checkpoints written with the safetensors package under HF names
(per-expert tensors), read back by rigcheck and compared with the config inventory."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from safetensors.numpy import save_file

from rigcheck.model.families import build_model
from rigcheck.model.resolve import load_model
from rigcheck.model.sources.safetensors import load_safetensors

TINY = {
    "llama": {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64,
              "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
              "intermediate_size": 96, "vocab_size": 128, "max_position_embeddings": 256,
              "tie_word_embeddings": False},
    "qwen3_moe": {"model_type": "qwen3_moe", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                  "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 128, "num_experts": 4,
                  "num_experts_per_tok": 2, "moe_intermediate_size": 32, "intermediate_size": 96,
                  "max_position_embeddings": 256},
    "deepseek_v3": {"model_type": "deepseek_v3", "hidden_size": 64, "num_hidden_layers": 3, "num_attention_heads": 4,
                    "vocab_size": 128, "kv_lora_rank": 16, "q_lora_rank": 24, "qk_nope_head_dim": 8,
                    "qk_rope_head_dim": 4, "v_head_dim": 8, "intermediate_size": 96, "moe_intermediate_size": 16,
                    "n_routed_experts": 4, "num_experts_per_tok": 2, "n_shared_experts": 1,
                    "first_k_dense_replace": 1, "topk_method": "noaux_tc", "num_nextn_predict_layers": 1,
                    "max_position_embeddings": 256},
    "gemma3_text": {"model_type": "gemma3_text", "hidden_size": 64, "num_hidden_layers": 6, "num_attention_heads": 2,
                    "num_key_value_heads": 1, "head_dim": 32, "intermediate_size": 96, "vocab_size": 128,
                    "sliding_window": 16, "max_position_embeddings": 256},
}


def checkpoint_tensors(model, rng, dtype=np.float16) -> dict:
    """HF-named arrays for a config inventory: fused experts split per expert, MLA's
    split k_b/v_b merged back into kv_b_proj, as the real checkpoints hold them."""
    out = {}
    for t in model.tensors:
        if t.hf_name is None:
            continue
        if "{e}" in t.hf_name:
            for e in range(t.shape[0]):
                out[t.hf_name.format(e=e)] = rng.standard_normal(t.shape[1:]).astype(dtype)
        elif t.name.endswith("attn_k_b.weight") or t.name.endswith("attn_v_b.weight"):
            n = math.prod(t.shape)
            prev = out.get(t.hf_name)
            rows = (0 if prev is None else prev.size) + n
            kvl = t.shape[1] if t.name.endswith("attn_k_b.weight") else t.shape[2]
            out[t.hf_name] = rng.standard_normal((rows // kvl, kvl)).astype(dtype)
        else:
            out[t.hf_name] = rng.standard_normal(t.shape).astype(dtype)
    return out


@pytest.mark.parametrize("family", sorted(TINY))
def test_roundtrip(tmp_path, family):
    cfg = TINY[family]
    expected = build_model(cfg, "tiny")
    rng = np.random.default_rng(0)
    arrays = checkpoint_tensors(expected, rng)
    names = sorted(arrays)
    half = len(names) // 2
    save_file({k: arrays[k] for k in names[:half]}, str(tmp_path / "model-00001-of-00002.safetensors"))
    save_file({k: arrays[k] for k in names[half:]}, str(tmp_path / "model-00002-of-00002.safetensors"))
    index = {"metadata": {}, "weight_map": {k: ("model-00001-of-00002.safetensors" if i < half else
                                                "model-00002-of-00002.safetensors") for i, k in enumerate(names)}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    (tmp_path / "config.json").write_text(json.dumps(cfg))

    got = load_safetensors(tmp_path / "model.safetensors.index.json")
    assert [(t.name, t.shape, t.role, t.layer, t.mtp) for t in got.tensors] == \
           [(t.name, t.shape, t.role, t.layer, t.mtp) for t in expected.tensors]
    assert {t.dtype for t in got.tensors if t.hf_name} == {"F16"}
    assert got.meta["unmatched"] == [] and got.meta["missing"] == []
    assert got.meta["checkpoint_tensors"] == len(arrays)
    assert got.meta["checkpoint_bytes"] == sum(a.nbytes for a in arrays.values())
    # the folder resolves the same way
    assert load_model(str(tmp_path)).total_params == expected.total_params


def test_without_config_roles_from_names(tmp_path):
    model = build_model(TINY["qwen3_moe"], "tiny")
    arrays = checkpoint_tensors(model, np.random.default_rng(1), np.float32)
    save_file(arrays, str(tmp_path / "model.safetensors"))
    got = load_safetensors(tmp_path / "model.safetensors")
    assert got.total_params == model.total_params
    by_role = got.params_by_role()
    assert by_role["expert_gate"] == by_role["expert_up"] == by_role["expert_down"] == 2 * 4 * 32 * 64
    assert by_role["embed"] == by_role["output"] == 128 * 64
    assert {t.dtype for t in got.tensors} == {"F32"}
