"""rigcheck: the hardware reality check for local LLMs.

A model is a list of tensors; a build gives each tensor a storage type; a placement
puts each tensor and the KV cache on a device. Size, memory and speed are arithmetic
over those three.
"""

__version__ = "0.1.0"
