"""Resource limits for reading model files, in one place (issue 14).

Every reader (GGUF header, safetensors header and index, config.json, model resolution)
bounds its work by these figures, not by the size of the file, so a 2 KB file that
declares a million layers, a header that claims 300,000 tensors or a config.json that
is /dev/zero is refused with one line (exit status 2) in well under a second and a few
hundred MB, instead of being read. Each limit sits far above the largest real model
(the figures in brackets), so only damaged or hostile files meet them.

Files
    Only regular files are opened (``open_regular``): a FIFO, a device (/dev/zero through
    a symlink), a socket or a folder where a file is expected is refused before it is
    read, and what is read is capped (``read_capped``).

GGUF header (rigcheck.model.sources.gguf)
    ``GGUF_HEADER_BYTES``   metadata plus tensor infos: 64 MiB (a 256k-token tokenizer
                            with its merges and 2,000 tensors: about 10 MB)
    ``GGUF_KEYS``           metadata keys: 4,096 (about 50 in a llama.cpp file)
    ``TENSORS``             tensors in one file, GGUF or safetensors, and in a checkpoint
                            read without its config.json (one tensor at a time through
                            every estimate): 16,384 (DeepSeek V4 GGUF: about 1,500; the
                            largest safetensors shards: a few thousand)
    ``NAME_BYTES``          a key or tensor name: 256 bytes (llama.cpp's GGML_MAX_NAME is 64)
    ``STRING_BYTES``        a string value: 16 MiB (chat templates: tens of kB)
    ``ARRAY_ITEMS``         elements of one array: 1,048,576 (the largest vocabulary:
                            262,144; BPE merges are fewer than the tokens)
    ``TENSOR_ELEMENTS``     elements of one tensor: 2**44 (the largest expert tensor: 2**34)

safetensors (rigcheck.model.sources.safetensors)
    ``SAFETENSORS_HEADER_BYTES``  the JSON header of one file: 16 MiB (a 2,000-tensor
                                  shard: about 200 kB)
    ``TENSORS_TOTAL``       tensors across the shards of a checkpoint: 262,144 (Kimi K2
                            with FP8 scales, one tensor per expert: about 140,000)
    ``SHARDS``              files named by one index: 4,096 (the largest: a few hundred)

JSON (config.json, safetensors headers and indexes)
    ``CONFIG_BYTES`` 16 MiB, ``INDEX_BYTES`` 64 MiB (configs are a few kB, an index of
    100,000 tensors about 8 MB); ``JSON_DEPTH`` 64 levels of nesting (configs: 3);
    ``JSON_CONTAINERS`` 2**19 objects and arrays and ``JSON_ITEMS`` 2**21 members
    (commas), counted on the raw bytes before parsing, so parsing any accepted document
    takes bounded memory (a 16 MiB header of empty arrays would otherwise take 500 MB).

Model values (rigcheck.model.sources.gguf_model, rigcheck.model.families._base)
    ``LAYERS`` 4,096 blocks (the largest model: 126); ``HEADS`` 4,096 attention heads
    (128); ``HEAD_DIM`` 16,384 per head (MLA's 576); ``WIDTH`` 2**20 for embedding and
    feed-forward widths (53,248); ``EXPERTS`` 65,536 (384); ``VOCAB`` 2**24 (262,144);
    ``CONTEXT`` 2**32 tokens trained (10,485,760); any other count 2**40 (``COUNT``).

Time
    ``PARSE_SECONDS``: a header parse that is still running after 4 s (the limits above
    keep real ones under 0.5 s) stops with one line instead of running on.

Input text
    ``MODEL_REF_CHARS``: a model reference (id or path) of at most 4,096 characters
    (PATH_MAX); echoed text is cut by rigcheck.text.
"""

from __future__ import annotations

import json
import os
import stat
import time

from .errors import FormatError, InputError

# ---- the figures ---------------------------------------------------------------------------

GGUF_HEADER_BYTES = 64 << 20
GGUF_KEYS = 4096
TENSORS = 16_384
TENSORS_TOTAL = 262_144
SHARDS = 4096
NAME_BYTES = 256
STRING_BYTES = 16 << 20
ARRAY_ITEMS = 1 << 20
TENSOR_ELEMENTS = 1 << 44

SAFETENSORS_HEADER_BYTES = 16 << 20
CONFIG_BYTES = 16 << 20
INDEX_BYTES = 64 << 20
JSON_DEPTH = 64
JSON_CONTAINERS = 1 << 19
JSON_ITEMS = 1 << 21

LAYERS = 4096
HEADS = 4096
HEAD_DIM = 16_384
WIDTH = 1 << 20
EXPERTS = 65_536
VOCAB = 1 << 24
CONTEXT = 1 << 32
COUNT = 1 << 40

PARSE_SECONDS = 4.0
MODEL_REF_CHARS = 4096


# ---- files ---------------------------------------------------------------------------------

_KINDS = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _not_regular(path: str, mode: int, what: str) -> InputError:
    from .text import shown
    return InputError(f"{shown(path, 300)}: is {_kind(mode)}, not a regular file; give the {what} itself")


