"""gpt-oss as published: the native checkpoint (MXFP4 experts) and the Q-builds that keep
the experts in MXFP4 match the files on the Hub within 0.5%.

Published sizes, as the Hub's file listings show them (GB = 10^9 bytes, three significant
digits, so each is exact to about +-0.4%), read 2026-12-02:
  unsloth/gpt-oss-20b-GGUF   https://huggingface.co/unsloth/gpt-oss-20b-GGUF/tree/main
      gpt-oss-20b-Q4_K_M.gguf 11.6 GB, gpt-oss-20b-Q2_K.gguf 11.5 GB, gpt-oss-20b-F16.gguf 13.8 GB
  unsloth/gpt-oss-120b-GGUF  https://huggingface.co/unsloth/gpt-oss-120b-GGUF/tree/main/Q4_K_M
      Q4_K_M/ 62.8 GB (gpt-oss-120b-Q4_K_M-00001-of-00002.gguf 49.6 GB + -00002 13.1 GB)
  openai/gpt-oss-20b         https://huggingface.co/openai/gpt-oss-20b/tree/main
      model-00000/00001/00002-of-00002.safetensors 4.79 + 4.8 + 4.17 GB
  openai/gpt-oss-120b        https://huggingface.co/openai/gpt-oss-120b/tree/main/original
      original/ 65.2 GB (OpenAI's reference checkpoint of the same MXFP4 weights)
"""

from __future__ import annotations

import pytest

from rigcheck.model.catalog import model_of
from rigcheck.quant import recipes

PUBLISHED = [
    ("gpt-oss-20b", "Q4_K_M-MXFP4", 11.6e9),
    ("gpt-oss-20b", "Q2_K-MXFP4", 11.5e9),
    ("gpt-oss-20b", "F16-MXFP4", 13.8e9),
    ("gpt-oss-120b", "Q4_K_M-MXFP4", 62.8e9),
    ("gpt-oss-20b", "native", (4.79 + 4.8 + 4.17) * 1e9),
    ("gpt-oss-120b", "native", 65.2e9),
]


@pytest.mark.parametrize("model_id,build,published", PUBLISHED)
def test_gpt_oss_builds_match_the_published_files(model_id, build, published):
    b = recipes.build(model_of(model_id), build)
    assert abs(b.file_bytes - published) <= 0.005 * published, (b.file_bytes, published)


def test_the_publishers_q4_k_m_keeps_the_experts_and_quantizes_the_rest():
    m = model_of("gpt-oss-120b")
    pub, stock = recipes.build(m, "Q4_K_M-MXFP4"), recipes.build(m, "Q4_K_M")
    experts = {ty for t, ty, _ in pub.items() if t.is_expert and len(t.shape) == 3}
    assert experts == {"MXFP4"}
    rest = [(t.name, ty) for t, ty, _ in pub.items() if not (t.is_expert and len(t.shape) == 3)]
    assert rest == [(t.name, ty) for t, ty, _ in stock.items() if not (t.is_expert and len(t.shape) == 3)]
    assert stock.file_bytes > 1.35 * pub.file_bytes      # re-quantizing the experts costs ~40%
    assert "Q4_K_M-MXFP4" in recipes.standard_builds(m)
