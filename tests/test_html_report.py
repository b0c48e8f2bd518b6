"""The HTML report: escaping, self-containment, and a real render in headless Chromium
whose screenshot must show the charts in the right colours and proportions."""

import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

import numpy as np
import pytest

from rigcheck.report.html import COLORS, DEVICE_COLORS, render_html

GB = 10**9


def realistic_report():
    """Qwen3-30B-A3B on an RTX 4090 + 64 GB, at 128K context (f16 KV cache)."""
    def build(name, file_gb, w, kv, comp, ov, placement, fits, dec, label, reasons, bpw, cmds):
        return {"name": name, "file_bytes": int(file_gb * GB),
                "total_bytes": int((w + kv + comp + ov) * GB),
                "weights_bytes": int(w * GB), "kv_bytes": int(kv * GB),
                "compute_bytes": int(comp * GB), "overhead_bytes": int(ov * GB),
                "placement": [{"device": d, "bytes": int(b * GB), "capacity_bytes": int(c * GB)}
                              for d, b, c in placement],
                "fits": fits, "decode_tok_s": dict(zip(("low", "mid", "high"), dec)),
                "verdict": {"label": label, "reasons": reasons}, "bits_per_weight": bpw,
                "quality_note": "4-bit class, the usual sweet spot", "commands": cmds}
    return {
        "generated": "2026-11-28", "ctx": 131072, "runtime": "llama.cpp",
        "model": {"name": "Qwen3-30B-A3B", "id": "qwen3-30b-a3b", "total params": "30.53B",
                  "active params": "3.34B", "architecture": "qwen3moe"},
        "rig": {"name": "RTX 4090 + 64GB", "GPU": "RTX 4090, 24 GB, 1008 GB/s",
                "RAM": "64 GB DDR5-6000"},
        "builds": [
            build("Q4_K_M", 18.6, 18.6, 12.9, 1.5, 1.0,
                  [("RTX 4090", 22.0, 24.0), ("RAM", 12.0, 64.0)], True, (28.0, 35.0, 41.0),
                  "runs", ["weights split between GPU and system RAM", "decode about 35 tok/s"], 4.85,
                  {"llama.cpp": "llama-server -m Qwen3-30B-A3B-Q4_K_M.gguf -c 131072 -ngl 999 "
                                "--flash-attn on --n-cpu-moe 14"}),
            build("Q8_0 <b>&</b>", 32.5, 32.5, 12.9, 1.5, 1.0,
                  [("RTX 4090", 23.0, 24.0), ("RAM", 24.9, 64.0)], True, (14.0, 18.0, 22.0),
                  "runs", ["weights split between GPU and system RAM"], 8.5, {}),
        ],
        "best": "Q4_K_M",
        "alternatives": [{"model": "Qwen3-14B", "build": "Q4_K_M", "verdict": "comfortable"}],
        "upgrade": [{"label": "add 64 GiB of RAM", "cost_usd": 679.99, "price_date": "2026-06-03",
                     "source": "https://axbrief.com/en/article/ddr5-32gb-ram-hits-374-97-as-ai-demand-swallows-supply-30181"}],
        "decode_vs_ctx": [{"ctx": c, "low": lo, "mid": m, "high": hi} for c, lo, m, hi in
                          [(4096, 40.0, 48.0, 55.0), (16384, 37.0, 44.0, 51.0),
                           (32768, 34.0, 41.0, 48.0), (65536, 31.0, 37.0, 44.0),
                           (131072, 28.0, 35.0, 41.0)]],
    }


def test_text_is_escaped_and_page_is_self_contained():
    r = realistic_report()
    r["model"]["name"] = "<script>alert('x')</script>"
    r["alternatives"].append("<img src=x onerror=alert(1)>")
    page = render_html(r)
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;script&gt;" in page and "Q8_0 &lt;b&gt;&amp;&lt;/b&gt;" in page
    # nothing fetched from anywhere: no scripts, stylesheets, images, fonts or imports
    low = page.lower()
    for needle in ("<link", "@import", "url(", "<iframe", "<object", "<embed"):
        assert needle not in low, needle
    assert not re.search(r"<[^>]*\ssrc\s*=", low)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 2


