// rigcheck serve: the page. It reads only this server's JSON API (/api/...), keeps its state
// in the URL's query string, and draws with plotly.js served by the same server. Colours,
// memory parts and each placement mode's words come from /api/meta (rigcheck.report.html's
// page_pieces, the same pieces the static --html report draws with). Text from the API is
// always set as text (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { model: "deepseek-v4-flash", rig: "", ctx: null, runtime: "" };
const hook = (window.__rigcheck = { copied: [], renders: 0, tierRenders: 0, lastError: "" });
let META = null;
let PRESETS = [];      // rig specs listed in the picker
let seq = 0;
let maxCtx = 1 << 20;

// ---- small helpers ------------------------------------------------------------------

function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") n.className = v;
    else if (k === "style") n.style.cssText = v;
    else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    n.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return n;
}

function fill(id, ...kids) { const n = $(id); n.replaceChildren(...kids.flat(Infinity).filter(Boolean)); return n; }
const noteText = (x) => (x && typeof x === "object" ? (x.text || x.code || "") : String(x ?? ""));
const gb = (b, d = 1) => (b === null || b === undefined ? "-" : `${(b / 1e9).toFixed(d)} GB`);
const gib = (b, d = 1) => (b === null || b === undefined ? "-" : `${(b / 2 ** 30).toFixed(d)} GiB`);
function rate(x) {
  if (x === null || x === undefined || !isFinite(x)) return "-";
  return x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2);
}
const rangeText = (r) => (r ? `${rate(r.low)}-${rate(r.high)} (~${rate(r.mid)})` : "-");
function ctxLabel(c) {
  if (c >= 1 << 20 && c % (1 << 20) === 0) return `${c >> 20}M`;
  if (c >= 1024 && c % 1024 === 0) return `${c / 1024}K`;
  return c.toLocaleString("en-US");
}
function badge(label) {
  const color = (META && META.verdict_colors[label]) || "#555";
  return el("span", { class: "badge", style: `background:${color}` }, label || "?");
}
function debounce(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

async function api(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  const r = await fetch(`${path}${q.toString() ? "?" + q : ""}`, { headers: { accept: "application/json" } });
  let body = null;
  try { body = await r.json(); } catch (e) { body = { error: `HTTP ${r.status}` }; }
  if (!r.ok) throw new Error((body && body.error) || `HTTP ${r.status}`);
  return body;
}

// ---- the URL is the state -----------------------------------------------------------

function readURL() {
  const q = new URLSearchParams(location.search);
  if (q.get("model")) state.model = q.get("model");
  state.rig = q.get("rig") || "";
  const c = parseInt(q.get("ctx") || "", 10);
  state.ctx = Number.isFinite(c) && c > 0 ? c : null;
  state.runtime = q.get("runtime") || "";
}

function writeURL() {
  const q = new URLSearchParams();
  q.set("model", state.model);
  if (state.rig) q.set("rig", state.rig);
  if (state.ctx) q.set("ctx", String(state.ctx));
  if (state.runtime) q.set("runtime", state.runtime);
  history.replaceState(null, "", `${location.pathname}?${q}`);
}

// ---- controls -----------------------------------------------------------------------

const CUSTOM = "__custom__";

function setupRigPicker(rigs) {
  const pick = $("rig-pick");
  pick.replaceChildren(el("option", { value: "" }, "this machine (detected)"));
  PRESETS = [];
  for (const t of rigs.tiers || []) {
    const g = el("optgroup", { label: t.label });
    for (const r of t.rigs) { g.append(el("option", { value: r }, r)); PRESETS.push(r); }
    pick.append(g);
  }
  pick.append(el("option", { value: CUSTOM }, "a spec of my own..."));
  showRig();
}

function showRig() {
  const pick = $("rig-pick");
  const custom = state.rig && !PRESETS.includes(state.rig);
  pick.value = custom ? CUSTOM : state.rig;
  $("spec-box").hidden = !custom && pick.value !== CUSTOM;
  if (custom) $("rig-spec").value = state.rig;
}

function sliderToCtx(v) {
  const c = Math.round(2 ** v / 256) * 256;
  return Math.max(512, Math.min(maxCtx, c));
}

function setSlider(ctx, top) {
  maxCtx = Math.max(512, top || maxCtx);
  const s = $("ctx");
  s.min = "9";
  s.max = String(Math.log2(maxCtx));
  s.value = String(Math.log2(Math.max(512, Math.min(ctx, maxCtx))));
  $("ctx-out").textContent = ctxLabel(ctx);
}

const validateSpec = debounce(async (spec) => {
  const st = $("spec-status");
  if (!spec.trim()) { st.textContent = ""; return; }
  try {
    const rig = await api("/api/rig", { spec });
    if ($("rig-spec").value !== spec) return;
    const n = rig.nodes[0];
    const devs = n.devices.map((d) => `${d.name} ${gib(d.memory_bytes, 0)}`).join(" + ");
    st.className = "status ok";
    st.textContent = `ok: ${rig.spec}: ${devs || "no GPU"}${n.ram_bytes ? ", " + gib(n.ram_bytes, 0) + " RAM" : ""}`;
    state.rig = spec.trim();
    refresh();
  } catch (e) {
    if ($("rig-spec").value !== spec) return;
    st.className = "status bad";
    st.textContent = e.message;
  }
}, 300);

function setupControls() {
  $("controls").addEventListener("submit", (ev) => ev.preventDefault());
  const model = $("model");
  model.value = state.model;
  const suggest = debounce(async (text) => {
    if (text.trim().length < 2) return;
    try {
      const r = await api("/api/suggest", { q: text.trim() });
      if (model.value !== text) return;
      fill("model-list", r.suggestions.map((d) => el("option", { value: d.id },
        d.source === "hub" ? "Hugging Face Hub" : (d.matched !== d.id ? `${d.name} (${d.matched})` : d.name))));
      hook.suggested = r.suggestions.map((d) => d.id);
    } catch (e) { /* the catalogue list stays */ }
  }, 250);
  model.addEventListener("input", () => suggest(model.value));
  model.addEventListener("change", () => {
    const v = model.value.trim();
    if (v && v !== state.model) { state.model = v; refresh(); }
  });
  $("rig-pick").addEventListener("change", (ev) => {
    const v = ev.target.value;
    if (v === CUSTOM) {
      $("spec-box").hidden = false;
      $("rig-spec").focus();
      if ($("rig-spec").value.trim()) validateSpec($("rig-spec").value);
      return;
    }
    $("spec-box").hidden = true;
    state.rig = v;
    refresh();
  });
  $("rig-spec").addEventListener("input", (ev) => validateSpec(ev.target.value));
  const later = debounce(() => refresh(), 250);
  $("ctx").addEventListener("input", (ev) => {
    state.ctx = sliderToCtx(parseFloat(ev.target.value));
    $("ctx-out").textContent = ctxLabel(state.ctx);
    later();
  });
  $("runtime").addEventListener("change", (ev) => { state.runtime = ev.target.value; refresh(); });
}

// ---- rendering ----------------------------------------------------------------------

function poolWord(p) {
  return { gpu: "GPU", ram: "RAM", disk: "disk", unified: "unified" }[p.kind] || p.device;
}
const whereText = (b) => (b.placement || []).filter((p) => p.bytes > 0).map((p) => `${poolWord(p)} ${gb(p.bytes)}`).join(" + ") || "-";

function fitsText(b) {
  const m = META.modes[b.mode] || META.modes.no_fit;
  return b.fits ? m.fits : "no";
}

function renderSummary(rep) {
  const rigNotes = (rep.rig.notes || []).map(noteText);
  fill("summary",
    el("p", {}, rep.model.line),
    el("p", { class: "sub" }, `Rig: ${rep.rig.spec} (${rep.rig.source}); context ${rep.ctx.toLocaleString("en-US")} tokens`),
    rigNotes.length ? el("ul", { class: "sub" }, rigNotes.map((n) => el("li", {}, n))) : null,
    (rep.notes || []).length ? el("ul", { class: "sub" }, rep.notes.map((n) => el("li", {}, noteText(n)))) : null);
}

function renderBest(rep) {
  const b = rep.builds.find((x) => x.name === rep.best);
  if (!b) {
    fill("best", el("div", { class: "best", style: "border-left-color:#b03a2e" }, "No build of this model runs on this rig at this context."));
    return;
  }
  fill("best", el("div", { class: "best", id: "best-box" },
    el("div", {}, "Best choice: ", el("b", {}, b.name), ` with ${b.runtime}: `, badge(b.verdict)),
    el("ul", {}, (b.reasons || []).map((r) => el("li", {}, noteText(r)))),
    b.quality_note ? el("div", { class: "why" }, `quality: ${noteText(b.quality_note)}`) : null,
    el("ul", { class: "why" }, (b.notes || []).map((n) => el("li", {}, `note: ${noteText(n)}`)))));
}

function renderBuilds(rep) {
  const head = ["build", "runtime", "file (GB)", "file (GiB)", "bpw", `memory @${ctxLabel(rep.ctx)}`, "where it lives",
                "fits", "decode tok/s", "verdict"];
  const rows = rep.builds.map((b) => el("tr", { "data-build": b.name },
    el("td", {}, el("b", {}, b.name), b.name === rep.best ? " ★" : ""),
    el("td", {}, b.runtime),
    el("td", { class: "num" }, gb(b.file_bytes)),
    el("td", { class: "num" }, gib(b.file_bytes)),
    el("td", { class: "num" }, b.bits_per_weight.toFixed(2)),
    el("td", { class: "num mem" }, gb(b.total_bytes)),
    el("td", {}, whereText(b)),
    el("td", { class: "fits" }, fitsText(b)),
    el("td", { class: "num" }, rangeText(b.decode_tok_s)),
    el("td", { class: "verdict" }, badge(b.verdict),
       el("div", { class: "why" }, (b.reasons || []).map(noteText).join("; ")))));
  fill("builds", el("table", { id: "builds-table" }, el("tr", {}, head.map((h) => el("th", {}, h))), rows));
}

function plot(id, traces, layout) {
  if (!window.Plotly) return;
  window.Plotly.react($(id), traces, Object.assign({
    font: { family: "-apple-system,Segoe UI,Helvetica,Arial,sans-serif", size: 12 },
    paper_bgcolor: "#ffffff", plot_bgcolor: "#ffffff",
  }, layout), { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["toImage"] });
}

function renderMemory(rep) {
  const names = rep.builds.map((b) => b.name);
  const traces = META.parts.map((p) => ({
    type: "bar", orientation: "h", name: p.label, y: names,
    x: rep.builds.map((b) => (b[`${p.key}_bytes`] || 0) / 1e9),
    marker: { color: META.colors[p.key] },
    hovertemplate: `%{y}: ${p.label} %{x:.1f} GB<extra></extra>`,
  }));
  // each pool once, at its largest capacity; drawn cumulatively (GPU, then GPU + RAM, ...)
  const pools = new Map();
  for (const b of rep.builds) for (const p of b.placement || []) {
    if (p.capacity_bytes > 0) pools.set(p.device, Math.max(pools.get(p.device) || 0, p.capacity_bytes));
  }
  const shapes = [], annotations = [];
  let cum = 0, i = 0;
  for (const [dev, cap] of pools) {
    cum += cap;
    const color = META.device_colors[i % META.device_colors.length];
    shapes.push({ type: "line", xref: "x", yref: "paper", x0: cum / 1e9, x1: cum / 1e9, y0: 0, y1: 1,
                  line: { color, width: 2, dash: "dash" } });
    annotations.push({ xref: "x", yref: "paper", x: cum / 1e9, y: 1, yanchor: "bottom", xanchor: "right",
                       yshift: 4 + 16 * i, showarrow: false, font: { color, size: 12 },
                       text: `${i ? "+ " : ""}${dev}: ${gb(cap)}${i ? ` (total ${gb(cum)})` : ""}` });
    i += 1;
  }
  plot("memory-chart", traces, {
    barmode: "stack", height: 110 + 34 * names.length + 16 * i, showlegend: true,
    legend: { orientation: "h", yref: "container", y: 0, yanchor: "bottom", x: 0, xanchor: "left", traceorder: "normal" },
    margin: { l: 110, r: 20, t: 16 + 16 * i, b: 90 },
    xaxis: { title: { text: "GB (10^9 bytes)" }, rangemode: "tozero", gridcolor: "#eeeeee" },
    yaxis: { autorange: "reversed", automargin: true }, shapes, annotations,
  });
}

function hexToRgba(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

function renderDecode(rep) {
  const pts = rep.decode_vs_ctx || [];
  if (!pts.length) {
    $("decode-sub").textContent = "No build runs on this rig, so there is no speed to draw.";
    if (window.Plotly) window.Plotly.purge($("decode-chart"));
    $("decode-chart").replaceChildren();
    return;
  }
  $("decode-sub").textContent = `Build ${rep.best}: the band is the low-high estimate, the line the middle; the dotted line marks this context.`;
  const x = pts.map((p) => p.ctx);
  const traces = [
    { x, y: pts.map((p) => p.high), mode: "lines", line: { width: 0 }, hoverinfo: "skip", showlegend: false },
    { x, y: pts.map((p) => p.low), mode: "lines", line: { width: 0 }, fill: "tonexty",
      fillcolor: hexToRgba(META.colors.band, 0.22), name: "low-high", hoverinfo: "skip" },
    { x, y: pts.map((p) => p.mid), mode: "lines+markers", name: "mid estimate",
      line: { color: META.colors.mid, width: 3 }, marker: { color: META.colors.mid, size: 7 },
      text: pts.map((p) => `${ctxLabel(p.ctx)}: ${rate(p.low)}-${rate(p.high)} tok/s`), hovertemplate: "%{text}<extra></extra>" },
  ];
  plot("decode-chart", traces, {
    height: 340, margin: { l: 60, r: 20, t: 10, b: 50 }, showlegend: true,
    legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 1, xanchor: "right" },
    xaxis: { type: "log", title: { text: "context length (tokens)" }, tickvals: x, ticktext: x.map(ctxLabel), gridcolor: "#eeeeee" },
    yaxis: { title: { text: "decode tok/s" }, rangemode: "tozero", gridcolor: "#eeeeee" },
    shapes: [{ type: "line", xref: "x", yref: "paper", x0: rep.ctx, x1: rep.ctx, y0: 0, y1: 1,
               line: { color: META.colors.capacity, width: 1, dash: "dot" } }],
  });
}

async function copyText(text, button) {
  hook.copied.push(text);
  let ok = false;
  try { await navigator.clipboard.writeText(text); ok = true; } catch (e) {
    const ta = el("textarea", { style: "position:fixed;top:-1000px" });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    try { ok = document.execCommand("copy"); } catch (e2) { ok = false; }
    ta.remove();
  }
  if (button) { button.textContent = ok ? "copied" : "select and copy"; setTimeout(() => { button.textContent = "copy"; }, 1500); }
}

function commandBlock(runtime, text) {
  const btn = el("button", { class: "copy", type: "button", "data-runtime": runtime }, "copy");
  btn.addEventListener("click", () => copyText(text, btn));
  return el("div", {}, el("b", {}, runtime), el("div", { class: "cmd" }, el("pre", {}, text), btn));
}

function renderCommands(rep) {
  const out = [];
  const best = rep.builds.find((b) => b.name === rep.best);
  if (best) out.push(el("h3", {}, `${best.name} (best choice)`),
                     Object.entries(rep.best_commands || {}).map(([rt, c]) => commandBlock(rt, c)));
  for (const b of rep.builds) {
    if (b === best || !Object.keys(b.commands || {}).length) continue;
    out.push(el("details", {}, el("summary", {}, b.name),
                Object.entries(b.commands).map(([rt, c]) => commandBlock(rt, c))));
  }
  fill("commands", out.length ? out : [el("p", { class: "sub" }, "No build runs here, so there is no command to give.")]);
}

function linkTo(params) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
  return `?${q}`;
}

