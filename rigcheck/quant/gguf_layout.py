"""GGUF file layout: the bytes before the tensor data (research/runtime-memory.md 1.2).

    file = pad(24 + key/value pairs + tensor infos) + sum(pad(tensor bytes))

A tensor info is name (8 + len) + n_dims (4) + 8 per dim + type (4) + offset (8); the C
writer (llama-quantize, gguf.cpp) drops trailing dimensions of size 1 (ggml_n_dims).
From a GGUF source every key/value pair is known to the byte; llama-quantize copies
them, sets general.quantization_version and general.file_type (u32 each) and drops the
split.* keys. For a config-built model the metadata is estimated from the vocabulary:
it is mostly the tokenizer (token strings, types, scores or merges), which we do not
have; ``estimate_metadata_bytes`` says how.

Files above 50 GB are usually published as shards (``-00001-of-00004.gguf``, gguf-split):
every shard repeats the metadata and adds split.* keys. Sizes here are for one file.
"""

from __future__ import annotations

from ..model.families.archs import arch as arch_row

from dataclasses import dataclass

from ..model import Model
from ..notes import Note
from .llamacpp import ggml_n_dims

HEADER_FIXED = 24            # magic + version + n_tensors + n_kv
SHARD_LIMIT = 50 * 10**9     # Hugging Face's per-file limit; bigger GGUFs are split

# Estimated bytes per vocabulary entry. BPE tokenizers (Llama 3, Qwen, DeepSeek...):
# token string (8 + about 7) + token type (4) + about one merge per token (8 + about 12).
# SentencePiece (Gemma, Llama 2, Mistral v1): string + type + score (4), no merges.
PER_TOKEN_BPE = 39
PER_TOKEN_SPM = 25
FIXED_KV = 6_000             # general.*, hyperparameters and the chat template, roughly


def tensor_info_bytes(name: str, ne: tuple[int, ...], c_writer: bool = True) -> int:
    n_dims = ggml_n_dims(ne) if c_writer else len(ne)
    return 8 + len(name.encode()) + 4 + 8 * n_dims + 4 + 8


def kv_bytes_u32(key: str) -> int:
    return 8 + len(key.encode()) + 4 + 4


@dataclass(frozen=True)
class Header:
    """The part of a GGUF before the tensor data, unpadded and padded."""

    raw: int
    padded: int
    estimated: bool
    kv_bytes: int


def pad(n: int, align: int = 32) -> int:
    return -(-n // align) * align


def estimate_metadata_bytes(model: Model) -> int:
    """Key/value bytes for a model with no GGUF: dominated by the tokenizer."""
    per = PER_TOKEN_SPM if arch_row(model.arch).spm_vocab else PER_TOKEN_BPE
    return FIXED_KV + per * max(model.n_vocab, 0)


def header_for(model: Model, names_ne: list[tuple[str, tuple[int, ...]]], *, kv_bytes: int | None = None,
               align: int = 32, info_bytes: int = 0) -> Header:
    """The header of a GGUF holding the named tensors (plus ``info_bytes`` of tensor infos
    already counted). ``kv_bytes`` exact when known, else estimated from the model."""
    estimated = kv_bytes is None
    kv = estimate_metadata_bytes(model) if kv_bytes is None else kv_bytes
    raw = HEADER_FIXED + kv + info_bytes + sum(tensor_info_bytes(n, ne) for n, ne in names_ne)
    return Header(raw, pad(raw, align), estimated, kv)


def requantized_kv_bytes(kv: dict[str, int]) -> int:
    """llama-quantize's key/value bytes from the source file's (key -> bytes of that pair)."""
    out = {k: v for k, v in kv.items() if not k.startswith("split.")}
    for key in ("general.quantization_version", "general.file_type"):
        out[key] = kv_bytes_u32(key)
    return sum(out.values())


def shard_note(file_bytes: int, kv_bytes: int) -> Note | None:
    """A note for files that are usually published split into shards."""
    if file_bytes <= SHARD_LIMIT:
        return None
    return Note("usually_sharded", shards=-(-file_bytes // SHARD_LIMIT), kv_bytes=kv_bytes)
