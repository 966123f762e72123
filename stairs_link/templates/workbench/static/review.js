/* review.html: label the uncertain pairs by keyboard, import an earlier decisions file, export
   decisions.csv as a download. Nothing leaves the page except through that download. */
"use strict";
(function () {
  const D = pageData();
  const T = D.thresholds, pairs = D.pairs, fields = D.fields;
  const KEY = (a, b) => (a < b ? a + "\u0000" + b : b + "\u0000" + a);
  const labels = new Map();     // pair key -> decision made or imported for a pair on this page
  const carried = new Map();    // pair key -> [l, r, decision] for pairs not on this page
  const onPage = new Map(pairs.map((p, k) => [KEY(p.l, p.r), k]));
  let current = 0, dirty = false;

  D.earlier.forEach(([l, r, d]) => { if (!onPage.has(KEY(l, r))) carried.set(KEY(l, r), [l, r, d]); });
  pairs.forEach(p => { if (p.decision) labels.set(KEY(p.l, p.r), p.decision); });

  function levelClass(g, n) {
    if (g < 0) return "lv-missing";
    if (g === n - 1) return "lv-top";
    return g === 0 ? "lv-low" : "lv-mid";
  }
  function levelText(label, kind) {
    if (label === D.missing_level) return "missing on one side";
    if (kind !== "bloom") return label;
    if (label === "exact") return "identical encodings (Dice 1)";
    if (label === "swap") return "given and family name swapped";
    if (label.startsWith("dice>=")) return "similarity (Dice) ≥ " + label.slice(6);
    if (label === "else") return "similarity (Dice) below every level";
    return label;
  }

  function progress() {
    let decided = 0, unsure = 0;
    pairs.forEach(p => { const d = labels.get(KEY(p.l, p.r)); if (d) decided++; if (d === "unsure") unsure++; });
    document.getElementById("progress-bar").style.width = (pairs.length ? 100 * decided / pairs.length : 100) + "%";
    document.getElementById("progress-text").textContent =
      `${decided} of ${pairs.length} pairs labelled (${unsure} unsure)` +
      (D.review_sheet_pairs > pairs.length ? ` — the ${pairs.length} most informative of the review sheet's ` +
       `${D.review_sheet_pairs}` : "") +
      (carried.size ? `; ${carried.size} earlier decisions kept for export` : "");
  }

  function renderList() {
    const ol = document.getElementById("pair-list");
    ol.textContent = "";
    pairs.forEach((p, k) => {
      const d = labels.get(KEY(p.l, p.r));
      const li = ol.appendChild(el("li", {class: (k === current ? "current " : "") + (d ? "d-" + d : ""),
                                          "data-index": String(k)},
        `p=${fmt(p.p, 3)} ${d ? "· " + d : ""}`));
      li.title = `${p.l} ↔ ${p.r}`;
      li.addEventListener("click", () => go(k));
    });
  }

  function renderCard() {
    const card = document.getElementById("card");
    card.textContent = "";
    if (!pairs.length) {
      card.appendChild(el("p", {class: "done"}, "No pairs to review in this run."));
      return;
    }
    const p = pairs[current], d = labels.get(KEY(p.l, p.r));
    card.setAttribute("data-index", String(current));
    const head = card.appendChild(el("div", {class: "pair-head"}));
    head.appendChild(el("span", {class: "score"}, `Pair ${current + 1} of ${pairs.length}`));
    head.appendChild(el("span", {}, `match probability ${fmt(p.p, 3)} (weight ${fmt(p.w)}; threshold ${fmt(T.link_weight)})`));
    head.appendChild(el("span", {class: "tag"}, p.reason === "identifier_conflict" ? "identifier conflict" : "uncertain"));
    head.appendChild(el("span", {class: "tag " + (d || ""), id: "current-decision"}, d ? d : "not labelled"));
    card.appendChild(el("p", {class: "note"}, p.same_cluster
      ? `Now in one cluster of ${p.impact} records: non-match could split it.`
      : `Now in different clusters: match would join ${p.impact} records.`));
    const table = card.appendChild(el("table", {class: "pair"}));
    const hr = table.appendChild(el("thead")).appendChild(el("tr"));
    ["field", D.pseudonymised ? "left record" : p.l, D.pseudonymised ? "right record" : p.r,
     "agreement level", "partial weight"].forEach(h => hr.appendChild(el("th", {}, h)));
    const tbody = table.appendChild(el("tbody"));
    const maxAbs = Math.max(1, ...p.bf.map(Math.abs));
    fields.forEach((f, k) => {
      const g = p.gamma[k], label = g < 0 ? D.missing_level : f.levels[g];
      const tr = tbody.appendChild(el("tr", {class: levelClass(g, f.levels.length), "data-field": f.name}));
      tr.appendChild(el("th", {}, f.name));
      const vals = f.column && p.values[f.column] ? p.values[f.column] : null;
      if (vals) {
        tr.appendChild(el("td", {class: "val"}, vals[0] || "—"));
        tr.appendChild(el("td", {class: "val"}, vals[1] || "—"));
      } else {
        const td = tr.appendChild(el("td", {class: "val", colspan: "2"},
          D.pseudonymised ? "pseudonymised: compared without plaintext" : "not shown"));
        td.style.color = "#57606a";
      }
      tr.appendChild(el("td", {class: "lvl"}, levelText(label, f.kind)));
      const w = tr.appendChild(el("td", {class: "w"}));
      const svg = newSvg(w, 130, 14, `partial weight ${fmt(p.bf[k])}`);
      const mid = 65, len = Math.abs(p.bf[k]) / maxAbs * 60;
      svgEl("line", {x1: mid, x2: mid, y1: 0, y2: 14, stroke: GREY}, svg);
      svgEl("rect", {x: p.bf[k] >= 0 ? mid : mid - len, y: 3, width: Math.max(len, 1), height: 8,
                     fill: p.bf[k] >= 0 ? POS : NEG}, svg);
      w.appendChild(document.createTextNode(" " + (p.bf[k] >= 0 ? "+" : "") + fmt(p.bf[k])));
    });
    const steps = [{label: "prior", value: T.prior_weight, kind: "prior"}].concat(
      fields.map((f, k) => ({label: f.name, value: p.bf[k]})));
    waterfall(card.appendChild(el("div", {class: "chart", "data-chart": "pair-waterfall"})), steps,
              {threshold: T.link_weight, width: 640, rowH: 16, labelW: 150});
    const bar = card.appendChild(el("div", {class: "decide"}));
    [["match", "Match (M)"], ["non-match", "Non-match (N)"], ["unsure", "Unsure (U)"]].forEach(([v, t]) => {
      const b = bar.appendChild(el("button", {type: "button", "data-decision": v, class: d === v ? "on" : ""}, t));
      b.addEventListener("click", () => decide(v));
    });
    const prev = bar.appendChild(el("button", {type: "button"}, "Previous (P)"));
    prev.addEventListener("click", () => go(current - 1));
  }

  function render() { renderCard(); renderList(); progress(); }
  function go(k) { current = Math.min(Math.max(k, 0), Math.max(pairs.length - 1, 0)); render(); }
  function decide(v) {
    if (!pairs.length) return;
    const p = pairs[current];
    labels.set(KEY(p.l, p.r), v);
    dirty = true;
    go(current + 1 < pairs.length ? current + 1 : current);
  }

  document.addEventListener("keydown", e => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.target.tagName === "INPUT") return;
    const k = e.key.toLowerCase();
    if (k === "m") decide("match");
    else if (k === "n") decide("non-match");
    else if (k === "u") decide("unsure");
    else if (k === "p" || k === "arrowleft" || k === "backspace") go(current - 1);
    else if (k === "arrowright") go(current + 1);
    else return;
    e.preventDefault();
  });

  /* CSV (RFC 4180: quoted fields, doubled quotes, CRLF or LF); a leading byte-order mark is dropped. */
  function parseCsv(text) {
    const rows = []; let row = [], field = "", quoted = false;
    text = text.replace(/^\uFEFF/, "");
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
        else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") { row.push(field); field = ""; }
      else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        row.push(field); rows.push(row); row = []; field = "";
      } else field += c;
    }
    if (field !== "" || row.length) { row.push(field); rows.push(row); }
    return rows;
  }
  function csvCell(v) { return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }

  function importText(text, name) {
    const rows = parseCsv(text);
    const status = document.getElementById("io-status");
    if (!rows.length) { status.textContent = `${name}: empty file`; return; }
    const head = rows[0].map(h => h.trim());
    const at = ["record_key_l", "record_key_r", "decision"].map(h => head.indexOf(h));
    if (at.some(i => i < 0)) {
      status.textContent = `${name}: needs columns record_key_l, record_key_r, decision (line 1 has ${head.join(", ")})`;
      return;
    }
    let here = 0, elsewhere = 0, skipped = 0;
    const bad = [];
    rows.slice(1).forEach((r, k) => {
      const strip = v => (v || "").trim().replace(/^'/, "");
      const l = strip(r[at[0]]), rr = strip(r[at[1]]), d = strip(r[at[2]]).toLowerCase();
      if (!d) { skipped++; return; }
      if (!["match", "non-match", "unsure"].includes(d) || !l || !rr) { bad.push(k + 2); return; }
      const key = KEY(l, rr);
      if (onPage.has(key)) { labels.set(key, d); here++; } else { carried.set(key, [l, rr, d]); elsewhere++; }
    });
    dirty = true;
    status.textContent = `${name}: ${here} decisions for pairs on this page, ${elsewhere} for other pairs ` +
      `(kept for export), ${skipped} blank` + (bad.length ? `; lines ${bad.slice(0, 5).join(", ")} not understood ` +
      "(decision must be match, non-match or unsure)" : "");
    render();
  }
  document.getElementById("import").addEventListener("change", e => {
    const file = e.target.files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => importText(String(reader.result), file.name);
    reader.readAsText(file, "utf-8");
    e.target.value = "";
  });

  function exportCsv() {
    const lines = ["record_key_l,record_key_r,decision"];
    carried.forEach(([l, r, d]) => lines.push([l, r, d].map(csvCell).join(",")));
    pairs.forEach(p => { const d = labels.get(KEY(p.l, p.r)); if (d) lines.push([p.l, p.r, d].map(csvCell).join(",")); });
    const blob = new Blob(["\uFEFF" + lines.join("\r\n") + "\r\n"], {type: "text/csv;charset=utf-8"});
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "decisions.csv";
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    dirty = false;
    document.getElementById("io-status").textContent = `exported ${lines.length - 1} decisions to decisions.csv`;
  }
  document.getElementById("export").addEventListener("click", exportCsv);
  window.addEventListener("beforeunload", e => { if (dirty) { e.preventDefault(); e.returnValue = ""; } });

  render();
})();
