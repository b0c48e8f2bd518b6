"""rigcheck plan: parallel layouts of one model on a multi-GPU or multi-node rig (vLLM, SGLang)."""

from __future__ import annotations

EPILOG = """Examples:
  rigcheck plan deepseek-v4-pro --rig "2 nodes x 8x h200 ib-400g"
  rigcheck plan deepseek-r1 --rig "2 nodes x 8x h100 ib-400g" --runtime sglang --ctx 32768 --concurrency 64
  rigcheck plan kimi-k2-instruct --rig "2 nodes x 8x h200 ib-400g" --json
  rigcheck plan deepseek-v4-flash --rig "2 nodes x dgx-spark 200gbe"
  rigcheck plan qwen3-235b-a22b --rig "2 nodes x m3-ultra-256 tb5"      # llama.cpp RPC
  rigcheck plan llama-3.1-70b-instruct --rig "2x rtx-4090" --build awq-int4 \\
      --repo hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4 --ctx 8192
  rigcheck plan deepseek-v4-pro --rig "2 nodes x 8x h200 ib-400g" --k8s   # LeaderWorkerSet YAML

Each layout: tensor parallel (TP) within a node, pipeline parallel (PP) across nodes, expert
parallel (EP) and data-parallel attention (DP) where the runtime has them; per-GPU weights,
the KV pool by the runtime's own rule (vLLM: gpu_memory_utilization x memory - weights -
activations - CUDA graphs; SGLang: mem_fraction_static), the maximum concurrency at the
context (as vLLM logs it at start-up), decode tok/s per user and in aggregate at 1, 8 and
--concurrency users, time to first token, and the commands (Ray for vLLM across nodes).
Machines the datacenter runtimes do not run on (Macs over Thunderbolt) get llama.cpp's RPC
split: rpc-server on each other node, llama-server --rpc on the head, the best GGUF that fits.
Commands use HEAD_IP for the head node's address: replace it. Sizes in GB (10^9 bytes).
"""


def register(sub):
    p = sub.add_parser("plan", help="multi-GPU / multi-node layouts (vLLM, SGLang, llama.cpp RPC): KV room, users, speed, commands",
                       description="Parallel layouts of MODEL on a multi-GPU or multi-node RIG for vLLM and SGLang, "
                                   "best first, with their commands.", epilog=EPILOG)
    p.add_argument("model", help="catalogue id or alias (see 'rigcheck models'), or a config.json path")
    p.add_argument("--rig", help="rig spec, e.g. '2 nodes x 8x h200 ib-400g' or '4x h200' (default: this machine)")
    p.add_argument("--runtime", help="vllm, sglang, or llama.cpp (its RPC split across machines); "
                                     "default: every one that runs on the rig")
    p.add_argument("--ctx", type=int, help="context length per request, tokens (default 32768, or the model's maximum)")
    p.add_argument("--concurrency", type=int, help="users at once for the aggregate figures (default 32)")
    p.add_argument("--prompt", type=int, help="prompt length for the time to first token (default: the context)")
    p.add_argument("--build", choices=("native", "fp8", "awq-int4", "gptq-int4"),
                   help="the checkpoint: native (the card's repo, default), fp8 (--quantization fp8 at load), "
                        "awq-int4 / gptq-int4 (a published 4-bit checkpoint: give --repo)")
    p.add_argument("--repo", help="the Hub repo the commands load (default: the model card's)")
    p.add_argument("--kv-cache-dtype", dest="cache_type",
                   help="size the KV cache in this dtype (vLLM: auto, fp8...; SGLang: auto, fp8_e4m3...); "
                        "default: the model's dtype, then 8-bit where that does not fit")
    p.add_argument("--k8s", action="store_true", help="also print a Kubernetes LeaderWorkerSet manifest (multi-node)")
    p.add_argument("--all", action="store_true", help="list every layout, also those that do not fit")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    return p


def plan_report(args) -> dict:
    from ..hardware import parse_rig
    from ..model.resolve import load_model
    from ..plan.check.cluster import plan
    from ..hardware import detect
    model = load_model(args.model)
    rig = _rig(args.rig, parse_rig) if args.rig else detect()
    return plan(model, rig, ctx=args.ctx, concurrency=args.concurrency, runtime=args.runtime,
                build=args.build, repo=args.repo, prompt=args.prompt, k8s=args.k8s,
                cache_type=args.cache_type)


_LINK_LIKE = ("ib", "nvlink", "pcie", "tb", "thunderbolt", "roce", "eth")


def _rig(spec: str, parse_rig):
    """The rig; a misspelt link gets the link ids as suggestions (the spec parser takes an
    unknown word for a device)."""
    import re
    from ..errors import UnknownNameError
    from ..hardware.catalog import links
    try:
        return parse_rig(spec)
    except UnknownNameError as e:
        name = getattr(e, "name", "") or ""
        if name.startswith(_LINK_LIKE) or re.fullmatch(r"\d+g(be|bit|b/s)?", name):
            ids = [ln.id for ln in links()]
            raise UnknownNameError("link", name, ids, hint="links: " + ", ".join(ids)) from None
        raise


def run(args) -> int:
    from . import emit_json
    p = plan_report(args)
    if args.json:
        emit_json(p)
    else:
        from ..report.plan_text import render_plan
        print(render_plan(p, args.all))
    return 0