function renderAlternatives(rep) {
  const alts = rep.alternatives || [];
  if (!alts.length) { fill("alternatives", el("p", { class: "sub" }, "Nothing to add: the best build already runs well, or nothing in the catalogue does.")); return; }
  const metric = alts.find((a) => a.quality_metric);
  fill("alternatives",
    el("table", {}, el("tr", {}, ["model", "build", "file", "decode tok/s", "verdict", "score"].map((h) => el("th", {}, h))),
      alts.map((a) => el("tr", {},
        el("td", {}, el("a", { href: linkTo({ model: a.model, rig: state.rig, runtime: state.runtime }) }, a.model)),
        el("td", {}, a.build), el("td", { class: "num" }, gb(a.file_bytes)),
        el("td", { class: "num" }, rangeText(a.decode_tok_s)), el("td", {}, badge(a.verdict)),
        el("td", { class: "num" }, a.quality ?? "-")))),
    metric ? el("p", { class: "sub" }, `score: ${metric.quality_metric}, ${metric.quality_date || ""} (${metric.quality_source || ""})`) : null);
}

function renderUpgrade(rep) {
  const ups = rep.upgrade || [];
  fill("upgrade", ups.length ? el("ul", {}, ups.map((u) => el("li", {}, u.text ? noteText(u.text)
    : `${u.label}${u.cost_usd ? `: ~$${Math.round(u.cost_usd).toLocaleString("en-US")}` : ""}${u.note ? ` (${noteText(u.note)})` : ""}`)))
    : el("p", { class: "sub" }, "No upgrade to suggest."));
}

