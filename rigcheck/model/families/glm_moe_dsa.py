"""GLM-5 / GLM-5.1 (HF model_type 'glm_moe_dsa', GlmMoeDsaForCausalLM; llama.cpp arch 'glm-dsa'):
DeepSeek V3.2's layout under Z.ai's names. MLA attention (q/kv LoRA, k_b/v_b split as
llama.cpp's converter writes it), the DSA lightning indexer in every layer, dense leading
layers then 256 routed experts with one shared expert and a sigmoid router with a
correction bias (topk_method noaux_tc), and ``num_nextn_predict_layers`` MTP blocks.

Per layer the tensors are deepseek_v3.py's attention and FFN plus deepseek_v32.py's
indexer (see those modules). The MTP block ``blk.{L+k}`` is a full decoder layer with
nextn.eh_proj (D, 2D), nextn.enorm, nextn.hnorm and nextn.shared_head_norm (D); unlike
DeepSeek's, the checkpoint carries no MTP copies of the embedding or head (its
``model.layers.78.*`` tensors are eh_proj, enorm, hnorm and shared_head.norm), which
llama.cpp's glm-dsa loader (src/models/glm-dsa.cpp) marks optional.
"""

from __future__ import annotations

from ..model import AttnKind, LayerAttention, Model, MoE
from ._base import Inventory, make_model, positive
from .deepseek_v3 import Config, _attention, _ffn  # noqa: F401  (Config: the keys this family reads)
from .deepseek_v32 import _indexer


def _nextn(inv: Inventory, c: Config, i: int, p: str) -> None:
    D = c.hidden_size
    inv.blk(i, "nextn.eh_proj.weight", (D, 2 * D), p + "eh_proj.weight")
    inv.blk(i, "nextn.enorm.weight", (D,), p + "enorm.weight")
    inv.blk(i, "nextn.hnorm.weight", (D,), p + "hnorm.weight")
    inv.blk(i, "nextn.shared_head_norm.weight", (D,), p + "shared_head.norm.weight")


def build(config: dict, model_id: str) -> Model:
    c = Config.from_dict(config, model_id)
    positive(model_id, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
             num_attention_heads=c.num_attention_heads, kv_lora_rank=c.kv_lora_rank,
             n_routed_experts=c.n_routed_experts, moe_intermediate_size=c.moe_intermediate_size,
             vocab_size=c.vocab_size, index_n_heads=c.index_n_heads, index_head_dim=c.index_head_dim)
    D, V, L = c.hidden_size, c.vocab_size, c.num_hidden_layers
    inv = Inventory()
    inv.add("token_embd.weight", (V, D), "model.embed_tokens.weight")
    for i in range(L + c.num_nextn_predict_layers):
        inv.mtp = i >= L
        p = f"model.layers.{i}."
        _attention(inv, c, i, p)
        _indexer(inv, c, i, p)
        _ffn(inv, c, i, p, c.is_moe(i))
        if inv.mtp:
            _nextn(inv, c, i, p)
    inv.mtp = False
    inv.add("output_norm.weight", (D,), "model.norm.weight")
    if not c.tie_word_embeddings:
        inv.add("output.weight", (V, D), "lm_head.weight")
    rope, kvl = c.qk_rope_head_dim, c.kv_lora_rank
    layer = LayerAttention(AttnKind.DSA, c.num_attention_heads, 1, kvl + rope, kvl, kv_lora_rank=kvl,
                           rope_dim=rope, index_head_dim=c.index_head_dim, index_topk=c.index_topk)
    n_dense = sum(1 for i in range(L) if not c.is_moe(i))
    moe = MoE(c.n_routed_experts, c.num_experts_per_tok, c.n_shared_experts, c.moe_intermediate_size, n_dense)
    return make_model(model_id, "glm_moe_dsa", "glm-dsa", inv, [layer] * L, n_vocab=V, n_embd=D,
                      n_ctx_train=c.max_position_embeddings, moe=moe, tied=c.tie_word_embeddings,
                      n_mtp=c.num_nextn_predict_layers)
