"""Models: tensor inventories from configs, GGUF and safetensors headers, and the catalogue."""

from .model import AttnKind, LayerAttention, Model, MoE
from .tensor import ATTN_ROLES, EXPERT_ROLES, FFN_ROLES, SHARED_ROLES, Role, Tensor

__all__ = ["AttnKind", "LayerAttention", "Model", "MoE", "Role", "Tensor",
           "ATTN_ROLES", "EXPERT_ROLES", "FFN_ROLES", "SHARED_ROLES"]
