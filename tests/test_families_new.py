"""The new family modules (qwen3_5 for Qwen3.5/3.6/3.8 dense and MoE, gemma4, glm_moe_dsa for
GLM-5/5.1, phi for Phi-1.5/Phi-2)
against the real llama.cpp (llama-cpp-python 0.3.36).

For a small config of each shape, the family's tensor inventory is written as a GGUF with
the ``gguf`` package (every tensor under the name and shape the family gives it, the
hyperparameters llama.cpp's converter writes for that architecture) and loaded by
llama.cpp in a child process. llama.cpp refuses a file with a missing tensor, a tensor of
the wrong shape or a tensor it does not use ("wrong number of tensors"), so a load that
succeeds means the inventory is exactly the one its loader (src/models/qwen35.cpp,
qwen35moe.cpp, gemma4.cpp, glm-dsa.cpp, phi2.cpp) expects. The KV and recurrent-state buffers llama.cpp then
allocates are compared with rigcheck's llama.cpp cache model for the same Model.
"""

from __future__ import annotations

import pytest

import llamacpp_probe
import synth
from rigcheck.memory import kv_llamacpp
from rigcheck.model.families import build_model
from rigcheck.model.model import AttnKind

MiB = 2**20
LIN4 = ["linear_attention"] * 3 + ["full_attention"]
SW6 = ["sliding_attention"] * 5 + ["full_attention"]


def _qwen35(moe: bool, mtp: int = 0) -> dict:
    text = {"model_type": "qwen3_5_moe_text" if moe else "qwen3_5_text", "hidden_size": 256,
            "num_hidden_layers": 8, "layer_types": LIN4 * 2, "full_attention_interval": 4,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "vocab_size": 512,
            "linear_num_key_heads": 2, "linear_num_value_heads": 4, "linear_key_head_dim": 32,
            "linear_value_head_dim": 32, "linear_conv_kernel_dim": 4, "mtp_num_hidden_layers": mtp,
            "max_position_embeddings": 4096, "tie_word_embeddings": False, "rms_norm_eps": 1e-6}
    if moe:
        text.update(num_experts=8, num_experts_per_tok=2, moe_intermediate_size=128,
                    shared_expert_intermediate_size=160)
    else:
        text.update(intermediate_size=544)
    return {"architectures": ["Qwen3_5MoeForConditionalGeneration" if moe else "Qwen3_5ForConditionalGeneration"],
            "model_type": "qwen3_5_moe" if moe else "qwen3_5", "text_config": text}


def _gemma4(moe: bool, per_layer: int = 0, shared_kv: int = 0) -> dict:
    text = {"model_type": "gemma4_text", "hidden_size": 256, "num_hidden_layers": 12, "layer_types": SW6 * 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "num_global_key_value_heads": 1,
            "head_dim": 64, "global_head_dim": 128, "attention_k_eq_v": True, "intermediate_size": 544,
            "vocab_size": 512, "sliding_window": 64, "max_position_embeddings": 4096,
            "hidden_size_per_layer_input": per_layer, "num_kv_shared_layers": shared_kv,
            "tie_word_embeddings": True, "rms_norm_eps": 1e-6}
    if moe:
        text.update(enable_moe_block=True, num_experts=8, top_k_experts=2, moe_intermediate_size=128)
    return {"architectures": ["Gemma4ForConditionalGeneration"], "model_type": "gemma4", "text_config": text}