def open_regular(path: str | os.PathLike, what: str = "model file"):
    """(binary file, size) of a regular file, checked before and after opening.

    ``stat`` first, so a folder, FIFO or device is refused without opening it; then the
    file is opened non-blocking (a FIFO swapped in meanwhile cannot block the open) and
    ``fstat`` checks what was actually opened. Raises InputError."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except (OSError, ValueError) as e:
        from .text import shown
        raise InputError(f"{shown(path, 300)}: cannot open: {getattr(e, 'strerror', None) or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(path, st.st_mode, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as e:
        from .text import shown
        raise InputError(f"{shown(path, 300)}: cannot open: {e.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise _not_regular(path, st.st_mode, what)
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb"), st.st_size


def read_capped(path: str | os.PathLike, limit: int, what: str = "file") -> bytes:
    """The whole of a regular file of at most ``limit`` bytes (checked on the size and
    again on what is read: a file that grows meanwhile is still cut)."""
    f, size = open_regular(path, what)
    with f:
        if size > limit:
            raise FormatError(f"{_p(path)}: {size:,} bytes is too large for a {what} (the limit is {limit:,})")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FormatError(f"{_p(path)}: more than {limit:,} bytes is too large for a {what}")
    return data


def _p(path) -> str:
    from .text import shown
    return shown(os.fspath(path), 300)


# ---- JSON ----------------------------------------------------------------------------------

def parse_json(raw: bytes, path: str | os.PathLike, what: str = "JSON", unique_keys: bool = False):
    """Parse a JSON document within the limits: its containers and members counted on the
    raw bytes first (an over-count when strings hold brackets or commas, never an
    under-count), nesting at most JSON_DEPTH levels; with ``unique_keys`` an object that
    names a key twice (json keeps the last silently) is refused. FormatError otherwise."""
    containers = raw.count(b"{") + raw.count(b"[")
    if containers > JSON_CONTAINERS or raw.count(b",") > JSON_ITEMS:
        raise FormatError(f"{_p(path)}: the {what} holds more than {JSON_CONTAINERS:,} objects or "
                          f"{JSON_ITEMS:,} items; no real one comes near that")
    hook = None
    if unique_keys:
        def hook(pairs):
            obj = dict(pairs)
            if len(obj) != len(pairs):
                from collections import Counter
                from .text import shown
                key = next(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)
                raise FormatError(f"{_p(path)}: the {what} names '{shown(key)}' twice")
            return obj
    try:
        data = json.loads(raw, object_pairs_hook=hook)
    except RecursionError:
        raise FormatError(f"{_p(path)}: the {what} is nested too deeply (more than {JSON_DEPTH} levels)") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise FormatError(f"{_p(path)}: the {what} is not valid JSON ({e})") from None
    if containers and depth(data) > JSON_DEPTH:
        raise FormatError(f"{_p(path)}: the {what} is nested too deeply (more than {JSON_DEPTH} levels)")
    return data


def depth(obj) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(obj, 0)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, dict):
            o = o.values()
        elif not isinstance(o, list):
            continue
        d += 1
        deepest = max(deepest, d)
        stack.extend((v, d) for v in o if isinstance(v, (dict, list)))
    return deepest


# ---- time ----------------------------------------------------------------------------------

class Deadline:
    """``PARSE_SECONDS`` from now; ``check()`` raises FormatError once it has passed."""

    def __init__(self, path, what: str, seconds: float = PARSE_SECONDS):
        self.path, self.what, self.seconds = path, what, seconds
        self.end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise FormatError(f"{_p(self.path)}: reading the {self.what} took more than {self.seconds:g} s; "
                              "a real one takes well under a second, so the file is damaged or hostile")


# ---- values by key -------------------------------------------------------------------------

# the upper bound of a whole-number GGUF metadata value, by key without the architecture
# prefix ('llama.block_count' -> 'block_count'); any other whole number: COUNT
GGUF_KEY_LIMITS = {
    "block_count": LAYERS, "leading_dense_block_count": LAYERS, "nextn_predict_layers": LAYERS,
    "attention.head_count": HEADS, "attention.head_count_kv": HEADS, "attention.indexer.head_count": HEADS,
    "attention.key_length": HEAD_DIM, "attention.value_length": HEAD_DIM, "rope.dimension_count": HEAD_DIM,
    "attention.indexer.key_length": HEAD_DIM,
    "embedding_length": WIDTH, "feed_forward_length": WIDTH, "expert_feed_forward_length": WIDTH,
    "attention.kv_lora_rank": WIDTH, "attention.q_lora_rank": WIDTH,
    "expert_count": EXPERTS, "expert_used_count": EXPERTS, "expert_shared_count": EXPERTS,
    "vocab_size": VOCAB, "context_length": CONTEXT, "attention.sliding_window": CONTEXT,
}

# the same for whole-number config.json keys (Hugging Face names)
HF_KEY_LIMITS = {
    "num_hidden_layers": LAYERS, "first_k_dense_replace": LAYERS, "num_nextn_predict_layers": LAYERS,
    "mtp_num_hidden_layers": LAYERS,
    "num_attention_heads": HEADS, "num_key_value_heads": HEADS, "index_n_heads": HEADS,
    "head_dim": HEAD_DIM, "qk_rope_head_dim": HEAD_DIM, "qk_nope_head_dim": HEAD_DIM, "v_head_dim": HEAD_DIM,
    "index_head_dim": HEAD_DIM,
    "hidden_size": WIDTH, "intermediate_size": WIDTH, "moe_intermediate_size": WIDTH,
    "shared_expert_intermediate_size": WIDTH, "kv_lora_rank": WIDTH, "q_lora_rank": WIDTH,
    "num_experts": EXPERTS, "n_routed_experts": EXPERTS, "num_local_experts": EXPERTS,
    "num_experts_per_tok": EXPERTS, "n_shared_experts": EXPERTS,
    "vocab_size": VOCAB, "max_position_embeddings": CONTEXT, "sliding_window": CONTEXT,
}
