"""bench/blind_estimates.py: reading rows, the arguments it passes, the summary arithmetic,
and one run of the real `rigcheck estimate` on two rows (one it refuses)."""

import csv
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "bench", "blind_estimates.py")
_spec = importlib.util.spec_from_file_location("blind_estimates", SCRIPT)
blind = importlib.util.module_from_spec(_spec)
sys.modules["blind_estimates"] = blind   # dataclasses look their module up while the class is built
_spec.loader.exec_module(blind)

HEADER = ("model,build,runtime,version,rig,offload,context,decode_tok_s,prefill_tok_s,prefill_tokens,"
          "source,date,notes,params_b,active_b,weights_gb,fit")


def _rows(*lines):
    return blind.read_rows(["# a comment line\n", HEADER + "\n", *[ln + "\n" for ln in lines]])


def test_rows_are_read_with_their_file_line_numbers_and_numbers():
    rows = _rows('gpt-oss-20b,MXFP4_MOE,llama.cpp,b7000 Vulkan,rtx-4090,none,64,225.5,8022,2048,'
                 'https://example.org/a,2025-08,"tg128, pp2048",,,,yes',
                 "",
                 "qwen3-4b,Q4_K_M,ollama,,m4-24,,,30,,,https://example.org/b,2026,,,,,yes")
    assert [r.line for r in rows] == [3, 5]
    a, b = rows
    assert (a.model, a.build, a.rig, a.offload, a.context) == ("gpt-oss-20b", "MXFP4_MOE", "rtx-4090", "none", 64)
    assert (a.decode, a.prefill, a.prefill_tokens) == (225.5, 8022.0, 2048)
    assert a.notes == "tg128, pp2048"
    assert (b.context, b.prefill, b.offload) == (None, None, "")


@pytest.mark.parametrize("line, message", [
    ("m,b,r,v,rig,none,64,fast,,,u,d,,,,,yes", "decode_tok_s 'fast' is not a number"),
    ("m,b,r,v,rig,none,-5,10,,,u,d,,,,,yes", "context '-5' must be a finite number >= 0"),
    ("m,b,r,v,rig,none,64,10,,,u,d", "12 fields, the header has 17"),
])
def test_bad_rows_name_the_line_and_the_field(line, message):
    with pytest.raises(blind.RowsError) as e:
        _rows(line)
    assert str(e.value) == f"line 3: {message}"


def test_a_header_without_the_columns_is_refused():
    with pytest.raises(blind.RowsError, match="header lacks column"):
        blind.read_rows(["model,build,rig\n", "a,b,c\n"])


def test_the_arguments_are_the_ones_a_user_types():
    row = _rows("gpt-oss-20b,MXFP4_MOE,llama.cpp,b8123 Vulkan (RADV),strix-halo-128,experts=ram:12/24,100,70,,,"
                "u,d,,,,,yes")[0]
    assert blind.estimate_args(row, 100) == [
        "estimate", "gpt-oss-20b", "--build", "MXFP4_MOE", "--rig", "strix-halo-128", "--json",
        "--runtime", "llama.cpp", "--ctx", "100", "--offload", "experts=ram:12/24", "--backend", "vulkan"]
    # --auto-offload leaves the placement to rigcheck; an empty or unknown offload word is never passed
    assert "--offload" not in blind.estimate_args(row, 100, use_offload=False)
    odd = _rows("m,b,vllm,0.23.0 (ROCm),mi300x,whatever,10,1,,,u,d,,,,,yes")[0]
    args = blind.estimate_args(odd, 10)
    assert "--offload" not in args and "--backend" not in args  # vLLM: no llama.cpp backend


@pytest.mark.parametrize("version, backend", [
    ("b8123 Vulkan", "vulkan"), ("ROCm 7.2 (HIP)", "rocm"), ("IPEX SYCL", "sycl"), ("Metal", "metal"),
    ("CUDA 12.8", "cuda"), ("vulkan_amdvlk", "vulkan"), ("b7000", None), ("chipset", None)])
def test_backend_from_the_version_string(version, backend):
    assert blind.backend_of(version) == backend


