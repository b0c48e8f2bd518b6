"""rigcheck serve's JSON API through FastAPI's TestClient: every endpoint answers with the
field names (and values) of the CLI's --json for the same query, every bad input is a 4xx
JSON error with one line, and nothing is a 500 or a traceback."""

from __future__ import annotations

import json
import os

import pytest
from fastapi.testclient import TestClient

from rigcheck.cli import main as cli_main
from rigcheck.serve import create_app


@pytest.fixture(autouse=True)
def _hub_offline(monkeypatch):
    """Hub ids are looked up in rigcheck's Hub cache only: tests never use the network.
    (RIGCHECK_OFFLINE, not HF_HUB_OFFLINE: huggingface_hub reads its own switch once, at import,
    and would stay offline for every later test in the session.)"""
    monkeypatch.setenv("RIGCHECK_OFFLINE", "1")
from rigcheck.serve.guard import MAX_BODY, MAX_QUERY


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(rate=None), raise_server_exceptions=False) as c:
        yield c


def cli_json(capsys, *argv):
    capsys.readouterr()
    assert cli_main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def key_paths(obj, prefix=""):
    """Every field name, as a path (list elements merged), so two reports can be compared by shape."""
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.add(f"{prefix}.{k}")
            out |= key_paths(v, f"{prefix}.{k}")
    elif isinstance(obj, list):
        for v in obj:
            out |= key_paths(v, prefix + "[]")
    return out


