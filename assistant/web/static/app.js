// Ops Assistant chat page: POST /api/chat/stream and read the Server-Sent Events with
// fetch + ReadableStream (EventSource cannot POST or send an Authorization header).
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const log = $("#log");
const form = $("#ask");
const input = $("#question");
const tokenInput = $("#token");
let conversationId = sessionStorage.getItem("opsa.conversation") || null;

tokenInput.value = localStorage.getItem("opsa.token") || "";
tokenInput.addEventListener("change", () => localStorage.setItem("opsa.token", tokenInput.value));
$("#new").addEventListener("click", () => {
  conversationId = null;
  sessionStorage.removeItem("opsa.conversation");
  log.replaceChildren();
  input.focus();
});

async function checkHealth() {
  const el = $("#health");
  try {
    const resp = await fetch("/healthz");
    const body = await resp.json();
    el.textContent = body.status;
    el.className = "health " + (body.status === "down" ? "bad" : "ok");
    el.title = Object.entries(body.checks).map(([k, c]) => `${k}: ${c.ok ? "ok" : "FAIL"} ${c.detail}`).join("\n");
  } catch (err) {
    el.textContent = "unreachable";
    el.className = "health bad";
  }
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function describe(ir) {
  if (!ir) return "";
  if (ir.kind === "metric") return `metric ${ir.metric}`;
  if (ir.kind === "docs") return `runbooks: ${ir.text}`;
  const where = ["service", "host"].filter((k) => ir[k]).map((k) => `${k}=${ir[k]}`).join(" ");
  return `${ir.kind} ${where}`.trim();
}

// One SSE frame ("event: x\ndata: {...}") -> {event, data}; comments (": ...") are skipped.
function parseFrame(text) {
  let event = "message";
  const data = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const i = line.indexOf(":");
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  return { event, data: JSON.parse(data.join("\n")) };
}

async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = parseFrame(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      if (frame) yield frame;
    }
  }
}

class TurnView {
  constructor(question) {
    this.root = $("#turn-template").content.firstElementChild.cloneNode(true);
    $(".question", this.root).textContent = question;
    this.status = $(".status", this.root);
    this.queries = $(".queries", this.root);
    this.answer = $(".answer", this.root);
    this.blocks = [];
    log.append(this.root);
    this.setStatus("sending…");
  }
  setStatus(text, error = false) {
    this.status.textContent = text;
    this.status.classList.toggle("error", error);
  }
  query(data) {
    const block = el("details");
    block.className = "query";
    const summary = el("summary", `⏳ ${data.purpose}: ${describe(data.ir)}`);
    const pre = el("pre", JSON.stringify(data.ir, null, 2));
    block.append(summary, pre);
    this.queries.append(block);
    this.blocks.push({ block, summary, pre, purpose: data.purpose, ir: data.ir });
    this.setStatus(`running ${data.purpose} query…`);
  }
  result(data) {
    const item = this.blocks.find((b) => !b.done);
    if (!item) return;
    item.done = true;
    const mark = data.ok === false ? "✗" : "✓";
    const took = typeof data.elapsed_ms === "number" ? ` · ${Math.round(data.elapsed_ms)} ms` : "";
    item.summary.textContent = `${mark} ${item.purpose}: ${describe(item.ir)} (${data.connector || ""}${took})`;
    const parts = [];
    if (data.native) parts.push(data.native);
    if (data.error) parts.push(`error: ${data.error}`);
    if (parts.length) item.pre.textContent = parts.join("\n\n");
  }
  final(ans) {
    this.answer.textContent = ans.answer;
    const t = ans.time_range;
    const window = t ? ` · window ${t.start.slice(11, 16)}–${t.end.slice(11, 16)} ${t.timezone}` : "";
    this.setStatus(`answered in ${Math.round(ans.elapsed_ms)} ms${window}`);
    // Re-render the query blocks from the answer: it has the native text of each query.
    this.queries.replaceChildren();
    for (const q of ans.queries) {
      const block = el("details");
      block.className = "query";
      const status = q.ok ? "✓" : "✗";
      block.append(el("summary", `${status} ${q.purpose}: ${describe(q.ir)} (${q.connector} · ${Math.round(q.elapsed_ms)} ms)`));
      block.append(el("pre", q.native + (q.error ? `\n\nerror: ${q.error}` : "")));
      this.queries.append(block);
    }
    const facts = $(".facts", this.root);
    const body = $("tbody", facts);
    for (const f of ans.facts.slice(0, 15)) {
      const tr = el("tr");
      const where = Object.entries(f.labels).map(([k, v]) => `${k}=${v}`).join(", ");
      tr.append(el("td", f.name), el("td", f.display || String(f.value)), el("td", where),
        el("td", f.at ? f.at.slice(11, 19) : ""));
      body.append(tr);
    }
    facts.hidden = ans.facts.length === 0;
    const sources = $(".sources", this.root);
    for (const s of ans.sources) sources.append(el("li", s.source + (s.heading ? ` § ${s.heading}` : "")));
    sources.hidden = ans.sources.length === 0;
    const notes = $(".notes", this.root);
    for (const n of ans.notes) notes.append(el("li", n));
    notes.hidden = ans.notes.length === 0;
    drawChart($(".chart", this.root), ans.chart || []);
  }
}

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2"];
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmt(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (a >= 1e3) return (v / 1e3).toFixed(1) + "k";
  if (a >= 100 || v === 0) return v.toFixed(0);
  return String(Number(v.toPrecision(3)));
}

