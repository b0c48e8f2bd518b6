"""The 'rigcheck serve' page in a real browser: Debian's Chromium driven by Playwright, against
a real uvicorn server on 127.0.0.1 (port 0) in a thread. Pick a model and a rig, move the
context slider, check that the table and the charts follow, copy a command, and find the
chart colours in a screenshot (saved under pytest's tmp dir and to /tmp/rigcheck-serve.png)."""

from __future__ import annotations

import shutil
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from rigcheck.report.html import COLORS
from rigcheck.serve import create_app
from rigcheck.serve.app import Background
from test_html_report import blend, mask, read_png, rgb

SHOT = "/tmp/rigcheck-serve.png"


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("Chromium is not installed: apt-get install chromium (.ci/run installs it)")
    return exe


@pytest.fixture(scope="module")
def server():
    with Background(create_app(rate=None, allowed_hosts=("127.0.0.1",))) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), headless=True)
        yield b
        b.close()


def open_page(browser, url, errors):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    origin = url.split("/?")[0]
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    # console errors, except the browser's own line for a 4xx answer the page shows as text
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.goto(url)
    return page


def renders(page) -> int:
    return page.evaluate("() => window.__rigcheck.renders")


def wait_render(page, after: int, tiers_after: int | None = None):
    page.wait_for_function(f"() => window.__rigcheck.renders > {after} && document.body.dataset.state === 'ready'",
                           timeout=90_000)
    if tiers_after is not None:
        page.wait_for_function(f"() => window.__rigcheck.tierRenders > {tiers_after}", timeout=90_000)
    err = page.evaluate("() => window.__rigcheck.lastError")
    assert not err, err


def table_text(page) -> str:
    return page.inner_text("#builds-table")


def chart_data(page, el_id: str):
    return page.evaluate(f"() => document.getElementById('{el_id}').data.map(t => ({{name: t.name, x: t.x, y: t.y}}))")


