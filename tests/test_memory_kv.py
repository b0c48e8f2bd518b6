"""KV arithmetic per runtime layout, checked against published figures and the
runtimes' own rules (hand-made Models from the configs' numbers, and the catalogue)."""

from __future__ import annotations

import pytest

from rigcheck.errors import InputError
from rigcheck.memory import buffers, kv_ds4, kv_llamacpp, kv_mlx, kv_sglang, kv_vllm, runtimes
from rigcheck.model.model import AttnKind, LayerAttention, Model

GiB = 2**30


def v4_flash() -> Model:
    """V4-Flash's attention from its config: compress_ratios [0,0] + [4,128]x20 + [4],
    one 512-wide K=V head, 64 RoPE dims, 128-token window, 128-wide indexer keys."""
    layers = []
    for r in [0, 0] + [4, 128] * 20 + [4]:
        kind = {0: AttnKind.SWA, 4: AttnKind.CSA, 128: AttnKind.HCA}[r]
        layers.append(LayerAttention(kind, 64, 1, 512, 512, window=128, rope_dim=64, compress_ratio=r,
                                     index_head_dim=128 if r == 4 else 0))
    return Model("v4-flash-hand", "deepseek_v4", "deepseek4", (), tuple(layers), 129280, 4096, 1048576)


def v3() -> Model:
    """DeepSeek V3: 61 MLA layers, kv_lora_rank 512 + 64 RoPE dims."""
    layer = LayerAttention(AttnKind.MLA, 128, 1, 576, 512, kv_lora_rank=512, rope_dim=64)
    return Model("v3-hand", "deepseek_v3", "deepseek2", (), (layer,) * 61, 129280, 7168, 163840)


def llama8b() -> Model:
    layer = LayerAttention(AttnKind.FULL, 32, 8, 128, 128)
    return Model("llama3-8b-hand", "llama", "llama", (), (layer,) * 32, 128256, 4096, 131072)


def test_v4_flash_vllm_fp8_amortised_and_1m():
    m = v4_flash()
    assert kv_vllm.amortised_bytes_per_token(m, "fp8") == 3850.25
    assert kv_vllm.amortised_bytes_per_token(m, "fp8", fp4_indexer=True) == 3514.25
    # the entries (research/deepseek-v4.md B(L): compressed entries + each layer's last 128
    # tokens) are 3.76 GiB at 1M in fp8 and 6.09 GiB in bf16 (vLLM's indexer keys are 132-byte
    # fp8 whatever the cache dtype: research's "BF16 + FP8 indexer" column) ...
    for ct, gib in (("fp8", 3.76), ("bf16", 6.09)):
        kv = kv_vllm.kv_cache(m, 1 << 20, cache_type=ct)
        e = kv_vllm.v4_entry_bytes(512, 64, ct)
        entries = sum(p.bytes for p in kv.parts if p.name in ("csa", "hca", "indexer")) + m.n_layer * 128 * e
        assert entries / GiB == pytest.approx(gib, abs=0.005)
        # ... and vLLM's sliding-window specs (raw window, compressor states) admit a fixed
        # number of blocks per request once the context passes the tokens in flight
        state = kv.bytes - entries
        short = kv_vllm.kv_cache(m, 65536, cache_type=ct)
        short_entries = sum(p.bytes for p in short.parts if p.name in ("csa", "hca", "indexer")) + m.n_layer * 128 * e
        sliding = lambda k: sum(p.bytes for p in k.parts if p.name in kv_vllm.SLIDING_PARTS)  # noqa: E731
        assert state > 0 and short.bytes - short_entries < state and sliding(short) == sliding(kv)
    # vLLM's V4 attention refuses the model dtype ("DeepseekV4 only supports fp8 kv-cache format"):
    # 'auto' (no --kv-cache-dtype) is sized as the fp8 cache the recipes pass
    auto, fp8 = (kv_vllm.kv_cache(m, 32768, cache_type=ct) for ct in ("auto", "fp8"))
    assert auto.bytes == fp8.bytes and auto.cache_type == "fp8"


