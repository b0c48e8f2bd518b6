"""What every family module shares: a Config base whose ``from_dict`` reads HF keys, and
an ``Inventory`` that collects tensors under their llama.cpp (GGUF) names.

A family module is ``families/<model_type>.py`` with a ``@dataclass Config(HFConfig)``
listing the config.json keys it reads and ``build(config: dict, model_id: str) -> Model``.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields

from ... import limits
from ...errors import InputError
from ..model import Model
from functools import lru_cache

from ..names import role_of, split_layer
from ..tensor import Role, Tensor


@dataclass
class HFConfig:
    """Base of the per-family config dataclasses: field names are HF config.json keys."""

    @classmethod
    def from_dict(cls, config: dict, model_id: str = ""):
        """Keep the keys this family reads, ignore the rest; a missing required key (or one
        set to null) is an InputError that names it."""
        if not isinstance(config, dict):
            raise InputError(f"{model_id or 'config'}: config.json must be a JSON object")
        kw = {}
        for f in fields(cls):
            required = f.default is MISSING and f.default_factory is MISSING
            value = config.get(f.name)
            if value is None:
                if required:
                    family = cls.__module__.rsplit(".", 1)[-1]
                    raise InputError(f"{model_id or 'config.json'}: config.json has no '{f.name}', "
                                     f"which the {family} family needs")
                continue
            kw[f.name] = checked_value(model_id, f.name, str(f.type), value)
        _cross_check(model_id, config, kw)
        return cls(**kw)


# whole-number keys that must be positive when a config gives them (0 is no size at all)
POSITIVE_KEYS = ("head_dim", "max_position_embeddings", "kv_lora_rank", "decoder_sparse_step")
# keys that count layers: at most num_hidden_layers
LAYER_COUNT_KEYS = ("first_k_dense_replace", "num_hash_layers", "num_nextn_predict_layers", "mtp_num_hidden_layers")
EXPERT_KEYS = ("num_experts", "n_routed_experts", "num_local_experts")
# rope_scaling members that are numbers (factor > 0), or whole numbers of tokens
ROPE_NUMBERS = ("factor", "beta_fast", "beta_slow", "low_freq_factor", "high_freq_factor", "attention_factor",
                "mscale", "mscale_all_dim")


def _cross_check(model_id: str, config: dict, kw: dict) -> None:
    """The common HF sizes against each other (issue 14): heads that divide the hidden
    width (when no head_dim says otherwise) and KV heads that divide the heads; experts
    per token within the experts; counts of layers within the layers; per-layer lists
    of one entry per layer and of the right kind; rope_scaling's numbers."""
    from ...text import shown
    where = f"{model_id or 'config.json'}: config.json"
    for key in POSITIVE_KEYS:
        if kw.get(key) == 0:
            raise InputError(f"{where} '{key}' is 0; leave it out or give the size")
    layers = kw.get("num_hidden_layers")
    if isinstance(layers, int):
        for key in LAYER_COUNT_KEYS:
            v = kw.get(key)
            if isinstance(v, int) and v > layers:
                raise InputError(f"{where} '{key}' {v:,} is more than 'num_hidden_layers' {layers}")
        lt = kw.get("layer_types")
        if isinstance(lt, list) and lt:
            if len(lt) != layers:
                raise InputError(f"{where} 'layer_types' lists {len(lt)} layers, but 'num_hidden_layers' is {layers}")
            bad = next((v for v in lt if not isinstance(v, str) or len(v) > 64), None)
            if bad is not None or any(not v for v in lt):
                raise InputError(f"{where} 'layer_types' must list one attention-type name per layer, "
                                 f"got {shown(repr(bad), 40)}")
        mol = kw.get("mlp_only_layers")
        if isinstance(mol, list):
            bad = next((v for v in mol if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < layers), None)
            if bad is not None:
                raise InputError(f"{where} 'mlp_only_layers' must list layer numbers 0 to {layers - 1}, "
                                 f"got {shown(repr(bad), 40)}")
    cr = kw.get("compress_ratios")
    if isinstance(cr, list):
        bad = next((v for v in cr if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_INT), None)
        if bad is not None:
            raise InputError(f"{where} 'compress_ratios' must list whole numbers, got {shown(repr(bad), 40)}")
    n_exp = next((kw[k] for k in EXPERT_KEYS if isinstance(kw.get(k), int)), None)
    per_tok = kw.get("num_experts_per_tok")
    if isinstance(n_exp, int) and n_exp >= 1 and isinstance(per_tok, int) and not 0 < per_tok <= n_exp:
        raise InputError(f"{where} 'num_experts_per_tok' {per_tok} must be 1 to the {n_exp} experts")
    rs = kw.get("rope_scaling")
    if isinstance(rs, dict):
        for key in ROPE_NUMBERS:
            v = rs.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v != v
                                  or abs(v) > 1e15 or (key == "factor" and v <= 0)):
                raise InputError(f"{where} 'rope_scaling.{key}' must be a {'positive ' if key == 'factor' else ''}"
                                 f"finite number, got {shown(repr(v), 40)}")
        v = rs.get("original_max_position_embeddings")
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= limits.CONTEXT):
            raise InputError(f"{where} 'rope_scaling.original_max_position_embeddings' must be a whole number "
                             f"of tokens, got {shown(repr(v), 40)}")
    heads, kv, hidden = (kw.get(k) for k in ("num_attention_heads", "num_key_value_heads", "hidden_size"))
    if not all(v is None or isinstance(v, int) for v in (heads, kv, hidden)):
        return
    if kv and not heads:
        raise InputError(f"{where} 'num_attention_heads' is {heads} while 'num_key_value_heads' is {kv}")
    if heads and hidden and config.get("head_dim") is None and hidden % heads:
        raise InputError(f"{where} 'hidden_size' {hidden} is not a multiple of 'num_attention_heads' {heads}, "
                         "and no 'head_dim' is given")
    if heads and kv and (kv > heads or heads % kv):
        raise InputError(f"{where} 'num_attention_heads' {heads} is not a multiple of 'num_key_value_heads' {kv}: "
                         "every KV head serves a whole group of query heads")


