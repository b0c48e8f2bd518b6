"""Published builds all the way through (issue 12): 'size', 'memory' and 'estimate' take a
Hub file as 'check' does (its exact bytes from the headers, split parts summed, its own
per-tensor types, marked published), and the launch commands fetch that very file.

Against the local Hub of tests/hubserver.py serving real files: a split Q4_K_M and a Q8_0
quantized by the real llama.cpp, safetensors shards written by ``safetensors``. The
commands' download lines are run for real (huggingface_hub's ``hf download`` against the
local Hub) and the files they fetch compared with the served ones, byte for byte.
The flag spellings checked here are the runtimes' own: llama.cpp ``-hf, -hfr, --hf-repo
<user>/<model>[:quant]`` and ``-hff, --hf-file FILE`` (tools/server/README.md; recorded in
tests/fixtures/cli_flags/llama.cpp-0.3.36.json from common/arg.cpp), Ollama
``hf.co/{username}/{repository}:{quantization}`` (huggingface.co/docs/hub/ollama), LM Studio
``lms get https://huggingface.co/{repo}@{quant}`` (huggingface.co/docs/hub/lmstudio)."""

from __future__ import annotations

import filecmp
import json
import os
import shlex
import subprocess
import sys

import pytest

from hubserver import HubServer
from test_hub import files, hubenv, run_error, run_json, server  # noqa: F401  (fixtures)

from rigcheck import runtimes
from rigcheck.cli import main
from rigcheck.model.sources import gguf as gguf_src

REPO = "testorg/tiny-llama-GGUF"
FLAGS = os.path.join(os.path.dirname(__file__), "fixtures", "cli_flags", "llama.cpp-0.3.36.json")


def _parts(files, tag):  # noqa: F811
    return sorted(p for f, p in files["gguf"].items() if tag in f)


# ---- size / memory / estimate take a published file ----------------------------------------

def test_size_of_a_published_split_file_is_its_parts_summed(hubenv, files, capsys):  # noqa: F811
    parts = _parts(files, "Q4_K_M")
    assert len(parts) == 3
    d = run_json(capsys, "size", f"{REPO}:Q4_K_M", "--tensors")
    assert d["published"] is True and d["recipe"] == "published" and d["repo"] == REPO
    assert d["file_bytes"] == sum(os.path.getsize(p) for p in parts)
    assert [f["path"] for f in d["files"]] == [os.path.basename(p) for p in parts]
    assert [f["bytes"] for f in d["files"]] == [os.path.getsize(p) for p in parts]
    import gguf                    # the gguf package's own reader, not rigcheck's
    real = [t for p in parts for t in gguf.GGUFReader(p).tensors]
    assert {r["name"]: r["type"] for r in d["tensors"]} == {t.name: t.tensor_type.name for t in real}
    assert {r["name"]: r["bytes"] for r in d["tensors"]} == {t.name: int(t.n_bytes) for t in real}
    assert {"Q4_K", "Q6_K"} <= {r["type"] for r in d["tensors"]}       # llama.cpp's Q4_K_M mix
    # the text says so too
    capsys.readouterr()
    assert main(["size", f"{REPO}:Q4_K_M"]) == 0
    out = capsys.readouterr().out
    assert "[published, gguf]" in out and f"{d['file_bytes']:,} bytes" in out


def test_size_build_picks_a_published_file_or_computes_one(hubenv, files, capsys):  # noqa: F811
    q8 = files["gguf"]["tiny-llama-Q8_0.gguf"]
    d = run_json(capsys, "size", REPO, "--build", "Q8_0")
    assert d["published"] is True and d["file_bytes"] == os.path.getsize(q8)
    named = run_json(capsys, "size", f"{REPO}:tiny-llama-Q8_0.gguf")
    assert named["file_bytes"] == os.path.getsize(q8) and named["published"] is True
    computed = run_json(capsys, "size", REPO, "--build", "Q6_K")     # not in the repo: a recipe
    assert computed["published"] is False and computed["recipe"] == "llama.cpp" and "files" not in computed


