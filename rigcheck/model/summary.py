"""What `rigcheck info` reports about a Model, as plain data (no formatting here)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

from .model import Model

ACTIVE_CONVENTION = ("active_params counts the parameters read per token: routed experts at "
                     "n_used/n_expert, everything else in full, without the input embedding table "
                     "(a lookup); active_params_with_embedding adds it")


def attention_counts(model: Model) -> dict[str, int]:
    """Layers per attention kind, in first-seen order."""
    return dict(Counter(layer.kind for layer in model.layers))


def summary(model: Model, card=None) -> dict:
    """The `rigcheck info` report of a Model (and its catalogue card, if any)."""
    out = {
        "id": model.id,
        "family": model.family,
        "arch": model.arch,
        "source": model.source,
        "n_layer": model.n_layer,
        "n_mtp_layers": model.n_mtp_layers,
        "n_vocab": model.n_vocab,
        "n_embd": model.n_embd,
        "n_ctx_train": model.n_ctx_train,
        "tied_embeddings": model.tied_embeddings,
        "attention": attention_counts(model),
        "layers": [asdict(layer) for layer in model.layers],
        "moe": asdict(model.moe) if model.moe else None,
        "tensor_count": model.tensor_count,
        "total_params": model.total_params,
        "active_params": model.active_params(),
        "active_params_with_embedding": model.active_params(count_embedding=True),
        "active_convention": ACTIVE_CONVENTION,
        "mtp_params": model.mtp_params,
        "params_by_role": dict(sorted(model.params_by_role().items(), key=lambda kv: -kv[1])),
        "dtypes": dict(Counter(t.dtype for t in model.tensors if t.dtype)) or None,
    }
    if card is not None:
        out["card"] = {"name": card.name, "hf_repo": card.hf_repo, "license": card.license,
                       "released": card.released, "config_source": card.source, "checked": card.checked,
                       "stated": card.stated}
    return out
