"""Tiny synthetic GGUF models with random weights, written with the ``gguf`` package.

Each writer produces a file that llama.cpp can load, quantize and run: full
hyperparameters for its architecture, every tensor the loader requires, and a minimal
SentencePiece vocabulary (<unk>, <s>, </s>, the 256 byte tokens, then filler pieces),
with bos=1, eos=2, unk=0. 2-D and 3-D weights are written in ``ftype`` ("F16" or "F32");
1-D tensors, norms and routers in F32, as llama.cpp's converter writes them.

    write_llama(path, ...)       dense llama; n_ff defaults to 672 (not a multiple of 256)
    write_qwen3moe(path, ...)    MoE without shared experts (n_expert defaults to 16)
    write_deepseek2(path, ...)   MLA (q/kv LoRA, split k_b/v_b) + MoE + a shared expert,
                                 one leading dense layer
    write_gemma3(path, ...)      tied embeddings, q/k norms, sliding-window pattern

Every function returns ``path``. Sizes are small so that quantizing takes well under a
second; pass larger values to get a bigger model.
"""

from __future__ import annotations

import os

import numpy as np

import gguf

_DT = {"F16": np.float16, "F32": np.float32}


class _W:
    def __init__(self, path, arch: str, ftype: str, seed: int):
        if ftype not in _DT:
            raise ValueError(f"ftype must be F16 or F32, not {ftype}")
        self.w = gguf.GGUFWriter(os.fspath(path), arch)
        self.dt = _DT[ftype]
        self.rng = np.random.default_rng(seed)
        self.w.add_name(f"synthetic-{arch}")
        self.w.add_file_type(1 if ftype == "F16" else 0)

    def mat(self, name: str, *shape: int) -> None:
        """A weight, PyTorch shape order (row length last)."""
        a = (self.rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(self.dt)
        self.w.add_tensor(name, a)

    def f32(self, name: str, *shape: int, value: float | None = None) -> None:
        if value is None:
            a = (self.rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)
        else:
            a = np.full(shape, value, dtype=np.float32)
        self.w.add_tensor(name, a)

    def vocab(self, n_vocab: int) -> None:
        if n_vocab < 260:
            raise ValueError("n_vocab must be at least 260 (3 specials + 256 byte tokens + pieces)")
        toks = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
        types = [2, 3, 3] + [6] * 256
        toks += [f"\u2581t{i}" for i in range(n_vocab - len(toks))]
        types += [1] * (n_vocab - len(types))
        self.w.add_tokenizer_model("llama")
        self.w.add_token_list(toks)
        self.w.add_token_scores([0.0] * 3 + [0.0] * 256 + [-float(k) for k in range(n_vocab - 259)])
        self.w.add_token_types(types)
        self.w.add_unk_token_id(0)
        self.w.add_bos_token_id(1)
        self.w.add_eos_token_id(2)
        self.w.add_add_bos_token(True)
        self.w.add_add_eos_token(False)

    def attention(self, *, n_ctx: int, n_embd: int, n_layer: int, n_head: int, n_head_kv, head_dim: int,
                  n_ff=None) -> None:
        """The hyperparameters every converter writes first (context, width, blocks, heads,
        K and V head sizes, the feed-forward length where given; per-layer lists allowed)."""
        g = self.w
        g.add_context_length(n_ctx)
        g.add_embedding_length(n_embd)
        g.add_block_count(n_layer)
        if n_ff is not None:
            g.add_feed_forward_length(n_ff)
        g.add_head_count(n_head)
        g.add_head_count_kv(n_head_kv)
        g.add_key_length(head_dim)
        g.add_value_length(head_dim)

    def tensors(self, tensors, f32=lambda t: False) -> None:
        """Every tensor of an inventory: 1-D ones, norms (at 1.0) and those ``f32`` picks as F32,
        the rest at the file's type."""
        for t in tensors:
            if len(t.shape) == 1 or "norm" in t.name or f32(t):
                self.f32(t.name, *t.shape, value=1.0 if "norm" in t.name else None)
            else:
                self.mat(t.name, *t.shape)

    def close(self) -> None:
        self.w.write_header_to_file()
        self.w.write_kv_data_to_file()
        self.w.write_tensors_to_file()
        self.w.close()


def _common(w: _W, n_layer, n_embd, n_ff, n_head, n_head_kv, n_ctx=2048, eps=1e-6):
    g = w.w
    g.add_context_length(n_ctx)
    g.add_embedding_length(n_embd)
    g.add_block_count(n_layer)
    g.add_feed_forward_length(n_ff)
    g.add_head_count(n_head)
    g.add_head_count_kv(n_head_kv)
    g.add_layer_norm_rms_eps(eps)
    g.add_rope_freq_base(10000.0)


def write_llama(path, n_layer: int = 8, n_embd: int = 256, n_ff: int = 672, n_head: int = 4, n_head_kv: int = 1,
                n_vocab: int = 512, ftype: str = "F16", tied: bool = False, seed: int = 0, n_expert: int = 0,
                n_expert_used: int = 0):
    """A llama (GQA n_head/n_head_kv), untied unless ``tied``; with ``n_expert`` a
    Mixtral-style MoE (router + routed experts of width ``n_ff``, no shared expert)."""
    w = _W(path, "llama", ftype, seed)
    hd = n_embd // n_head
    _common(w, n_layer, n_embd, n_ff, n_head, n_head_kv)
    w.w.add_rope_dimension_count(hd)
    if n_expert:
        w.w.add_expert_count(n_expert)
        w.w.add_expert_used_count(n_expert_used)
    w.w.add_vocab_size(n_vocab)
    w.vocab(n_vocab)
    w.mat("token_embd.weight", n_vocab, n_embd)
    w.f32("output_norm.weight", n_embd, value=1.0)
    if not tied:
        w.mat("output.weight", n_vocab, n_embd)
    for i in range(n_layer):
        b = f"blk.{i}."
        w.f32(b + "attn_norm.weight", n_embd, value=1.0)
        w.mat(b + "attn_q.weight", n_head * hd, n_embd)
        w.mat(b + "attn_k.weight", n_head_kv * hd, n_embd)
        w.mat(b + "attn_v.weight", n_head_kv * hd, n_embd)
        w.mat(b + "attn_output.weight", n_embd, n_head * hd)
        w.f32(b + "ffn_norm.weight", n_embd, value=1.0)
        if n_expert:
            w.f32(b + "ffn_gate_inp.weight", n_expert, n_embd)
            w.mat(b + "ffn_gate_exps.weight", n_expert, n_ff, n_embd)
            w.mat(b + "ffn_up_exps.weight", n_expert, n_ff, n_embd)
            w.mat(b + "ffn_down_exps.weight", n_expert, n_embd, n_ff)
            continue
        w.mat(b + "ffn_gate.weight", n_ff, n_embd)
        w.mat(b + "ffn_up.weight", n_ff, n_embd)
        w.mat(b + "ffn_down.weight", n_embd, n_ff)
    w.close()
    return path



def _attn_qk_norm(w, b: str, n_embd: int, n_head: int, n_head_kv: int, head_dim: int) -> None:
    """One layer's attention with per-head q/k norms (Qwen3, Gemma 3): norm, q, k, v, output."""
    w.f32(b + "attn_norm.weight", n_embd, value=1.0)
    w.mat(b + "attn_q.weight", n_head * head_dim, n_embd)
    w.mat(b + "attn_k.weight", n_head_kv * head_dim, n_embd)
    w.mat(b + "attn_v.weight", n_head_kv * head_dim, n_embd)
    w.mat(b + "attn_output.weight", n_embd, n_head * head_dim)
    w.f32(b + "attn_q_norm.weight", head_dim, value=1.0)
    w.f32(b + "attn_k_norm.weight", head_dim, value=1.0)

def write_qwen3moe(path, n_layer: int = 8, n_embd: int = 256, n_ff_exp: int = 256, n_expert: int = 16,
                   n_expert_used: int = 4, n_head: int = 4, n_head_kv: int = 2, head_dim: int = 64,
                   n_vocab: int = 512, ftype: str = "F16", seed: int = 1):
    """A Qwen3-MoE: q/k norms, routed experts only (no shared expert)."""
    w = _W(path, "qwen3moe", ftype, seed)
    _common(w, n_layer, n_embd, n_ff_exp * 3, n_head, n_head_kv)
    g = w.w
    g.add_key_length(head_dim)
    g.add_value_length(head_dim)
    g.add_expert_count(n_expert)
    g.add_expert_used_count(n_expert_used)
    g.add_expert_feed_forward_length(n_ff_exp)
    w.vocab(n_vocab)
    w.mat("token_embd.weight", n_vocab, n_embd)
    w.f32("output_norm.weight", n_embd, value=1.0)
    w.mat("output.weight", n_vocab, n_embd)
    for i in range(n_layer):
        b = f"blk.{i}."
        _attn_qk_norm(w, b, n_embd, n_head, n_head_kv, head_dim)
        w.f32(b + "ffn_norm.weight", n_embd, value=1.0)
        w.f32(b + "ffn_gate_inp.weight", n_expert, n_embd)
        w.mat(b + "ffn_gate_exps.weight", n_expert, n_ff_exp, n_embd)
        w.mat(b + "ffn_up_exps.weight", n_expert, n_ff_exp, n_embd)
        w.mat(b + "ffn_down_exps.weight", n_expert, n_embd, n_ff_exp)
    w.close()
    return path


def write_deepseek2(path, n_layer: int = 8, n_embd: int = 256, n_ff: int = 512, n_ff_exp: int = 256,
                    n_expert: int = 4, n_expert_used: int = 2, n_shared: int = 1, n_dense_lead: int = 1,
                    n_head: int = 4, q_lora_rank: int = 128, kv_lora_rank: int = 128, qk_nope: int = 64,
                    qk_rope: int = 32, v_head_dim: int = 64, n_vocab: int = 512, ftype: str = "F16", seed: int = 2):
    """A DeepSeek-V2/V3-style model: MLA with q and kv LoRA, k_b/v_b split as the current
    converter writes them (3-D, one slice per head), ``n_dense_lead`` dense layers, then
    MoE layers with routed experts, a shared expert and a router bias."""
    w = _W(path, "deepseek2", ftype, seed)
    g = w.w
    _common(w, n_layer, n_embd, n_ff, n_head, 1)  # MLA: the converter writes one KV head
    g.add_vocab_size(n_vocab)
    g.add_leading_dense_block_count(n_dense_lead)
    g.add_q_lora_rank(q_lora_rank)
    g.add_kv_lora_rank(kv_lora_rank)
    g.add_key_length(kv_lora_rank + qk_rope)
    g.add_value_length(kv_lora_rank)
    g.add_key_length_mla(qk_nope + qk_rope)
    g.add_value_length_mla(v_head_dim)
    g.add_rope_dimension_count(qk_rope)
    g.add_expert_feed_forward_length(n_ff_exp)
    g.add_expert_count(n_expert)
    g.add_expert_used_count(n_expert_used)
    g.add_expert_shared_count(n_shared)
    g.add_expert_weights_scale(1.0)
    g.add_expert_weights_norm(True)
    g.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID)
    w.vocab(n_vocab)
    w.mat("token_embd.weight", n_vocab, n_embd)
    w.f32("output_norm.weight", n_embd, value=1.0)
    w.mat("output.weight", n_vocab, n_embd)
    qk = qk_nope + qk_rope
    for i in range(n_layer):
        b = f"blk.{i}."
        w.f32(b + "attn_norm.weight", n_embd, value=1.0)
        w.f32(b + "attn_q_a_norm.weight", q_lora_rank, value=1.0)
        w.f32(b + "attn_kv_a_norm.weight", kv_lora_rank, value=1.0)
        w.mat(b + "attn_q_a.weight", q_lora_rank, n_embd)
        w.mat(b + "attn_q_b.weight", n_head * qk, q_lora_rank)
        w.mat(b + "attn_kv_a_mqa.weight", kv_lora_rank + qk_rope, n_embd)
        w.mat(b + "attn_k_b.weight", n_head, kv_lora_rank, qk_nope)
        w.mat(b + "attn_v_b.weight", n_head, v_head_dim, kv_lora_rank)
        w.mat(b + "attn_output.weight", n_embd, n_head * v_head_dim)
        w.f32(b + "ffn_norm.weight", n_embd, value=1.0)
        if i < n_dense_lead:
            w.mat(b + "ffn_gate.weight", n_ff, n_embd)
            w.mat(b + "ffn_up.weight", n_ff, n_embd)
            w.mat(b + "ffn_down.weight", n_embd, n_ff)
            continue
        w.f32(b + "ffn_gate_inp.weight", n_expert, n_embd)
        w.f32(b + "exp_probs_b.bias", n_expert, value=0.0)
        w.mat(b + "ffn_gate_exps.weight", n_expert, n_ff_exp, n_embd)
        w.mat(b + "ffn_up_exps.weight", n_expert, n_ff_exp, n_embd)
        w.mat(b + "ffn_down_exps.weight", n_expert, n_embd, n_ff_exp)
        w.mat(b + "ffn_gate_shexp.weight", n_ff_exp * n_shared, n_embd)
        w.mat(b + "ffn_up_shexp.weight", n_ff_exp * n_shared, n_embd)
        w.mat(b + "ffn_down_shexp.weight", n_embd, n_ff_exp * n_shared)
    w.close()
    return path


