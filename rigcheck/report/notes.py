"""The words for every structured note (rigcheck.notes.Note): one template per code.

``text(note)`` renders a note for people; ``as_json(note)`` gives {code, values, text}
for scripts. Notes that a module still writes as plain text (the cluster plan's) render
as themselves with the code ``text``.
"""

from __future__ import annotations

from .. import units
from ..text import shown
from ..notes import Note


def _gib(n) -> str:
    return units.gib(n, 1)


def _vulkan_driver_note(lead: str, phase: str, tail: str = ""):
    """The template of a Vulkan driver's factor on one phase's efficiency (decode's
    'vulkan_driver', prefill's 'prefill_vulkan_driver'): one wording for both."""
    return lambda driver, os, factor: (
        f"{lead}Vulkan on {os.capitalize()}: {'Mesa' if driver == 'mesa' else 'the vendor'}'s driver, {phase} "
        f"efficiency x{factor:.2f} of a run whose driver is not known (fitted{tail})")


_KERNELS = {"fork": "young (fork-era) kernels", "new": "new kernels"}
_OUTSIDE = {
    "other_context": "it was measured at context {measured_ctx:,}, this estimate is at {ctx:,} (the KV read per "
                     "token grows with the context)",
    "old_runtime": "it was measured with a runtime from before 2024-06 (higher per-token overheads)",
    "other_threads": "it was measured with {measured_threads} CPU thread(s), this estimate assumes {threads}",
    "speculative": "it used speculative decoding, which the estimate does not assume",
    "not_fitted": "the catalogue keeps it as evidence but leaves it out of the fit (a non-stock build or an "
                  "unusual setup: the row's notes say which)",
    "disagree": "measurements of this setup disagree with each other; the estimate is their context-adjusted mean",
}