def _glm_dsa(mtp: int = 0) -> dict:
    return {"architectures": ["GlmMoeDsaForCausalLM"], "model_type": "glm_moe_dsa", "hidden_size": 256,
            "num_hidden_layers": 4, "first_k_dense_replace": 1, "num_attention_heads": 4, "num_key_value_heads": 4,
            "q_lora_rank": 128, "kv_lora_rank": 128, "qk_nope_head_dim": 64, "qk_rope_head_dim": 32,
            "v_head_dim": 64, "intermediate_size": 512, "moe_intermediate_size": 128, "n_routed_experts": 8,
            "n_shared_experts": 1, "num_experts_per_tok": 2, "topk_method": "noaux_tc", "index_n_heads": 4,
            "index_head_dim": 64, "index_topk": 64, "num_nextn_predict_layers": mtp, "vocab_size": 512,
            "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "tie_word_embeddings": False}


def _write_glm_dsa(path, model, c: dict) -> None:
    import gguf
    w = synth._W(path, "glm-dsa", "F16", seed=9)
    g = w.w
    g.add_context_length(c["max_position_embeddings"])
    g.add_embedding_length(c["hidden_size"])
    g.add_block_count(c["num_hidden_layers"] + c["num_nextn_predict_layers"])
    g.add_feed_forward_length(c["intermediate_size"])
    g.add_head_count(c["num_attention_heads"])
    g.add_head_count_kv(1)
    g.add_layer_norm_rms_eps(c["rms_norm_eps"])
    g.add_rope_freq_base(10000.0)
    g.add_vocab_size(c["vocab_size"])
    g.add_leading_dense_block_count(c["first_k_dense_replace"])
    g.add_q_lora_rank(c["q_lora_rank"])
    g.add_kv_lora_rank(c["kv_lora_rank"])
    g.add_key_length(c["kv_lora_rank"] + c["qk_rope_head_dim"])
    g.add_value_length(c["kv_lora_rank"])
    g.add_key_length_mla(c["qk_nope_head_dim"] + c["qk_rope_head_dim"])
    g.add_value_length_mla(c["v_head_dim"])
    g.add_rope_dimension_count(c["qk_rope_head_dim"])
    g.add_expert_feed_forward_length(c["moe_intermediate_size"])
    g.add_expert_count(c["n_routed_experts"])
    g.add_expert_used_count(c["num_experts_per_tok"])
    g.add_expert_shared_count(c["n_shared_experts"])
    g.add_expert_weights_scale(2.5)
    g.add_expert_weights_norm(True)
    g.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID)
    g.add_indexer_head_count(c["index_n_heads"])
    g.add_indexer_key_length(c["index_head_dim"])
    g.add_indexer_top_k(c["index_topk"])
    if c["num_nextn_predict_layers"]:
        g.add_nextn_predict_layers(c["num_nextn_predict_layers"])
    w.vocab(c["vocab_size"])
    _tensors(w, model)
    w.close()


def _tensors(w, model) -> None:
    w.tensors(model.tensors, f32=lambda t: "ssm_conv1d" in t.name or t.name.endswith("ffn_gate_inp.weight"))


