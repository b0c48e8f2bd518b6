"""Facts per llama.cpp architecture, as a table of constants (gguf-py's style): the one
place outside the family modules' own code where an architecture is named.

Each :class:`Arch` row is keyed by llama.cpp's GGUF architecture name and says what
other code needs to know without naming it: the spellings that mean it (HF
``model_type`` values), the family module that holds its hooks, llama.cpp's sliding-
window pattern, its tokenizer's GGUF layout, the switches of llama.cpp's compute graph,
llama-quant's 70B rule, how young each runtime's kernels for it are, its KV layout, and
a runtime made for it alone. Code asks :func:`arch` (or :func:`canonical`) and reads the
field; a new architecture is a new row (and, for quirks beyond these, hooks on its
family module, see ``families.hook``).

Sources: llama.cpp as vendored by llama-cpp-python 0.3.36 (src/llama-arch.cpp names,
src/llama-model.cpp ``set_swa_pattern``, src/models/<arch>.cpp graphs, src/llama-quant.cpp
``LLM_TYPE_70B``), read 2026-12-01; runtime maturity from rigcheck/data/runtime_support.csv
and the notes in plan/speed.py (checked 2026-11-28).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Arch:
    name: str                                   # llama.cpp's GGUF architecture name
    aliases: tuple[str, ...] = ()               # HF model_type values and other spellings
    module: str | None = None                   # the family module with this arch's hooks
    swa_pattern: int = 0                        # layer il is SWA unless il % n == n - 1
    spm_vocab: bool = False                     # SentencePiece vocabulary (GGUF size rule)
    graph: dict = field(default_factory=dict)   # memory.ggml.graph.Traits switches
    graph_modelled: bool = False                # llama.cpp's graph is rebuilt layer for layer
    quant_70b: tuple[int, bool] | None = None   # llama-quant LLM_TYPE_70B: (n_layer, needs GQA)
    maturity: dict = field(default_factory=dict)  # runtime -> "new" | "fork" (default "mature")
    kv_layout: str = ""                         # "dsv4": DeepSeek V4's compressed caches
    dedicated_runtime: str = ""                 # a runtime made for this architecture alone
    model_prefixes: tuple[str, ...] = ()        # catalogue/measurement model ids of this arch
    label: str = ""                             # its name in prose


_V4_MATURITY = {"ds4": "new", "llama.cpp": "fork", "ollama": "fork", "lmstudio": "fork", "mlx": "fork",
                "vllm": "new", "sglang": "new"}

ARCHS: tuple[Arch, ...] = (
    Arch("llama", ("mistral", "llama3", "mixtral"), "llama", graph_modelled=True, quant_70b=(80, True)),
    Arch("llama2", spm_vocab=True),
    Arch("mistral3", ("ministral3",), "mistral3", label="Mistral 3"),
    Arch("qwen2", ("qwen2_5",), "qwen2", graph_modelled=True, quant_70b=(80, False)),
    Arch("qwen2moe", graph={"norm_w": False}),
    Arch("qwen3", (), "qwen3", graph_modelled=True),
    Arch("qwen3moe", ("qwen3_moe",), "qwen3_moe", graph_modelled=True),
    Arch("qwen3next", ("qwen3_next",), "qwen3_next"),
    Arch("qwen35", ("qwen3_5",), "qwen3_5"),
    Arch("qwen35moe", ("qwen3_5_moe",), "qwen3_5"),
    Arch("deepseek2", ("deepseek_v2", "deepseek_v3", "kimi_k2", "deepseek-r1", "deepseek3"), "deepseek_v3",
         graph={"gating": "sigmoid"}, graph_modelled=True),
    Arch("deepseek32", ("deepseek_v32",), "deepseek_v32", graph={"gating": "sigmoid"}),
    Arch("deepseek4", ("deepseek_v4", "deepseekv4"), "deepseek_v4", maturity=_V4_MATURITY, kv_layout="dsv4",
         dedicated_runtime="ds4", model_prefixes=("deepseek-v4",), label="DeepSeek V4"),
    Arch("deepseek41", ("deepseek_v41",)),
    Arch("gpt-oss", ("gpt_oss", "gptoss"), "gpt_oss", swa_pattern=2,
         graph={"act": "swiglu_oai", "gating": "softmax_weight", "norm_w": False}),
    Arch("gemma", spm_vocab=True),
    Arch("gemma2", swa_pattern=2, spm_vocab=True,
         graph={"act": "gelu", "embd_scale": True, "logit_softcap": True, "attn_softcap": True}),
    Arch("gemma3", ("gemma3_text",), "gemma3_text", swa_pattern=6, spm_vocab=True,
         graph={"act": "gelu", "embd_scale": True, "q_scale": True}, graph_modelled=True),
    Arch("gemma3n", swa_pattern=5, spm_vocab=True),
    Arch("gemma4", ("gemma4_text",), "gemma4", swa_pattern=6, spm_vocab=True),
    Arch("cohere2", swa_pattern=4),
    Arch("glm4moe", ("glm4_moe",), "glm4_moe", graph={"gating": "sigmoid"}),
    Arch("glm-dsa", ("glm_moe_dsa",), "glm_moe_dsa", graph={"gating": "sigmoid"}),
    Arch("phi3", (), "phi3", spm_vocab=True),
    Arch("phi2", ("phi",), "phi"),
    Arch("minimax-m2", ("minimax", "minimax_m2"), "minimax_m2"),
    Arch("minimax-m3", ("minimax_m3", "minimax_m3_vl"), "minimax_m3", label="MiniMax-M3"),
    Arch("nemotron_h", (), "nemotron_h", label="Nemotron-H"),
    Arch("nemotron_h_moe", (), "nemotron_h", label="Nemotron-H MoE (Nemotron 3)"),
    Arch("deci", quant_70b=(80, False)),
    Arch("olmo", quant_70b=(80, False)),
    Arch("jais2", quant_70b=(68, False)),
)

_BY_KEY: dict[str, Arch] = {}
for _a in ARCHS:
    for _k in (_a.name, *_a.aliases):
        _BY_KEY.setdefault(_k, _a)


def canonical(name: str) -> str:
    """llama.cpp's name for an architecture given as GGUF arch, HF model_type or another
    spelling (unknown names come back lower-cased, as they are)."""
    key = str(name).strip().lower()
    a = _BY_KEY.get(key) or _BY_KEY.get(key.replace("-", "_")) or _BY_KEY.get(key.replace("_", "-"))
    return a.name if a else key


def arch(name: str) -> Arch:
    """The row of an architecture (an empty row for one the table does not know)."""
    key = canonical(name)
    return _BY_KEY.get(key) or Arch(key)


def of_model_id(model_id: str) -> str:
    """The architecture a model id names by its prefix (for measurement rows of models
    without a card), or ''."""
    mid = str(model_id).lower()
    for a in ARCHS:
        if any(mid.startswith(p) for p in a.model_prefixes):
            return a.name
    return ""


def with_dedicated_runtime(runtime: str) -> tuple[str, ...]:
    """The architectures a single-model runtime was made for."""
    return tuple(a.name for a in ARCHS if a.dedicated_runtime == runtime)


def names() -> tuple[str, ...]:
    """Every architecture name and alias in the table (for the test that no other code
    names one)."""
    return tuple(_BY_KEY)