MAX_INT = limits.COUNT   # no size, count or length in a config is larger; the common keys have
                         # tighter bounds (rigcheck.limits.HF_KEY_LIMITS: layers, heads, widths...)


def checked_value(model_id: str, key: str, annotation: str, value):
    """A config value of the type its field declares, in a sane range, before any
    arithmetic: whole numbers 0..2**40 (an integral float is taken; a string or a bool is
    not), finite floats, booleans (0/1 taken), strings, lists and objects. One InputError
    naming the key and the value otherwise."""
    kind = annotation.split("|")[0].split("[")[0].strip()
    from ...text import shown as _shown
    where = f"{model_id or 'config.json'}: config.json '{key}'"
    shown = _shown(repr(value) if not isinstance(value, (list, dict)) or len(value) < 20
                   else f"a {type(value).__name__} of {len(value)} items", 60)
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{where} must be a whole number, got {shown}")
        hi = limits.HF_KEY_LIMITS.get(key, MAX_INT)
        if not 0 <= value <= hi:
            raise InputError(f"{where} is out of range (0 to {hi:,}), got {shown}")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
                or abs(value) > 1e15:
            raise InputError(f"{where} must be a finite number, got {shown}")
        value = float(value)
    elif kind == "bool":
        if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
            value = bool(value)
        if not isinstance(value, bool):
            raise InputError(f"{where} must be true or false, got {shown}")
    elif kind == "str":
        if not isinstance(value, str) or len(value) > 256:
            raise InputError(f"{where} must be a short string, got {shown}")
    elif kind in ("list", "tuple"):
        if not isinstance(value, list):
            raise InputError(f"{where} must be a list, got {shown}")
    elif kind == "dict":
        if not isinstance(value, dict):
            raise InputError(f"{where} must be an object, got {shown}")
    return value


def text_config(config: dict) -> dict:
    """Multimodal configs keep the language model under 'text_config'; merge it up."""
    inner = config.get("text_config")
    if isinstance(inner, dict):
        merged = {k: v for k, v in config.items() if k != "text_config"}
        merged.update(inner)
        return merged
    return config


class Inventory:
    """Collects tensors in the order a converter would write them.

    ``add`` takes the GGUF name, the shape in PyTorch order and the HF checkpoint name;
    role and layer come from the name (``names.role_of``) unless given. Everything added
    while ``mtp`` is set is marked as a multi-token-prediction tensor.
    """

    def __init__(self) -> None:
        self.tensors: list[Tensor] = []
        self.mtp = False

    def add(self, name: str, shape, hf_name: str | None = None, role: Role | None = None) -> None:
        layer, rest = split_layer(name)
        r = _role(rest)
        shape = tuple(int(d) for d in shape)
        if any(d <= 0 for d in shape):
            raise InputError(f"tensor {name} would have shape {shape}: check the config's sizes")
        self.tensors.append(Tensor(name, shape, role or r, layer, None, hf_name, self.mtp))

    def blk(self, il: int, suffix: str, shape, hf_name: str | None = None, role: Role | None = None) -> None:
        self.add(f"blk.{il}.{suffix}", shape, hf_name, role)


@lru_cache(maxsize=4096)
def _role(rest: str) -> Role:
    """The role of a name with its 'blk.N.' removed (the same for every layer)."""
    return role_of(rest)[0]


def positive(model_id: str, **values) -> None:
    """Sizes that must be positive integers (a zero or negative one is a broken config)."""
    for key, v in values.items():
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise InputError(f"{model_id or 'config.json'}: '{key}' must be a positive integer, got {v!r}")


def make_model(model_id: str, family: str, arch: str, inv: Inventory, layers, *, n_vocab: int,
               n_embd: int, n_ctx_train: int, moe=None, tied: bool = False, n_mtp: int = 0,
               meta: dict | None = None) -> Model:
    return Model(id=model_id, family=family, arch=arch, tensors=tuple(inv.tensors), layers=tuple(layers),
                 n_vocab=n_vocab, n_embd=n_embd, n_ctx_train=n_ctx_train, moe=moe,
                 tied_embeddings=tied, n_mtp_layers=n_mtp, source="config", meta=meta or {})
