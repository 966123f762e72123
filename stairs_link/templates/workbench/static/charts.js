/* Small SVG chart helpers for the workbench pages (no library, no network). */
"use strict";
const SVGNS = "http://www.w3.org/2000/svg";
function pageData() { return JSON.parse(document.getElementById("page-data").textContent); }
function svgEl(tag, attrs, parent) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}
function svgText(parent, x, y, text, attrs) {
  const t = svgEl("text", Object.assign({x: x, y: y}, attrs || {}), parent);
  t.textContent = text;
  return t;
}
function newSvg(container, width, height, label) {
  const svg = svgEl("svg", {width: width, height: height, viewBox: `0 0 ${width} ${height}`, role: "img",
                            "aria-label": label});
  container.appendChild(svg);
  return svg;
}
function fmt(x, digits) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  return Number(x).toFixed(digits === undefined ? 2 : digits);
}
function pct(x) { return x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%"; }
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function fillTable(table, header, rows, numeric) {
  table.textContent = "";
  if (header.some(h => h)) {
    const tr = table.appendChild(el("thead")).appendChild(el("tr"));
    header.forEach(h => tr.appendChild(el("th", {}, h)));
  }
  const tbody = table.appendChild(el("tbody"));
  rows.forEach(r => {
    const row = tbody.appendChild(el("tr"));
    r.forEach((c, k) => row.appendChild(el("td", numeric && numeric[k] ? {class: "num"} : {}, String(c))));
  });
}
function markRendered(container) { container.setAttribute("data-rendered", "true"); }
const POS = "#1a7f37", NEG = "#cf222e", BLUE = "#0969da", GREY = "#8c959f";

/* Horizontal bars around zero: rows = [{label, value, group}], optional band [lo, hi] per row. */
function divergingBars(container, rows, opts) {
  const o = Object.assign({width: 900, rowH: 16, labelW: 230, title: ""}, opts || {});
  const values = rows.map(r => r.value).concat(rows.flatMap(r => r.band || []), [0]);
  const lo = Math.min(...values), hi = Math.max(...values);
  const plotW = o.width - o.labelW - 100, height = rows.length * o.rowH + 30;
  const svg = newSvg(container, o.width, height, o.title);
  const x = v => o.labelW + 50 + (v - lo) / ((hi - lo) || 1) * plotW;
  rows.forEach((r, k) => {
    const y = 10 + k * o.rowH;
    if (r.strong) svgText(svg, 2, y + o.rowH * 0.7, r.label, {"font-weight": "bold"});
    else svgText(svg, o.labelW - 6, y + o.rowH * 0.7, r.label, {"text-anchor": "end"});
    if (r.value === null) return;
    if (r.band) svgEl("rect", {x: x(r.band[0]), y: y + 1, width: Math.max(x(r.band[1]) - x(r.band[0]), 1),
                                height: o.rowH - 2, fill: "#d0d7de"}, svg);
    const x0 = x(Math.min(0, r.value)), w = Math.max(Math.abs(x(r.value) - x(0)), 1);
    const bar = svgEl("rect", {x: x0, y: y + 3, width: w, height: o.rowH - 6, fill: r.value >= 0 ? POS : NEG,
                               class: "bar"}, svg);
    svgEl("title", {}, bar).textContent = `${r.label}: ${fmt(r.value)}`;
    svgText(svg, r.value >= 0 ? x(r.value) + 3 : x(r.value) - 3, y + o.rowH * 0.7, r.text || fmt(r.value, 2),
            {"text-anchor": r.value >= 0 ? "start" : "end", fill: "#57606a"});
  });
  svgEl("line", {x1: x(0), x2: x(0), y1: 5, y2: height - 18, stroke: "#57606a"}, svg);
  svgText(svg, x(0), height - 5, "0", {"text-anchor": "middle"});
  svgText(svg, o.labelW + 50 + plotW, height - 5, o.axis || "", {"text-anchor": "end", fill: "#57606a"});
  markRendered(container);
}

/* Vertical bars: bins = [{label, value, colour}], optional markers [{x (bin coordinate), label}],
   band [x0, x1] shaded; scale "sqrt" or "linear". */
function columnChart(container, bins, opts) {
  const o = Object.assign({width: 820, height: 240, scale: "linear", xlabel: "", title: ""}, opts || {});
  const left = 50, bottom = 40, plotW = o.width - left - 20, plotH = o.height - bottom - 20;
  const svg = newSvg(container, o.width, o.height, o.title);
  const stacks = bins.map(b => (b.parts || [{value: b.value, colour: b.colour}]));
  const totals = stacks.map(s => s.reduce((a, p) => a + p.value, 0));
  const top = Math.max(1, ...totals);
  const f = o.scale === "sqrt" ? Math.sqrt : (v => v);
  const y = v => 20 + plotH - f(v) / f(top) * plotH;
  const bw = plotW / Math.max(bins.length, 1);
  const xOf = pos => left + pos * bw;
  if (o.band) svgEl("rect", {x: xOf(o.band[0]), y: 20, width: Math.max(xOf(o.band[1]) - xOf(o.band[0]), 1),
                             height: plotH, fill: "#fff8c5", class: "band"}, svg);
  stacks.forEach((parts, k) => {
    let acc = 0;
    parts.forEach(p => {
      if (p.value <= 0) return;
      const r = svgEl("rect", {x: xOf(k) + 1, y: y(acc + p.value), width: Math.max(bw - 2, 1),
                               height: Math.max(y(acc) - y(acc + p.value), 0.5), fill: p.colour || BLUE, class: "bar"}, svg);
      svgEl("title", {}, r).textContent = `${bins[k].label}: ${p.value}${p.name ? " " + p.name : ""}`;
      acc += p.value;
    });
    const every = Math.ceil(bins.length / 24);
    if (k % every === 0) svgText(svg, xOf(k) + bw / 2, 20 + plotH + 14, bins[k].label, {"text-anchor": "middle"});
  });
  (o.markers || []).forEach(m => {
    svgEl("line", {x1: xOf(m.x), x2: xOf(m.x), y1: 14, y2: 20 + plotH, stroke: m.colour || NEG,
                   "stroke-width": 2, class: "marker"}, svg);
    svgText(svg, xOf(m.x) + 4, 14, m.label, {fill: m.colour || NEG});
  });
  svgEl("line", {x1: left, x2: left + plotW, y1: 20 + plotH, y2: 20 + plotH, stroke: GREY}, svg);
  [0, top].forEach(v => svgText(svg, left - 4, y(v) + 4, String(v), {"text-anchor": "end"}));
  svgText(svg, left + plotW / 2, o.height - 5, o.xlabel, {"text-anchor": "middle", fill: "#57606a"});
  (o.legend || []).forEach((l, k) => {
    svgEl("rect", {x: left + plotW - 130, y: 24 + k * 15, width: 10, height: 10, fill: l.colour, stroke: GREY}, svg);
    svgText(svg, left + plotW - 116, 33 + k * 15, l.label);
  });
  markRendered(container);
}

/* Waterfall of a pair's match weight: steps = [{label, value, note}], starting from 0. */
function waterfall(container, steps, opts) {
  const o = Object.assign({width: 760, rowH: 20, labelW: 260, title: "waterfall"}, opts || {});
  container.textContent = "";
  let acc = 0;
  const spans = steps.map(s => { const a = acc; acc += s.value; return [a, acc]; });
  const all = spans.flat().concat([0, o.threshold === undefined ? 0 : o.threshold]);
  const lo = Math.min(...all), hi = Math.max(...all);
  const plotW = o.width - o.labelW - 70, height = (steps.length + 1) * o.rowH + 30;
  const svg = newSvg(container, o.width, height, o.title);
  const x = v => o.labelW + (v - lo) / ((hi - lo) || 1) * plotW;
  steps.forEach((s, k) => {
    const y = 8 + k * o.rowH, [a, b] = spans[k];
    svgText(svg, o.labelW - 6, y + o.rowH * 0.68, s.label, {"text-anchor": "end"});
    const r = svgEl("rect", {x: x(Math.min(a, b)), y: y + 3, width: Math.max(Math.abs(x(b) - x(a)), 1.5),
                             height: o.rowH - 6, fill: s.kind === "prior" ? GREY : (s.value >= 0 ? POS : NEG),
                             class: "step"}, svg);
    svgEl("title", {}, r).textContent = `${s.label}: ${fmt(s.value)}`;
    svgText(svg, x(Math.max(a, b)) + 4, y + o.rowH * 0.68, (s.value >= 0 ? "+" : "") + fmt(s.value), {fill: "#57606a"});
    if (k + 1 < steps.length) svgEl("line", {x1: x(b), x2: x(b), y1: y + o.rowH - 3, y2: y + o.rowH + 3,
                                             stroke: GREY}, svg);
  });
  const yEnd = 8 + steps.length * o.rowH;
  svgText(svg, o.labelW - 6, yEnd + o.rowH * 0.68, "match weight", {"text-anchor": "end", "font-weight": "bold"});
  svgEl("rect", {x: x(Math.min(0, acc)), y: yEnd + 3, width: Math.max(Math.abs(x(acc) - x(0)), 1.5),
                 height: o.rowH - 6, fill: BLUE, class: "step total"}, svg);
  svgText(svg, x(Math.max(0, acc)) + 4, yEnd + o.rowH * 0.68, fmt(acc), {"font-weight": "bold"});
  svgEl("line", {x1: x(0), x2: x(0), y1: 4, y2: height - 18, stroke: "#57606a"}, svg);
  if (o.threshold !== undefined) {
    svgEl("line", {x1: x(o.threshold), x2: x(o.threshold), y1: 4, y2: height - 18, stroke: NEG,
                   "stroke-dasharray": "4 3"}, svg);
    svgText(svg, x(o.threshold), height - 5, "threshold " + fmt(o.threshold), {"text-anchor": "middle", fill: NEG});
  }
  markRendered(container);
  return acc;
}
