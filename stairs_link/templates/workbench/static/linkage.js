/* linkage.html: draws every chart and table from the page's JSON data. */
"use strict";
(function () {
  const D = pageData();
  const T = D.thresholds;

  function totals() {
    const t = D.totals, rows = [
      ["records", t.records], ["clusters (children)", t.children], ["compared pairs", t.compared_pairs],
      ["kept pairs", t.kept_pairs], ["linked pairs", t.linked_pairs],
      ["linked by a shared identifier", t.deterministic_links],
      ["identifier conflicts held back", t.deterministic_conflicts], ["pairs for review", t.review_pairs],
      ["link threshold (probability / weight)", `${T.link_threshold} / ${fmt(T.link_weight)}`],
      ["review band (probability)", `${T.review_band[0]} – ${T.review_band[1]}`],
      ["prior match probability", Number(T.prior).toPrecision(3)]];
    fillTable(document.getElementById("totals-table"), ["", ""], rows, [false, true]);
  }

  function matchWeights() {
    const rows = [];
    D.comparisons.forEach(c => {
      rows.push({label: c.name + (c.term_frequency ? " (term-frequency adjusted)" : ""), value: null, strong: true});
      for (let k = c.levels.length - 1; k >= 0; k--) {
        const top = k === c.levels.length - 1 && c.tf_exact;
        rows.push({label: c.levels[k] + (top ? ` (TF ${fmt(c.tf_exact.min, 1)}…${fmt(c.tf_exact.max, 1)})` : ""),
                   value: c.weight[k], band: top ? [c.tf_exact.min, c.tf_exact.max] : null});
      }
    });
    divergingBars(document.getElementById("chart-match-weights"), rows,
                  {title: "match weight per comparison level", axis: "partial match weight (bits)"});
  }

  function mu() {
    const box = document.getElementById("chart-m-u");
    const rows = D.comparisons.flatMap(c => [{label: c.name, head: true}].concat(
      c.levels.map((l, k) => ({label: l, m: c.m[k], u: c.u[k], n: c.pairs[k]})).reverse()));
    const width = 760, rowH = 15, labelW = 200, plotW = width - labelW - 120, height = rows.length * rowH + 36;
    const svg = newSvg(box, width, height, "m and u probabilities per level");
    const lg = v => Math.log10(Math.max(v, 1e-9));
    const x = v => labelW + (lg(v) + 9) / 9 * plotW;
    rows.forEach((r, k) => {
      const y = 10 + k * rowH;
      if (r.head) { svgText(svg, 2, y + rowH * 0.75, r.label, {"font-weight": "bold"}); return; }
      svgText(svg, labelW - 6, y + rowH * 0.75, r.label, {"text-anchor": "end"});
      const bm = svgEl("rect", {x: labelW, y: y + 2, width: Math.max(x(r.m) - labelW, 1), height: rowH / 2 - 2,
                                fill: POS, class: "bar"}, svg);
      svgEl("title", {}, bm).textContent = `m = ${Number(r.m).toPrecision(3)}`;
      const bu = svgEl("rect", {x: labelW, y: y + rowH / 2, width: Math.max(x(r.u) - labelW, 1), height: rowH / 2 - 2,
                                fill: GREY, class: "bar"}, svg);
      svgEl("title", {}, bu).textContent = `u = ${Number(r.u).toPrecision(3)}`;
      svgText(svg, labelW + plotW + 6, y + rowH * 0.75,
              `m ${Number(r.m).toPrecision(2)}  u ${Number(r.u).toPrecision(2)}`, {fill: "#57606a"});
    });
    [-9, -6, -3, 0].forEach(p => {
      svgText(svg, x(10 ** p), height - 8, p === 0 ? "1" : `1e${p}`, {"text-anchor": "middle"});
    });
    svgEl("rect", {x: labelW, y: height - 30, width: 10, height: 8, fill: POS}, svg);
    svgText(svg, labelW + 14, height - 22, "m");
    svgEl("rect", {x: labelW + 40, y: height - 30, width: 10, height: 8, fill: GREY}, svg);
    svgText(svg, labelW + 54, height - 22, "u");
    markRendered(box);
  }

  function em() {
    const sessions = D.em.sessions;
    fillTable(document.getElementById("em-table"),
              ["session (blocking rule)", "pairs", "distinct patterns", "match share", "iterations", "converged",
               "fields estimated"],
              sessions.map(s => [s.rule, s.pairs, s.patterns, fmt(s.match_share, 4), s.iterations,
                                 s.converged ? "yes" : "NO", s.estimated.join(", ")]),
              [false, true, true, true, true, false, false]);
    const box = document.getElementById("chart-em-sessions");
    const rows = D.comparisons.flatMap(c => [{label: c.name, head: true}].concat(
      c.levels.map((l, k) => ({label: l, k: k, c: c})).reverse()));
    const width = 760, rowH = 14, labelW = 200, plotW = width - labelW - 40, height = rows.length * rowH + 30;
    const svg = newSvg(box, width, height, "EM estimates of m by session");
    const x = v => labelW + v * plotW;
    rows.forEach((r, i) => {
      const y = 10 + i * rowH;
      if (r.head) { svgText(svg, 2, y + rowH * 0.75, r.label, {"font-weight": "bold"}); return; }
      svgText(svg, labelW - 6, y + rowH * 0.75, r.label, {"text-anchor": "end"});
      svgEl("rect", {x: labelW, y: y + 3, width: Math.max(x(r.c.m[r.k]) - labelW, 1), height: rowH - 6,
                     fill: "#d0d7de", class: "bar"}, svg);
      sessions.forEach((s, j) => {
        const m = s.m[r.c.name];
        if (!m) return;
        const dot = svgEl("circle", {cx: x(m[r.k]), cy: y + rowH / 2, r: 3,
                                     fill: `hsl(${(j * 47) % 360},65%,42%)`, class: "session"}, svg);
        svgEl("title", {}, dot).textContent = `${s.rule}: m = ${m[r.k]}`;
      });
    });
    [0, 0.5, 1].forEach(v => svgText(svg, x(v), height - 6, String(v), {"text-anchor": "middle"}));
    const legend = box.appendChild(el("p", {class: "note"}));
    sessions.forEach((s, j) => {
      const dot = legend.appendChild(el("span", {}, "● "));
      dot.style.color = `hsl(${(j * 47) % 360},65%,42%)`;
      legend.appendChild(document.createTextNode(s.rule + "   "));
    });
    markRendered(box);
  }

  function histogram() {
    const h = D.histogram;
    const bins = h.linked.map((v, k) => ({label: String(h.start + k),
      parts: [{value: v, colour: POS, name: "linked"}, {value: h.not_linked[k], colour: GREY, name: "not linked"}]}));
    const pos = w => Math.min(Math.max(w - h.start, 0), bins.length);
    columnChart(document.getElementById("chart-histogram"), bins, {
      scale: "sqrt", xlabel: "match weight (bits)", title: "match weight histogram",
      markers: [{x: pos(T.link_weight), label: `threshold p=${T.link_threshold}`}],
      band: [pos(T.review_band_weight[0]), pos(T.review_band_weight[1])],
      legend: [{label: "linked", colour: POS}, {label: "not linked", colour: GREY},
               {label: "review band", colour: "#fff8c5"}]});
  }

  function decisions() {
    const box = document.getElementById("decisions-body"), e = D.decision_estimates, d = D.decisions || {};
    if (!e || !e.labelled_pairs) {
      box.appendChild(el("p", {class: "note"},
        "No reviewer decisions in this run. Label pairs in review.html, export decisions.csv and run " +
        "`stairs-link link … --decisions decisions.csv`: precision and recall near the threshold appear here."));
      return;
    }
    const ci = r => r.ci95 ? `${pct(r.ci95[0])} – ${pct(r.ci95[1])}` : "–";
    fillTable(box.appendChild(el("table", {class: "figures", id: "decisions-table"})),
      ["", "estimate", "95% interval (Wilson)", "of"],
      [["precision at the threshold", pct(e.precision.estimate), ci(e.precision),
        `${e.precision.successes} / ${e.precision.trials} labelled pairs the model links`],
       ["recall at the threshold", pct(e.recall.estimate), ci(e.recall),
        `${e.recall.successes} / ${e.recall.trials} labelled matches`]], [false, true, false, false]);
    box.appendChild(el("p", {class: "note"},
      `${e.labelled_pairs} labelled pairs (${e.labelled_matches} matches; model probabilities ` +
      `${e.probability_range[0]} – ${e.probability_range[1]}); ${d.unsure || 0} unsure. They were chosen near ` +
      "the threshold, so these describe the model's decisions there, not over all pairs. " +
      (e.suggested_threshold === null ? "Too few decisions (or only one kind) to suggest a threshold." :
       `Threshold that classifies the most labelled pairs correctly: ${fmt(e.suggested_threshold, 4)} ` +
       `(${e.suggested_threshold_correct} of ${e.labelled_pairs}); ` +
       (e.threshold_from_decisions === "applied" ? "this run used it." :
        "use it with `stairs-link link --threshold-from-decisions`."))));
  }

  function blocking() {
    const b = D.blocking;
    const head = ["rule", "keys", "candidate pairs", "kept pairs found first"];
    if (b.truth) head.push(`cumulative recall of ${b.truth.true_pairs} true pairs`);
    if (b.decisions) head.push(`cumulative recall of ${b.decisions.labelled_matches} labelled matches`);
    fillTable(document.getElementById("blocking-table"), head, b.rules.map((r, k) => {
      const row = [r.name, r.keys.join(" + ") + (r.when_missing ? ` (when ${r.when_missing} missing)` : ""),
                   r.candidate_pairs, r.kept_found_first];
      if (b.truth) row.push(pct(b.truth.recall[k]));
      if (b.decisions) row.push(pct(b.decisions.recall[k]));
      return row;
    }), [false, false, true, true, true, true]);
    divergingBars(document.getElementById("chart-blocking"),
      b.rules.map(r => ({label: r.name, value: Math.log10(1 + r.candidate_pairs), text: String(r.candidate_pairs)})),
      {title: "candidate pairs per blocking rule", axis: "log10(1 + candidate pairs)"});
  }

  function clusters() {
    const c = D.clusters;
    columnChart(document.getElementById("chart-cluster-sizes"),
      c.size_distribution.map(([size, n]) => ({label: String(size), value: n, colour: BLUE})),
      {xlabel: "records per cluster", title: "cluster sizes", height: 200});
    fillTable(document.getElementById("largest-table"), ["cluster", "records", "site systems"],
              c.largest.map(r => [r.id, r.size, r.systems]), [false, true, true]);
    fillTable(document.getElementById("conflicted-table"),
              ["cluster", "records", "pairs below threshold", "identifier conflicts", "lowest pair weight"],
              c.conflicted.map(r => [r.id, r.size, r.weak_pairs, r.identifier_conflicts, fmt(r.min_weight)]),
              [false, true, true, true, true]);
  }

  function unlinked() {
    const rows = D.clusters.unlinked;
    const box = document.getElementById("chart-unlinked");
    const width = 760, rowH = 18, labelW = 260, plotW = width - labelW - 130;
    const svg = newSvg(box, width, rows.length * rowH + 20, "records linked to nothing by site system");
    rows.forEach((r, k) => {
      const y = 5 + k * rowH, share = r.records ? r.unlinked / r.records : 0;
      svgText(svg, labelW - 6, y + rowH * 0.7, r.system, {"text-anchor": "end"});
      svgEl("rect", {x: labelW, y: y + 3, width: plotW, height: rowH - 6, fill: "#eaeef2", class: "track"}, svg);
      const bar = svgEl("rect", {x: labelW, y: y + 3, width: Math.max(share * plotW, 0.5), height: rowH - 6,
                                 fill: NEG, class: "bar"}, svg);
      svgEl("title", {}, bar).textContent = `${r.system}: ${r.unlinked} of ${r.records}`;
      svgText(svg, labelW + plotW + 6, y + rowH * 0.7, `${r.unlinked} of ${r.records} (${pct(share)})`);
    });
    markRendered(box);
  }

  function waterfallSearch() {
    const W = D.waterfall, keys = W.keys, input = document.getElementById("pair-search");
    const list = document.getElementById("pair-results"), count = document.getElementById("pair-count");
    const box = document.getElementById("chart-waterfall");
    count.textContent = W.shown < W.total ? `(${W.shown} of ${W.total} pairs searchable: those nearest the threshold)`
                                          : `(${W.total} pairs)`;
    function show(row, button) {
      list.querySelectorAll("button.current").forEach(b => b.classList.remove("current"));
      if (button) button.classList.add("current");
      const [l, r, w, p, found, linked, decision, gamma, bf] = row;
      const steps = [{label: "prior (log2 odds)", value: T.prior_weight, kind: "prior"}];
      D.comparisons.forEach((c, k) => steps.push({
        label: `${c.name}: ${gamma[k] < 0 ? "missing" : c.levels[gamma[k]]}`, value: bf[k]}));
      box.textContent = "";
      box.appendChild(el("p", {class: "pair-title"},
        `${keys[l]}  ↔  ${keys[r]} — probability ${fmt(p, 4)}, found by ${found}, ` +
        (decision ? `reviewer decision: ${decision}` : (linked ? "linked" : "not linked"))));
      const holder = box.appendChild(el("div"));
      waterfall(holder, steps, {threshold: T.link_weight, title: "waterfall for the selected pair"});
      markRendered(box);
    }
    function search() {
      const q = input.value.trim().toLowerCase();
      list.textContent = "";
      const hits = [];
      for (const row of W.rows) {
        if (!q || keys[row[0]].toLowerCase().includes(q) || keys[row[1]].toLowerCase().includes(q)) hits.push(row);
        if (hits.length >= 50) break;
      }
      hits.forEach((row, k) => {
        const li = list.appendChild(el("li")), b = li.appendChild(el("button", {type: "button"},
          `${keys[row[0]]} ↔ ${keys[row[1]]} (weight ${fmt(row[2])})`));
        b.addEventListener("click", () => show(row, b));
        if (k === 0 && !box.hasChildNodes()) show(row, b);
      });
    }
    input.addEventListener("input", search);
    search();
    if (!W.rows.length) { box.appendChild(el("p", {class: "note"}, "No scored pairs.")); }
  }

  totals(); matchWeights(); mu(); em(); histogram(); decisions(); blocking(); clusters(); unlinked();
  waterfallSearch();
})();