def test_size_native_of_a_safetensors_repo_is_the_published_checkpoint(hubenv, files, capsys):  # noqa: F811
    d = run_json(capsys, "size", "testorg/tiny-llama", "--build", "native")
    shards = [os.path.join(files["st"], s) for s in files["shards"]]
    assert d["published"] is True and d["file_bytes"] == sum(os.path.getsize(s) for s in shards)
    assert sorted(f["path"] for f in d["files"]) == sorted(files["shards"])


def test_memory_of_a_published_file_places_its_exact_bytes(hubenv, files, capsys):  # noqa: F811
    parts = _parts(files, "Q4_K_M")
    weights = sum(t.nbytes for p in parts for t in gguf_src.read_header(p).tensors)
    d = run_json(capsys, "memory", f"{REPO}:Q4_K_M", "--ctx", "2048", "--rig", "rtx-4090")
    assert d["published"] is True and [f["path"] for f in d["files"]] == [os.path.basename(p) for p in parts]
    assert d["weights_bytes"] >= weights and d["weights_bytes"] - weights < 2**20   # data + alignment
    assert d["fits"] is True
    computed = run_json(capsys, "memory", REPO, "--build", "Q6_K", "--ctx", "2048", "--rig", "rtx-4090")
    assert "published" not in computed and computed["weights_bytes"] != d["weights_bytes"]
    capsys.readouterr()
    assert main(["memory", f"{REPO}:Q4_K_M", "--ctx", "2048", "--rig", "rtx-4090"]) == 0
    assert "Q4_K_M (published)" in capsys.readouterr().out.splitlines()[0]


def test_estimate_of_a_published_file_needs_no_build(hubenv, files, capsys):  # noqa: F811
    d = run_json(capsys, "estimate", f"{REPO}:Q4_K_M", "--rig", "rtx-4090", "--ctx", "2048")
    assert d["published"] is True and d["build"] == "Q4_K_M" and d["repo"] == REPO
    assert 0 < d["decode_tok_s"]["low"] <= d["decode_tok_s"]["mid"] <= d["decode_tok_s"]["high"]
    same = run_json(capsys, "estimate", REPO, "--build", "Q4_K_M", "--rig", "rtx-4090", "--ctx", "2048")
    assert same["published"] is True and same["decode_tok_s"] == d["decode_tok_s"]
    line = run_error(capsys, "estimate", "testorg/tiny-llama", "--rig", "rtx-4090")   # a checkpoint: name one
    assert "--build" in line


# ---- launch commands fetch the published file --------------------------------------------

def _commands(capsys, model, build, rig="rtx-4090+32GB"):
    d = run_json(capsys, "check", model, "--rig", rig, "--ctx", "2048")
    for b in d["builds"]:
        if b["name"] == build and b.get("commands"):
            return b["commands"]
    raise AssertionError(f"no commands for {build}: {[b['name'] for b in d['builds']]}")


def _line(cmd: str, start: str) -> list[str]:
    return next(shlex.split(ln) for ln in cmd.splitlines() if ln.startswith(start))


def _hf_download(line: list[str], into, server_url) -> None:
    """Run a command's 'hf download' line for real, against the local Hub."""
    assert line[:2] == ["hf", "download"] and line[-2:] == ["--local-dir", "."]
    hf = os.path.join(os.path.dirname(sys.executable), "hf")
    env = dict(os.environ, HF_ENDPOINT=server_url, HF_HUB_OFFLINE="0", HF_HOME=str(into / ".hf"),
               HF_HUB_DISABLE_TELEMETRY="1")
    r = subprocess.run([hf, *line[1:]], cwd=into, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]


