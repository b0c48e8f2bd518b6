"""ds4's DeepSeek V4 GGUFs (antirez/ds4, gguf-tools/deepseek4-quantize.c and its README;
research/deepseek-v4.md 4-5).

ds4 ships two families, named in its files as e.g.
``IQ2XXS-w2Q2K-AProjQ8-SExpQ8-OutQ8`` and ``Q4KExperts-F16HC-F16Compressor-F16Indexer-
Q8Attn-Q8Shared-Q8Out``:

* ds4-q2: routed experts gate/up IQ2_XXS and down Q2_K;
* ds4-q4: routed experts Q4_K;
* both: attention projections, shared experts and the output head Q8_0; the embedding,
  router, hyper-connection matrices, compressors and indexer F16; norms and other 1-D
  tensors F32; the hash-routing table I32. The MTP layer is a separate file (not counted).
"""

from __future__ import annotations

from ..errors import UnknownNameError
from .mixes import parse

_COMMON = "attn=Q8_0,shared=Q8_0,output=Q8_0,embed=F16,router=F16,other=F16,compressor=F16,indexer=F16"
RECIPES: dict[str, str] = {
    "ds4-q2": "expert_gate=IQ2_XXS,expert_up=IQ2_XXS,expert_down=Q2_K," + _COMMON,
    "ds4-q4": "experts=Q4_K," + _COMMON,
}


def mix(name: str):
    key = name.strip().lower()
    if key not in RECIPES:
        raise UnknownNameError("ds4 build", name, list(RECIPES))
    return parse(RECIPES[key])
