"""Runtimes: registry, support catalogue, and the exact launch commands."""

import datetime as dt
import shlex

import pytest

from rigcheck import runtimes as R
from rigcheck.errors import InputError, UnknownNameError

EXPECTED = ["llama.cpp", "ollama", "lmstudio", "mlx", "vllm", "sglang", "ds4",
            "ik_llama.cpp", "ktransformers"]


def test_registry_has_every_runtime_in_order():
    assert R.names() == EXPECTED
    for rt in R.all_runtimes():
        assert set(rt.formats) <= set(R.FORMATS), rt.name
        assert set(rt.platforms) <= set(R.PLATFORMS), rt.name
        assert rt.homepage.startswith("https://")


@pytest.mark.parametrize("alias,name", [
    ("llamacpp", "llama.cpp"), ("LLAMA.CPP", "llama.cpp"), ("llama-server", "llama.cpp"),
    ("LM Studio", "lmstudio"), ("lms", "lmstudio"), ("mlx-lm", "mlx"), ("vLLM", "vllm"),
    ("ik_llama", "ik_llama.cpp"), ("ik-llama.cpp", "ik_llama.cpp"), ("DwarfStar", "ds4"),
    ("kt-kernel", "ktransformers"), ("SGLang", "sglang"), ("Ollama", "ollama"),
])
def test_aliases_are_forgiven(alias, name):
    assert R.get(alias).name == name


def test_unknown_runtime_suggests_closest():
    with pytest.raises(UnknownNameError) as e:
        R.get("olama")
    assert "ollama" in e.value.suggestions
    assert "unknown runtime 'olama'" in str(e.value)


@pytest.mark.parametrize("given,canon", [
    ("deepseek_v4", "deepseek4"), ("DeepSeek4", "deepseek4"), ("deepseek_v3", "deepseek2"),
    ("kimi_k2", "deepseek2"), ("qwen3_moe", "qwen3moe"), ("qwen3_next", "qwen3next"),
    ("gpt_oss", "gpt-oss"), ("gemma3_text", "gemma3"), ("glm4_moe", "glm4moe"),
    ("mistral", "llama"), ("deepseek_v32", "deepseek32"), ("minimax_m2", "minimax-m2"),
    ("some_new_arch", "some_new_arch"),
])
def test_canonical_arch(given, canon):
    assert R.canonical_arch(given) == canon


def test_catalogue_rows_are_complete_and_known():
    rows = R._rows()
    assert len(rows) >= 40
    known_runtimes = set(R.names())
    seen = set()
    for row in rows:
        assert row["runtime"] in known_runtimes, row
        assert row["status"] in R.STATUSES
        assert row["source"].startswith("https://"), row
        assert dt.date.fromisoformat(row["checked"]) <= dt.date.today()      # never checked in the future
        if row["since"]:
            assert dt.date.fromisoformat(row["since"]) <= dt.date.fromisoformat(row["checked"])
        if row["status"] == "fork":
            assert row["fork_repo"].startswith("https://github.com/"), row
        key = (row["runtime"], R.canonical_arch(row["arch"]))
        assert key not in seen, f"duplicate row {key}"
        seen.add(key)
    # the architectures the issue names are covered for llama.cpp
    for arch in ["llama", "qwen2", "qwen3", "qwen3moe", "qwen3next", "deepseek2", "deepseek32",
                 "deepseek4", "gpt-oss", "gemma3", "glm4moe", "mistral", "phi3", "minimax_m2"]:
        assert R.get("llama.cpp").support(arch).status == "mainline", arch


def test_deepseek_v4_support_as_of_2026_11():
    s = R.get("llama.cpp").support("deepseek_v4")
    assert (s.status, s.since, s.version) == ("mainline", dt.date(2026, 6, 29), "b9840")
    assert "24162" in s.source and s.runs
    assert R.get("ollama").support("deepseek4").status == "mainline"
    assert R.get("lmstudio").support("deepseek4").since == dt.date(2026, 8, 3)
    mlx = R.get("mlx").support("deepseek_v4")
    assert mlx.status == "fork" and "mlx-vlm" in mlx.fork_repo
    assert R.get("vllm").support("deepseek4").since == dt.date(2026, 4, 24)
    assert R.get("ds4").support("deepseek4").status == "mainline"
    # V4.1 is fork-only in llama.cpp
    assert R.get("llama.cpp").support("deepseek_v41").status == "fork"