def test_v4_entry_sizes():
    assert kv_vllm.v4_entry_bytes(512, 64, "fp8") == 584
    assert kv_vllm.indexer_bytes(128, "fp8") == 132
    assert kv_vllm.mla_entry_bytes(512, 64, "fp8") == 656


def test_v3_llamacpp_f16_8k_is_k_only_576():
    kc = kv_llamacpp.kv_cache(v3(), 8192, cache_type_k="f16")
    assert kc.bytes == 61 * 576 * 2 * 8192


def test_v3_catalogue_model_matches_hand_model():
    from rigcheck.model.resolve import load_model
    kc = runtimes.kv_cache("llama.cpp", load_model("deepseek-v3"), 8192, parallel=1)
    assert kc.bytes == 61 * 576 * 2 * 8192


def test_v4_catalogue_vllm_fp8():
    from rigcheck.model.resolve import load_model
    m = load_model("deepseek-v4-flash")
    assert kv_vllm.amortised_bytes_per_token(m, "fp8") == 3850.25


def test_ds4_v4_flash_f32():
    m = v4_flash()
    big = 1 << 20
    a = kv_ds4.kv_cache(m, big)
    b = kv_ds4.kv_cache(m, 2 * big)
    assert (sum(b.layer_bytes) - sum(a.layer_bytes)) / big == 13760      # f32 amortised
    assert a.bytes / 1e9 == pytest.approx(18.9, abs=0.05)               # ds4's own estimate at 1M


def test_llamacpp_dsv4_cells():
    """Upstream llama_kv_cache_dsv4: ceil(n/4) and ceil(n/128) cells padded to 256, a
    raw window of pad256(128 + n_ubatch), one stream per sequence even when unified."""
    m = v4_flash()
    kc = kv_llamacpp.kv_cache(m, 32768, n_seq_max=1)
    cells = {p.name: p.cells for p in kc.parts}
    assert cells["csa"] == 8192 and cells["hca"] == 256 and cells["raw"] == 768
    four = kv_llamacpp.kv_cache(m, 32768, n_seq_max=4, kv_unified=True)
    assert four.bytes == 4 * kc.bytes
    assert kv_llamacpp.kv_cache(m, 32768, v4_f16_pin=True, cache_type_k="q8_0").cache_type == "f16"


def test_llamacpp_appendix_b_llama8b():
    """research/runtime-memory.md Appendix B (llama-fit-params, Llama-3-8B shape)."""
    m = llama8b()
    MiB = 2**20
    assert kv_llamacpp.kv_cache(m, 8192).bytes == 1024 * MiB
    assert kv_llamacpp.kv_cache(m, 8000).bytes == 1024 * MiB
    assert kv_llamacpp.kv_cache(m, 8192, cache_type_k="q8_0").bytes == 544 * MiB
    assert kv_llamacpp.kv_cache(m, 8192, cache_type_k="q4_0").bytes == 288 * MiB
    np4 = kv_llamacpp.kv_cache(m, 8192, n_seq_max=4)
    assert np4.bytes == 1024 * MiB and {p.cells for p in np4.parts} == {2048}
    assert buffers.llamacpp_output(m, 1) / MiB == pytest.approx(0.49, abs=0.005)
    assert buffers.llamacpp_output(m, 4) / MiB == pytest.approx(1.96, abs=0.005)


# research/runtime-memory.md Appendix B: CPU compute buffers llama-fit-params printed for a
# Llama-3-8B-shaped Q4_K_M (another llama.cpp build than the tests run; measured in an earlier
# session, never used to build the graph model): (n_ubatch, n_ctx, flash attention, cache, MiB)
APPENDIX_B = [(512, 4096, True, "f16", 266.50), (512, 8192, True, "f16", 266.50), (512, 32768, True, "f16", 266.50),
              (512, 8000, True, "f16", 266.50), (128, 8192, True, "f16", 66.63), (2048, 8192, True, "f16", 1066.01),
              (512, 8192, False, "f16", 572.01), (512, 32768, False, "f16", 2156.01), (128, 8192, False, "f16", 143.00),
              (512, 8192, True, "q8_0", 274.50), (512, 8192, True, "q4_0", 274.50)]


