"""Models as published on the Hugging Face Hub, read header-only, against a local Hub
(tests/hubserver.py on 127.0.0.1, pointed to by HF_ENDPOINT). Every file it serves is
real: split GGUFs written by ``gguf`` and quantized by the real llama.cpp, the Gemma 3
270M GGUF, safetensors shards written by ``safetensors``. Sizes are checked against the
files' own bytes; bounded reads against the bytes the server sent."""

from __future__ import annotations

import ctypes
import functools
import json
import os

import numpy as np
import pytest

import synth
from hubserver import HubServer

from rigcheck.cli import main
from rigcheck.model.sources import gguf as gguf_src
from rigcheck.model.sources import safetensors as st_src

LLAMA = dict(n_layer=8, n_embd=256, n_ff=672, n_head=4, n_head_kv=1, n_vocab=512)
LLAMA_CONFIG = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 256,
                "num_hidden_layers": 8, "num_attention_heads": 4, "num_key_value_heads": 1,
                "intermediate_size": 672, "vocab_size": 512, "max_position_embeddings": 2048,
                "rms_norm_eps": 1e-6, "torch_dtype": "float16", "tie_word_embeddings": False}


def _quantize(src: str, out: str, ftype: int, keep_split: bool) -> None:
    import llama_cpp
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype, p.nthread, p.keep_split = ftype, 2, keep_split
    assert llama_cpp.llama_model_quantize(src.encode(), out.encode(), ctypes.byref(p)) == 0


def _write_checkpoint(folder, config: dict, n_shards: int = 2) -> list[str]:
    """Safetensors shards (+ index) holding every checkpoint tensor the family's inventory
    names, in float16, written by the safetensors package."""
    from safetensors.numpy import save_file

    from rigcheck.model.families import build_model
    model = build_model(config, "x")
    arrays = {}
    for t in model.tensors:
        if not t.hf_name:
            continue
        if "{e}" in t.hf_name:
            for e in range(t.shape[0]):
                arrays[t.hf_name.format(e=e)] = np.zeros(t.shape[1:], np.float16)
        else:
            arrays[t.hf_name] = np.zeros(t.shape, np.float16)
    return _save_shards(folder, arrays, n_shards, save_file)