def test_single_model_runtime_and_missing_rows():
    s = R.get("ds4").support("qwen3moe")
    assert s.status == "none" and not s.runs and "deepseek4" in s.note
    u = R.get("ktransformers").support("deepseek4")
    assert u.status == "unknown" and u.source == ""
    table = R.support_table("deepseek4")
    assert [s.runtime for s in table] == EXPECTED


def test_parse_rows_rejects_bad_rows():
    head = "runtime,arch,status,since,version,fork_repo,fork_branch,note,source,checked\n"
    with pytest.raises(ValueError, match="status"):
        R.parse_rows(head + "llama.cpp,llama,works,,,,,,https://x,2026-01-01\n")
    with pytest.raises(ValueError, match="source"):
        R.parse_rows(head + "llama.cpp,llama,mainline,,,,,,,2026-01-01\n")
    with pytest.raises(ValueError):
        R.parse_rows(head + "llama.cpp,llama,mainline,June,,,,,https://x,2026-01-01\n")


def test_support_of_takes_plain_rows():
    rows = [{"runtime": "ollama", "arch": "deepseek_v4", "status": "none", "since": "",
             "version": "", "note": "n", "source": "https://example.org", "checked": "2026-06-15"}]
    s = R.get("ollama").support("deepseek4", rows=rows)
    assert s.status == "none" and s.checked == dt.date(2026, 6, 15)


# ---- commands ---------------------------------------------------------------------

def lines(cmd):
    return cmd.split("\n")


def test_llamacpp_command_exact():
    cmd = R.get("llama.cpp").command("unsloth/DeepSeek-V4-Flash-GGUF", "IQ2_XS",
                                     "DeepSeek-V4-Flash-IQ2_XS-00001-of-00002.gguf", 8192,
                                     ["--n-cpu-moe", "30"])
    assert cmd == ("llama-server -m DeepSeek-V4-Flash-IQ2_XS-00001-of-00002.gguf -c 8192 "
                   "-ngl 999 --flash-attn on --n-cpu-moe 30")


def test_llamacpp_hf_download_parallel_and_own_ngl():
    cmd = R.get("llamacpp").command("unsloth/Qwen3-30B-A3B-GGUF", "Q4_K_M", None, 32768,
                                    ["-ngl 20"], parallel=4)
    assert cmd == "llama-server -hf unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M -c 32768 --flash-attn on -ngl 20 -np 4"


def test_override_tensor_regex_survives_the_shell():
    regex = r"blk\.(1[0-9]|2[0-9])\.ffn_(up|down|gate)_exps=CPU"
    cmd = R.get("llama.cpp").command("m", "Q4_K_M", "/models/my model.gguf", 4096, ["-ot", regex])
    argv = shlex.split(cmd)
    assert argv[argv.index("-ot") + 1] == regex
    assert argv[argv.index("-m") + 1] == "/models/my model.gguf"


def test_fork_only_arch_gets_clone_and_build_first():
    cmd = R.get("llama.cpp").command("x/DeepSeek-V4.1-Flash-GGUF", "Q2_K", "v41.gguf", 8192, [],
                                     arch="deepseek_v41", platform="cuda")
    ls = lines(cmd)
    assert ls[0] == "git clone -b runtime/deepseek41 https://github.com/vcruz305/llama.cpp"
    assert ls[1] == "cd llama.cpp"
    assert ls[2] == "cmake -B build -DGGML_CUDA=ON"
    assert ls[3] == "cmake --build build --config Release -j"
    assert ls[4].startswith("./build/bin/llama-server -m v41.gguf -c 8192")
    # mainline arch: no build lines
    plain = R.get("llama.cpp").command("x", "Q4", "v4.gguf", 8192, [], arch="deepseek4")
    assert plain.startswith("llama-server ") and "\n" not in plain
    metal = R.get("llama.cpp").command("x", "Q2_K", "v41.gguf", 8192, [], arch="deepseek41",
                                       platform="metal")
    assert "cmake -B build -DGGML_METAL=ON" in metal