def test_minimal_and_partial_reports_render():
    page = render_html({"model": {"id": "tiny"}, "builds": []})
    assert "rigcheck: tiny on this rig" in page and "<svg" not in page
    r = realistic_report()
    del r["decode_vs_ctx"]
    r["builds"][0].pop("placement")
    r["builds"][0]["decode_tok_s"] = None
    r["builds"][0]["verdict"] = "runs"
    page = render_html(r)
    assert page.count("<svg") == 1 and "–" in page


def test_commands_and_upgrade_are_shown():
    page = render_html(realistic_report())
    assert "--n-cpu-moe 14" in page
    assert "~$680" in page and "2026-06-03" in page
    assert 'href="https://axbrief.com/' in page


# ---- screenshot -------------------------------------------------------------------

def read_png(path):
    """An 8-bit RGB/RGBA, non-interlaced PNG as an (h, w, 3) uint8 array (stdlib zlib + numpy)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat.append(body)
        elif typ == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and interlace == 0 and ctype in (2, 6), ihdr
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        if f == 0:
            cur = line
        elif f == 1:
            cur = np.cumsum(line.reshape(w, bpp), axis=0).reshape(-1) & 255
        elif f == 2:
            cur = (line + prev) & 255
        else:
            buf, L, P = bytearray(stride), line.tolist(), prev.tolist()
            for i in range(stride):
                a = buf[i - bpp] if i >= bpp else 0
                b = P[i]
                if f == 3:
                    buf[i] = (L[i] + ((a + b) >> 1)) & 255
                else:
                    c = P[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    buf[i] = (L[i] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))) & 255
            cur = np.frombuffer(bytes(buf), np.uint8).astype(np.int32)
        out[y] = cur
        prev = cur
    return out.reshape(h, w, bpp)[:, :, :3]


def rgb(hexcolor):
    return np.array([int(hexcolor[i:i + 2], 16) for i in (1, 3, 5)])


def mask(img, color, tol=3):
    return (np.abs(img.astype(int) - color).max(axis=2) <= tol)


def blend(hexcolor, alpha, bg=(255, 255, 255)):
    return np.round(alpha * rgb(hexcolor) + (1 - alpha) * np.array(bg)).astype(int)


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        pytest.fail("headless Chromium is not installed: apt-get install chromium (.ci/run does)")
    return exe


@pytest.fixture(scope="module")
def screenshot():
    exe = chromium()
    report = realistic_report()
    with tempfile.TemporaryDirectory() as tmp:
        page = os.path.join(tmp, "report.html")
        with open(page, "w", encoding="utf-8") as fh:
            fh.write(render_html(report))
        png = os.path.join(tmp, "out.png")
        profile = tempfile.mkdtemp(dir=tmp)
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--force-color-profile=srgb", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--screenshot={png}", "--window-size=1200,2000", "file://" + page]
        subprocess.run(cmd, capture_output=True, timeout=120, check=False)
        assert os.path.exists(png), "Chromium wrote no screenshot"
        yield report, read_png(png)


def test_screenshot_is_a_rendered_page(screenshot):
    _, img = screenshot
    assert img.shape == (2000, 1200, 3)
    nonbg = (np.abs(img.astype(int) - 250).max(axis=2) > 12).mean()
    assert 0.05 < nonbg < 0.9, f"{nonbg:.1%} of pixels differ from the background"


def test_memory_bars_have_the_right_colours_and_proportions(screenshot):
    report, img = screenshot
    counts = {k: int(mask(img, rgb(COLORS[k])).sum()) for k in ("weights", "kv", "compute", "overhead")}
    builds = report["builds"]
    # geometry from html.memory_chart: 820 px of plot for the largest of capacity/total, bars 22 px high
    scale = max(max(sum(p["capacity_bytes"] for p in b["placement"]), b["total_bytes"]) for b in builds)
    for key in ("weights", "kv"):
        expected = sum(b[f"{key}_bytes"] for b in builds) / scale * 820 * 22 + 12 * 12   # + legend swatch
        assert abs(counts[key] - expected) / expected < 0.12, (key, counts[key], expected)
    ratio = counts["weights"] / counts["kv"]
    true_ratio = sum(b["weights_bytes"] for b in builds) / sum(b["kv_bytes"] for b in builds)
    assert abs(ratio / true_ratio - 1) < 0.2, (ratio, true_ratio)
    assert counts["compute"] > 144 and counts["overhead"] > 144      # bars beyond the legend swatch
    # pools: GPU fill and RAM fill in their own colours, GPU about 22+23 GB on the same scale
    gpu = int(mask(img, rgb(DEVICE_COLORS[0])).sum())
    ram = int(mask(img, rgb(DEVICE_COLORS[1])).sum())
    exp_gpu = sum(b["placement"][0]["bytes"] for b in builds) / scale * 820 * 22
    assert abs(gpu - exp_gpu) / exp_gpu < 0.15, (gpu, exp_gpu)
    assert ram > 0.5 * gpu


def test_decode_chart_has_a_line_and_a_band_below_the_memory_chart(screenshot):
    _, img = screenshot
    line = mask(img, rgb(COLORS["mid"]), tol=6)
    band = mask(img, blend(COLORS["band"], 0.22), tol=4)
    assert line.sum() > 1500, line.sum()             # 3 px line across ~800 px, plus dots
    assert band.sum() > 20000, band.sum()            # the low-high band
    weights_rows = np.nonzero(mask(img, rgb(COLORS["weights"])).any(axis=1))[0]
    line_rows = np.nonzero(line.any(axis=1))[0]
    assert weights_rows.size and line_rows.size
    assert np.median(weights_rows) < np.median(line_rows)
    # the line falls from left to right: speed drops as the context grows
    ys, xs = np.nonzero(line)
    left, right = ys[xs < np.percentile(xs, 20)].mean(), ys[xs > np.percentile(xs, 80)].mean()
    assert right > left


# ---- the reality check's own page: pool labels and the Fits column ------------------

@pytest.fixture(scope="module")
def v4_on_gaming_rig():
    """deepseek-v4-flash on rtx-5090+128GB: GPU + RAM pools, and builds that only stream from disk."""
    from rigcheck.cli.check import check_report
    from rigcheck.hardware import parse_rig
    from rigcheck.model.resolve import load_model
    from rigcheck.report.check_html import report_dict
    rep = check_report(load_model("deepseek-v4-flash"), parse_rig("rtx-5090+128GB"), curve=True)
    return report_dict(rep)


def test_fits_column_follows_the_verdict_class(v4_on_gaming_rig):
    from rigcheck.plan.modes import mode
    from rigcheck.report.html import _fits_cell
    builds = v4_on_gaming_rig["builds"]
    streamed = [b for b in builds if b["mode"] == "mmap_stream"]
    assert streamed, "the check should stream some builds from disk on this rig"
    for b in builds:
        cell = _fits_cell(b)
        if mode(b["mode"]).verdict == "none":
            assert cell.startswith("no"), (b["name"], b["mode"], cell)
        else:
            assert cell.startswith("yes"), (b["name"], b["mode"], cell)
        if b["verdict"]["label"] == "no" and b["mode"] in ("mmap_stream", "no_fit"):
            assert not cell.startswith("yes")
    page = render_html(v4_on_gaming_rig)
    for b in streamed:       # the row itself: 'no: streamed from disk' beside the verdict 'no'
        row = page[page.index(f"<b>{b['name']}</b>"):]
        row = row[:row.index("</tr>")]
        assert "no: streamed from disk" in row and ">no</span>" in row and "<td>yes" not in row


def test_pool_labels_never_overlap_in_a_browser(v4_on_gaming_rig, tmp_path):
    """Render the real page in Chromium and measure every label of the memory chart."""
    from playwright.sync_api import sync_playwright
    path = tmp_path / "report.html"
    path.write_text(render_html(v4_on_gaming_rig), encoding="utf-8")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), headless=True)
        page = b.new_page(viewport={"width": 1200, "height": 1000})
        page.goto(path.as_uri())
        boxes = page.evaluate("""() => [...document.querySelectorAll('svg.memory-chart text')].map(t => {
            const r = t.getBoundingClientRect();
            return {text: t.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom,
                    pool: t.classList.contains('pool-label')};
        })""")
        b.close()
    pools = [x for x in boxes if x["pool"]]
    assert len(pools) >= 2 * len(v4_on_gaming_rig["builds"])    # GPU and RAM (and disk) under every build
    assert any("RAM" in x["text"] for x in pools) and any("RTX 5090" in x["text"] for x in pools)
    for i, a in enumerate(boxes):
        for c in boxes[i + 1:]:
            overlap = min(a["x1"], c["x1"]) - max(a["x0"], c["x0"]) > 0.5 and \
                min(a["y1"], c["y1"]) - max(a["y0"], c["y0"]) > 0.5
            assert not overlap, (a, c)