def write_gemma3(path, n_layer: int = 8, n_embd: int = 256, n_ff: int = 600, n_head: int = 4, n_head_kv: int = 1,
                 head_dim: int = 64, n_vocab: int = 512, sliding_window: int = 64, ftype: str = "F16", seed: int = 3):
    """A Gemma 3 text model: tied embeddings (no output.weight), q/k norms, post norms;
    llama.cpp makes 5 of every 6 layers sliding-window. n_ff defaults to 600, which is not
    a multiple of 32, so ffn_down rows force llama.cpp's F16 fallback."""
    w = _W(path, "gemma3", ftype, seed)
    _common(w, n_layer, n_embd, n_ff, n_head, n_head_kv)
    g = w.w
    g.add_key_length(head_dim)
    g.add_value_length(head_dim)
    g.add_sliding_window(sliding_window)
    w.vocab(n_vocab)
    w.mat("token_embd.weight", n_vocab, n_embd)
    w.f32("output_norm.weight", n_embd, value=1.0)
    for i in range(n_layer):
        b = f"blk.{i}."
        _attn_qk_norm(w, b, n_embd, n_head, n_head_kv, head_dim)
        w.f32(b + "post_attention_norm.weight", n_embd, value=1.0)
        w.f32(b + "ffn_norm.weight", n_embd, value=1.0)
        w.mat(b + "ffn_gate.weight", n_ff, n_embd)
        w.mat(b + "ffn_up.weight", n_ff, n_embd)
        w.mat(b + "ffn_down.weight", n_embd, n_ff)
        w.f32(b + "post_ffw_norm.weight", n_embd, value=1.0)
    w.close()
    return path