@pytest.mark.parametrize("ub,ctx,fa,ct,mib", APPENDIX_B)
def test_llamacpp_compute_appendix_b(ub, ctx, fa, ct, mib):
    from rigcheck.model.resolve import load_model
    m = load_model("llama-3.1-8b")
    cp = kv_llamacpp.cparams(m, ctx, n_ubatch=ub)
    got = buffers.llamacpp_compute(m, cp.n_ubatch, cp.n_ctx_seq, flash_attn=fa, cache_type_k=ct, n_batch=cp.n_batch)
    assert got.bytes / 2**20 == pytest.approx(mib, rel=0.001, abs=0.01)


def test_gemma3_12b_swa_rule():
    """Appendix B: Gemma-3-12B shape, n_swa 1024: 1536 SWA cells at ub 512, 3072 at ub 2048."""
    layers = tuple(LayerAttention(AttnKind.FULL if il % 6 == 5 else AttnKind.SWA, 16, 8, 256, 256,
                                  window=0 if il % 6 == 5 else 1024) for il in range(48))
    m = Model("g12", "gemma3", "gemma3", (), layers, 262144, 3840, 131072)
    kc = kv_llamacpp.kv_cache(m, 8192)
    assert kc.part_bytes("swa") == 480 * 2**20 and kc.part_bytes("full") == 512 * 2**20
    assert {p.cells for p in kv_llamacpp.kv_cache(m, 8192, n_ubatch=2048).parts if p.name == "swa"} == {3072}
    assert kv_llamacpp.kv_cache(m, 8192, swa_full=True).part_bytes("swa") == 40 * 8192 * 8 * 256 * 2 * 2


def test_mlx_steps_and_bits():
    m = llama8b()
    assert kv_mlx.kv_cache(m, 1000).bytes == 32 * 1024 * 2 * 1024 * 2      # 1000 -> 1024 cells
    q4 = kv_mlx.kv_cache(m, 1024, kv_bits=4).bytes
    assert q4 == 32 * 1024 * 2 * (1024 // 2 + 1024 // 64 * 4)


def test_sglang_and_vllm_pages():
    m = llama8b()
    assert kv_sglang.kv_cache(m, 1000).bytes == 32 * 1000 * 2 * 1024 * 2
    assert kv_vllm.kv_cache(m, 1000).bytes == 32 * 1008 * 2 * 1024 * 2          # 63 pages of 16
    assert kv_vllm.kv_cache(m, 1000, cache_type="fp8").bytes == 32 * 1008 * 2 * 1024
    assert kv_vllm.kv_cache(m, 1000, tp=4).bytes == 32 * 1008 * 2 * 256 * 2


def test_sglang_mem_fraction_rule():
    """Third-party walk-throughs of SGLang's rule: about 0.85 on a 24 GB card, 0.84 on an
    80 GB H100 (research/runtime-memory.md §6.3)."""
    assert buffers.sglang_mem_fraction_static(24 * GiB) == pytest.approx(0.85, abs=0.02)
    assert buffers.sglang_mem_fraction_static(80 * GiB) == pytest.approx(0.84, abs=0.01)


def test_bad_inputs_are_input_errors():
    m = llama8b()
    with pytest.raises(InputError, match="valid: f32, f16"):
        runtimes.kv_cache("llama.cpp", m, 4096, cache_type="fp8")
    with pytest.raises(InputError, match="valid: auto"):
        runtimes.kv_cache("vllm", m, 4096, cache_type="q8_0")
    with pytest.raises(InputError, match="f16, q8_0, q4_0"):
        runtimes.kv_cache("ollama", m, 4096, cache_type="q5_1")
    with pytest.raises(InputError):
        runtimes.kv_cache("llama.cpp", m, 4096, parallel=-1)
    with pytest.raises(InputError, match="DeepSeek V4"):
        kv_ds4.kv_cache(m, 4096)
    with pytest.raises(InputError, match="unknown runtime"):
        runtimes.get("tensorrt-llm-x")
