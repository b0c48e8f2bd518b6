"""The reality check and the tier table, end to end through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from rigcheck.cli import main


def run_json(capsys, *argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def run_err(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.fixture(scope="module")
def v4_tiers():
    import io
    from contextlib import redirect_stdout
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["tiers", "deepseek-v4-flash", "--json"]) == 0
    return json.loads(buf.getvalue())


def test_tiers_v4_gives_the_articles_five_rows(v4_tiers):
    rows = {t["tier"]: t for t in v4_tiers["tiers"]}
    assert len(rows) == 5
    mini = rows["tier-32gb-mini-pc"]
    assert mini["verdict"] == "no" and mini["best_build"] is None
    gaming = rows["tier-gaming-gpu"]
    assert gaming["mode"] == "experts_in_ram"
    # the article measured single-digit speeds on June's forks: inside rigcheck's range, whose
    # mid sits at the 10 tok/s line below which an offloaded build is 'not practical'; where
    # the mid reaches the line the verdict differs, and the row says so
    speed = gaming["decode_tok_s"]
    assert speed["low"] < 10 <= speed["high"] and speed["mid"] < 12, speed
    if gaming["verdict"] != "not practical":
        assert gaming["verdict"] == "runs" and speed["mid"] >= 10
        assert any(d.startswith("verdict: rigcheck says 'runs', the article 'Not practical'") for d in gaming["differences"])
    ws = rows["tier-96gb-workstation"]
    assert ws["verdict"] == "runs" and ws["mode"] == "gpu"
    assert ws["file_bytes"] < 96 * 2**30               # a 2-bit-class build, all on the card
    uni = rows["tier-128gb-unified"]
    assert uni["verdict"] == "borderline" and uni["mode"] == "unified"
    studio = rows["tier-192gb-mac-studio"]
    assert studio["verdict"] == "comfortable"
    assert studio["best_build"] in ("Q3_K_M", "Q4_K_M", "mlx-4bit", "Q4_K_S", "Q3_K_L", "ds4-q4")   # 4-bit class
    # each row carries the article's claim; differences are spelled out with a source
    assert all(t["article"]["source"] for t in v4_tiers["tiers"])
    diffs = [d for t in v4_tiers["tiers"] for d in t["differences"]]
    assert any("mainline since" in d and "http" in d for d in diffs)


def test_tiers_json_fields_for_any_model(capsys):
    d = run_json(capsys, "tiers", "qwen3-30b-a3b")
    for t in d["tiers"]:
        assert {"tier", "rig", "best_build", "decode_tok_s", "verdict"} <= set(t)
    # a 30B-A3B MoE fits every tier but the smallest comfortably enough to run
    assert d["tiers"][-1]["verdict"] == "comfortable"


def test_check_v4_on_a_5090_with_128gb(capsys):
    d = run_json(capsys, "check", "deepseek-v4-flash", "--rig", "rtx-5090+128GB")
    names = [b["name"] for b in d["builds"]]
    assert {"Q4_K_M", "Q2_K", "IQ2_XS-XL"} <= set(names)
    for b in d["builds"]:
        assert {"name", "file_bytes", "total_bytes", "fits", "placement", "decode_tok_s", "verdict",
                "commands"} <= set(b)
        assert b["total_bytes"] > b["file_bytes"] * 0.95
    q2 = next(b for b in d["builds"] if b["name"] == "Q2_K")
    assert q2["fits"] and q2["mode"] == "experts_in_ram"
    assert "--n-cpu-moe" in " ".join(q2["flags"])
    assert q2["decode_tok_s"]["low"] <= q2["decode_tok_s"]["mid"] <= q2["decode_tok_s"]["high"]
    best = next(b for b in d["builds"] if b["name"] == d["best"])
    assert best["verdict"] in ("not practical", "borderline")
    assert "llama.cpp" in best["commands"] and "llama-server" in best["commands"]["llama.cpp"]
    # a poor verdict comes with alternatives that run well, ranked by a named score
    assert d["alternatives"] and all(a["verdict"] in ("runs", "comfortable") for a in d["alternatives"])
    scored = [a for a in d["alternatives"] if a["quality"] is not None]
    assert scored and all(a["quality_source"] for a in scored)
    assert [a["quality"] for a in scored] == sorted((a["quality"] for a in scored), reverse=True)


def test_check_text_is_one_screen_with_the_key_parts(capsys):
    assert main(["check", "deepseek-v4-flash", "--rig", "rtx-5090+128GB"]) == 0
    out = capsys.readouterr().out
    for part in ("284.33B", "13.27B active", "Best choice:", "llama-server", "What to run instead",
                 "GB (10^9 bytes)", "GiB"):
        assert part in out


def test_check_small_model_comfortable_on_a_big_gpu(capsys):
    d = run_json(capsys, "check", "llama-3.1-8b-instruct", "--rig", "rtx-4090")
    best = next(b for b in d["builds"] if b["name"] == d["best"])
    assert best["verdict"] == "comfortable" and best["mode"] == "gpu"
    assert not d["alternatives"]


def test_check_this_machine_runs(capsys):
    d = run_json(capsys, "check", "gemma-3-270m")
    assert d["rig"]["source"] == "detected"
    assert any(b["fits"] for b in d["builds"])


@pytest.mark.parametrize("argv, needle", [
    (["check", "deepseek-v4-flsh", "--rig", "rtx-4090"], "deepseek-v4-flash"),
    (["check", "deepseek-v4-flash", "--rig", "rtx-9090"], "rtx-5090"),
    (["check", "llama-3.1-8b-instruct", "--rig", "rtx-4090", "--ctx", "1000000000"], "absurd"),
    (["check", "llama-3.1-8b-instruct", "--rig", "rtx-4090", "--ctx", "-5"], "positive"),
    (["tiers", "no-such-model"], "rigcheck models"),
    (["check", "llama-3.1-8b-instruct", "--rig", "rtx-4090", "--runtime", "vlm"], "vllm"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, needle):
    code, err = run_err(capsys, *argv)
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert needle in err


def test_html_report_is_self_contained_and_renders(tmp_path):
    page = tmp_path / "v4.html"
    assert main(["check", "deepseek-v4-flash", "--rig", "m4-max-128", "--html", str(page)]) == 0
    html = page.read_text()
    assert "<svg" in html and "deepseek-v4-flash" in html
    assert "<script" not in html and 'src="http' not in html and "<link" not in html
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Chromium (.ci/run does)")
        pytest.skip("headless Chromium is not installed")
    png = tmp_path / "v4.png"
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=1200,2400",
                    "file://" + str(page)], capture_output=True, timeout=120, check=False)
    assert png.exists() and png.stat().st_size > 20_000
    sys.path.insert(0, os.path.dirname(__file__))
    from test_html_report import read_png
    img = read_png(str(png))
    # not a blank page: many distinct colours (bars, chart band, text)
    colours = {tuple(p) for p in img.reshape(-1, img.shape[-1])[::97].tolist()}
    assert len(colours) > 20


def test_a_second_node_is_used_not_ignored(capsys):
    """Issue 15 inside the check: two 8x H200 nodes get a layout over both nodes (commands for
    each node, the KV room the runtime's own rule leaves), not one node's GPUs plus its RAM."""
    spec = "2 nodes x 8x h200 ib-400g"
    d = run_json(capsys, "check", "deepseek-v4-pro", "--rig", spec)
    c = d["cluster"]
    assert c["nodes"] == 2 and c["gpus"] == 16 and c["fits"]
    assert c["runtime"] in ("vllm", "sglang") and c["build"] == "native"
    # every weight is somewhere (replicated attention under data parallel counts more than once)
    assert c["per_gpu_weights_bytes"] * 16 >= c["build_weights_bytes"] * 0.95
    assert c["per_gpu_weights_bytes"] < c["rig"]["gpu_memory_bytes"]
    assert c["kv_pool_bytes_per_gpu"] > 0 and c["max_concurrency"] >= 1
    assert len(c["commands"]) >= 2            # the head node and the other node
    assert main(["check", "deepseek-v4-pro", "--rig", spec]) == 0
    out = capsys.readouterr().out
    assert "Best choice across the 2 nodes" in out and "Best choice on one node alone" in out
    # one machine with one GPU: no cluster section
    d1 = run_json(capsys, "check", "qwen3-8b", "--rig", "rtx-4090")
    assert d1["cluster"] is None


def _q4(rep):
    return next(b for b in rep["builds"] if b["name"] == "Q4_K_M")


def test_check_threads_reach_the_speed_and_llamacpps_command(capsys):
    """--threads N: the CPU-only decode is estimated at N threads (the threads' floor, as
    'estimate --threads' has it) and llama.cpp's command carries -t N; vLLM-style runtimes
    and the default are untouched."""
    argv = ["check", "llama-3.1-8b-instruct", "--rig", "ryzen-9-7950x+64GB", "--ctx", "512", "--build", "Q4_K_M"]
    default, one = _q4(run_json(capsys, *argv)), _q4(run_json(capsys, *argv, "--threads", "1"))
    assert "-t " not in default["commands"]["llama.cpp"]
    assert one["commands"]["llama.cpp"].split().count("-t") == 1 and " -t 1" in one["commands"]["llama.cpp"]
    assert one["decode_tok_s"]["mid"] < 0.8 * default["decode_tok_s"]["mid"], (one["decode_tok_s"], default["decode_tok_s"])
    assert main(["estimate", "llama-3.1-8b-instruct", "--build", "Q4_K_M", "--rig", "ryzen-9-7950x+64GB", "--ctx", "512",
                 "--threads", "1", "--json"]) == 0
    est = json.loads(capsys.readouterr().out)
    assert est["decode_tok_s"]["mid"] == pytest.approx(one["decode_tok_s"]["mid"])


def test_check_backend_moves_the_llamacpp_estimate_as_estimate_does(capsys):
    argv = ["check", "qwen3-30b-a3b", "--rig", "rx-7900-xtx", "--build", "Q4_K_M"]
    for backend in ("vulkan", "rocm"):
        got = _q4(run_json(capsys, *argv, "--backend", backend))
        assert main(["estimate", "qwen3-30b-a3b", "--build", "Q4_K_M", "--rig", "rx-7900-xtx", "--backend", backend,
                     "--json"]) == 0
        est = json.loads(capsys.readouterr().out)
        assert got["decode_tok_s"]["mid"] == pytest.approx(est["decode_tok_s"]["mid"]), backend


@pytest.mark.parametrize("flag,value,words", [("--threads", "0", "whole number of threads"),
                                              ("--threads", "eight", "whole number of threads"),
                                              ("--backend", "vulcan", "did you mean vulkan")])
def test_check_refuses_bad_speed_options_in_one_line(capsys, flag, value, words):
    with pytest.raises(SystemExit) as e:
        main(["check", "qwen3-8b", "--rig", "rtx-4090", flag, value])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1 and "Traceback" not in err