def test_summary_arithmetic_on_hand_worked_pairs():
    rng = {"low": 8.0, "mid": 10.0, "high": 12.0}
    pairs = [(10.0, rng), (30.0, rng), (5.0, rng), (12.0, rng)]
    s = blind.summarise(pairs)
    # |mid/meas - 1|: 0, 2/3, 1, 1/6 -> median (1/6 + 2/3) / 2
    assert s["n"] == 4
    assert s["median_err"] == pytest.approx((1 / 6 + 2 / 3) / 2)
    # meas/mid: 1, 3, 0.5, 1.2 -> median 1.1; within 2x counts 0.5 (exactly 2x) but not 3
    assert s["median_ratio"] == pytest.approx(1.1)
    assert s["within_2x"] == pytest.approx(3 / 4)
    # inside [8, 12]: 10 and 12 (the bound counts)
    assert s["inside"] == pytest.approx(2 / 4)
    # rows without a range or a measurement do not count
    assert blind.summarise([(None, rng), (10.0, None)]) == {"n": 0}


def test_source_keys():
    row = lambda u: _rows(f"m,b,r,v,rig,none,1,1,,,{u},d,,,,,yes")[0]  # noqa: E731
    assert blind.source_of(row("https://github.com/ggml-org/llama.cpp/pull/16095 (comment)")) == "ggml-org/llama.cpp"
    assert blind.source_of(row("https://www.hardware-corner.net/gpt-oss-offloading-moe-layers/")) == "hardware-corner.net"


def test_bad_input_gets_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\nm,b,r,v,rig,none,64,fast,,,u,d,,,,,yes\n")
    for path in (bad, tmp_path / "missing.csv"):
        p = subprocess.run([sys.executable, SCRIPT, str(path)], capture_output=True, text=True)
        assert p.returncode == 2
        assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_a_real_run_scores_one_row_and_reports_the_refusal(tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text(HEADER + "\n"
                    "llama-3.1-8b-instruct,Q4_K_M,llama.cpp,b7000 CUDA,rtx-4090,none,64,140,,,"
                    "https://example.org/x,2026,,,,,yes\n"
                    "no-such-model-xyz,Q4_K_M,llama.cpp,,rtx-4090,none,64,10,,,https://example.org/y,2026,,,,,yes\n")
    out = tmp_path / "out.json"
    p = subprocess.run([sys.executable, SCRIPT, str(rows), "--json", str(out)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": ROOT}, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "rows: 2; estimated 1; refused 1" in p.stdout
    import json
    data = json.loads(out.read_text())
    good, bad = data["rows"]
    assert bad["refused"] and "no-such-model-xyz" in bad["refused"]
    assert good["refused"] is None and good["decode"]["low"] <= good["decode"]["mid"] <= good["decode"]["high"]
    assert data["summary"]["decode"]["all"]["n"] == 1


BLIND_FILES = sorted((Path(ROOT) / "bench" / "data").glob("blind_rows*.csv"))


def _source_key(url):
    """One source per page: scheme, 'www.', a '#fragment' and a trailing slash do not make a new
    source, nor does a comment or a tab of the same GitHub issue / pull request / discussion."""
    u = re.sub(r"^https?://(www\.)?", "", url.split()[0].strip()).split("#")[0].rstrip("/").lower()
    m = re.match(r"(github\.com/[^/]+/[^/]+/(?:issues|pull|discussions)/\d+)", u)
    return m.group(1) if m else u


def _blind_sources(path):
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    return {_source_key(r["source"]) for r in csv.DictReader(lines)}, len(lines) - 1


def test_source_keys_merge_one_page_and_keep_others_apart():
    same = ["https://github.com/o/r/issues/7", "http://www.github.com/o/r/issues/7#issuecomment-1 (comment by x)",
            "https://github.com/O/R/issues/7/"]
    assert len({_source_key(u) for u in same}) == 1
    assert _source_key("https://github.com/o/r/issues/7") != _source_key("https://github.com/o/r/issues/8")
    assert _source_key("https://example.org/post/") == _source_key("https://www.example.org/post")


@pytest.mark.parametrize("path", BLIND_FILES, ids=lambda p: p.name)
def test_the_kept_blind_sets_stay_out_of_the_catalogue(path):
    """Every bench/data/blind_rows*.csv judges estimates on sources the fit has never seen: none
    of its sources may also be a source of rigcheck/data/measurements.csv."""
    from rigcheck import catalogue
    sources, n_rows = _blind_sources(path)
    assert n_rows >= 40
    fitted = {_source_key(r["source"]) for r in catalogue.measurements()}
    shared = sorted(sources & fitted)
    assert not shared, f"{path.name}: blind-set sources also in the catalogue: {shared}"


def test_the_blind_sets_share_no_source():
    """Each blind set is a separate held-out sample: a source in one file is not reused in another."""
    assert len(BLIND_FILES) >= 2
    seen = {}
    for path in BLIND_FILES:
        for key in _blind_sources(path)[0]:
            assert key not in seen, f"{key} is a source of both {seen[key]} and {path.name}"
            seen[key] = path.name
