"""Multi-GPU and multi-node plans (issue 15): layouts, KV capacity, concurrency, link
penalties, commands valid for the runtimes' own argument parsers, bad specs.

The runtimes' CLI options are recorded in tests/fixtures/cli_flags/ from their published
sources (vLLM 0.33.0, SGLang 0.5.5, Ray 2.60.0 wheels from PyPI; each file says where): every
generated command is parsed by an argparse parser built from them.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex

import pytest
import yaml

from rigcheck.cli import main
from rigcheck.hardware import parse_rig
from rigcheck.memory import buffers, kv_sglang, kv_vllm
from rigcheck.model.resolve import load_model
from rigcheck.plan.check import cluster
from rigcheck.plan.placement import plan as place
from rigcheck.quant.recipes import build

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "cli_flags")


def _fixture(name: str) -> dict:
    with open(os.path.join(FIXTURES, f"{name}.json"), encoding="utf-8") as f:
        return json.load(f)


class _Refused(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _Refused(message)


def _parser(fixture: dict, abbrev: bool, positional: bool) -> argparse.ArgumentParser:
    p = _Parser(allow_abbrev=abbrev, add_help=False)
    if positional:
        p.add_argument("model_tag", nargs="?")
    for opt, info in fixture["options"].items():
        if not opt.startswith("-"):
            continue
        if info["takes_value"]:
            p.add_argument(opt, dest=opt, nargs=info.get("nargs") and "*" or None)
        else:
            p.add_argument(opt, dest=opt, action="store_true")
    return p


VLLM = _parser(_fixture("vllm-0.33.0"), abbrev=False, positional=True)     # vLLM's FlexibleArgumentParser: no prefixes
SGLANG = _parser(_fixture("sglang-0.5.5"), abbrev=True, positional=False)  # launch_server: plain argparse, prefixes ok
RAY = _parser(_fixture("ray-2.60.0"), abbrev=False, positional=False)
LLAMA_SERVER = _parser(_fixture("llama.cpp-0.3.36"), abbrev=False, positional=False)
RPC_SERVER = _parser({"options": _fixture("llama.cpp-0.3.36")["rpc_server_options"]}, abbrev=False, positional=False)
BUILD_STEPS = ("git", "cd", "cmake")    # the llama.cpp clone-and-build lines


def _segments(cmd: str) -> list[list[str]]:
    """Each simple command of a line (split at &&)."""
    out, cur = [], []
    for tok in shlex.split(cmd):
        if tok == "&&":
            out.append(cur)
            cur = []
        else:
            cur.append(tok)
    return out + [cur]


def _validate(argv: list[str]) -> str:
    """Parse one command with its runtime's recorded options; the runtime it was."""
    if argv[:2] == ["vllm", "serve"]:
        VLLM.parse_args(argv[2:])
        return "vllm"
    if argv[:3] == ["python", "-m", "sglang.launch_server"]:
        SGLANG.parse_args(argv[3:])
        return "sglang"
    if argv[:2] == ["ray", "start"]:
        RAY.parse_args(argv[2:])
        return "ray"
    if argv[0].endswith("/llama-server"):
        LLAMA_SERVER.parse_args(argv[1:])
        return "llama.cpp"
    if argv[0].endswith("/rpc-server"):
        RPC_SERVER.parse_args(argv[1:])
        return "rpc-server"
    if argv[0] in BUILD_STEPS:
        return "build"
    if argv[:2] == ["python3", "-c"]:
        compile(argv[2], "<wait>", "exec")     # the leader's wait-for-workers loop
        return "python"
    raise AssertionError(f"not a runtime command: {argv}")


def _all_commands(p: dict) -> list[str]:
    out = []
    for lay in p["layouts"]:
        for cmd in lay["commands"].values():
            out.extend(cmd.splitlines())
        if lay.get("k8s"):
            doc = yaml.safe_load(lay["k8s"])
            tmpl = doc["spec"]["leaderWorkerTemplate"]
            for role in ("leaderTemplate", "workerTemplate"):
                (container,) = tmpl[role]["spec"]["containers"]
                assert container["command"] == ["sh", "-c"]
                out.append(container["args"][0].replace("$(LWS_LEADER_ADDRESS)", "10.0.0.1")
                           .replace("$(LWS_WORKER_INDEX)", "1"))
    return out


CASES = [
    ("deepseek-v4-pro", "2 nodes x 8x h200 ib-400g", 65536),
    ("deepseek-r1", "2 nodes x 8x h100 ib-400g", 32768),
    ("kimi-k2-instruct", "2 nodes x 8x h200 ib-400g", 131072),
    ("deepseek-v4-flash", "4x h200", 65536),
    ("deepseek-v4-flash", "2 nodes x dgx-spark 200gbe", 32768),
]


