"""The words for every structured note (rigcheck.notes.Note): one template per code.

``text(note)`` renders a note for people; ``as_json(note)`` gives {code, values, text}
for scripts. Notes that a module still writes as plain text (rig detection, recipe
details) render as themselves with the code ``text``.
"""

from __future__ import annotations

from .. import units
from ..notes import Note


def _gib(n) -> str:
    return units.gib(n, 1)


TEMPLATES = {
    # placement (plan/placement)
    "ram_short": lambda spill_bytes: (
        f"RAM is {_gib(spill_bytes)} short: llama.cpp's mmap reads that part of the weights from disk on every "
        "token (a speed cliff, often 10-30x slower)"),
    "host_ram_full": lambda: "system RAM cannot hold the KV cache and buffers kept on the host",
    "gpu_too_small_cpu_only": lambda: "the GPU cannot hold even the output layer with the KV cache: CPU only",
    "experts_in_ram": lambda layers, pattern: (
        f"routed experts of layers 0-{layers - 1} in system RAM; the same with -ot: -ot '{pattern}'"),
    "layers_in_ram": lambda in_ram, layers, ngl: f"{in_ram} of {layers} repeating layers in system RAM (-ngl {ngl})",
    "wired_limit": lambda need_bytes, budget_bytes, command: (
        f"needs {_gib(need_bytes)} of GPU memory but macOS lets the GPU wire {_gib(budget_bytes)} by default; "
        f"raise the limit (until reboot): {command}"),
    "mac_ram_short": lambda need_bytes: f"needs {_gib(need_bytes)}: more than this Mac's RAM minus what macOS needs",
    "gpu_budget_short": lambda need_bytes, budget_bytes: (
        f"needs {_gib(need_bytes)} of GPU-addressable memory; the budget is {_gib(budget_bytes)}"),
    "vllm_kv_pool": lambda pool_bytes, sequences, ctx: (
        f"vLLM preallocates {_gib(pool_bytes)} of KV per GPU: about {sequences} concurrent sequences of "
        f"{ctx:,} tokens (activation and CUDA-graph memory estimated)"),
    "tp_short": lambda runtime, need_bytes, usable_bytes, tp: (
        f"needs {_gib(need_bytes)} per GPU of the {_gib(usable_bytes)} {runtime} may use on {tp} GPU(s); "
        f"{runtime} keeps no weights in system RAM by default"),
    "whole_short": lambda runtime, need_bytes, capacity_bytes: (
        f"{runtime} keeps the whole model in GPU memory: needs {_gib(need_bytes)} of {_gib(capacity_bytes)}"),
    # context and KV cache (memory/)
    "beyond_train": lambda ctx, n_ctx_train, model, rope_scale: (
        f"context {ctx:,} is above the {n_ctx_train:,} tokens {model} was trained for: llama.cpp and Ollama "
        f"accept it with a warning and it is sized here as they allocate it, but quality degrades past "
        f"{n_ctx_train:,} tokens unless RoPE scaling stretches the positions (llama.cpp: --rope-scaling yarn "
        f"--rope-scale {rope_scale:.3g} --yarn-orig-ctx {n_ctx_train})"),
    "kv_pinned_f16": lambda: "the V4 fork pins the KV cache to f16 (FP8 is simulated)",
    "quant_v_needs_fa": lambda: "a quantized V cache needs flash attention; llama.cpp refuses it with -fa off",
    "recurrent_state_unknown": lambda: (
        "recurrent state size unknown for some linear-attention layers (counted as 0)"),
    "kv_layout_source": lambda runtime, source: f"V4 entries in {runtime}'s layout ({source})",
    "graph_standard_decoder": lambda arch: (
        f"llama.cpp's {arch} graph is not modelled layer for layer; its compute buffer is that of the standard "
        "decoder with the same widths"),
    "graph_estimated": lambda arch: (
        f"llama.cpp's {arch} graph is not modelled here; its compute buffer is estimated from the logits and "
        "hidden-state widths"),
    # this machine, as detected (hardware/detect)
    "ram_detected": lambda type, speed_mt_s, channels: f"RAM: {type}-{speed_mt_s} on {channels} channel(s) (dmidecode)",
    "ram_unknown": lambda: ("RAM speed and channels unknown (dmidecode missing or not permitted: it needs root); "
                            "'rigcheck rig --measure-bandwidth' measures it"),
    "no_gpu_found": lambda: "no GPU found (NVIDIA: NVML/nvidia-smi; AMD: rocm-smi/sysfs): CPU only",
    "gpu_not_in_catalogue": lambda name: f"GPU '{name}' is not in the catalogue: bandwidth unknown",
    "cpu_not_in_catalogue": lambda name: f"CPU '{name}' is not in the catalogue",
    "bandwidth_measured": lambda bytes_per_s: f"measured copy bandwidth: {units.gb(bytes_per_s, 1)}/s (one thread, NumPy)",
    "bandwidth_remembered": lambda bytes_per_s, measured_on: (
        f"RAM bandwidth {units.gb(bytes_per_s, 1)}/s from your measurement of {measured_on} "
        "('rigcheck rig --measure-bandwidth')"),
    "bandwidth_assumed": lambda bytes_per_s, per_thread_bytes_per_s: (
        f"RAM bandwidth assumed {units.gb(bytes_per_s, 1)}/s (dual-channel DDR4-3200, at most "
        f"{units.gb(per_thread_bytes_per_s, 0)}/s per CPU thread): an assumption, not a reading; "
        "'rigcheck rig --measure-bandwidth' measures it and remembers the result"),
    "dmidecode_no_modules": lambda: "dmidecode listed no memory modules",
    "memory_below_rated": lambda: "memory runs below its rated speed (configured < rated)",
    # the check (plan/check)
    "build_not_evaluated": lambda build, error: f"{build}: {error}",
    "no_speed_estimate": lambda error: f"no speed estimate: {error}",
    "article_figures": lambda title, month: f"article figures: '{title}' ({month})",
    "store_unavailable": lambda error: f"your own measurements were not read: {error}",
}


def text(note) -> str:
    """A note as one line of text."""
    if isinstance(note, Note):
        return TEMPLATES[note.code](**note.values)
    return str(note)


def as_json(note) -> dict:
    """A note for scripts: its code, its values (sizes in bytes) and its text."""
    if isinstance(note, Note):
        return {"code": note.code, "values": dict(note.values), "text": text(note)}
    return {"code": "text", "values": {}, "text": str(note)}