def _save_shards(folder, arrays: dict, n_shards: int, save_file) -> list[str]:
    names = list(arrays)
    per = -(-len(names) // n_shards)
    paths, wm = [], {}
    for i in range(n_shards):
        fn = f"model-{i + 1:05d}-of-{n_shards:05d}.safetensors"
        part = {n: arrays[n] for n in names[i * per:(i + 1) * per]}
        save_file(part, os.path.join(folder, fn), metadata={"format": "pt"})
        wm.update({n: fn for n in part})
        paths.append(fn)
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": sum(a.nbytes for a in arrays.values())}, "weight_map": wm}, f)
    return paths


@pytest.fixture(scope="session")
def files(tmp_path_factory, gemma_gguf):
    """Everything the test Hub serves, written once."""
    import gguf
    d = tmp_path_factory.mktemp("hubfiles")
    g = d / "gguf"
    g.mkdir()
    orig = gguf.GGUFWriter
    gguf.GGUFWriter = functools.partial(orig, split_max_tensors=30)      # a split F16, 3 parts
    try:
        synth.write_llama(str(g / "tiny-llama-F16.gguf"), **LLAMA)
    finally:
        gguf.GGUFWriter = orig
    first = str(g / "tiny-llama-F16-00001-of-00003.gguf")
    _quantize(first, str(g / "tiny-llama-Q4_K_M"), 15, keep_split=True)       # split Q4_K_M
    _quantize(first, str(g / "tiny-llama-Q8_0.gguf"), 7, keep_split=False)     # one file
    st = d / "st"
    st.mkdir()
    (st / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    shards = _write_checkpoint(str(st), LLAMA_CONFIG)
    gen = d / "generic"
    gen.mkdir()
    _write_generic(str(gen))
    awq = d / "awq"
    awq.mkdir()
    _write_awq(str(awq))
    return {"gguf": {f: str(g / f) for f in os.listdir(g)}, "st": str(st), "shards": shards,
            "generic": str(gen), "awq": str(awq), "gemma": gemma_gguf}


AWQ_CONFIG = dict(LLAMA_CONFIG, intermediate_size=768,
                  quantization_config={"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True})


def _write_awq(folder):
    """An AWQ checkpoint as AutoAWQ lays it out: every Linear of the layers as qweight
    (int32, 8 nibbles per word, (in, out/8)), qzeros (in/128, out/8) and fp16 scales
    (in/128, out); embeddings, norms and head in fp16."""
    from safetensors.numpy import save_file

    from rigcheck.model.families import build_model
    model = build_model(AWQ_CONFIG, "x")
    arrays = {}
    for t in model.tensors:
        if not t.hf_name:
            continue
        if t.hf_name.startswith("model.layers.") and t.hf_name.endswith("_proj.weight"):
            out_f, in_f = t.shape
            m = t.hf_name[:-len(".weight")]
            arrays[m + ".qweight"] = np.zeros((in_f, out_f // 8), np.int32)
            arrays[m + ".qzeros"] = np.zeros((in_f // 128, out_f // 8), np.int32)
            arrays[m + ".scales"] = np.zeros((in_f // 128, out_f), np.float16)
        else:
            arrays[t.hf_name] = np.zeros(t.shape, np.float16)
    _save_shards(folder, arrays, 2, save_file)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(AWQ_CONFIG, f)


GENERIC_CONFIG = {"model_type": "mysterynet", "architectures": ["MysteryNetForCausalLM"], "hidden_size": 64,
                  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
                  "vocab_size": 300, "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32,
                  "torch_dtype": "bfloat16"}


def _write_generic(folder):
    from safetensors.numpy import save_file
    D, V, E, I, hd = 64, 300, 4, 32, 16
    a = {"model.embed_tokens.weight": (V, D), "model.norm.weight": (D,), "lm_head.weight": (V, D)}
    for i in range(2):
        p = f"model.layers.{i}."
        a.update({p + "input_layernorm.weight": (D,), p + "post_attention_layernorm.weight": (D,),
                  p + "self_attn.q_proj.weight": (4 * hd, D), p + "self_attn.k_proj.weight": (2 * hd, D),
                  p + "self_attn.v_proj.weight": (2 * hd, D), p + "self_attn.o_proj.weight": (D, 4 * hd),
                  p + "self_attn.mystery_mixer.weight": (8, D), p + "mlp.gate.weight": (E, D)})
        for e in range(E):
            a.update({f"{p}mlp.experts.{e}.gate_proj.weight": (I, D), f"{p}mlp.experts.{e}.up_proj.weight": (I, D),
                      f"{p}mlp.experts.{e}.down_proj.weight": (D, I)})
    _save_shards(folder, {k: np.zeros(s, np.float16) for k, s in a.items()}, 1, save_file)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(GENERIC_CONFIG, f)


@pytest.fixture(scope="session")
def server(files):
    hub = HubServer().start()
    g = files["gguf"]
    hub.add_repo("testorg/tiny-llama-GGUF", dict(g), base_model="testorg/tiny-llama", tags=["gguf"])
    hub.add_repo("ggml-org/gemma-3-270m-GGUF", {"gemma-3-270m-Q4_K_M.gguf": files["gemma"]})
    st = {f: os.path.join(files["st"], f) for f in os.listdir(files["st"])}
    hub.add_repo("testorg/tiny-llama", st)
    hub.add_repo("testorg/gated-llama", st, gated=True)
    hub.add_repo("testorg/mystery-net", {f: os.path.join(files["generic"], f) for f in os.listdir(files["generic"])})
    hub.add_repo("testorg/busy", st).rate_limited = True
    hub.add_repo("testorg/tiny-llama-mixed", dict(st, **{"tiny-llama-Q8_0.gguf": g["tiny-llama-Q8_0.gguf"]}))
    hub.add_repo("testorg/tiny-llama-AWQ", {f: os.path.join(files["awq"], f) for f in os.listdir(files["awq"])})
    yield hub
    hub.stop()


@pytest.fixture
def hubenv(server, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")          # main(--offline) sets it; monkeypatch restores it
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.delenv("RIGCHECK_GGUF_PUBLISHERS", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    from rigcheck.model.sources import hub_models
    hub_models._HEADERS.clear()                 # each test a fresh process, as far as headers go
    return server


def run_json(capsys, *args):
    capsys.readouterr()
    rc = main(list(args) + ["--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


def run_error(capsys, *args) -> str:
    capsys.readouterr()
    rc = main(list(args))
    out = capsys.readouterr()
    assert rc == 2, out
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rigcheck: error: ") and "Traceback" not in out.err, out.err
    return lines[0]


# ---- GGUF repos: every published file, exact --------------------------------------

def test_builds_of_a_gguf_repo_are_the_published_files_with_exact_bytes(hubenv, files, capsys):
    rep = run_json(capsys, "builds", "testorg/tiny-llama-GGUF")
    pub = {b["build"]: b for b in rep["builds"] if b["published"]}
    disk = files["gguf"]
    assert set(pub) == {"F16", "Q4_K_M", "Q8_0"}
    for name, b in pub.items():
        parts = sorted(f for f in disk if f.startswith(f"tiny-llama-{name}"))
        assert [f["path"] for f in b["files"]] == parts
        assert [f["bytes"] for f in b["files"]] == [os.path.getsize(disk[f]) for f in parts]
        # the size rigcheck reports from the headers is each file's size, summed
        assert b["file_bytes"] == sum(os.path.getsize(disk[f]) for f in parts)
        assert b["recipe"] == "published"
    assert len(pub["Q4_K_M"]["files"]) == 3 and len(pub["Q8_0"]["files"]) == 1
    computed = [b for b in rep["builds"] if not b["published"]]
    assert computed and all(b["files"] == [] for b in computed)


def test_published_build_types_are_the_files_own(hubenv, files):
    from rigcheck.model.sources import hub, hub_models
    info = hub.repo_info("testorg/tiny-llama-GGUF")
    sets = {s.name: s for s in hub_models.gguf_sets(info)}
    b = hub_models.published_gguf_build("testorg/tiny-llama-GGUF", info, sets["Q4_K_M"])
    local = {}
    for p in sets["Q4_K_M"].parts:
        local.update({t.name: t.type.name for t in gguf_src.read_header(files["gguf"][p.path]).tensors})
    assert {t.name: ty for t, ty, _ in b.items()} == local
    assert len(local) == 75


def test_gemma_header_is_read_in_header_sized_ranges(hubenv, files, capsys):
    hubenv.sent.clear()
    rep = run_json(capsys, "builds", "ggml-org/gemma-3-270m-GGUF")
    (b,) = [b for b in rep["builds"] if b["published"]]
    size = os.path.getsize(files["gemma"])
    assert b["file_bytes"] == size and b["files"] == [{"path": "gemma-3-270m-Q4_K_M.gguf", "bytes": size}]
    header = gguf_src.header_bytes(gguf_src.read_header(files["gemma"]))
    sent = hubenv.sent["gemma-3-270m-Q4_K_M.gguf"]
    # what rigcheck recorded is what the server sent, at least the header, at most 1.5x it + the first read
    assert b["header_bytes_read"] == sent
    assert header <= sent <= 1.5 * header + (256 << 10), (header, sent)
    assert sent < size / 20
    ranges = [r for m, p, r in hubenv.requests if p.endswith("gemma-3-270m-Q4_K_M.gguf")]
    assert ranges[0] == "bytes=0-262143"          # starts small


def test_a_quant_tag_or_a_file_name_picks_one_file(hubenv, files, capsys):
    tagged = run_json(capsys, "info", "testorg/tiny-llama-GGUF:Q4_K_M")
    heads = [gguf_src.read_header(files["gguf"][f]) for f in sorted(files["gguf"]) if "Q4_K_M" in f]
    assert tagged["tensor_count"] == sum(len(h.tensors) for h in heads) == 75
    assert tagged["total_params"] == sum(int(np.prod(t.ne)) for h in heads for t in h.tensors)
    assert tagged["hub"]["file"] == "tiny-llama-Q4_K_M-00001-of-00003.gguf"
    named = run_json(capsys, "info", "testorg/tiny-llama-GGUF:tiny-llama-Q8_0.gguf")
    assert named["hub"]["file"] == "tiny-llama-Q8_0.gguf" and named["total_params"] == tagged["total_params"]
    line = run_error(capsys, "info", "testorg/tiny-llama-GGUF:Q4_K_S")
    assert "Q4_K_M" in line


# ---- safetensors repos: the exact inventory ----------------------------------------

def test_safetensors_repo_inventory_equals_the_files(hubenv, files, capsys):
    from rigcheck.model.resolve import load_model
    model = load_model("testorg/tiny-llama")
    local = st_src.read_files(files["st"])
    assert model.meta["checkpoint_tensors"] == len(local)
    assert model.meta["unmatched"] == [] and model.meta["missing"] == []
    by_hf = {t.name: t for t in local}
    for t in model.tensors:
        if t.hf_name:
            assert by_hf[t.hf_name].shape == t.shape and t.dtype == by_hf[t.hf_name].dtype == "F16"
    shards = [os.path.join(files["st"], s) for s in files["shards"]]
    assert model.meta["hub"]["checkpoint_bytes"] == sum(os.path.getsize(p) for p in shards)
    rep = run_json(capsys, "info", "testorg/tiny-llama")
    assert rep["total_params"] == sum(t.n_elements for t in local)
    assert rep["tensor_count"] == len(model.tensors)


def test_native_build_of_a_safetensors_repo_is_the_published_checkpoint(hubenv, files, capsys):
    rep = run_json(capsys, "builds", "testorg/tiny-llama")
    (nat,) = [b for b in rep["builds"] if b["build"] == "native"]
    shards = files["shards"]
    assert nat["published"] and [f["path"] for f in nat["files"]] == shards
    assert nat["file_bytes"] == sum(os.path.getsize(os.path.join(files["st"], s)) for s in shards)


def test_an_architecture_without_a_module_gets_the_generic_family(hubenv, files, capsys):
    rep = run_json(capsys, "info", "testorg/mystery-net")
    local = st_src.read_files(files["generic"])
    assert rep["total_params"] == sum(t.n_elements for t in local)
    assert rep["n_layer"] == 2 and rep["moe"]["n_expert"] == 4 and rep["moe"]["n_expert_used"] == 2
    # 2 layers x 3 expert matrices fused from 4 experts each
    assert rep["tensor_count"] == len(local) - 2 * 3 * 4 + 2 * 3
    assert any("mystery_mixer" in n for n in rep["not_inferred"])
    capsys.readouterr()
    assert main(["info", "testorg/mystery-net"]) == 0
    assert "could not infer:" in capsys.readouterr().out


# ---- a base repo finds its GGUF repos ---------------------------------------------

def test_builds_of_a_base_repo_show_the_quantized_repos_files(hubenv, files, capsys):
    rep = run_json(capsys, "builds", "testorg/tiny-llama")
    pub = {b["build"]: b for b in rep["builds"] if b["published"]}
    assert {"testorg:Q4_K_M", "testorg:Q8_0", "testorg:F16", "native"} <= set(pub)
    assert pub["testorg:Q8_0"]["file_bytes"] == os.path.getsize(files["gguf"]["tiny-llama-Q8_0.gguf"])
    assert pub["testorg:Q8_0"]["repo"] == "testorg/tiny-llama-GGUF"
    # the recipe's Q8_0 from the config beside the published one: same tensors, same types
    (q8,) = [b for b in rep["builds"] if b["build"] == "Q8_0" and not b["published"]]
    data = lambda b: b["file_bytes"]      # noqa: E731
    assert abs(data(q8) - data(pub["testorg:Q8_0"])) < 0.01 * data(q8)


def test_check_lists_published_files_beside_recipes(hubenv, files, capsys):
    from rigcheck.cli.builds import with_published
    from rigcheck.model.resolve import load_model
    made = with_published(load_model("testorg/tiny-llama-GGUF"))
    names = [(b.name, b.recipe) for b in made]
    assert ("Q4_K_M", "published") in names and ("Q6_K", "llama.cpp") in names
    assert ("Q4_K_M", "llama.cpp") not in names            # the published file takes the name
    capsys.readouterr()
    assert main(["check", "testorg/tiny-llama-GGUF", "--rig", "rtx-4090+32GB"]) == 0
    out = capsys.readouterr().out
    assert "Q4_K_M (published)" in out and "Q6_K (computed)" in out
    d = run_json(capsys, "check", "testorg/tiny-llama-GGUF", "--rig", "rtx-4090+32GB")
    kinds = {b["name"]: b["published"] for b in d["builds"]}
    assert kinds["Q4_K_M"] is True and kinds["Q6_K"] is False


# ---- cache, offline, errors ---------------------------------------------------------

def test_second_run_reads_no_header_and_offline_answers_from_the_cache(hubenv, capsys, monkeypatch):
    first = run_json(capsys, "builds", "testorg/tiny-llama-GGUF")
    hubenv.requests.clear()
    again = run_json(capsys, "builds", "testorg/tiny-llama-GGUF")
    assert [r for r in hubenv.requests if "/resolve/" in r[1]] == []       # headers from the cache
    assert [r[1] for r in hubenv.requests] == ["/api/models/testorg/tiny-llama-GGUF"]   # one ETag revalidation
    hubenv.requests.clear()
    offline = run_json(capsys, "--offline", "builds", "testorg/tiny-llama-GGUF")
    assert hubenv.requests == []
    strip = lambda r: [{k: v for k, v in b.items() if k != "header_bytes_read"} for b in r["builds"]]  # noqa
    assert strip(first) == strip(again) == strip(offline)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    line = run_error(capsys, "builds", "ggml-org/gemma-3-270m-GGUF")
    assert "not in rigcheck's Hub cache" in line and "--offline" in line


def test_gated_repo_says_to_set_hf_token(hubenv, capsys, monkeypatch):
    line = run_error(capsys, "info", "testorg/gated-llama")
    assert "gated" in line and "HF_TOKEN" in line
    monkeypatch.setenv("HF_TOKEN", HubServer.TOKEN)
    assert run_json(capsys, "info", "testorg/gated-llama")["n_layer"] == 8


def test_not_found_suggests_close_names(hubenv, capsys):
    line = run_error(capsys, "info", "testorg/tiny-lama-GGUF")
    assert "HTTP 404" in line and "testorg/tiny-llama-GGUF" in line


def test_rate_limit_and_no_network_are_one_line(hubenv, capsys, monkeypatch):
    line = run_error(capsys, "info", "testorg/busy")
    assert "429" in line and "rate-limiting" in line and "7 s" in line
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")        # nothing listens there
    line = run_error(capsys, "info", "testorg/anything")
    assert "cannot reach the Hub" in line and "--offline" in line


def test_a_slash_path_that_is_not_there_is_not_sent_to_the_hub(hubenv, capsys):
    hubenv.requests.clear()
    run_error(capsys, "info", "models/missing.gguf")
    assert hubenv.requests == []


# ---- hostile servers: bounded in bytes and time --------------------------------------

def _gguf_prefix(n_strings: int, tail_len: int = 0) -> bytes:
    """A GGUF header start: 1 KV pair, an array of ``n_strings`` strings."""
    import struct
    key = b"tokenizer.ggml.tokens"
    out = b"GGUF" + struct.pack("<IQQ", 3, 1, 1) + struct.pack("<Q", len(key)) + key
    return out + struct.pack("<iiQ", 9, 8, n_strings) + b"".join(
        struct.pack("<Q", tail_len) + b"x" * tail_len for _ in range(min(n_strings, 200_000)))


def _periodic(prefix: bytes, n: int):
    """``prefix`` then strings of ``n`` bytes ('x'), each after its 8-byte length, forever."""
    import struct
    unit = struct.pack("<Q", n) + b"x" * n

    def read(off, k):
        out = bytearray(prefix[off:off + k])
        pos = max(off, len(prefix))
        while len(out) < k:
            i = (pos - len(prefix)) % len(unit)
            piece = unit[i:i + k - len(out)]
            out += piece
            pos += len(piece)
        return bytes(out)
    return read


def _lazy(prefix: bytes):
    def read(off, n):
        head = prefix[off:off + n]
        return head + bytes(n - len(head))
    return read


def test_an_endless_header_stops_at_the_byte_bound(server, hubenv, capsys, monkeypatch):
    monkeypatch.setenv("RIGCHECK_HUB_MAX_HEADER_BYTES", str(2 << 20))
    # 1,000,000 strings of 4,000 bytes: 4 GB of "header" in a file said to be 1 TB
    server.add_virtual("evil/endless-GGUF", "endless-Q4_K_M.gguf", 10**12,
                       _periodic(_gguf_prefix(1_000_000, 0)[:-8 * min(1_000_000, 200_000)], 4000))
    line = run_error(capsys, "builds", "evil/endless-GGUF")
    assert "header needs more than 2,097,152 bytes" in line
    assert server.sent["endless-Q4_K_M.gguf"] < 8 << 20


def test_a_slow_drip_stops_at_the_deadline(server, hubenv, capsys, monkeypatch):
    monkeypatch.setenv("RIGCHECK_HUB_DEADLINE_S", "1")
    server.add_virtual("evil/drip-GGUF", "drip-Q4_K_M.gguf", 10**9, _lazy(_gguf_prefix(1000, 5)),
                       mode="drip", drip_s=0.05)
    line = run_error(capsys, "builds", "evil/drip-GGUF")
    assert "too slow" in line or "timed out" in line
    assert server.sent["drip-Q4_K_M.gguf"] < 16 << 10


def test_a_gigabyte_body_that_ignores_the_range_is_cut_off(server, hubenv, capsys):
    # a header larger than the first read (100k strings of 13 bytes), served without Range
    server.add_virtual("evil/norange-GGUF", "norange-Q4_K_M.gguf", 1 << 30, _lazy(_gguf_prefix(100_000, 5)),
                       mode="ignore_range")
    line = run_error(capsys, "builds", "evil/norange-GGUF")
    assert "ignored the Range request" in line
    assert server.sent["norange-Q4_K_M.gguf"] < 16 << 20      # of 1 GiB


def test_a_safetensors_header_length_beyond_reason_is_refused(server, hubenv, capsys):
    import struct
    server.add_virtual("evil/st", "model.safetensors", 1 << 41, _lazy(struct.pack("<Q", 1 << 40) + b"{"))
    server.add_repo("evil/st", {"config.json": json.dumps(LLAMA_CONFIG).encode()})
    line = run_error(capsys, "info", "evil/st")
    assert "damaged safetensors" in line and "1,099,511,627,776" in line
    assert server.sent["model.safetensors"] <= (256 << 10) + (1 << 20)


def test_hub_refs_parse():
    from rigcheck.model.sources.hub import HubRef, parse_ref
    assert parse_ref("org/name") == HubRef("org/name")
    assert parse_ref("org/name@v1.0") == HubRef("org/name", "v1.0")
    assert parse_ref("org/name-GGUF:Q4_K_M") == HubRef("org/name-GGUF", None, "Q4_K_M")
    assert parse_ref("hf.co/org/name-GGUF:q4_k_m") == HubRef("org/name-GGUF", None, "q4_k_m")
    assert parse_ref("org/name@abc:sub/file.gguf") == HubRef("org/name", "abc", "sub/file.gguf")
    for bad in ("qwen3-8b", "a/b/c", "/abs/path", "org/", "org/name@"):
        assert parse_ref(bad) is None, bad


def test_check_of_a_base_repo_shows_the_quantized_repos_files(hubenv, files, capsys):
    rep = run_json(capsys, "check", "testorg/tiny-llama", "--rig", "rtx-4090+32GB")
    text = json.dumps(rep)
    assert '"testorg:Q8_0"' in text and '"testorg:Q4_K_M"' in text and '"Q6_K"' in text


def test_gguf_repo_discovery_follows_its_settings(hubenv, capsys, monkeypatch):
    monkeypatch.setenv("RIGCHECK_GGUF_REPOS", "0")
    rep = run_json(capsys, "builds", "testorg/tiny-llama")
    assert not [b for b in rep["builds"] if b["build"].startswith("testorg:")]
    monkeypatch.setenv("RIGCHECK_GGUF_PUBLISHERS", "testorg, nobody")      # {publisher}/{name}-GGUF
    rep = run_json(capsys, "builds", "testorg/tiny-llama")
    assert {"testorg:Q8_0", "testorg:Q4_K_M"} <= {b["build"] for b in rep["builds"]}


def test_not_found_suggests_catalogue_ids_too(hubenv, capsys):
    line = run_error(capsys, "info", "openai/gpt-oss-120")
    assert "gpt-oss-120b" in line


def test_a_quantized_checkpoint_is_typed_from_its_bytes(hubenv, files, capsys):
    """AWQ is not a format the quantization_config reading knows: each Linear's qweight,
    qzeros and scales are counted with it and the tensor gets the type they add up to."""
    from rigcheck.cli.builds import published
    from rigcheck.model.resolve import load_model
    model = load_model("testorg/tiny-llama-AWQ")
    (nat,) = [b for b in published(model) if b.name == "native"]
    types = {t.name: ty for t, ty, _ in nat.items()}
    assert types["blk.0.attn_q.weight"] == types["blk.7.ffn_down.weight"] == "AWQ_4BIT_G128"
    assert types["token_embd.weight"] in ("F16", "BF16") and types["output.weight"] in ("F16", "BF16")
    data = sum(t.nbytes for t in st_src.read_files(files["awq"]))
    assert abs(nat.weights_bytes - data) < 0.01 * data
    assert nat.file_bytes == sum(os.path.getsize(os.path.join(files["awq"], f))
                                 for f in os.listdir(files["awq"]) if f.endswith(".safetensors"))


def test_a_catalogued_repo_falls_back_to_its_card_when_the_hub_is_off(hubenv, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rep = run_json(capsys, "info", "openai/gpt-oss-120b")
    assert rep["source"] == "catalogue" and rep["id"] == "gpt-oss-120b"
    assert "Hub cache" in rep["hub_unreachable"]


def test_a_file_huggingface_hub_downloaded_is_read_from_disk(hubenv, files, capsys, tmp_path, monkeypatch):
    """huggingface_hub's cache layout: models--org--name/snapshots/<commit>/<path>."""
    from rigcheck.model.sources import hub
    info = hub.repo_info("ggml-org/gemma-3-270m-GGUF")
    snap = tmp_path / "hfcache" / "models--ggml-org--gemma-3-270m-GGUF" / "snapshots" / info.sha
    snap.mkdir(parents=True)
    os.symlink(files["gemma"], snap / "gemma-3-270m-Q4_K_M.gguf")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hfcache"))
    hubenv.requests.clear()
    rep = run_json(capsys, "builds", "ggml-org/gemma-3-270m-GGUF")
    assert [r for r in hubenv.requests if "/resolve/" in r[1]] == []
    (b,) = [b for b in rep["builds"] if b["published"]]
    assert b["file_bytes"] == os.path.getsize(files["gemma"]) and b["header_bytes_read"] == 0


def test_a_repo_with_a_checkpoint_and_ggufs_lists_both(hubenv, files, capsys):
    rep = run_json(capsys, "builds", "testorg/tiny-llama-mixed")
    pub = {b["build"]: b for b in rep["builds"] if b["published"]}
    assert set(pub) == {"native", "Q8_0"}
    assert pub["Q8_0"]["file_bytes"] == os.path.getsize(files["gguf"]["tiny-llama-Q8_0.gguf"])
