"""The minimax_m3 family (MiniMax-M3: GQA with per-head QK-norm, leading dense layers, routed
+ shared experts, MiniMax Sparse Attention's indexer) against the real llama.cpp
(llama-cpp-python 0.3.36).

A small config of M3's shape is built into the family's tensor inventory and written as a
GGUF with the ``gguf`` package and the hyperparameters llama.cpp's converter writes
(conversion/minimax.py MiniMaxM3Model: leading dense block count, shared experts, the
indexer's heads, key width, top-k, block size and local blocks). llama.cpp's loader
(src/models/minimax-m3.cpp) refuses a missing, misshapen or unused tensor, so a load that
succeeds means the inventory is the one it expects; the KV it allocates (the main cache of
every layer and the MSA indexer cache of the sparse layers, src/llama-kv-cache-msa.cpp) is
compared with rigcheck's llama.cpp cache model for the same Model. The MiniMax-M3 card is
checked against its checkpoint's safetensors header totals.
"""

from __future__ import annotations

import copy

import gguf
import pytest

import llamacpp_probe
import synth
from rigcheck.errors import InputError
from rigcheck.model import catalog
from rigcheck.model.families import build_model

L = 6


def _config(n_dense: int = 2, shared: int = 1) -> dict:
    freq = [0] * n_dense + [1] * (L - n_dense)
    return {"architectures": ["MiniMaxM3SparseForConditionalGeneration"], "model_type": "minimax_m3_vl",
            "text_config": {"hidden_size": 256, "intermediate_size": 64, "num_hidden_layers": L,
                            "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 32, "vocab_size": 512,
                            "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "use_qk_norm": True,
                            "qk_norm_type": "per_head", "rotary_dim": 16, "tie_word_embeddings": False,
                            "dense_intermediate_size": 384, "shared_intermediate_size": 64 * shared,
                            "num_local_experts": 8, "num_experts_per_tok": 2, "n_shared_experts": shared,
                            "scoring_func": "sigmoid", "use_routing_bias": True, "moe_layer_freq": freq,
                            "routed_scaling_factor": 2.0,
                            "sparse_attention_config": {"use_sparse_attention": True, "sparse_index_dim": 16,
                                                        "sparse_num_index_heads": 2, "sparse_topk_blocks": 4,
                                                        "sparse_block_size": 64, "sparse_local_block": 1,
                                                        "sparse_attention_freq": freq}}}


def _write(path, model, config: dict) -> None:
    """As conversion/minimax.py (MiniMaxM2Model + MiniMaxM3Model) writes the file."""
    t = config["text_config"]
    sac = t["sparse_attention_config"]
    w = synth._W(path, "minimax-m3", "F16", seed=3)
    g = w.w
    w.attention(n_ctx=t["max_position_embeddings"], n_embd=t["hidden_size"], n_layer=t["num_hidden_layers"],
                n_ff=t["dense_intermediate_size"], n_head=t["num_attention_heads"],
                n_head_kv=t["num_key_value_heads"], head_dim=t["head_dim"])
    g.add_rope_dimension_count(t["rotary_dim"])
    g.add_layer_norm_rms_eps(t["rms_norm_eps"])
    g.add_vocab_size(t["vocab_size"])
    g.add_expert_count(t["num_local_experts"])
    g.add_expert_used_count(t["num_experts_per_tok"])
    g.add_expert_feed_forward_length(t["intermediate_size"])
    g.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID)
    g.add_expert_shared_count(t["n_shared_experts"])
    g.add_expert_weights_scale(t["routed_scaling_factor"])
    g.add_expert_weights_norm(True)
    g.add_indexer_head_count(sac["sparse_num_index_heads"])
    g.add_indexer_key_length(sac["sparse_index_dim"])
    g.add_indexer_top_k(sac["sparse_topk_blocks"])
    # keys the installed gguf package has no writer method for (llama.cpp src/llama-arch.cpp names them)
    g.add_uint32("minimax-m3.attention.indexer.block_size", sac["sparse_block_size"])
    g.add_uint32("minimax-m3.attention.indexer.local_blocks", sac["sparse_local_block"])
    g.add_leading_dense_block_count(t["moe_layer_freq"].index(1))
    w.vocab(t["vocab_size"])
    w.tensors(model.tensors, f32=lambda x: x.name.endswith("ffn_gate_inp.weight") or ".indexer." in x.name)
    w.close()


@pytest.mark.parametrize("n_dense,shared", [(2, 1), (1, 1)])
def test_llamacpp_loads_the_inventory_and_sizes_the_cache_alike(n_dense, shared, tmp_path):
    config = _config(n_dense, shared)
    model = build_model(config, "synthetic")
    assert model.arch == "minimax-m3"
    path = str(tmp_path / "m3.gguf")
    _write(path, model, config)
    r = llamacpp_probe.cache_alike(model, path)
    got = r["llamacpp"]
    kv = r["kv"] + r["rs"]
    assert abs(got["kv"] - kv) <= r["tol"], f"llama.cpp KV {got['kv']:.3f} MiB, rigcheck {kv:.3f} MiB ({got})"
    assert "indexer" in r["parts"]


@pytest.mark.parametrize("change,words", [
    ({"moe_layer_freq": [0, 1, 0, 1, 1, 1]}, "leading dense"),
    ({"moe_layer_freq": [0, 1]}, "each of the 6 layers"),
    ({"sparse_attention_config": {}}, "sparse_num_index_heads"),
])
def test_a_config_it_cannot_size_is_one_clear_error(change, words):
    c = copy.deepcopy(_config())
    c["text_config"].update(change)
    with pytest.raises(InputError) as e:
        build_model(c, "x")
    assert words in str(e.value)


def test_minimax_m3_card_counts_the_checkpoint_language_model():
    """The checkpoint's safetensors headers (MiniMaxAI/MiniMax-M3, read by KinChow/model-structure-viewer's
    fetch-header-truth: 23,416 tensors, 427,040,140,160 parameters with the vision tower) against
    rigcheck's count of the language model: the per-expert tensors of the checkpoint, counted one by
    one, are 22,893 of those tensors, and the vision tower and projector hold what is left."""
    m = catalog.model_of(catalog.card("minimax-m3"))
    assert m.arch == "minimax-m3" and m.moe.n_dense_layers == 3 and m.moe.n_shared == 1
    hf = sum(m.moe.n_expert if "{e}" in (t.hf_name or "") else 1 for t in m.tensors)
    assert hf == 22_893
    vision = 427_040_140_160 - m.total_params
    assert 0 < vision < 1_000_000_000
    assert sum(1 for la in m.layers if la.index_head_dim) == 57