def test_ollama_modelfile():
    cmd = R.get("ollama").command("unsloth/DeepSeek-V4-Flash-GGUF", "UD-Q2_K_XL", "./v4.gguf", 16384,
                                  ["-ngl", "30", "--n-cpu-moe", "12"], parallel=1,
                                  kv_cache_type="q8_0")
    assert lines(cmd) == [
        "OLLAMA_FLASH_ATTENTION=1 OLLAMA_KV_CACHE_TYPE=q8_0 OLLAMA_NUM_PARALLEL=1 ollama serve &",
        "cat > Modelfile <<'EOF'",
        "FROM ./v4.gguf",
        "PARAMETER num_ctx 16384",
        "PARAMETER num_gpu 30",
        "EOF",
        "ollama create deepseek-v4-flash-gguf-ud-q2_k_xl -f Modelfile",
        "ollama run deepseek-v4-flash-gguf-ud-q2_k_xl",
        "# Ollama has no option for: --n-cpu-moe 12 (its llama-server --fit decides what goes to the GPU)",
    ]


def test_ollama_sources():
    tag = R.get("ollama").command("qwen3:30b-a3b", "", None, 8192, [])
    assert "FROM qwen3:30b-a3b" in lines(tag)
    hf = R.get("ollama").command("unsloth/Qwen3-30B-A3B-GGUF", "Q4_K_M", None, 8192, [])
    assert "FROM hf.co/unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M" in lines(hf)


def test_lmstudio_command():
    cmd = R.get("lmstudio").command("qwen/qwen3-30b-a3b", "Q4_K_M", None, 8192, [])
    assert lines(cmd) == ["lms get qwen/qwen3-30b-a3b@q4_k_m",
                          "lms load qwen/qwen3-30b-a3b@q4_k_m --context-length 8192 --gpu max --estimate-only",
                          "lms load qwen/qwen3-30b-a3b@q4_k_m --context-length 8192 --gpu max"]
    part = R.get("lmstudio").command("m", "Q4", "/x/m.gguf", 4096, ["--gpu", "0.5"])
    assert "lms load m.gguf --context-length 4096 --gpu 0.5" in lines(part)


def test_mlx_commands():
    cmd = R.get("mlx").command("mlx-community/Qwen3-30B-A3B-4bit", "mlx-4bit", None, 32768, [],
                               wired_limit_mb=110000)
    ls = lines(cmd)
    assert ls[0] == "sudo sysctl iogpu.wired_limit_mb=110000"
    assert "mlx_lm.server --model mlx-community/Qwen3-30B-A3B-4bit --port 8080" in ls
    fork = R.get("mlx").command("mlx-community/DeepSeek-V4-Flash-4bit", "mlx-4bit", None, 8192, [],
                                arch="deepseek_v4")
    assert lines(fork)[0] == "pip install -U git+https://github.com/Blaizzy/mlx-vlm@main"
    assert "mlx_vlm.generate --model mlx-community/DeepSeek-V4-Flash-4bit" in fork


def test_vllm_and_sglang_commands():
    v = R.get("vllm").command("deepseek-ai/DeepSeek-V4-Flash", "FP4+FP8", None, 65536, [], tp=2)
    assert v == ("vllm serve deepseek-ai/DeepSeek-V4-Flash --max-model-len 65536 "
                 "--tensor-parallel-size 2 --gpu-memory-utilization 0.92 --kv-cache-dtype fp8")
    s = R.get("sglang").command("deepseek-ai/DeepSeek-V4-Flash", "FP4+FP8", None, 65536, [], tp=4,
                                mem_fraction_static=0.8)
    assert s == ("python -m sglang.launch_server --model-path deepseek-ai/DeepSeek-V4-Flash "
                 "--tp 4 --context-length 65536 --mem-fraction-static 0.80")