@pytest.mark.parametrize("model_id,spec,ctx", CASES)
def test_every_generated_command_parses_with_the_runtimes_recorded_options(model_id, spec, ctx):
    p = cluster.plan(load_model(model_id), parse_rig(spec), ctx=ctx, k8s=True)
    seen = set()
    for line in _all_commands(p):
        for argv in _segments(line):
            seen.add(_validate(argv))
    assert {"vllm", "sglang"} <= seen
    if len(parse_rig(spec).nodes) > 1:
        assert "ray" in seen and any(lay.get("k8s") for lay in p["layouts"])


def test_the_flag_check_refuses_what_the_runtimes_refuse():
    """The recorded parsers are strict: a misspelt or invented flag, a missing value, and a
    prefix vLLM does not accept are refused (so the test above can fail)."""
    with pytest.raises(_Refused):
        VLLM.parse_args(["m", "--tensor-parallel", "8"])           # vLLM takes no prefixes
    with pytest.raises(_Refused):
        VLLM.parse_args(["m", "--enable-expert-parallelism"])
    with pytest.raises(_Refused):
        SGLANG.parse_args(["--model-path", "m", "--nodes", "2"])  # --nnodes
    with pytest.raises(_Refused):
        SGLANG.parse_args(["--model-path", "m", "--tp"])           # a value is needed
    with pytest.raises(_Refused):
        RAY.parse_args(["--head-node"])
    with pytest.raises(_Refused):
        LLAMA_SERVER.parse_args(["-m", "x.gguf", "--rpc-servers", "a:1"])
    with pytest.raises(_Refused):
        RPC_SERVER.parse_args(["--host", "0.0.0.0", "--cache", "yes"])   # --cache is a switch
    SGLANG.parse_args(["--model-path", "m", "--tp", "16", "--dp", "16", "--ep", "16"])  # SGLang's docs spell them so


def test_multi_node_commands_start_ray_and_name_every_node():
    p = cluster.plan(load_model("deepseek-v4-pro"), parse_rig("2 nodes x 8x h200 ib-400g"), ctx=65536)
    tp_pp = next(l for l in p["layouts"] if l["runtime"] == "vllm" and l["tp"] == 8 and l["pp"] == 2 and l["ep"] == 1)
    cmds = list(tp_pp["commands"].values())
    assert cmds[0] == "ray start --head --port 6379"
    assert cmds[1] == "ray start --address=HEAD_IP:6379 --block"
    serve = shlex.split(cmds[2])
    assert serve[:3] == ["vllm", "serve", "deepseek-ai/DeepSeek-V4-Pro"]           # the card's hf_repo
    for flag, value in (("--tensor-parallel-size", "8"), ("--pipeline-parallel-size", "2"),
                        ("--max-model-len", "65536"), ("--distributed-executor-backend", "ray"),
                        ("--gpu-memory-utilization", f"{tp_pp['settings']['gpu_memory_utilization']:.2f}")):
        assert serve[serve.index(flag) + 1] == value
    sg = next(l for l in p["layouts"] if l["runtime"] == "sglang" and l["dp_attention"])
    ranks = []
    for cmd in sg["commands"].values():
        a = shlex.split(cmd)
        assert a[a.index("--nnodes") + 1] == "2" and a[a.index("--dist-init-addr") + 1] == "HEAD_IP:20000"
        assert a[a.index("--tp") + 1] == "16" and a[a.index("--dp") + 1] == "16" and "--enable-dp-attention" in a
        assert a[a.index("--mem-fraction-static") + 1] == f"{sg['settings']['mem_fraction_static']:.2f}"
        ranks.append(a[a.index("--node-rank") + 1])
    assert ranks == ["0", "1"]


def test_single_node_tp_agrees_with_the_placement():
    """On one node, vLLM's TP layout holds what the single-node placement sizes: the same
    weights per GPU and the same KV budget (rigcheck.plan.placement._plan_tp)."""
    model = load_model("deepseek-v4-pro")
    rig = parse_rig("8x h200")
    b = build(model, "native")
    pl = place(b, ctx=65536, runtime="vllm", rig=rig, cache_type="fp8")
    assert pl.fits and pl.settings["tp"] == 8
    p = cluster.plan(model, rig, ctx=65536, runtime="vllm")
    tp8 = next(l for l in p["layouts"] if l["tp"] == 8 and l["ep"] == 1 and l["dp"] == 1)
    use = pl.placement[0]
    assert abs(tp8["per_gpu_weights_bytes"] - use.weights_bytes) <= 8          # integer division only
    cap = rig.node.gpus[0].memory_bytes
    budget = buffers.vllm_kv_budget(cap, use.weights_bytes, gpu_memory_utilization=pl.settings["gpu_memory_utilization"],
                                    activation_bytes=use.compute_bytes)
    assert abs(tp8["kv_pool_bytes_per_gpu"] - budget) <= 8


@pytest.mark.parametrize("model_id,spec,ctx", [("deepseek-r1", "2 nodes x 8x h100 ib-400g", 32768),
                                               ("llama-3.1-70b-instruct", "2 nodes x 4x h100 ib-400g", 16384)])