def test_llamacpp_fetches_the_published_file_by_its_tag(hubenv, files, capsys):  # noqa: F811
    flags = json.load(open(FLAGS))["options"]
    assert {"-hf", "--hf-repo", "-hff", "--hf-file"} <= set(flags)
    split = _commands(capsys, REPO, "Q4_K_M")["llama.cpp"]
    a = shlex.split(split.splitlines()[-1])
    assert a[:3] == ["llama-server", "-hf", f"{REPO}:Q4_K_M"] and "-m" not in a
    single = shlex.split(_commands(capsys, REPO, "Q8_0")["llama.cpp"].splitlines()[-1])
    assert single[:3] == ["llama-server", "-hf", f"{REPO}:Q8_0"]


def test_download_lines_fetch_every_part_of_the_published_file(hubenv, files, capsys, tmp_path):  # noqa: F811
    cmds = _commands(capsys, REPO, "Q4_K_M")
    parts = _parts(files, "Q4_K_M")
    assert "ollama" in cmds
    for rt in [r for r in ("ollama", "ik_llama.cpp") if r in cmds]:
        d = tmp_path / rt.replace(".", "_")
        d.mkdir()
        _hf_download(_line(cmds[rt], "hf download"), d, hubenv.url)
        for p in parts:
            assert filecmp.cmp(d / os.path.basename(p), p, shallow=False)
    # Ollama loads no split file: the parts are merged first, and the Modelfile names the merge
    o = cmds["ollama"]
    merge = _line(o, "llama-gguf-split")
    assert merge == ["llama-gguf-split", "--merge", os.path.basename(parts[0]), "tiny-llama-Q4_K_M.gguf"]
    assert "FROM ./tiny-llama-Q4_K_M.gguf" in o.splitlines()
    # LM Studio loads split files: it gets the repo at the tag
    assert _line(cmds["lmstudio"], "lms get") == ["lms", "get", f"https://huggingface.co/{REPO}@Q4_K_M"]


def test_ollama_runs_a_single_published_file_from_the_hub(hubenv, files, capsys):  # noqa: F811
    o = _commands(capsys, REPO, "Q8_0")["ollama"]
    assert f"FROM hf.co/{REPO}:Q8_0" in o.splitlines() and "hf download" not in o


@pytest.fixture
def tags_repo(hubenv, files):  # noqa: F811
    """A repo whose Q4_K_M tag is ambiguous for a tag search (UD-Q4_K_M contains it), as
    unsloth's are: both files are the real Q8_0 file under two names."""
    q8 = files["gguf"]["tiny-llama-Q8_0.gguf"]
    hubenv.add_repo("testorg/tags-GGUF", {"tiny-UD-Q4_K_M.gguf": q8, "tiny-Q4_K_M.gguf": q8})
    return "testorg/tags-GGUF"


def test_an_ambiguous_tag_names_the_file(tags_repo, hubenv, files, capsys, tmp_path):
    listing = ["tiny-Q4_K_M.gguf", "tiny-UD-Q4_K_M.gguf"]
    assert runtimes.tag_matches("Q4_K_M", listing) == listing            # llama.cpp would take the first
    assert runtimes.tag_matches("UD-Q4_K_M", listing) == ["tiny-UD-Q4_K_M.gguf"]
    plain = _commands(capsys, tags_repo, "Q4_K_M")
    a = shlex.split(plain["llama.cpp"].splitlines()[-1])
    assert a[:5] == ["llama-server", "-hf", tags_repo, "-hff", "tiny-Q4_K_M.gguf"]
    assert "FROM ./tiny-Q4_K_M.gguf" in plain["ollama"].splitlines()
    d = tmp_path / "o"
    d.mkdir()
    _hf_download(_line(plain["ollama"], "hf download"), d, hubenv.url)
    assert filecmp.cmp(d / "tiny-Q4_K_M.gguf", files["gguf"]["tiny-llama-Q8_0.gguf"], shallow=False)
    assert _line(plain["lmstudio"], "lms import") == ["lms", "import", "tiny-Q4_K_M.gguf"]
    ud = shlex.split(_commands(capsys, tags_repo, "UD-Q4_K_M")["llama.cpp"].splitlines()[-1])
    assert ud[:3] == ["llama-server", "-hf", f"{tags_repo}:UD-Q4_K_M"]