// A line chart of the answer's main series (answer.chart): SVG, no library.
function drawChart(box, series) {
  const drawable = series.filter((s) => s.points && s.points.length);
  if (!drawable.length) return;
  const W = 640, H = 200, L = 48, R = 12, T = 12, B = 24;
  const pts = drawable.map((s) => s.points.map(([t, v]) => [Date.parse(t), v]));
  const all = pts.flat();
  const x0 = Math.min(...all.map((p) => p[0])), x1 = Math.max(...all.map((p) => p[0]));
  let y0 = Math.min(...all.map((p) => p[1])), y1 = Math.max(...all.map((p) => p[1]));
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const sx = (x) => L + ((x - x0) / Math.max(1, x1 - x0)) * (W - L - R);
  const sy = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img",
    "aria-label": "chart of " + drawable.map((s) => s.name).join(", ") });
  root.append(svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "#fbfcfd", stroke: "#d8dee6" }));
  for (const y of [y0, (y0 + y1) / 2, y1]) {
    root.append(svg("text", { x: L - 4, y: sy(y) + 4, "text-anchor": "end", "font-size": 10, fill: "#5f6b7a" }, fmt(y)));
  }
  [[x0, "start"], [(x0 + x1) / 2, "middle"], [x1, "end"]].forEach(([x, anchor]) => {
    const label = new Date(x).toISOString().slice(11, 16);
    root.append(svg("text", { x: sx(x), y: H - B + 14, "text-anchor": anchor, "font-size": 10, fill: "#5f6b7a" }, label));
  });
  pts.forEach((p, i) => {
    const d = p.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { points: d, fill: "none", stroke: COLORS[i % COLORS.length], "stroke-width": 1.6 }));
  });
  const legend = el("ul", undefined, "legend");
  drawable.forEach((s, i) => {
    const item = el("li", s.name + (s.unit ? ` (${s.unit})` : ""));
    item.style.setProperty("--swatch", COLORS[i % COLORS.length]);
    legend.append(item);
  });
  box.append(root, legend);
}

async function ask(question) {
  const view = new TurnView(question);
  const headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
  if (tokenInput.value) headers.Authorization = `Bearer ${tokenInput.value}`;
  const body = { question };
  if (conversationId) body.conversation_id = conversationId;
  let response;
  try {
    response = await fetch("/api/chat/stream", { method: "POST", headers, body: JSON.stringify(body) });
  } catch (err) {
    view.setStatus(`cannot reach the server: ${err}`, true);
    return;
  }
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
    view.setStatus(message, true);
    return;
  }
  for await (const { event, data } of readEvents(response)) {
    switch (event) {
      case "start":
        conversationId = data.conversation_id;
        sessionStorage.setItem("opsa.conversation", conversationId);
        view.setStatus("understanding the question…");
        break;
      case "plan":
        view.setStatus(`planned ${data.queries.length} quer${data.queries.length === 1 ? "y" : "ies"}`);
        break;
      case "query": view.query(data); break;
      case "result": view.result(data); break;
      case "token": view.answer.textContent += data.text; break;
      case "answer": view.final(data); break;
      case "error": view.setStatus(data.message, true); break;
    }
    view.root.scrollIntoView({ block: "end" });
  }
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const question = input.value.trim();
  if (!question) return;
  input.value = "";
  $("#send").disabled = true;
  try {
    await ask(question);
  } finally {
    $("#send").disabled = false;
    input.focus();
  }
});

checkHealth();