def query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def test_pick_model_rig_slide_context_copy(server, browser):
    errors: list[str] = []
    page = open_page(browser, server + "/", errors)
    wait_render(page, 0)
    assert "deepseek-v4-flash" in page.title()            # the default model on this machine
    # the model: type an id (the datalist suggests catalogue ids and aliases) and commit it
    options = page.eval_on_selector_all("#model-list option", "els => els.map(e => e.value)")
    assert "qwen3-30b-a3b" in options and "gpt-oss-120b" in options and len(options) > 47
    page.fill("#model", "gpt-oss-12")            # typing asks /api/suggest for names
    page.wait_for_function("() => (window.__rigcheck.suggested || []).includes('gpt-oss-120b')", timeout=30_000)
    n = renders(page)
    page.fill("#model", "gpt-oss-120b")
    page.dispatch_event("#model", "change")
    wait_render(page, n)
    assert "gpt-oss-120b" in page.title() and query(page)["model"] == "gpt-oss-120b"
    # the rig: a tier preset
    n, t = renders(page), page.evaluate("() => window.__rigcheck.tierRenders")
    page.select_option("#rig-pick", "rtx-5090+128GB ddr5-6000")
    wait_render(page, n, t)
    assert query(page)["rig"] == "rtx-5090+128GB ddr5-6000"
    before_table = table_text(page)
    assert "Q4_K_M" in before_table and "yes: GPU + experts in RAM" in before_table
    before_mem = chart_data(page, "memory-chart")
    before_dec = page.evaluate("() => document.getElementById('decode-chart').layout.shapes[0].x0")
    assert [tr["name"] for tr in before_mem] == ["weights", "KV cache", "compute buffers", "reserve (runtime and OS)"]
    assert page.inner_text("#tiers-table").count("\n") >= 5
    # the context slider, log scale from 512 to the model's maximum (128K for gpt-oss-120b)
    assert float(page.get_attribute("#ctx", "max")) == 17.0
    n, t = renders(page), page.evaluate("() => window.__rigcheck.tierRenders")
    page.fill("#ctx", "17")
    wait_render(page, n, t)
    assert query(page)["ctx"] == "131072" and page.inner_text("#ctx-out") == "128K"
    after_table = table_text(page)
    assert after_table != before_table and "memory @128K" in after_table
    after_mem = chart_data(page, "memory-chart")
    kv_before, kv_after = before_mem[1]["x"], after_mem[1]["x"]
    assert after_mem[0]["y"] == before_mem[0]["y"]
    assert all(a > 1.5 * b for a, b in zip(kv_after, kv_before)), (kv_before, kv_after)
    after_dec = page.evaluate("() => document.getElementById('decode-chart').layout.shapes[0].x0")
    assert (before_dec, after_dec) == (32768, 131072)
    # a free spec, validated live through /api/rig
    page.select_option("#rig-pick", "__custom__")
    page.fill("#rig-spec", "rtx-5091+64GB")
    page.wait_for_function("() => document.getElementById('spec-status').className.includes('bad')", timeout=30_000)
    assert "did you mean" in page.inner_text("#spec-status") and "rtx-5090" in page.inner_text("#spec-status")
    n = renders(page)
    page.fill("#rig-spec", "2x rtx-3090+64GB")
    page.wait_for_function("() => document.getElementById('spec-status').className.includes('ok')", timeout=30_000)
    wait_render(page, n)
    assert query(page)["rig"] == "2x rtx-3090+64GB" and "2x rtx-3090" in page.title()
    # copy the best build's first command
    first = page.locator("#commands .cmd").first
    text = first.locator("pre").inner_text()
    first.locator("button.copy").click()
    page.wait_for_function("() => window.__rigcheck.copied.length > 0", timeout=10_000)
    assert page.evaluate("() => window.__rigcheck.copied.at(-1)") == text
    assert "gpt-oss-120b" in text.lower() and "131072" in text
    assert page.evaluate("() => navigator.clipboard.readText()") == text     # the real clipboard
    # the URL is the view: a new page on the same URL shows the same table
    url, table = page.url, table_text(page)
    again = open_page(browser, url, errors)
    wait_render(again, 0)
    assert table_text(again) == table and again.input_value("#rig-spec") == "2x rtx-3090+64GB"
    assert again.inner_text("#ctx-out") == "128K"
    assert not errors, errors


def test_bad_model_shows_the_error_line(server, browser):
    errors: list[str] = []
    page = open_page(browser, server + "/?model=deepseek-v4-flsh&rig=rtx-5090%2B128GB", errors)
    page.wait_for_function("() => window.__rigcheck.renders > 0", timeout=60_000)
    msg = page.inner_text("#error")
    assert "unknown model" in msg and "deepseek-v4-flash" in msg
    page2 = open_page(browser, server + "/?model=%2Fetc%2Fpasswd", errors)
    page2.wait_for_function("() => window.__rigcheck.renders > 0", timeout=60_000)
    assert "file path" in page2.inner_text("#error")


def test_screenshot_has_the_chart_colours(server, browser, tmp_path):
    errors: list[str] = []
    page = open_page(browser, server + "/?model=deepseek-v4-flash&rig=rtx-5090%2B128GB", errors)
    wait_render(page, 0, 0)
    path = tmp_path / "rigcheck-serve.png"
    page.screenshot(path=str(path), full_page=True)
    shutil.copyfile(path, SHOT)
    img = read_png(str(path))
    weights = mask(img, rgb(COLORS["weights"]))
    kv = mask(img, rgb(COLORS["kv"]))
    line = mask(img, rgb(COLORS["mid"]), tol=6)
    band = mask(img, blend(COLORS["band"], 0.22), tol=5)
    assert weights.sum() > 20_000, weights.sum()          # eleven stacked bars, mostly weights
    assert kv.sum() > 50, kv.sum()
    assert line.sum() > 1_000, line.sum()                # the mid line and its markers
    assert band.sum() > 10_000, band.sum()               # the low-high band
    # the memory chart comes before the decode chart on the page
    assert np.median(np.nonzero(weights.any(axis=1))[0]) < np.median(np.nonzero(band.any(axis=1))[0])
    assert not errors, errors