def test_max_concurrency_is_whole_requests_in_the_runtimes_layout(model_id, spec, ctx):
    """floor(max concurrency) requests of ctx tokens fit the pool in the runtime's own KV
    layout, one more does not (vLLM: pages of 16; SGLang: token cells), on the heaviest stage."""
    model = load_model(model_id)
    p = cluster.plan(model, parse_rig(spec), ctx=ctx)
    checked = 0
    for lay in p["layouts"]:
        if not lay["fits"] or lay["runtime"] not in ("vllm", "sglang"):
            continue
        n = int(lay["max_concurrency_per_replica"])
        share = -(-model.n_layer // lay["pp"]) / model.n_layer
        kv = kv_vllm if lay["runtime"] == "vllm" else kv_sglang
        ct = lay["kv_cache_dtype"]
        need = lambda k: kv.kv_cache(model, ctx, cache_type=ct, n_seq=k, tp=lay["attention_tp"]).bytes * share  # noqa: E731
        assert need(n) <= lay["kv_pool_bytes_per_gpu"] < need(n + 1)
        assert abs(lay["kv_capacity_tokens"] - lay["max_concurrency"] * ctx) <= 0.005 * ctx * lay["dp"]
        checked += 1
    assert checked >= 3


def test_data_parallel_attention_multiplies_latent_kv_room():
    """An MLA latent is replicated on every TP rank; with DP attention each rank holds its own
    requests: many more users at the same context (vLLM #51454 measured 7.7x for DP8 vs TP8).
    A GQA model gets no DP-attention layout."""
    p = cluster.plan(load_model("deepseek-r1"), parse_rig("8x h200"), ctx=32768, runtime="vllm")
    tp = next(l for l in p["layouts"] if l["tp"] == 8 and l["ep"] == 1)
    dp = next(l for l in p["layouts"] if l["dp_attention"])
    assert dp["per_gpu_weights_bytes"] > tp["per_gpu_weights_bytes"]        # attention copied per rank
    assert dp["max_concurrency"] > 3 * tp["max_concurrency"]
    dense = cluster.plan(load_model("llama-3.1-70b-instruct"), parse_rig("8x h200"), ctx=32768)
    assert not any(l["dp_attention"] or l["ep"] > 1 for l in dense["layouts"])


def test_pipeline_stages_split_weights_and_tp_across_nodes_pays_the_network():
    model = load_model("deepseek-r1")
    p = cluster.plan(model, parse_rig("2 nodes x 8x h100 ib-400g"), ctx=8192, runtime="vllm", prompt=1024)
    one = cluster.plan(model, parse_rig("8x h200"), ctx=8192, runtime="vllm", prompt=1024)
    pp = next(l for l in p["layouts"] if l["tp"] == 8 and l["pp"] == 2 and l["ep"] == 1)
    tp16 = next(l for l in p["layouts"] if l["tp"] == 16 and l["ep"] == 1)
    tp8 = next(l for l in one["layouts"] if l["tp"] == 8 and l["ep"] == 1)
    b = build(model, "native")
    assert pp["per_gpu_weights_bytes"] < 0.55 * tp8["per_gpu_weights_bytes"] * 141 / 141
    assert abs(pp["per_gpu_weights_bytes"] * 16 - b.weights_bytes) < 0.05 * b.weights_bytes
    assert pp["nodes"] == tp16["nodes"] == 2
    # one user: TP over 16 GPUs reads less per GPU but pays two cross-node all-reduces a layer
    assert tp16["decode_tok_s_per_user"]["1"] < pp["decode_tok_s_per_user"]["1"]


def test_honest_link_penalties_for_small_clusters():
    """Same GPUs, slower links, slower tensor parallel: NVLink > PCIe inside a node;
    200 GbE > 10 GbE > nothing faster between two DGX Sparks."""
    model = load_model("llama-3.1-8b-instruct")

    def tp_user(spec, tp):
        p = cluster.plan(model, parse_rig(spec), ctx=8192, runtime="vllm", prompt=512)
        return next(l for l in p["layouts"] if l["tp"] == tp and l["pp"] == 1)["decode_tok_s_per_user"]["1"]

    assert tp_user("4x h100 nvlink4", 4) > tp_user("4x h100 pcie5-x16", 4) > tp_user("4x h100 pcie4-x8", 4)
    spark = [tp_user(f"2 nodes x dgx-spark {l}", 2) for l in ("200gbe", "10gbe")]
    assert spark[0] > spark[1]
    mac = cluster.plan(model, parse_rig("2 nodes x dgx-spark tb5"), ctx=8192, runtime="vllm")
    assert mac["rig"]["interconnect"]["between_nodes"] == "tb5"


def test_json_fields_and_explicit_topology(capsys):
    assert main(["plan", "deepseek-r1", "--rig", "2 nodes x 8x h100 ib-400g", "--ctx", "16384", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)
    assert p["rig"]["nodes"] == 2 and p["rig"]["gpus_per_node"] == 8
    assert p["rig"]["interconnect"] == {"within_node": "nvlink4", "between_nodes": "ib-400g"}
    need = {"runtime", "tp", "pp", "ep", "dp", "gpus", "nodes", "per_gpu_weights_bytes", "kv_capacity_tokens",
            "max_concurrency", "decode_tok_s_per_user", "decode_tok_s_aggregate", "ttft_s", "commands"}
    assert p["layouts"] and all(need <= set(l) for l in p["layouts"])
    fits = [l for l in p["layouts"] if l["fits"]]
    assert fits == p["layouts"][:len(fits)]                                   # best first: fitting ones lead
    for l in fits:
        assert set(l["decode_tok_s_per_user"]) == {"1", "8", "32"}
        u, a = l["decode_tok_s_per_user"], l["decode_tok_s_aggregate"]
        assert u["1"] >= u["8"] >= u["32"] > 0 and a["32"] >= a["8"] >= a["1"]
        assert l["ttft_s"] > 0


def test_text_report_and_k8s(capsys):
    # vLLM across nodes runs on a Ray cluster (SGLang needs none: asked for vLLM, whichever ranks first)
    assert main(["plan", "kimi-k2-instruct", "--rig", "2 nodes x 8x h200 ib-400g", "--runtime", "vllm", "--k8s"]) == 0
    out = capsys.readouterr().out
    assert "Best:" in out and "kind: LeaderWorkerSet" in out and "ray start --head" in out


def test_best_layout_for_check():
    model = load_model("deepseek-v4-pro")
    assert cluster.best_layout(model, parse_rig("h200"), 32768) is None              # one GPU: check's own plan
    best = cluster.best_layout(model, parse_rig("2 nodes x 8x h200 ib-400g"), 32768)
    assert best is not None and best["fits"] and best["gpus"] == 16 and best["nodes"] == 2
    assert best["rig"]["nodes"] == 2 and any("ray start --head" in c for c in best["commands"].values()) \
        or best["runtime"] == "sglang"
    assert cluster.best_layout(model, parse_rig("2x rtx-4090"), 32768) is None       # nothing fits


def test_a_4bit_checkpoint_with_its_repo():
    p = cluster.plan(load_model("llama-3.1-70b-instruct"), parse_rig("2x rtx-4090"), ctx=8192, build="awq-int4",
                     repo="hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4", runtime="vllm")
    tp2 = next(l for l in p["layouts"] if l["tp"] == 2)
    assert tp2["fits"] and 15e9 < tp2["per_gpu_weights_bytes"] < 22e9
    assert tp2["kv_cache_dtype"] == "fp8"          # a 16-bit cache leaves no room for one 8K request
    assert shlex.split(tp2["commands"]["serve"])[2] == "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4"


def test_two_dgx_sparks_hold_what_a_published_run_held():
    """Qwen3-235B-A22B GPTQ-Int4 over two DGX Sparks (vLLM TP2 + EP2): 'Weight resident per
    node: 57.64 GiB' (conselara.dev/notes/dgx-spark-benchmarks, 2026-05-03). The split is
    exact arithmetic on the checkpoint's tensors, not fitted to that figure."""
    p = cluster.plan(load_model("qwen3-235b-a22b"), parse_rig("2 nodes x dgx-spark 200gbe"), ctx=8192,
                     build="gptq-int4", repo="Qwen/Qwen3-235B-A22B-GPTQ-Int4", runtime="vllm")
    lay = next(l for l in p["layouts"] if l["tp"] == 2 and l["ep"] == 2)
    assert lay["fits"] and lay["nodes"] == 2
    assert abs(lay["per_gpu_weights_bytes"] / 2**30 - 57.64) / 57.64 < 0.03
    assert p["rig"]["interconnect"] == {"within_node": None, "between_nodes": "200gbe"}


def test_mac_studios_over_thunderbolt_get_a_llama_cpp_rpc_split():
    """No datacenter runtime runs on Metal: the plan is llama.cpp's RPC layer split, the best
    GGUF build that fits, rpc-server on every other node; the same model over more nodes pays
    more TCP hops per token (the bytes read stay the same)."""
    model = load_model("qwen3-235b-a22b")
    two = cluster.plan(model, parse_rig("2 nodes x m3-ultra-512 tb5"), ctx=8192, concurrency=4)
    four = cluster.plan(model, parse_rig("4 nodes x m3-ultra-512 tb5"), ctx=8192, concurrency=4)
    assert [l["runtime"] for l in two["layouts"]] == ["llama.cpp"]
    a, b = two["layouts"][0], four["layouts"][0]
    assert a["fits"] and a["pp"] == 2 and a["build"] == b["build"] == two["build"]
    assert a["build"] in ("Q8_0", "Q6_K")                                    # quality first: it fits
    assert b["decode_tok_s_per_user"]["1"] < a["decode_tok_s_per_user"]["1"]
    cmds = list(a["commands"].values())
    assert sum("rpc-server" in c for c in cmds) == 1 and "--rpc NODE1_IP:50052" in cmds[-1]
    for line in _all_commands(two) + _all_commands(four):
        for argv in _segments(line):
            assert _validate(argv) in ("llama.cpp", "rpc-server", "build")
    assert any("exo" in n for n in two["notes"])


@pytest.mark.parametrize("argv,words", [
    (["--rig", "3 nodes x 0x h200"], "count"),
    (["--rig", "2 nodes x 8x h200 ib-999g"], "unknown link 'ib-999g'"),
    (["--rig", "2x rtx-4090 nvlink4"], "does not connect over nvlink4"),
    (["--rig", "m3-ultra-512"], "'rigcheck check' plans it"),
    (["--rig", "2x xeon-gold-6138+768GB"], "needs GPUs"),
    (["--rig", "2 nodes x 8x h200 ib-400g", "--runtime", "ollama"], "no multi-GPU plan"),
    (["--rig", "2 nodes x 8x h200 ib-400g", "--build", "awq-int4"], "--repo"),
    (["--rig", "2 nodes x 8x h200 ib-400g", "--concurrency", "0"], "concurrency"),
])
def test_bad_input_is_one_line_and_exit_2(argv, words, capsys):
    assert main(["plan", "deepseek-r1", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err


def test_check_text_shows_the_layout_over_both_nodes(capsys):
    assert main(["check", "deepseek-r1", "--rig", "2 nodes x 8x h100 ib-400g", "--ctx", "16384"]) == 0
    out = capsys.readouterr().out
    head = next(l for l in out.splitlines() if l.startswith("Best choice across the 2 nodes:"))
    assert "16 GPUs" in head and "16,384 tokens" in head
    assert any(l.strip().startswith(("vllm serve", "python -m sglang.launch_server")) for l in out.splitlines())


def test_v4_requests_carry_vllms_window_state():
    """vLLM reserves DeepSeek V4's raw window and compressor states per request as
    sliding-window blocks (max_num_batched_tokens in flight), so one request costs gigabytes
    however short: vLLM itself said 6.66 GiB at 30,000 tokens and 5.44 GiB at 13,528 on TP2
    (vllm-project/vllm #44376, a release before vllm#48993), which kv_vllm's pre-0.26 rules land
    on at vLLM's printed precision, where the compressed entries alone are 0.02x. The cluster
    plan's per-request KV is kv_vllm's for the vLLM its commands run (0.33: the packed planner
    of vllm#48993), a little less."""
    from rigcheck.runtimes.vllm import CLUSTER
    model = load_model("deepseek-v4-flash")
    for ctx, gib in ((30000, 6.66), (13528, 5.44)):
        then = kv_vllm.kv_cache(model, ctx, cache_type="fp8", n_seq=1, tp=2, version="0.25")
        entries = (sum(p.bytes for p in then.parts if p.name in ("csa", "hca", "indexer"))
                   + model.n_layer * 128 * kv_vllm.v4_entry_bytes(512, 64, "fp8")) / 2**30
        assert round(then.bytes / 2**30, 2) == gib and entries < 0.05 * gib
        ours = CLUSTER.kv_seq_bytes(model, ctx, attn_tp=2, cache_type="fp8")
        assert ours == kv_vllm.kv_cache(model, ctx, cache_type="fp8", n_seq=1, tp=2).bytes   # one layout, one place
        assert 0.9 * then.bytes < ours < then.bytes
    # nearly flat once the context passes the tokens in flight
    a, b = (CLUSTER.kv_seq_bytes(model, c, attn_tp=2, cache_type="fp8") for c in (32768, 131072))
    assert b < 1.15 * a


def test_a_gguf_file_on_two_macs_is_served_from_that_file(gemma_gguf):
    """A model read from a .gguf file has no checkpoint for vLLM/SGLang; llama.cpp's RPC split
    serves the file itself (the real 253 MB GGUF installed with the test dependencies)."""
    path = gemma_gguf
    p = cluster.plan(load_model(path), parse_rig("2 nodes x m4-max-128 tb5"), ctx=4096, concurrency=2)
    (lay,) = p["layouts"]
    assert lay["runtime"] == "llama.cpp" and lay["fits"]
    head = shlex.split(lay["commands"]["node 0 (head)"])
    assert head[head.index("-m") + 1] == path


# ---- SGLang's DeepSeek V4 pool, speculative decoding, links (issue 15 follow-up) -----------------

SGLANG_LOG = os.path.join(os.path.dirname(__file__), "fixtures", "sglang", "dsv4_pool_log.txt")


def _sglang_log() -> list[dict]:
    import re
    out = []
    with open(SGLANG_LOG, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            out.append({k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", line)})
    return out


def test_sglang_v4_pool_is_sglangs_own_formula():
    """rigcheck's bytes per token of a V4 request in SGLang is the figure SGLang itself logs
    for DeepSeek-V4-Flash (7705.45), its pool sizes follow from full_token as SGLang splits
    them (SWA 0.1 of full, c4 1/4, c128 1/128, c4 state ring 8 per SWA page of 128), and the
    token count is (available - c128 state) / bytes per token."""
    model = load_model("deepseek-v4-flash")
    calc, sizes, calc2 = _sglang_log()
    assert round(kv_sglang.v4_bytes_per_full_token(model), 2) == calc["bytes_per_full_token"]
    full, page = int(sizes["full"]), 128                      # that log's page size (full is a multiple of 128)
    swa = int(full * kv_sglang.V4_SWA_FULL_TOKENS_RATIO) // page * page
    assert (swa, full // 4, full // 128) == (sizes["swa"], sizes["c4"], sizes["c128"])
    assert swa // 128 * kv_sglang.v4_ring_size(4) == sizes["c4_state"]
    for c in (calc, calc2):                                    # GB in SGLang's log is 2^30 bytes, rounded to 0.01
        tokens = (c["available_bytes"] - c["c128_state_fixed"]) * 2**30 / calc["bytes_per_full_token"]
        assert abs(tokens - c["full_token"]) <= 0.011 * 2**30 / calc["bytes_per_full_token"]
    # a speculative server doubles the rings and adds the draft layer's share
    spec = kv_sglang.v4_bytes_per_full_token(model, speculative=True)
    assert spec > kv_sglang.v4_bytes_per_full_token(model) * (model.n_layer + 1) / model.n_layer
    # the c128 state per request slot: 4 requests -> 0.07 GB (the first line's c128_state_fixed)
    assert round(kv_sglang.v4_state_bytes(model, max_running_requests=4) / 2**30, 2) == calc["c128_state_fixed"]


def test_sglang_v4_layout_counts_requests_in_sglangs_pool():
    """A V4 TP layout on SGLang holds floor((pool - state) / per-request bytes) requests, at
    most max_running_requests (256), and the KV is the latent: not divided by TP."""
    model = load_model("deepseek-v4-pro")
    p = cluster.plan(model, parse_rig("8x h200"), ctx=131072, runtime="sglang", concurrency=8)
    tp8 = next(l for l in p["layouts"] if l["tp"] == 8 and l["ep"] == 1 and l["pp"] == 1 and not l["dp_attention"])
    per = kv_sglang.v4_bytes_per_full_token(model, speculative=tp8["speculative"] is not None) * 131072
    assert tp8["kv_bytes_per_request"] == pytest.approx(per, rel=1e-6)
    assert int(tp8["max_concurrency"]) == min(256, int(tp8["kv_pool_bytes_per_gpu"] // per))
    assert tp8["settings"]["v4_state_bytes"] == kv_sglang.v4_state_bytes(model, speculative=True)
    dp8 = next(l for l in p["layouts"] if l["dp_attention"] and l["dp"] == 8)       # 256 requests over 8 DP workers
    assert dp8["max_running_requests_per_replica"] == 32 and dp8["max_concurrency"] <= 256
    assert dp8["settings"]["v4_state_bytes"] == kv_sglang.v4_state_bytes(model, speculative=True, max_running_requests=32)
    short = cluster.plan(model, parse_rig("8x h200"), ctx=4096, runtime="sglang", concurrency=8)
    assert next(l for l in short["layouts"] if l["label"] == tp8["label"])["max_concurrency"] == 256


def test_speculative_decoding_where_the_recipe_uses_it():
    """SGLang's V4 recipe runs EAGLE 3-1-4: the plan says so, emits the flags (valid for the
    recorded parser), and decodes faster per user than the same layout without it; vLLM's
    plan (no MTP by default) carries none."""
    model = load_model("deepseek-v4-flash")
    p = cluster.plan(model, parse_rig("4x h200"), ctx=9216, prompt=8192, concurrency=16)
    sg = next(l for l in p["layouts"] if l["runtime"] == "sglang" and l["tp"] == 4 and l["ep"] == 1
              and not l["dp_attention"])
    assert sg["speculative"]["num_steps"] == 3 and sg["speculative"]["draft_tokens"] == 4
    argv = shlex.split(sg["commands"]["serve"])
    SGLANG.parse_args(argv[3:])
    assert argv[argv.index("--speculative-algorithm") + 1] == "EAGLE"
    assert argv[argv.index("--speculative-num-draft-tokens") + 1] == "4"
    assert any("speculative decoding" in n for n in p["notes"])
    vl = [l for l in p["layouts"] if l["runtime"] == "vllm"]
    assert vl and all(l["speculative"] is None and "--speculative-config" not in " ".join(l["commands"].values())
                      for l in vl)
    # the same layout evaluated without the draft: slower per user, more KV room
    from rigcheck.plan.check.data import speed_calibration
    from rigcheck.runtimes.sglang import CLUSTER
    b = build(model, "native")
    sh = cluster.shape_of(model, b)
    rig = parse_rig("4x h200")
    dev, links = cluster._device(rig, sh.low_precision), cluster.rig_links(rig)
    lay = dict(tp=4, pp=1, dp=1, ep=1, dp_attention=False, attn_tp=4, gpus=4)
    kw = dict(ctx=9216, nodes=1, gpus_per_node=4, users=[1, 16], prompt=8192, calib=speed_calibration(),
              cache_type="fp8_e4m3")
    plain = cluster.evaluate_layout(CLUSTER, model, sh, dev, links, lay, **kw)
    spec = cluster.evaluate_layout(CLUSTER, model, sh, dev, links, lay, spec=cluster.speculative_defaults(model.id)["sglang"],
                                   **kw)
    assert spec["decode_tok_s_per_user"]["1"] > 1.5 * plain["decode_tok_s_per_user"]["1"]
    assert spec["per_gpu_weights_bytes"] > plain["per_gpu_weights_bytes"]           # the MTP block
    assert spec["kv_pool_bytes_per_gpu"] < plain["kv_pool_bytes_per_gpu"]


def test_speculative_facts_carry_sources():
    from rigcheck import catalogue
    rows = catalogue.speculative()
    assert rows and all(r["source"].startswith("http") and r["checked"] for r in rows)
    assert all(1.0 < float(r["acceptance_length"]) <= int(r["draft_tokens"]) for r in rows)


def test_sparse_attention_reads_its_top_k_not_its_whole_cache():
    """V4's CSA layers read index_topk compressed entries (+ the window), HCA layers all their
    ctx/128; a full-attention model reads everything it holds."""
    v4 = load_model("deepseek-v4-flash")
    assert cluster.kv_read_share(v4, 8192) > cluster.kv_read_share(v4, 131072)
    assert cluster.kv_read_share(v4, 131072) < 0.2
    assert cluster.kv_read_share(load_model("llama-3.1-70b-instruct"), 65536) == 1.0


def test_cross_node_all_reduce_latency_grows_with_ranks_and_nodes():
    """NCCL's model (scaled by the measured 2-node figure): 16 H100s on 2 nodes come to about
    the 61.6 us NVIDIA/nccl #1453 measured; more nodes cost more."""
    assert cluster.nccl_allreduce_latency_s(2, 2) == pytest.approx(19.9e-6)
    assert 50e-6 < cluster.nccl_allreduce_latency_s(16, 2) < 70e-6
    assert cluster.nccl_allreduce_latency_s(32, 4) > cluster.nccl_allreduce_latency_s(16, 2)


def test_a_decode_sized_all_reduce_across_nodes_pays_nccls_ll_time_per_byte():
    """NCCL's own model for 2 x 8 H100 (its NCCL_DEBUG log in NVIDIA/nccl #1453) rises 12.6 us
    from 128 B to 64 KB in the LL protocol, far more than the links' rate would add; scaled like
    the latency. Past 64 KB NCCL changes protocol and no more LL time accrues."""
    lat = cluster.nccl_allreduce_latency_s
    rise = lat(16, 2, 65536) - lat(16, 2, 128)
    assert rise == pytest.approx((37.798233 - 25.214764) * 1e-6 * cluster.NCCL_MEASURED_OVER_MODEL, rel=1e-6)
    assert lat(16, 2, 1 << 20) == lat(16, 2, 65536)
    two = cluster.rig_links(parse_rig("2 nodes x 8x h100-sxm ib-400g"))
    r1_token = 7168 * 2                                       # one token's bf16 hidden state
    assert cluster._collective_s(two, 16, 8, r1_token, "ar") > cluster._collective_s(two, 16, 8, 128, "ar") + 4e-6
    one = cluster.rig_links(parse_rig("8x h100-sxm"))         # inside an NVLink node: no LL term
    assert cluster._collective_s(one, 8, 8, r1_token, "ar") < cluster._collective_s(one, 8, 8, 128, "ar") + 1e-6


def test_more_nodes_over_ib_never_lower_kv_room_per_gpu_and_cross_node_tp_is_slower():
    model = load_model("deepseek-r1")
    room = []
    for n in (2, 3, 4):
        p = cluster.plan(model, parse_rig(f"{n} nodes x 8x h100 ib-400g"), ctx=16384, runtime="sglang", prompt=512)
        pp = next(l for l in p["layouts"] if l["tp"] == 8 and l["pp"] == n)
        room.append(pp["kv_pool_bytes_per_gpu"])
    assert room == sorted(room)
    one = cluster.plan(model, parse_rig("8x h200"), ctx=8192, runtime="sglang", prompt=512)
    two = cluster.plan(model, parse_rig("2 nodes x 4x h200 ib-400g"), ctx=8192, runtime="sglang", prompt=512)
    within = next(l for l in one["layouts"] if l["tp"] == 8 and l["ep"] == 1 and l["pp"] == 1)
    across = next(l for l in two["layouts"] if l["tp"] == 8 and l["ep"] == 1 and l["pp"] == 1)
    assert across["decode_tok_s_per_user"]["1"] < within["decode_tok_s_per_user"]["1"]


@pytest.mark.parametrize("spec,shown,hidden", [
    ("3 nodes x 0x h200", "0x h200: the count must be 1 to", "0xh200"),       # the user's spelling, not the token
    ("8x h200 ib-400g", "'2 nodes x 8x h200 ib-400g'", "2 nodes x h200 "),                  # keeps the 8x
])
def test_spec_messages_show_the_users_own_spelling(spec, shown, hidden, capsys):
    assert main(["plan", "deepseek-r1", "--rig", spec]) == 2
    err = capsys.readouterr().err.strip()
    assert shown in err and hidden not in err and len(err.splitlines()) == 1


def _ttft_layout(model_id, spec, tp, *, calib=None, prompt=8192, runtime="vllm", build_name="native"):
    from rigcheck.plan.check.data import speed_calibration
    from rigcheck.runtimes import vllm, sglang
    rules = {"vllm": vllm.CLUSTER, "sglang": sglang.CLUSTER}[runtime]
    model = load_model(model_id)
    b = build(model, "native") if build_name == "native" else cluster.derived_build(model, build_name)
    sh = cluster.shape_of(model, b)
    rig = parse_rig(spec)
    dev, links = cluster._device(rig, sh.low_precision), cluster.rig_links(rig)
    lay = dict(tp=tp, pp=1, dp=1, ep=1, dp_attention=False, attn_tp=tp, gpus=tp)
    return cluster.evaluate_layout(rules, model, sh, dev, links, lay, ctx=16384, nodes=1, gpus_per_node=len(rig.node.gpus),
                                   users=[1], prompt=prompt, calib=calib or speed_calibration())


def test_ttft_comes_from_the_single_node_prefill_model():
    """The cluster's TTFT takes the prefill model's hierarchy: a calibration whose device
    factor doubles this GPU's prefill efficiency halves the GEMM terms, and one that says
    nothing about the runtime leaves them where the backend's efficiency puts them."""
    from dataclasses import replace
    from rigcheck.plan.check.data import speed_calibration
    cal = speed_calibration()
    base = _ttft_layout("llama-3.1-8b-instruct", "4x h100-sxm", 4, calib=cal)
    fast = _ttft_layout("llama-3.1-8b-instruct", "4x h100-sxm", 4,
                        calib=replace(cal, prefill_device={**cal.prefill_device, "h100-sxm": 2.0}))
    assert fast["ttft_terms_s"]["gemm"] == pytest.approx(base["ttft_terms_s"]["gemm"] / 2, rel=0.02)
    assert fast["ttft_s"] < base["ttft_s"]
    assert fast["ttft_terms_s"]["collectives"] == base["ttft_terms_s"]["collectives"]


def test_ttft_splits_over_tp_and_pays_the_all_reduces():
    """More GPUs: less GEMM time per GPU, more all-reduce traffic; a longer prompt never
    comes out faster; FP8 weights run at the FP8 (= INT8) peak, twice H100's BF16 one."""
    tp2 = _ttft_layout("llama-3.1-70b-instruct", "8x h100-sxm", 2)
    tp8 = _ttft_layout("llama-3.1-70b-instruct", "8x h100-sxm", 8)
    assert tp8["ttft_terms_s"]["gemm"] < 0.3 * tp2["ttft_terms_s"]["gemm"]
    assert tp8["ttft_terms_s"]["collectives"] > tp2["ttft_terms_s"]["collectives"]
    ttfts = [_ttft_layout("llama-3.1-70b-instruct", "8x h100-sxm", 4, prompt=n)["ttft_s"] for n in (512, 4096, 32768)]
    assert ttfts == sorted(ttfts)
    bf16 = _ttft_layout("llama-3.1-70b-instruct", "8x h100-sxm", 4)
    fp8 = _ttft_layout("llama-3.1-70b-instruct", "8x h100-sxm", 4, build_name="fp8")
    assert fp8["ttft_terms_s"]["gemm"] < 0.7 * bf16["ttft_terms_s"]["gemm"]


def test_a_large_all_reduce_across_nodes_runs_at_the_nodes_nic_bandwidth():
    """A ring across two rail-optimized nodes (one 400 Gb/s NIC per GPU) moves a large
    message at about the node's eight NICs together, close to NVLink inside one node, as
    nccl-tests measure (#119: 85-96 of 100 GB/s for 4 HDR NICs a node; #290: 46-48 GB/s per NDR
    NIC); a node with one 100 GbE port shares it between its GPUs."""
    big = 1 << 30
    one = cluster.rig_links(parse_rig("8x h100-sxm"))
    two = cluster.rig_links(parse_rig("2 nodes x 8x h100-sxm ib-400g"))
    inside = cluster._collective_s(one, 8, 8, big, "ar")
    across = cluster._collective_s(two, 16, 8, big, "ar")
    assert inside < across < 2 * inside
    eth = cluster.rig_links(parse_rig("2 nodes x 8x h100-sxm 100gbe"))
    assert cluster._collective_s(eth, 16, 8, big, "ar") > 3 * across