def _write(path, model, config: dict) -> None:
    """The model's tensors as a GGUF with the hyperparameters llama.cpp's converter writes."""
    if "text_config" not in config:
        return _write_glm_dsa(path, model, config)
    text = config["text_config"]
    w = synth._W(path, model.arch, "F16", seed=7)
    g = w.w
    L = text["num_hidden_layers"]
    n_all = L + model.n_mtp_layers
    g.add_context_length(text["max_position_embeddings"])
    g.add_embedding_length(text["hidden_size"])
    g.add_block_count(n_all)
    g.add_head_count(text["num_attention_heads"])
    g.add_layer_norm_rms_eps(text["rms_norm_eps"])
    g.add_rope_freq_base(10000.0)
    g.add_vocab_size(text["vocab_size"])
    if model.arch.startswith("qwen35"):
        g.add_feed_forward_length(text.get("intermediate_size") or text["moe_intermediate_size"])
        g.add_head_count_kv(text["num_key_value_heads"])
        g.add_key_length(text["head_dim"])
        g.add_value_length(text["head_dim"])
        g.add_rope_dimension_count(text["head_dim"] // 4)
        g.add_rope_dimension_sections([11, 11, 10, 0])
        g.add_ssm_conv_kernel(text["linear_conv_kernel_dim"])
        g.add_ssm_state_size(text["linear_key_head_dim"])
        g.add_ssm_group_count(text["linear_num_key_heads"])
        g.add_ssm_time_step_rank(text["linear_num_value_heads"])
        g.add_ssm_inner_size(text["linear_value_head_dim"] * text["linear_num_value_heads"])
        g.add_full_attention_interval(text["full_attention_interval"])
        if model.n_mtp_layers:
            g.add_nextn_predict_layers(model.n_mtp_layers)
        if model.moe:
            g.add_expert_count(text["num_experts"])
            g.add_expert_used_count(text["num_experts_per_tok"])
            g.add_expert_feed_forward_length(text["moe_intermediate_size"])
            g.add_expert_shared_feed_forward_length(text["shared_expert_intermediate_size"])
    else:
        swa = [t == "sliding_attention" for t in text["layer_types"]]
        g.add_feed_forward_length(text["intermediate_size"])
        g.add_head_count_kv([text["num_key_value_heads"] if s else text["num_global_key_value_heads"] for s in swa])
        g.add_key_length(text["global_head_dim"])
        g.add_value_length(text["global_head_dim"])
        g.add_key_length_swa(text["head_dim"])
        g.add_value_length_swa(text["head_dim"])
        g.add_rope_dimension_count(text["global_head_dim"])
        g.add_rope_dimension_count_swa(text["head_dim"])
        g.add_sliding_window(text["sliding_window"])
        g.add_sliding_window_pattern(swa)
        g.add_shared_kv_layers(text["num_kv_shared_layers"])
        g.add_embedding_length_per_layer_input(text["hidden_size_per_layer_input"])
        g.add_final_logit_softcapping(30.0)
        if model.moe:
            g.add_expert_count(text["num_experts"])
            g.add_expert_used_count(text["top_k_experts"])
            g.add_expert_feed_forward_length(text["moe_intermediate_size"])
    w.vocab(text["vocab_size"])
    _tensors(w, model)
    w.close()


CASES = {
    "qwen3.5 dense": (_qwen35(False), "qwen35"),
    "qwen3.5 dense + MTP": (_qwen35(False, mtp=1), "qwen35"),
    "qwen3.5 MoE": (_qwen35(True), "qwen35moe"),
    "qwen3.5 MoE + MTP": (_qwen35(True, mtp=1), "qwen35moe"),
    "gemma4 dense": (_gemma4(False), "gemma4"),
    "gemma4 MoE": (_gemma4(True), "gemma4"),
    "gemma4 per-layer input + shared KV": (_gemma4(False, per_layer=32, shared_kv=6), "gemma4"),
    "glm-dsa": (_glm_dsa(), "glm-dsa"),
    "glm-dsa + MTP": (_glm_dsa(mtp=1), "glm-dsa"),
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
    assert abs(got["kv"] - r["kv"]) <= r["tol"], f"{case}: llama.cpp KV {got['kv']:.3f} MiB, rigcheck {r['kv']:.3f} MiB"
    assert abs(got["rs"] - r["rs"]) <= r["tol"], f"{case}: llama.cpp RS {got['rs']:.3f} MiB, rigcheck {r['rs']:.3f} MiB"
    assert got["kv"] > 0


def test_qwen3_5_layout_follows_layer_types():
    m = build_model(_qwen35(True, mtp=1), "x")
    kinds = [layer.kind for layer in m.layers]
    assert kinds == [AttnKind.LINEAR] * 3 + [AttnKind.FULL] + [AttnKind.LINEAR] * 3 + [AttnKind.FULL]
    lin = m.layers[0]
    assert (lin.state_r, lin.state_s) == (3 * (2 * 2 * 32 + 4 * 32), 32 * 4 * 32)
    assert m.n_mtp_layers == 1 and all(t.mtp for t in m.tensors if t.layer == 8)
    assert {t.name for t in m.tensors if t.layer == 8} >= {"blk.8.nextn.eh_proj.weight", "blk.8.attn_q.weight"}


def test_gemma4_full_layers_use_the_global_heads():
    m = build_model(_gemma4(False), "x")
    full, swa = m.layers[5], m.layers[0]
    assert (full.kind, full.n_head_kv, full.head_dim_k) == (AttnKind.FULL, 1, 128)
    assert (swa.kind, swa.n_head_kv, swa.head_dim_k, swa.window) == (AttnKind.SWA, 2, 64, 64)
    names = {t.name for t in m.tensors}
    assert "blk.5.attn_v.weight" not in names and "blk.0.attn_v.weight" in names   # k_eq_v on full layers only
    shared = build_model(_gemma4(False, per_layer=32, shared_kv=6), "x")
    assert [layer.kind for layer in shared.layers[-6:]] == [AttnKind.NONE] * 6


def test_layer_types_of_the_wrong_length_is_one_clear_error():
    from rigcheck.errors import InputError
    cfg = _qwen35(False)
    cfg["text_config"]["layer_types"] = LIN4
    with pytest.raises(InputError, match="layer_types"):
        build_model(cfg, "x")


# --- phi (Phi-1 / 1.5 / 2; llama.cpp arch phi2) --------------------------------------------

def _phi(qkv_heads_kv: int = 4) -> dict:
    return {"architectures": ["PhiForCausalLM"], "model_type": "phi", "hidden_size": 256, "num_hidden_layers": 4,
            "num_attention_heads": 4, "num_key_value_heads": qkv_heads_kv, "intermediate_size": 1024,
            "vocab_size": 512, "max_position_embeddings": 2048, "partial_rotary_factor": 0.4,
            "layer_norm_eps": 1e-5, "tie_word_embeddings": False, "qk_layernorm": False}


def _write_phi2(path, model, c: dict) -> None:
    """As llama.cpp's converter (conversion/phi.py, Phi2Model.set_gguf_parameters) writes phi2."""
    from rigcheck.model.families import phi
    w = synth._W(path, "phi2", "F16", seed=11)
    g = w.w
    cfg = phi.Config.from_dict(c)
    g.add_context_length(c["max_position_embeddings"])
    g.add_embedding_length(c["hidden_size"])
    g.add_feed_forward_length(c["intermediate_size"])
    g.add_block_count(c["num_hidden_layers"])
    g.add_head_count(c["num_attention_heads"])
    g.add_head_count_kv(c["num_key_value_heads"])
    g.add_layer_norm_eps(c["layer_norm_eps"])
    g.add_rope_dimension_count(phi.rope_dims(cfg))
    w.vocab(c["vocab_size"])
    _tensors(w, model)
    w.close()


@pytest.mark.parametrize("n_kv", [4, 2])
def test_llamacpp_loads_the_phi2_inventory_and_sizes_the_cache_alike(n_kv, tmp_path):
    """Every tensor of the phi family (biases on every projection, the norms' biases, the
    output head's bias, no second norm per layer) is one llama.cpp's phi2 loader asks for,
    at its shape: a missing, extra or misshapen tensor fails the load. With GQA too (n_kv 2),
    which transformers' PhiAttention and llama.cpp's loader both take."""
    config = _phi(n_kv)
    model = build_model(config, "synthetic")
    assert (model.arch, model.family) == ("phi2", "phi")
    path = str(tmp_path / "phi2.gguf")
    _write_phi2(path, model, config)
    got = llamacpp_probe.measure({"path": path, "n_ctx": 1024, "type": "f16", "flash_attn": True,
                                  "n_ubatch": 256, "n_batch": 256})
    p = got["params"]
    kc = kv_llamacpp.kv_cache(model, p["n_ctx"], n_seq_max=p["n_seq_max"], kv_unified=p["kv_unified"],
                              n_batch=p["n_batch"], n_ubatch=p["n_ubatch"], swa_full=p["swa_full"], flash_attn=True)
    kv = sum(part.bytes for part in kc.parts) / MiB
    assert got["kv"] > 0
    assert abs(got["kv"] - kv) <= 0.006 * (1 + sum(got["lines"].values())), (got["kv"], kv)


# The real model as transformers 4.37+ builds it from microsoft/phi-2's config.json, printed
# with print(model): copied from liuutin9/FPGA-Acceleration-of-TinyLLaVA-Inference-via-HLS,
# phi-2_structure.py (commit 5de3edf). transformers does not run here, so its printout stands in.
PHI2_PRINTOUT = """\
PhiForCausalLM(
  (model): PhiModel(
    (embed_tokens): Embedding(51200, 2560)
    (layers): ModuleList(
      (0-31): 32 x PhiDecoderLayer(
        (self_attn): PhiAttention(
          (q_proj): Linear(in_features=2560, out_features=2560, bias=True)
          (k_proj): Linear(in_features=2560, out_features=2560, bias=True)
          (v_proj): Linear(in_features=2560, out_features=2560, bias=True)
          (dense): Linear(in_features=2560, out_features=2560, bias=True)
        )
        (mlp): PhiMLP(
          (activation_fn): NewGELUActivation()
          (fc1): Linear(in_features=2560, out_features=10240, bias=True)
          (fc2): Linear(in_features=10240, out_features=2560, bias=True)
        )
        (input_layernorm): LayerNorm((2560,), eps=1e-05, elementwise_affine=True)
        (resid_dropout): Dropout(p=0.1, inplace=False)
      )
    )
    (rotary_emb): PhiRotaryEmbedding()
    (embed_dropout): Dropout(p=0.0, inplace=False)
    (final_layernorm): LayerNorm((2560,), eps=1e-05, elementwise_affine=True)
  )
  (lm_head): Linear(in_features=2560, out_features=51200, bias=True)
)"""


def _printout_params(text: str) -> dict[str, int]:
    """Parameters per module name of a torch module printout (a 'N x' block counts N times)."""
    import re
    out: dict[str, int] = {}
    repeat = 1
    for line in text.splitlines():
        m = re.search(r"\((\S+)\): (\d+) x ", line)
        if m:
            repeat = int(m.group(2))
            continue
        m = re.search(r"\((\w+)\): (Linear|Embedding|LayerNorm)\((.*)\)$", line.strip())
        if not m:
            continue
        name, kind, args = m.groups()
        nums = [int(n) for n in re.findall(r"(?<![.\w])(\d+)(?![.\d])", args.split("eps")[0])]
        if kind == "Linear":
            n = nums[0] * nums[1] + (nums[1] if "bias=True" in args else 0)
        elif kind == "Embedding":
            n = nums[0] * nums[1]
        else:
            n = 2 * nums[0] if "elementwise_affine=True" in args else 0
        per_layer = name not in ("embed_tokens", "final_layernorm", "lm_head")
        out[name] = n * (repeat if per_layer else 1)
    return out


def test_phi_2_card_counts_the_real_models_weights():
    from rigcheck.model import catalog
    card = catalog.card("phi-2")
    model = catalog.model_of(card)
    want = _printout_params(PHI2_PRINTOUT)
    # every module of the printout is a tensor (weight and bias) of the inventory, by its HF name
    hf = {t.hf_name.rsplit(".", 2)[-2] for t in model.tensors if t.hf_name}
    assert hf == set(want), (hf ^ set(want))
    assert model.total_params == sum(want.values())
    # the model card's figure: "Phi-2 is a Transformer with 2.7 billion parameters" (cut, not rounded)
    assert model.total_params // 10**8 == 27
    assert [layer.head_dim_k for layer in model.layers] == [80] * 32


@pytest.mark.parametrize("card_id, billions", [("codellama-7b", 7), ("mistral-7b-v0.1", 7)])
def test_new_measured_cards_match_their_model_cards(card_id, billions):
    """Code Llama 7B and Mistral 7B v0.1: the model cards' '7B' / '7 billion parameters'."""
    from rigcheck.model import catalog
    card = catalog.card(card_id)
    model = catalog.model_of(card)
    assert card.stated_total == billions * 10**9 and card.stated["source"].startswith("https://huggingface.co/")
    assert round(model.total_params / 1e9) == billions
    assert model.n_ctx_train == card.config["max_position_embeddings"]
    if card_id == "mistral-7b-v0.1":
        # v0.1 is the sliding-window release (4096), unlike v0.3's full attention
        assert {(layer.kind, layer.window) for layer in model.layers} == {(AttnKind.SWA, 4096)}
    else:
        # Code Llama's extra 16 infilling tokens: 32016 rows in the embedding and the head
        assert {t.shape[0] for t in model.tensors if t.name in ("token_embd.weight", "output.weight")} == {32016}


@pytest.mark.parametrize("ftype", ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K", "Q4_0"])
def test_phi2_quant_plans_match_llama_quantize(ftype, tmp_path):
    """rigcheck's llama.cpp plan for a phi2 file (its biases, a head with a bias, separate
    q/k/v) against what llama_model_quantize really writes: every tensor's type and the
    file's size in bytes (the checker of tests/test_quant_llamacpp_conformance.py)."""
    from test_quant_llamacpp_conformance import _check
    config = _phi(2)
    src = str(tmp_path / "phi2-f16.gguf")
    _write_phi2(src, build_model(config, "synthetic"), config)
    _check(src, str(tmp_path / f"phi2-{ftype}.gguf"), ftype, False)


def test_per_layer_input_embeddings_are_lookups_in_a_tied_model():
    """Gemma 4 E-models tie the output head to token_embd, but their per-layer input
    embedding table (per_layer_token_embd: one 8,960-wide row per token for E2B) is looked
    up, not read in full: active parameters (2.28B, 'E2B' = effective 2B) and the bytes
    decode reads per token leave it out; the tied table still counts once, as the head."""
    from rigcheck.model.resolve import load_model
    from rigcheck.plan.placement import _weights
    from rigcheck.plan.speed.facts import facts_from_build
    from rigcheck.quant.recipes import build as make_build
    m = load_model("gemma-4-e2b-it")
    assert m.tied_embeddings
    per = next(t for t in m.tensors if t.name == "per_layer_token_embd.weight")
    tok = next(t for t in m.tensors if t.name == "token_embd.weight")
    assert m.is_lookup(per) and not m.is_lookup(tok)
    assert m.active_params(count_embedding=True) - m.active_params() == per.n_elements
    b = make_build(m, "Q8_0")
    sizes = {t.name: n for t, _, n in b.items()}
    f = facts_from_build(m, b)
    assert f.dense_bytes == pytest.approx(sum(n for t, _, n in b.items() if not t.mtp and t.name != per.name))
    w = _weights(b)
    assert w.tied_head == sizes[tok.name] and w.embed == sizes[tok.name] + sizes[per.name]
    # an untied model: the input embedding is a lookup, the output head its own tensor
    u = load_model("llama-3.1-8b-instruct")
    assert not u.tied_embeddings and all(u.is_lookup(t) for t in u.tensors if t.name == "token_embd.weight")
