"""llama.cpp's compute buffer from its graph: shape-only ggml tensors and ops (tensor),
the reserve graph as llama.cpp builds it (graph), ggml-alloc's planner (alloc), and the
scheduler's backend split (sched)."""
