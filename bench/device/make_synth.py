#!/usr/bin/env python3
"""Write full-size synthetic GGUF models fast, for llama-bench speed runs.

Speed in llama.cpp does not depend on weight values, only on shapes and storage types,
so every quantized tensor is filled by repeating one random pattern of a few MiB of
well-formed blocks (a finite f16 scale chosen so a row's dot product with a unit-RMS
input stays near unit size, so activations neither overflow nor vanish, and MoE routing
stays spread over the experts). Norms are 1.0 (F32); routers are random F32 like the
converter writes them. The writer streams bytes, so memory use is a few MiB whatever the
model size, and the speed is the disk's.

Presets (tensor names/shapes are llama.cpp's, as the converter writes them):
    llama31-8b      Llama-3.1-8B: 32 layers, 4096 hidden, 14336 ff, 32/8 heads, vocab 128256
    qwen3-30b-a3b   Qwen3-30B-A3B (qwen3moe): 48 layers, 2048 hidden, 128 experts (8 used),
                    expert ff 768, 32/4 heads, head_dim 128, vocab 151936
    tiny-llama, tiny-qwen3moe   the same architectures at toy size (for tests on a CPU)

Quant types: q8_0 (every 2-D weight Q8_0, as `convert_hf_to_gguf --outtype q8_0`), q4_0
(every 2-D weight Q4_0 except output.weight in Q6_K, as `llama-quantize ... Q4_0` does),
f16.

    python3 bench/device/make_synth.py --preset llama31-8b --qtype q8_0 --out /tmp/m/l8-q8_0.gguf

The gguf package is taken from .devwork/llama.cpp/gguf-py (the carried llama.cpp source)
when present, else from the environment.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
_GGUF_PY = _HERE.parent.parent / ".devwork" / "llama.cpp" / "gguf-py"
if _GGUF_PY.is_dir():
    sys.path.insert(0, str(_GGUF_PY))
import gguf  # noqa: E402

Q = gguf.GGMLQuantizationType

PRESETS = {
    "llama31-8b": dict(arch="llama", n_layer=32, n_embd=4096, n_ff=14336, n_head=32, n_head_kv=8,
                       head_dim=128, n_vocab=128256, n_ctx=131072, rope_base=500000.0, eps=1e-5,
                       rope_freqs=True, name="synthetic Llama-3.1-8B shape"),
    "qwen3-30b-a3b": dict(arch="qwen3moe", n_layer=48, n_embd=2048, n_ff=6144, n_head=32, n_head_kv=4,
                          head_dim=128, n_vocab=151936, n_ctx=40960, rope_base=1000000.0, eps=1e-6,
                          n_expert=128, n_expert_used=8, n_ff_exp=768,
                          name="synthetic Qwen3-30B-A3B shape"),
    "tiny-llama": dict(arch="llama", n_layer=4, n_embd=256, n_ff=512, n_head=4, n_head_kv=2,
                       head_dim=64, n_vocab=1000, n_ctx=4096, rope_base=500000.0, eps=1e-5,
                       rope_freqs=True, name="synthetic tiny llama"),
    "tiny-qwen3moe": dict(arch="qwen3moe", n_layer=4, n_embd=256, n_ff=384, n_head=4, n_head_kv=2,
                          head_dim=64, n_vocab=1000, n_ctx=4096, rope_base=1000000.0, eps=1e-6,
                          n_expert=16, n_expert_used=4, n_ff_exp=128, name="synthetic tiny qwen3moe"),
}

# llama_ftype values (general.file_type)
FILE_TYPE = {"f16": 1, "q4_0": 2, "q8_0": 7}
MAIN_TYPE = {"f16": Q.F16, "q4_0": Q.Q4_0, "q8_0": Q.Q8_0}

PATTERN_BYTES = 8 << 20  # one random pattern per (type, row length), repeated


def _pattern(qt: Q, k: int, rng: np.random.Generator) -> bytes:
    """About PATTERN_BYTES of random, well-formed blocks of type ``qt`` for rows of length
    ``k``; scale so that a row . x has about unit size for unit-RMS x."""
    bs, ts = gguf.GGML_QUANT_SIZES[qt]
    n = max(1, PATTERN_BYTES // ts)
    inv = 1.0 / np.sqrt(k)
    if qt == Q.Q8_0:
        blk = np.frombuffer(rng.bytes(n * ts), dtype=np.uint8).reshape(n, ts).copy()
        # qs uniform in [-127, 127]: std ~73
        blk[:, 2:] = (blk[:, 2:].astype(np.int16) % 255 - 127).astype(np.int8).view(np.uint8)
        d = np.full(n, inv / 73.0, dtype=np.float16)
        blk[:, 0:2] = d.view(np.uint8).reshape(n, 2)
    elif qt == Q.Q4_0:
        blk = np.frombuffer(rng.bytes(n * ts), dtype=np.uint8).reshape(n, ts).copy()
        # nibbles uniform in 0..15, value = nibble - 8: std ~4.6
        d = np.full(n, inv / 4.6, dtype=np.float16)
        blk[:, 0:2] = d.view(np.uint8).reshape(n, 2)
    elif qt == Q.Q6_K:
        # block_q6_K: ql[128] qh[64] scales[16] (int8) d (f16) = 210 bytes per 256 weights
        blk = np.frombuffer(rng.bytes(n * ts), dtype=np.uint8).reshape(n, ts).copy()
        blk[:, 192:208] = rng.integers(8, 24, size=(n, 16), dtype=np.int8).view(np.uint8)
        d = np.full(n, inv / (18.5 * 16.0), dtype=np.float16)
        blk[:, 208:210] = d.view(np.uint8).reshape(n, 2)
    elif qt == Q.F16:
        blk = (rng.standard_normal(n * bs, dtype=np.float32) * inv).astype(np.float16).view(np.uint8)
    elif qt == Q.F32:
        blk = (rng.standard_normal(n * bs, dtype=np.float32) * inv).view(np.uint8)
    else:
        raise ValueError(f"no pattern for {qt.name}")
    return np.ascontiguousarray(blk).tobytes()


class Tensor:
    __slots__ = ("name", "shape", "qt", "fill")

    def __init__(self, name, shape, qt, fill):
        self.name, self.shape, self.qt, self.fill = name, tuple(int(s) for s in shape), qt, fill

    @property
    def nbytes(self) -> int:
        bs, ts = gguf.GGML_QUANT_SIZES[self.qt]
        n = int(np.prod(self.shape))
        assert n % bs == 0, (self.name, self.shape, self.qt)
        return n // bs * ts


def tensors_for(p: dict, qtype: str) -> list[Tensor]:
    """Tensors in PyTorch shape order (row length last), like the converter writes them."""
    mt = MAIN_TYPE[qtype]
    out_t = Q.Q6_K if qtype == "q4_0" else mt
    E, V, L = p["n_embd"], p["n_vocab"], p["n_layer"]
    hd, H, HKV = p["head_dim"], p["n_head"], p["n_head_kv"]
    T = []
    T.append(Tensor("token_embd.weight", (V, E), mt, "rand"))
    T.append(Tensor("output_norm.weight", (E,), Q.F32, "ones"))
    T.append(Tensor("output.weight", (V, E), out_t, "rand"))
    if p.get("rope_freqs"):
        T.append(Tensor("rope_freqs.weight", (hd // 2,), Q.F32, "ones"))
    for i in range(L):
        b = f"blk.{i}."
        T.append(Tensor(b + "attn_norm.weight", (E,), Q.F32, "ones"))
        T.append(Tensor(b + "attn_q.weight", (H * hd, E), mt, "rand"))
        T.append(Tensor(b + "attn_k.weight", (HKV * hd, E), mt, "rand"))
        T.append(Tensor(b + "attn_v.weight", (HKV * hd, E), mt, "rand"))
        T.append(Tensor(b + "attn_output.weight", (E, H * hd), mt, "rand"))
        T.append(Tensor(b + "ffn_norm.weight", (E,), Q.F32, "ones"))
        if p["arch"] == "qwen3moe":
            X, F = p["n_expert"], p["n_ff_exp"]
            T.append(Tensor(b + "attn_q_norm.weight", (hd,), Q.F32, "ones"))
            T.append(Tensor(b + "attn_k_norm.weight", (hd,), Q.F32, "ones"))
            T.append(Tensor(b + "ffn_gate_inp.weight", (X, E), Q.F32, "rand"))
            T.append(Tensor(b + "ffn_gate_exps.weight", (X, F, E), mt, "rand"))
            T.append(Tensor(b + "ffn_up_exps.weight", (X, F, E), mt, "rand"))
            T.append(Tensor(b + "ffn_down_exps.weight", (X, E, F), mt, "rand"))
        else:
            F = p["n_ff"]
            T.append(Tensor(b + "ffn_gate.weight", (F, E), mt, "rand"))
            T.append(Tensor(b + "ffn_up.weight", (F, E), mt, "rand"))
            T.append(Tensor(b + "ffn_down.weight", (E, F), mt, "rand"))
    return T


def add_vocab(w: gguf.GGUFWriter, n_vocab: int, kind: str) -> None:
    if kind == "none":
        # llama.cpp: tokenizer model "none" + {arch}.vocab_size -> that many dummy tokens
        w.add_tokenizer_model("none")
        return
    # A SentencePiece ("llama") vocab: <unk> <s> </s>, the 256 byte tokens, filler pieces.
    toks = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    n_fill = n_vocab - len(toks)
    if n_fill < 0:
        raise ValueError("n_vocab must be at least 259 for an spm vocab")
    toks += [f"\u2581t{i}" for i in range(n_fill)]
    types += [1] * n_fill
    w.add_tokenizer_model("llama")
    w.add_token_list(toks)
    w.add_token_scores([0.0] * 259 + [-float(k) for k in range(n_fill)])
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)


def write(preset: str, qtype: str, out: str, vocab: str = "spm", seed: int = 0, verbose: bool = True) -> dict:
    p = PRESETS[preset]
    t0 = time.time()
    rng = np.random.default_rng(seed)
    arch = p["arch"]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(out, arch)
    w.add_name(p["name"] + f" {qtype.upper()}")
    w.add_file_type(FILE_TYPE[qtype])
    w.add_context_length(p["n_ctx"])
    w.add_embedding_length(p["n_embd"])
    w.add_block_count(p["n_layer"])
    w.add_feed_forward_length(p["n_ff"])
    w.add_head_count(p["n_head"])
    w.add_head_count_kv(p["n_head_kv"])
    w.add_layer_norm_rms_eps(p["eps"])
    w.add_rope_freq_base(p["rope_base"])
    w.add_rope_dimension_count(p["head_dim"])
    w.add_key_length(p["head_dim"])
    w.add_value_length(p["head_dim"])
    w.add_vocab_size(p["n_vocab"])
    if arch == "qwen3moe":
        w.add_expert_count(p["n_expert"])
        w.add_expert_used_count(p["n_expert_used"])
        w.add_expert_feed_forward_length(p["n_ff_exp"])
    add_vocab(w, p["n_vocab"], vocab)

    T = tensors_for(p, qtype)
    for t in T:
        # tensor_dtype float32 + raw_dtype: the shape is taken as elements, as given
        w.add_tensor_info(t.name, t.shape, np.dtype(np.float32), t.nbytes, raw_dtype=t.qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    assert w.fout is not None and len(w.fout) == 1
    f = w.fout[0]
    align = w.data_alignment

    def pad() -> None:
        n = (-f.tell()) % align
        if n:
            f.write(b"\0" * n)

    pad()
    patterns: dict[tuple, memoryview] = {}
    total = 0
    last = time.time()
    for t in T:
        nb = t.nbytes
        start = f.tell()
        if t.fill == "ones":
            assert t.qt == Q.F32
            f.write(np.ones(t.shape, dtype=np.float32).tobytes())
        elif t.qt == Q.F32:
            a = rng.standard_normal(t.shape, dtype=np.float32) * np.float32(1.0 / np.sqrt(t.shape[-1]))
            f.write(a.astype(np.float32).tobytes())
        else:
            key = (t.qt, t.shape[-1])
            if key not in patterns:
                patterns[key] = memoryview(_pattern(t.qt, t.shape[-1], rng))
            pat = patterns[key]
            left = nb
            while left:
                k = min(left, len(pat))
                f.write(pat[:k])
                left -= k
        if f.tell() - start != nb:
            raise AssertionError(f"{t.name}: wrote {f.tell() - start} bytes, expected {nb}")
        pad()
        total += nb
        if verbose and time.time() - last > 5:
            last = time.time()
            print(f"  {out}: {total / 1e9:.1f} GB written, {time.time() - t0:.0f} s", flush=True)
    w.close()
    size = os.path.getsize(out)
    dt = time.time() - t0
    n_params = sum(int(np.prod(t.shape)) for t in T)
    info = dict(preset=preset, qtype=qtype, path=out, bytes=size, n_params=n_params,
                n_tensors=len(T), seconds=round(dt, 2), vocab=vocab)
    if verbose:
        print(f"wrote {out}: {size / 1e9:.2f} GB, {n_params / 1e9:.2f} B params, {dt:.1f} s "
              f"({size / 1e9 / max(dt, 1e-9):.2f} GB/s)", flush=True)
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", required=True, choices=sorted(PRESETS))
    ap.add_argument("--qtype", required=True, choices=sorted(MAIN_TYPE))
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", default="spm", choices=["spm", "none"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="append the file's facts as one JSON line to this file")
    a = ap.parse_args(argv)
    info = write(a.preset, a.qtype, a.out, a.vocab, a.seed)
    if a.json:
        import json
        with open(a.json, "a") as fh:
            fh.write(json.dumps(info) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