def test_split_parts_are_never_picked_by_a_tag():
    listing = ["Q2_K/m-Q2_K-00002-of-00002.gguf", "Q2_K/m-Q2_K-00001-of-00002.gguf", "mmproj-Q2_K.gguf"]
    assert runtimes.tag_matches("Q2_K", listing) == ["Q2_K/m-Q2_K-00001-of-00002.gguf"]
    pub = {"repo": "o/m", "tag": "Q2_K", "files": ["Q2_K/m-Q2_K-00001-of-00002.gguf",
                                                  "Q2_K/m-Q2_K-00002-of-00002.gguf"], "repo_files": listing}
    assert runtimes.tag_picks(pub)
    assert runtimes.hf_download(dict(pub, revision="v2")) == (
        "hf download o/m Q2_K/m-Q2_K-00001-of-00002.gguf Q2_K/m-Q2_K-00002-of-00002.gguf --revision v2 --local-dir .")


# ---- cache, offline and errors, end to end with a published file ------------------------------

def test_offline_sizes_a_published_file_from_the_cache(hubenv, files, capsys, monkeypatch):  # noqa: F811
    first = run_json(capsys, "size", f"{REPO}:Q4_K_M")
    hubenv.requests.clear()
    again = run_json(capsys, "--offline", "size", f"{REPO}:Q4_K_M")
    assert hubenv.requests == [] and again["file_bytes"] == first["file_bytes"] and again["published"]
    line = run_error(capsys, "--offline", "size", "ggml-org/gemma-3-270m-GGUF")
    assert "not in rigcheck's Hub cache" in line
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")           # --offline set it for this process
    line = run_error(capsys, "memory", "testorg/tiny-lama-GGUF:Q4_K_M", "--rig", "rtx-4090")
    assert "HTTP 404" in line and REPO in line


def test_a_base_repo_sizes_a_quantized_repos_file_by_the_name_check_gives_it(hubenv, files, capsys):  # noqa: F811
    """'check testorg/tiny-llama' lists testorg/tiny-llama-GGUF's files as 'testorg:TAG' (the
    Hub's model tree); 'size' and 'estimate' take the same name and size that very file."""
    names = [b["name"] for b in run_json(capsys, "check", "testorg/tiny-llama", "--rig", "rtx-4090", "--ctx", "2048")["builds"]]
    assert "testorg:Q8_0" in names
    d = run_json(capsys, "size", "testorg/tiny-llama", "--build", "testorg:Q8_0")
    assert d["published"] is True and d["repo"] == REPO
    assert d["file_bytes"] == os.path.getsize(files["gguf"]["tiny-llama-Q8_0.gguf"])
    e = run_json(capsys, "estimate", "testorg/tiny-llama", "--build", "testorg:Q8_0", "--rig", "rtx-4090", "--ctx", "2048")
    assert e["published"] is True and e["build"] == "testorg:Q8_0"


def test_measure_line_of_a_published_file_names_where_it_is(hubenv, files, capsys):  # noqa: F811
    """llama-server -hf keeps the file in llama.cpp's cache: the measure line names the file as
    'hf download --local-dir .' puts it, and the running server as the other way."""
    d = run_json(capsys, "check", REPO, "--rig", "rtx-4090+32GB", "--ctx", "2048")
    b = next(b for b in d["builds"] if b["name"] == "Q8_0" and b.get("commands"))
    line = b["measure_commands"]["llama.cpp"]
    assert line.startswith("rigcheck bench ") and _parts(files, "Q8_0")[0].endswith(shlex.split(line)[2])
    assert "rigcheck bench --server http://127.0.0.1:8080" in line