def bad(r, status=None):
    """A refusal: 4xx, a JSON object with one 'error' line, no traceback."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if status is not None:
        assert r.status_code == status, (r.status_code, r.text[:300])
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    assert "\n" not in body["error"] and "Traceback" not in r.text
    return body["error"]


def test_check_is_the_cli_json_for_the_same_query(client, capsys, tmp_path):
    r = client.get("/api/check", params={"model": "deepseek-v4-flash", "rig": "rtx-5090+128GB", "ctx": 16384})
    assert r.status_code == 200, r.text[:300]
    api = r.json()
    # the page draws the decode curve, which the CLI computes with --html: same query, same report
    cli = cli_json(capsys, "check", "deepseek-v4-flash", "--rig", "rtx-5090+128GB", "--ctx", "16384", "--json",
                   "--html", str(tmp_path / "r.html"))
    assert api == cli
    assert api["ctx"] == 16384 and api["decode_vs_ctx"] and api["best"]
    plain = cli_json(capsys, "check", "deepseek-v4-flash", "--rig", "rtx-5090+128GB", "--ctx", "16384", "--json")
    assert set(api) == set(plain)
    assert key_paths(api["builds"]) == key_paths(plain["builds"])


def test_check_runtime_and_default_context(client, capsys):
    r = client.get("/api/check", params={"model": "qwen3-30b-a3b", "rig": "m4-max-128", "runtime": "llama.cpp"})
    assert r.status_code == 200, r.text[:300]
    api = r.json()
    cli = cli_json(capsys, "check", "qwen3-30b-a3b", "--rig", "m4-max-128", "--runtime", "llama.cpp", "--json")
    assert api["ctx"] == cli["ctx"] == 32768
    assert {b["runtime"] for b in api["builds"]} == {"llama.cpp"}
    assert [b["name"] for b in api["builds"]] == [b["name"] for b in cli["builds"]]
    assert key_paths(api) >= key_paths(cli)      # the CLI's --json has no curve; every other field is there


def test_context_changes_the_answer(client):
    small = client.get("/api/check", params={"model": "qwen3-30b-a3b", "rig": "rtx-4090+64GB", "ctx": 4096}).json()
    big = client.get("/api/check", params={"model": "qwen3-30b-a3b", "rig": "rtx-4090+64GB", "ctx": 131072}).json()
    kv = {b["name"]: b["kv_bytes"] for b in small["builds"]}
    assert all(b["kv_bytes"] > kv[b["name"]] for b in big["builds"])


def test_tiers_models_rigs_rig_are_the_cli_json(client, capsys):
    r = client.get("/api/tiers", params={"model": "qwen3-30b-a3b", "ctx": 8192})
    assert r.status_code == 200
    assert r.json() == cli_json(capsys, "tiers", "qwen3-30b-a3b", "--ctx", "8192", "--json")
    assert client.get("/api/models").json() == cli_json(capsys, "models", "--json")
    assert client.get("/api/rigs").json() == cli_json(capsys, "rigs", "--json")
    assert client.get("/api/rigs", params={"kind": "tier"}).json() == cli_json(capsys, "rigs", "--kind", "tier", "--json")
    spec = "2x rtx-3090+64GB ddr4-3200"
    assert client.get("/api/rig", params={"spec": spec}).json() == cli_json(capsys, "rig", spec, "--json")
    here = client.get("/api/rig").json()
    assert here["source"] == "detected" and key_paths(here) == key_paths(cli_json(capsys, "rig", "--json"))


def test_meta_carries_the_static_reports_pieces(client):
    from rigcheck.plan.modes import MODES
    from rigcheck.report.html import COLORS, VERDICT_COLORS
    m = client.get("/api/meta").json()
    assert m["colors"] == COLORS and m["verdict_colors"] == VERDICT_COLORS
    assert [p["key"] for p in m["parts"]] == ["weights", "kv", "compute", "overhead"]
    assert set(m["modes"]) == {x.name for x in MODES}
    assert m["modes"]["mmap_stream"]["fits"].startswith("no") and m["modes"]["gpu"]["fits"].startswith("yes")
    assert "llama.cpp" in m["runtimes"]


def test_unknown_names_suggest_the_closest(client):
    msg = bad(client.get("/api/check", params={"model": "deepseek-v4-flsh"}), 404)
    assert "deepseek-v4-flash" in msg
    msg = bad(client.get("/api/check", params={"model": "qwen3-30b-a3b", "rig": "rtx-5091+64GB"}), 404)
    assert "rtx-5090" in msg
    msg = bad(client.get("/api/check", params={"model": "qwen3-30b-a3b", "runtime": "olama"}), 404)
    assert "ollama" in msg
    bad(client.get("/api/tiers", params={"model": "gpt-oss-121b"}), 404)
    assert "gpt-oss-120b" in bad(client.get("/api/tiers", params={"model": "gpt-oss-121b"}))


def test_bad_rig_specs(client):
    bad(client.get("/api/rig", params={"spec": "rtx-5090+12x"}), 400)
    bad(client.get("/api/rig", params={"spec": "foo"}), 404)
    bad(client.get("/api/check", params={"model": "qwen3-30b-a3b", "rig": "rtx-5090+128GB;rm -rf"}), 400)
    bad(client.get("/api/rigs", params={"kind": "planet"}), 400)


@pytest.mark.parametrize("ref", ["/etc/passwd", "../../etc/passwd", "./model.gguf", "~/.ssh/id_rsa",
                                 "C:\\models\\x.gguf", "model.gguf", "config.json", "a/b/c", "file:///etc/passwd",
                                 "weights.safetensors", "tests/fixtures"])
def test_a_path_is_never_read(client, ref):
    msg = bad(client.get("/api/check", params={"model": ref}), 400)
    assert "path" in msg or "file" in msg
    bad(client.get("/api/tiers", params={"model": ref}), 400)


def test_an_existing_folder_named_like_a_hub_id_is_refused(client, tmp_path, monkeypatch):
    (tmp_path / "owner" / "name").mkdir(parents=True)
    (tmp_path / "owner" / "name" / "config.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    msg = bad(client.get("/api/check", params={"model": "owner/name"}), 400)
    assert "never reads files" in msg
    # a Hub id the catalogue knows (a card's repo) is the card
    r = client.get("/api/check", params={"model": "Qwen/Qwen3-30B-A3B", "rig": "rtx-4090+64GB"})
    assert r.status_code == 200 and r.json()["model"]["id"] == "qwen3-30b-a3b"


def test_values_out_of_range(client):
    bad(client.get("/api/check", params={"model": "qwen3-30b-a3b", "ctx": 0}), 400)
    bad(client.get("/api/check", params={"model": "qwen3-30b-a3b", "ctx": -5}), 400)
    bad(client.get("/api/check", params={"model": "qwen3-30b-a3b", "ctx": "lots"}), 400)
    bad(client.get("/api/check", params={"model": "qwen3-30b-a3b", "ctx": 10**12}), 400)
    bad(client.get("/api/check", params={"model": ""}), 400)
    bad(client.get("/api/check"), 400)
    bad(client.get("/api/check", params={"model": "qwen3\x00-30b"}), 400)
    bad(client.get("/api/check", params={"model": "x" * 300}), 400)


def test_huge_requests_are_refused(client):
    assert "query string too long" in bad(client.get("/api/check?model=" + "q" * (MAX_QUERY + 1)), 414)
    bad(client.request("GET", "/api/models", content=b"x" * (MAX_BODY + 1)), 413)
    bad(client.post("/api/check", params={"model": "qwen3-30b-a3b"}), 405)
    bad(client.get("/api/" + "a" * 600), 414)
    bad(client.get("/api/nothing-here"), 404)
    bad(client.get("/static/../../etc/passwd"), 404)
    bad(client.get("/static/app.py"), 404)


def test_rate_limit_and_local_host_only():
    app = create_app(rate=1.0, burst=3, allowed_hosts=("127.0.0.1", "localhost"))
    with TestClient(app, base_url="http://127.0.0.1:8731") as c:
        codes = [c.get("/api/meta").status_code for _ in range(6)]
        assert codes[:3] == [200, 200, 200] and codes[-1] == 429
        r = c.get("/api/meta")
        assert "too many requests" in bad(r, 429) and int(r.headers["retry-after"]) >= 1
        assert c.get("/").status_code == 200          # the page itself is not rate limited
    with TestClient(app, base_url="http://evil.example:8731") as c:
        assert "not served here" in bad(c.get("/api/models"), 400)


def test_security_headers_and_offline_assets(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    html = page.text
    assert "http://" not in html and "https://" not in html      # no CDN: every asset from this server
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "fetch(" in js.text and "http" not in js.text.replace("https?:", "")
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and b"plotly.js" in plotly.content[:200] and len(plotly.content) > 1_000_000


def test_no_500_on_odd_queries(client):
    odd = ["%", "'", '"', "<script>", "0", "-", "a" * 200, "deepseek-v4-flash\u00e9", "\u202e", "nan", "NaN",
           "1e9", "qwen3-30b-a3b ", " qwen3-30b-a3b", "rtx-5090+128GB"]
    for v in odd:
        for url, key in (("/api/check", "model"), ("/api/check", "rig"), ("/api/check", "runtime"),
                         ("/api/tiers", "model"), ("/api/rig", "spec"), ("/api/check", "ctx")):
            params = {"model": "qwen3-30b-a3b", key: v}
            r = client.get(url, params=params)
            assert r.status_code < 500, (url, key, v, r.status_code, r.text[:200])
            assert "Traceback" not in r.text
            if r.status_code >= 400:
                bad(r)


def test_cache_serves_a_repeat_from_memory():
    app = create_app(rate=None)
    with TestClient(app) as c:
        q = {"model": "gpt-oss-20b", "rig": "rtx-4090+64GB", "ctx": 8192}
        first = c.get("/api/check", params=q).content
        lru = app.app.app.state.cache            # Guard -> FastPath -> FastAPI
        misses = lru.misses
        # the same query spelled differently: alias case, spacing and the rig spec's spelling
        again = c.get("/api/check", params={"model": "GPT-OSS-20B", "rig": "rtx-4090 + 64gb", "ctx": 8192})
        assert again.status_code == 200 and again.content == first
        assert lru.misses == misses and lru.hits >= 1
        # the same query string again: answered before FastAPI, with the same bytes and headers
        fast = app.app
        hits, inner = fast.lru.hits, lru.hits
        third = c.get("/api/check", params=q)
        assert third.content == first and fast.lru.hits == hits + 1 and lru.hits == inner
        assert third.headers["content-type"] == "application/json"
        assert third.headers["x-content-type-options"] == "nosniff"
        # errors are not kept there (a Hub lookup that failed may work next time)
        for _ in range(2):
            c.get("/api/check", params={"model": "deepseek-v4-flsh"})
        assert fast.lru.hits == hits + 1


def _serve(*args):
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "rigcheck", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    lines = []
    while True:
        line = proc.stderr.readline()
        assert line, f"rigcheck serve exited: {lines} rc={proc.poll()}"
        lines.append(line.rstrip("\n"))
        if "Ctrl-C stops it" in line:
            return proc, lines


def test_cli_serve_listens_on_loopback_and_answers():
    import urllib.error
    import urllib.request
    proc, lines = _serve()
    try:
        assert len(lines) == 1 and lines[0].startswith("rigcheck serve: http://127.0.0.1:")
        url = lines[0].split()[2]
        with urllib.request.urlopen(url + "api/meta", timeout=30) as r:
            assert r.status == 200 and "colors" in json.loads(r.read())
        req = urllib.request.Request(url + "api/models", headers={"Host": "attacker.example"})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=30)
        assert e.value.code == 400 and "not served here" in json.loads(e.value.read())["error"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_cli_serve_warns_in_one_line_when_bound_elsewhere():
    proc, lines = _serve("--host", "0.0.0.0")
    try:
        assert len(lines) == 2 and lines[0].startswith("rigcheck serve: warning: listening on 0.0.0.0")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_cli_serve_bad_options_are_one_line(capsys):
    import socket
    assert cli_main(["serve", "--port", "70000"]) == 2
    assert "--port must be 0-65535" in capsys.readouterr().err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        assert cli_main(["serve", "--port", str(busy)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot listen on 127.0.0.1" in err and "another --port" in err


def test_a_hub_id_goes_to_the_hub_loader_and_offline_is_one_line(client):
    r = client.get("/api/check", params={"model": "someorg/not-a-cached-model", "rig": "rtx-4090+64GB"})
    msg = bad(r)
    assert "someorg/not-a-cached-model" in msg
    assert "file path" not in msg
    bad(client.get("/api/check", params={"model": "someorg/x@main:Q4_K_M/../../etc"}), 400)


def test_suggestions_from_the_catalogue_and_a_local_hub(client, monkeypatch, tmp_path):
    from hubserver import HubServer          # the tests' Hub on 127.0.0.1 (tests/hubserver.py)
    hub = HubServer()
    hub.add_repo("someorg/DeepSeek-V4-Flash-GGUF", {"README.md": b"x"})
    hub.add_repo("deepseek-ai/DeepSeek-V4-Flash", {"config.json": b"{}"})
    hub.add_repo("other/unrelated", {"README.md": b"x"})
    hub.start()
    try:
        # offline (the fixture): the catalogue only, and the page is told the Hub was not asked
        r = client.get("/api/suggest", params={"q": "DeepSeek-V4"}).json()
        assert r["hub"] == "offline" and [d["source"] for d in r["suggestions"]] == ["catalogue"] * 2
        assert {d["id"] for d in r["suggestions"]} == {"deepseek-v4-flash", "deepseek-v4-pro"}
        assert not [x for x in hub.requests if x[1] == "/api/models"]
        monkeypatch.delenv("RIGCHECK_OFFLINE")
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
        r = client.get("/api/suggest", params={"q": "DeepSeek-V4"}).json()
        assert r["hub"] == "ok", r["hub"]
        ids = [d["id"] for d in r["suggestions"]]
        # catalogue first, then the Hub's ids; the catalogue card's own repo is the card
        assert ids[:2] == ["deepseek-v4-flash", "deepseek-v4-pro"]
        assert "someorg/DeepSeek-V4-Flash-GGUF" in ids and "other/unrelated" not in ids
        assert "deepseek-ai/DeepSeek-V4-Flash" not in ids
        assert [d["source"] for d in r["suggestions"] if "/" in d["id"]] == ["hub"] * (len(ids) - 2)
        assert [x for x in hub.requests if x[1] == "/api/models"]
    finally:
        hub.stop()
    assert client.get("/api/suggest", params={"q": "zzzz-no-such"}).json()["suggestions"] == []
    bad(client.get("/api/suggest", params={"q": "q" * 101}), 400)