function renderSupport(rep) {
  fill("support", el("table", {}, el("tr", {}, ["runtime", "status", "since", "source"].map((h) => el("th", {}, h))),
    (rep.support || []).map((s) => el("tr", {}, el("td", {}, s.runtime), el("td", {}, s.status), el("td", {}, s.since || ""),
      el("td", {}, s.source && /^https?:\/\//.test(s.source) ? el("a", { href: s.source, rel: "noreferrer" }, s.source) : (s.source || ""))))));
}

function renderTiers(t) {
  fill("tiers", el("table", { id: "tiers-table" },
    el("tr", {}, ["tier", "rig", "best build", "memory", "where", "decode tok/s", "verdict"].map((h) => el("th", {}, h))),
    t.tiers.map((r) => el("tr", {},
      el("td", {}, r.label),
      el("td", {}, el("a", { href: linkTo({ model: state.model, rig: r.rig, ctx: state.ctx, runtime: state.runtime }) }, r.rig)),
      el("td", {}, r.best_build || "none fits"), el("td", { class: "num" }, r.total_bytes ? gb(r.total_bytes) : "-"),
      el("td", {}, r.where || "-"), el("td", { class: "num" }, rangeText(r.decode_tok_s)),
      el("td", {}, badge(r.verdict), el("div", { class: "why" }, (r.reasons || []).map(noteText).join("; ")))))),
    (t.notes || []).length ? el("p", { class: "sub" }, t.notes.map(noteText).join(" ")) : null);
  hook.tierRenders += 1;
}

function showError(msg) {
  hook.lastError = msg || "";
  const box = $("error");
  box.hidden = !msg;
  box.textContent = msg || "";
}

async function refresh() {
  writeURL();
  const mine = ++seq;
  document.body.classList.add("busy");
  document.body.dataset.state = "loading";
  const params = { model: state.model, rig: state.rig, ctx: state.ctx, runtime: state.runtime };
  api("/api/tiers", { model: state.model, ctx: state.ctx, runtime: state.runtime })
    .then((t) => { if (mine === seq) renderTiers(t); })
    .catch((e) => { if (mine === seq) fill("tiers", el("p", { class: "sub" }, e.message)); });
  try {
    const rep = await api("/api/check", params);
    if (mine !== seq) return;
    showError("");
    setSlider(rep.ctx, rep.model.n_ctx_train || rep.ctx);
    renderSummary(rep);
    renderBest(rep);
    renderBuilds(rep);
    renderMemory(rep);
    renderDecode(rep);
    renderCommands(rep);
    renderAlternatives(rep);
    renderUpgrade(rep);
    renderSupport(rep);
    document.title = `rigcheck: ${rep.model.id} on ${rep.rig.spec}`;
  } catch (e) {
    if (mine !== seq) return;
    showError(e.message);
  } finally {
    if (mine === seq) {
      document.body.classList.remove("busy");
      document.body.dataset.state = "ready";
      hook.renders += 1;
    }
  }
}

async function main() {
  readURL();
  try {
    const [meta, models, rigs] = await Promise.all([api("/api/meta"), api("/api/models"), api("/api/rigs", { kind: "tier" })]);
    META = meta;
    $("version").textContent = meta.version;
    fill("model-list", models.flatMap((m) => [el("option", { value: m.id }, m.name),
      ...m.aliases.filter((a) => a !== m.id).map((a) => el("option", { value: a }, `${m.id}`))]));
    const rt = $("runtime");
    for (const name of meta.runtimes) rt.append(el("option", { value: name }, name));
    rt.value = state.runtime;
    setupRigPicker(rigs);
  } catch (e) {
    showError(`cannot read the API: ${e.message}`);
    return;
  }
  setupControls();
  if (state.ctx) setSlider(state.ctx, Math.max(state.ctx, maxCtx));
  refresh();
}

document.addEventListener("DOMContentLoaded", main);
