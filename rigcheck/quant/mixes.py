"""Mixes by role: ``experts=IQ2_XS,shared=Q8_0,attn=Q8_0,default=Q8_0``.

A mix names a ggml type per role group (experts, shared, attn, ffn, embed, output,
router, norm, indexer, compressor, other, mtp), per exact role (expert_down, attn_q...),
or ``default``. The most specific wins: exact role, then group, then default.
``default`` only reaches tensors llama-quantize would quantize (so norms and routers keep
their source type unless the mix names their role). 1-D tensors (norm weights, biases)
and integer tables always keep their source type, as GGUF writers keep them. A
row that the type's block does not divide takes llama.cpp's fallback (noted).

Community mixes with a published recipe are here by name (``COMMUNITY``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError, UnknownNameError
from ..notes import Note
from ..text import shown
from ..model import ATTN_ROLES, EXPERT_ROLES, FFN_ROLES, SHARED_ROLES, Model, Role
from .llamacpp import _FALLBACK, allows_quantization, ggml_n_dims
from .types import GGML_TYPES

GROUPS: dict[str, frozenset] = {
    "experts": EXPERT_ROLES, "shared": SHARED_ROLES, "attn": ATTN_ROLES, "ffn": FFN_ROLES,
    "embed": frozenset({Role.EMBED}), "output": frozenset({Role.OUTPUT}), "router": frozenset({Role.ROUTER}),
    "norm": frozenset({Role.NORM}), "indexer": frozenset({Role.INDEXER}),
    "compressor": frozenset({Role.COMPRESSOR}), "other": frozenset({Role.OTHER}), "mtp": frozenset({Role.MTP}),
}
ROLE_NAMES = {r.value: r for r in Role}
KEYS = sorted(set(GROUPS) | set(ROLE_NAMES) | {"default"})
_INTS = ("I32", "I64", "I16", "I8")

# Community mixes whose recipe is documented: name -> (mix, where it is described)
COMMUNITY: dict[str, tuple[str, str]] = {
    "IQ2_XS-XL": ("experts=IQ2_XS,default=Q8_0",
                  "routed experts IQ2_XS, everything else Q8_0 (the community DeepSeek V4-Flash GGUF "
                  "recipe; quant tables in ggml-org/llama.cpp issue #22319)"),
}


@dataclass(frozen=True)
class Mix:
    """A parsed mix: type per exact role, per group, and the default."""

    roles: dict
    groups: dict
    default: str | None
    text: str

    def type_for(self, role: Role) -> str | None:
        t = self.roles.get(role)
        if t:
            return t
        for g, t in self.groups.items():
            if role in GROUPS[g]:
                return t
        return None


# ggml types that exist only while computing (llama.cpp quantizes activations to them for
# the dot products); no GGUF stores a weight in them, so no mix may name them
NOT_STORAGE = ("Q8_1", "Q8_K")


def _type(name: str, key: str) -> str:
    t = name.strip().upper()
    valid = [k for k in GGML_TYPES if k not in NOT_STORAGE and GGML_TYPES[k].block]
    if t in NOT_STORAGE:
        raise InputError(f"{t} is an activation type llama.cpp computes with, not a storage type; a mix "
                         f"names one of: {', '.join(valid)}")
    if t not in GGML_TYPES or GGML_TYPES[t].block == 0:
        raise UnknownNameError(f"type for '{key}' in the mix", name, valid, hint="types: " + ", ".join(valid))
    return t


def parse(text: str) -> Mix:
    """``experts=IQ2_XS,attn=Q8_0,default=Q8_0`` -> Mix. Unknown keys or types raise an
    InputError that lists the valid names."""
    roles: dict = {}
    groups: dict = {}
    default = None
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if not parts:
        raise InputError("an empty mix: write role=TYPE pairs, e.g. experts=IQ2_XS,default=Q8_0")
    for part in parts:
        if "=" not in part:
            raise InputError(f"mix part '{part}' has no '=': write role=TYPE, e.g. experts=IQ2_XS "
                             f"(roles: {', '.join(KEYS)})")
        k, v = part.split("=", 1)
        key = k.lower()
        if key not in KEYS:
            raise UnknownNameError("role in the mix", k, KEYS, hint="roles: " + ", ".join(KEYS))
        t = _type(v, k)
        if key == "default":
            default = t
        elif key in GROUPS:
            groups[key] = t
        else:
            roles[ROLE_NAMES[key]] = t
    return Mix(roles, groups, default, text)


def apply(model: Model, mix: Mix, src: list[str], include: list[bool]) -> tuple[list[str | None], list[str]]:
    """Types per tensor for ``mix``, and notes (fallbacks, types that could not apply)."""
    types: list[str | None] = [None] * len(model.tensors)
    fallbacks: list[str] = []
    kept_1d: list[str] = []
    for i, t in enumerate(model.tensors):
        if not include[i]:
            continue
        named = mix.type_for(t.role)
        if ggml_n_dims(t.ne) < 2 or src[i] in _INTS:
            types[i] = src[i]
            if named is not None and named != src[i] and named not in ("F32", "F16", "BF16"):
                kept_1d.append(t.name)
            continue
        if named is None:
            if mix.default is None or not allows_quantization(t.name, t.ne, model.arch):
                types[i] = src[i]
                continue
            named = mix.default
        ty = named
        blk = GGML_TYPES[ty].block
        if t.row % blk:
            fb = _FALLBACK.get(ty, ty if blk <= 32 else "F16")
            if t.row % GGML_TYPES[fb].block:
                fb = "F16"
            fallbacks.append({"tensor": t.name, "row": t.row, "from": ty, "to": fb})
            ty = fb
        types[i] = ty
    notes = []
    if fallbacks:
        notes.append(Note("type_fallback", count=len(fallbacks), tensors=fallbacks[:6]))
    if kept_1d:
        notes.append(Note("kept_source_type", count=len(kept_1d), tensors=kept_1d[:4]))
    return types, notes