_QUALITY = {
    "8-bit": ": 8-bit class, indistinguishable from the original in practice.",
    "6-bit": ": 6-bit class, very close to the original.",
    "4-bit": ": 4-bit class, the usual sweet spot; small losses on hard tasks.",
    "3-bit": ": 3-bit class; losses start to show on reasoning and code.",
    "2-bit": ", below the ~3-bit floor where quality drops noticeably.",
    "1-bit": ": 1-bit class, expect badly damaged output.",
}

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
    # speed (plan/speed)
    "from_setup": lambda rows, contexts, ctx, legacy_rows, legacy_factor: (
        f"from {rows} measurement{'s' if rows > 1 else ''} of this setup (same model, build, runtime and devices; "
        f"measured at context {', '.join(f'{c:,}' for c in contexts)}, moved to {ctx:,} by the model's ratio"
        + (f"; {legacy_rows} made with a runtime from before 2024-06, moved to today's by the fitted fixed-cost "
           f"factor x{legacy_factor:.2f}" if legacy_rows else "") + ")"),
    "generalised": lambda family_rows, family, device, device_rows, runtime_rows, runtime, level="family": (
        f"no measurement of this setup: generalised from {family_rows} measurements on {family} devices ("
        + (f"{device}'s own efficiency from {device_rows} of its measurements" if device_rows else
           f"{device or 'this device'} and its family have no measurement: the physical priors of {family} "
           f"devices, with the range of estimates for families nobody measured" if level == "none" else
           f"{device or 'this device'} has no measurement of its own: its family's efficiency, range widened")
        + f") and {runtime_rows} with {runtime}"),
    "vulkan_driver": _vulkan_driver_note("", "decode", "; --os names the OS"),
    "prefill_vulkan_driver": _vulkan_driver_note("prefill through ", "prompt"),
    "unknown_cpu_widened": lambda factor: (
        f"CPU not in the catalogue: its compute limit is unknown, so the range is widened x{factor:g}"),
    "no_prefill_peak": lambda: "prefill not estimated: the device's FP16 compute peak is not in the catalogue",
    "prefill_from_setup": lambda rows, prompts, prompt, before_fp4=0, fp4_gain=1.0: (
        f"prefill from {rows} measurement{'s' if rows > 1 else ''} of this setup (its backend's where measured; prompts of "
        f"{', '.join(f'{p:,}' for p in prompts)} tokens, moved to {prompt:,} by the model's ratio"
        + (f"; {before_fp4} made before llama.cpp multiplied MXFP4 on Blackwell's FP4 tensor cores (PR #17906), "
           f"moved to today's kernels: their GEMMs x{fp4_gain:.2f}" if before_fp4 else "") + ")"),
    "prefill_generalised": lambda device, backend, device_rows, family, family_rows, backend_rows: (
        "no prefill measurement of this setup: "
        + (f"{device}'s own prefill efficiency from {device_rows} of its measurements" if device_rows else
           f"{device or 'this device'} has no prefill measurement of its own: the {family} family's "
           f"({family_rows} measurements) and the {backend} backend's ({backend_rows}) efficiency, range widened")),
    "young_kernels": lambda runtime, maturity, arch, factor: (
        f"{runtime} has {_KERNELS.get(maturity, f'{maturity} kernels')} for this architecture ({arch}): speed "
        f"x{factor:.2f} of a mature runtime, fitted on this architecture's measurements"),
    "measured_outside": lambda tok_s, source, date, measured_ctx, ctx, reasons, measured_threads, threads: (
        f"the measured {tok_s:.4g} tok/s ({source}, {date}) lies outside this range: "
        + "; ".join(_OUTSIDE[r].format(measured_ctx=measured_ctx, ctx=ctx, measured_threads=measured_threads,
                                       threads=threads) for r in reasons)),
    "streamed_from_disk": lambda fraction: (
        f"{fraction:.0%} of the streamed weights do not fit in RAM and are read from disk (mmap)"),
    # the check (plan/check)
    "build_not_evaluated": lambda build, error: f"{build}: {error}",
    "chosen_for_speed": lambda build, runtime, verdict, speedup: (
        f"chosen over {build} with {runtime} ({verdict}): {speedup:.1f}x as fast, all on fast memory, as good a "
        "build"),
    "no_speed_estimate": lambda error: f"no speed estimate: {error}",
    "article_figures": lambda title, month: f"article figures: '{title}' ({month})",
    "store_unavailable": lambda error: f"your own measurements were not read: {error}",
    # quality (plan/verdict.quality_note)
    "quality": lambda build, bits_per_weight, quality_class, mixed, details: (
        f"{build} averages {bits_per_weight:.2f} bits per weight" + _QUALITY[quality_class]
        + (" It is a mixed-precision build: the routed experts carry the low bits while attention, shared "
           "experts and output stay at higher precision, which keeps it more usable than the average "
           "suggests." if mixed else "")
        + "".join(" " + _sentence(text(d)) for d in details)),
    # builds (quant/)
    "type_fallback": lambda count, tensors: (
        f"{count} tensor(s) took llama.cpp's fallback type because the row length does not divide the block: "
        + _listed(count, tensors, lambda t: f"{shown(t['tensor'])}" + (f" ({t['row']} per row)" if "row" in t else "")
                  + f": {t['from']} -> {t['to']}", "; ")),
    "kept_source_type": lambda count, tensors: (
        f"{count} 1-D or integer tensor(s) kept their source type: " + _listed(count, tensors, shown, ", ")),
    "mlx_not_quantized": lambda count, tensors: (
        f"{count} tensor(s) not quantized because the group does not divide their rows; kept in their source "
        "type as mlx-lm does: " + _listed(count, tensors, lambda t: f"{shown(t['tensor'])} ({t['row']} per row)", ", ")),
    "imatrix_required": lambda ftype: (
        f"{ftype} needs an importance matrix (llama-quantize --imatrix); planned as made with one"),
    "imatrix_used": lambda: "planned as made with an importance matrix",
    "community_mix": lambda name, source: f"{name}: {source}",
    "stock_size": lambda ftype, file_bytes: f"stock llama-quantize {ftype}: {file_bytes:,} bytes",
    "experts_kept": lambda kept, ftype, publisher: (
        f"routed experts kept in {kept} (the checkpoint's own format), the rest by llama-quantize's {ftype} "
        f"rules: what {publisher} publish as {ftype}"),
    "gguf_metadata_estimated": lambda vocab, kv_bytes: (
        f"GGUF metadata estimated from the {vocab:,}-token vocabulary (~{units.size(kv_bytes)}); tensor infos exact"),
    "usually_sharded": lambda shards, kv_bytes: (
        f"above 50 GB: usually published as {shards} shards (-00001-of-{shards:05d}.gguf); each shard repeats "
        f"the metadata (~{units.size(kv_bytes)}), not counted here"),
    "gguf_shard_of": lambda shard, count: (
        f"this is shard {shard} of {count}; sizes are for the whole model's tensors with this shard's header"),
    "native_checkpoint": lambda what, tensors: (
        f"native checkpoint: {what}; safetensors headers estimated ({tensors:,} tensors)"),
    "native_mtp_extra": lambda extra_bytes: (
        f"the release also holds the MTP layer(s): {extra_bytes:,} bytes more (build native-mtp)"),
    # rig specs (hardware/spec.py)
    "rig_ram_assumed": lambda ram_bytes, token: (
        f"RAM not given: assumed {token} (at least twice the VRAM); add e.g. '+{token}' to say how much"),
    "rig_memory_rated": lambda cpu, kind, mt_s, channels: (
        f"memory speed not given: assumed {cpu}'s rated {kind}-{mt_s} on {channels} channels"),
    "rig_memory_assumed": lambda kind, mt_s, channels: (
        f"memory type not given: assumed {kind}-{mt_s} on {channels} channels; add e.g. 'ddr5-6000' or "
        "'ddr5-4800x12'"),
    "rig_no_link": lambda: "no link between the nodes given: add e.g. 'ib-400g', '100gbe' or 'tb5'",
}


def _sentence(s: str) -> str:
    s = s.strip()
    return s if s.endswith(".") else s + "."


def _listed(count: int, items: list, show, sep: str) -> str:
    """The first items of a longer list, then ' ...' where some were left out."""
    return sep.join(show(x) for x in items) + (" ..." if count > len(items) else "")


def text(note) -> str:
    """A note as one line of text."""
    if isinstance(note, Note):
        return TEMPLATES[note.code](**note.values)
    return str(note)


def as_json(note) -> dict:
    """A note for scripts: its code, its values (sizes in bytes; notes within a note as
    notes) and its text."""
    if isinstance(note, Note):
        return {"code": note.code, "values": {k: _plain(v) for k, v in note.values.items()}, "text": text(note)}
    return {"code": "text", "values": {}, "text": str(note)}


def _plain(v):
    if isinstance(v, Note):
        return as_json(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v