def test_ds4_command_follows_readme():
    q2 = lines(R.get("ds4").command("antirez/deepseek-v4-gguf", "ds4-q2", None, 100000, []))
    assert q2 == ["git clone https://github.com/antirez/ds4", "cd ds4", "make",
                  "./download_model.sh q2-imatrix", "./ds4-server --ctx 100000"]
    q4 = lines(R.get("ds4").command("antirez/deepseek-v4-gguf", "ds4-Q4", None, 32768, [],
                                    platform="cuda"))
    assert "make cuda-generic" in q4 and "./download_model.sh q4-imatrix" in q4
    rocm = lines(R.get("ds4").command("x", "q2", None, 8192, [], platform="rocm"))
    assert rocm[0] == "git clone -b rocm https://github.com/antirez/ds4" and "make rocm" in rocm


def test_ik_llama_and_ktransformers():
    ik = lines(R.get("ik_llama.cpp").command("x", "IQ2", "v4.gguf", 8192, ["-ot", "exps=CPU"], mla=True))
    assert ik[0] == "git clone https://github.com/ikawrakow/ik_llama.cpp"
    assert ik[-1] == "./build/bin/llama-server -m v4.gguf -c 8192 -ngl 999 -fa -fmoe -mla 3 -ot exps=CPU"
    kt = lines(R.get("ktransformers").command("deepseek-ai/DeepSeek-V3", "int4", "/w/cpu", 16384, [],
                                              gpu_experts=8, cpu_threads=60))
    assert kt[0] == "pip install -U kt-kernel"
    assert kt[1] == ("python -m sglang.launch_server --model deepseek-ai/DeepSeek-V3 --kt-weight-path /w/cpu "
                     "--kt-num-gpu-experts 8 --tp 1 --context-length 16384 --kt-cpuinfer 60")


def test_every_command_line_is_valid_shell():
    for rt in R.all_runtimes():
        cmd = rt.command("org/Model-GGUF", "Q4_K_M", "/m/Model Q4.gguf", 4096,
                         ["-ot", r"blk\.[0-9]+\.ffn_.*_exps=CPU"], parallel=2)
        for line in lines(cmd):
            shlex.split(line, comments=True)      # raises on unbalanced quotes


def test_bad_context_is_an_input_error():
    with pytest.raises(InputError):
        R.get("llama.cpp").command("m", "Q4", "m.gguf", 0, [])


def test_support_by_format_lmstudio_v4():
    """LM Studio runs DeepSeek V4 only in its llama.cpp engine (GGUF); its MLX engine
    does not (lmstudio-bug-tracker #1872): an MLX build gets no LM Studio command."""
    sup = R.get("lmstudio").support("deepseek_v4")
    assert sup.status == "mainline" and sup.formats == ("gguf",)
    assert sup.for_format("gguf").status == "mainline"
    assert sup.for_format("mlx").status == "none"
    from rigcheck.hardware import get_rig
    from rigcheck.model.resolve import load_model
    from rigcheck.plan.check import check
    rep = check(load_model("deepseek-v4-flash"), get_rig("m3-ultra-512"), builds=["mlx-4bit", "Q4_K_M"],
                alternatives=False)
    assert "lmstudio" not in rep.build("mlx-4bit").commands
    assert "lmstudio" in rep.build("Q4_K_M").commands


def test_v4_support_dates():
    assert str(R.get("ik_llama.cpp").support("deepseek4").since) == "2026-07-22"
    assert "pull/2165" in R.get("ik_llama.cpp").support("deepseek4").source
    assert str(R.get("ds4").support("deepseek4").since) == "2026-05-07"


def test_one_registry_holds_each_runtime():
    """Each runtime module declares everything about it: formats, memory rules, the
    formats it is the default for; the help text's names are the registry's."""
    from rigcheck.memory import runtimes as memory_rules
    assert R.HELP_NAMES == ", ".join(R.names())
    assert memory_rules.names() == R.names()
    for rt in R.all_runtimes():
        assert rt.memory is not None and rt.memory.name == rt.name
        assert set(rt.default_for) <= set(rt.formats)
    assert {f: R.default_for(f) for f in R.FORMATS} == {"gguf": "llama.cpp", "mlx": "mlx", "safetensors": "vllm",
                                                          "ds4-gguf": "ds4"}
    assert R.loaders("gguf")[0] == "llama.cpp" and "ktransformers" not in R.loaders("gguf")
