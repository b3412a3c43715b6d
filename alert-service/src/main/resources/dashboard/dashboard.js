// The gradwatch live dashboard: polls alert-service's JSON API every 2 s and draws with uPlot and a
// canvas. Every value from the API is written as text (textContent), never as markup.
(function () {
  "use strict";
  const REFRESH_MS = 2000;
  const WIDTH = 520;
  const HEIGHT = 240;
  const params = new URLSearchParams(window.location.search);
  // ?run=ID selects a run; otherwise the first run with an alert, else the first run.
  let selectedRun = params.get("run");
  // The fleet table's sort and filters start from ?sort=, ?order=, ?state=, ?type=, ?label=.
  const view = {
    sort: params.get("sort") || "run",
    desc: params.get("order") === "desc",
    state: params.get("state") || "",
    type: params.get("type") || "",
    label: params.get("label") || ""
  };
  const plots = {};
  let lastRuns = [];

  // Steps, timesteps and horizons are integers: ticks at whole numbers only, never 7.25 or 7.5.
  const INTEGER_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000,
    50000, 100000, 200000, 500000, 1000000, 2000000, 5000000, 10000000];
  const integerAxis = { incrs: INTEGER_INCRS, values: (u, values) => values.map(v => v == null ? "" : v.toFixed(0)) };

  function text(value, digits) {
    if (value === null || value === undefined || value === "NaN") return "–";
    if (typeof value === "number") return Math.abs(value) < 1e-3 && value !== 0 ? value.toExponential(2) : value.toFixed(digits);
    return String(value);
  }

  function cell(row, content, className) {
    const td = document.createElement("td");
    td.textContent = content;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function positive(value) {
    return typeof value === "number" && value > 0 && isFinite(value) ? value : null;
  }

  function renderAlerts(alerts) {
    const body = document.getElementById("active-alerts");
    body.replaceChildren();
    if (alerts.length === 0) {
      const row = body.insertRow();
      cell(row, "none: every run is healthy", "healthy").colSpan = 6;
      return;
    }
    for (const alert of alerts) {
      const row = body.insertRow();
      row.dataset.run = alert.run;
      row.dataset.type = alert.type;
      cell(row, alert.run);
      cell(row, alert.layer);
      cell(row, alert.type, alert.severity.toLowerCase());
      cell(row, alert.step);
      cell(row, text(alert.value, 3));
      cell(row, alert.remedy);
    }
  }

  function labelText(labels) {
    return Object.keys(labels || {}).sort().map(k => k + "=" + labels[k]).join(", ");
  }

  const STATE_RANK = { critical: 0, warning: 1, info: 2, firing: 3, healthy: 4 };

  function compare(a, b) {
    const key = view.sort;
    let x = a[key], y = b[key];
    if (key === "state") { x = STATE_RANK[a.state]; y = STATE_RANK[b.state]; }
    if (x === y) return a.run < b.run ? -1 : a.run > b.run ? 1 : 0;
    if (x === null || x === undefined || x === "NaN") return 1;
    if (y === null || y === undefined || y === "NaN") return -1;
    const order = x < y ? -1 : 1;
    return view.desc ? -order : order;
  }

  function matches(run) {
    if (view.state && run.state !== view.state) return false;
    if (view.type && !run.activeAlerts.some(a => a.type === view.type)) return false;
    if (view.label) {
      const labels = run.labels || {};
      const at = view.label.indexOf("=");
      if (at > 0) return labels[view.label.slice(0, at)] === view.label.slice(at + 1);
      return labelText(labels).includes(view.label);
    }
    return true;
  }

  function renderFilters(runs) {
    const types = new Set();
    runs.forEach(r => r.activeAlerts.forEach(a => types.add(a.type)));
    if (view.type) types.add(view.type);
    const select = document.getElementById("filter-type");
    const wanted = ["", ...Array.from(types).sort()];
    if (Array.from(select.options).map(o => o.value).join("|") !== wanted.join("|")) {
      select.replaceChildren();
      for (const type of wanted) {
        const option = document.createElement("option");
        option.value = type;
        option.textContent = type || "any";
        select.appendChild(option);
      }
    }
    select.value = view.type;
    document.getElementById("filter-state").value = view.state;
    const label = document.getElementById("filter-label");
    if (document.activeElement !== label) label.value = view.label;
    document.querySelectorAll("#fleet th.sortable").forEach(th => {
      th.classList.toggle("sorted-asc", th.dataset.sort === view.sort && !view.desc);
      th.classList.toggle("sorted-desc", th.dataset.sort === view.sort && view.desc);
    });
  }

  function renderRuns(runs) {
    lastRuns = runs;
    renderFilters(runs);
    const body = document.getElementById("runs");
    body.replaceChildren();
    const shown = runs.filter(matches).sort(compare);
    document.getElementById("fleet-count").textContent = shown.length + " of " + runs.length + " runs";
    for (const run of shown) {
      const row = body.insertRow();
      row.className = "run" + (run.run === selectedRun ? " selected" : "");
      row.dataset.run = run.run;
      row.dataset.state = run.state;
      row.addEventListener("click", () => { selectedRun = run.run; refresh(); });
      cell(row, run.run);
      cell(row, run.state, run.state);
      cell(row, text(run.step, 0));
      cell(row, text(run.loss, 4));
      cell(row, text(run.accuracy, 2));
      const types = run.activeAlerts.map(a => a.type + "@L" + a.layer);
      cell(row, types.length ? types.join(", ") : "none", types.length ? run.state : "healthy");
      cell(row, labelText(run.labels), "muted");
    }
  }

  function plot(id, options, data) {
    const existing = plots[id];
    if (existing && existing.series.length === options.series.length) {
      existing.setData(data);
      return;
    }
    if (existing) existing.destroy();
    plots[id] = new uPlot(Object.assign({ width: WIDTH, height: HEIGHT }, options), data, document.getElementById(id));
  }

  function renderRun(detail) {
    document.getElementById("run-title").textContent = "Run " + detail.run +
      (detail.progress ? " — step " + detail.progress.step : "") +
      (Object.keys(detail.labels || {}).length ? " — " + labelText(detail.labels) : "");
    renderHeatmaps(detail.layers);
    renderSteps(detail.steps);
    renderParamNorms(detail.paramGradNorms, detail.progress);
    renderTimeline(detail.timeline);
    const layers = detail.layers;
    if (layers.length === 0) return;
    const timesteps = layers[0].timestepNorms.map((_, t) => t);
    plot("profile-chart", {
      series: [{ label: "t" }].concat(layers.map(l => ({ label: "layer " + l.layer, stroke: color(l.layer) }))),
      scales: { x: { time: false }, y: { distr: 3 } },
      axes: [integerAxis, { values: exponents, size: 60 }]
    }, [timesteps].concat(layers.map(l => l.timestepNorms.map(positive))));
    const history = layers[0].history || [];
    plot("history-chart", {
      series: [{ label: "step" }, { label: "decay ratio", stroke: "#b00020", scale: "decay" },
        { label: "horizon", stroke: "#1b5fbf", scale: "horizon" }],
      scales: { x: { time: false }, decay: { distr: 3 }, horizon: { range: (u, min, max) => [0, Math.max(1, max)] } },
      axes: [integerAxis, { scale: "decay", values: exponents, size: 60 },
        Object.assign({ scale: "horizon", side: 1 }, integerAxis)]
    }, [history.map(p => p.step), history.map(p => positive(p.decayRatio)), history.map(p => p.horizon)]);
  }

  function renderSteps(steps) {
    plot("loss-chart", {
      series: [{ label: "step" }, { label: "loss", stroke: "#1f2933" }],
      scales: { x: { time: false } }, axes: [integerAxis, { size: 60 }]
    }, [steps.step, steps.loss]);
    plot("norm-chart", {
      series: [{ label: "step" }, { label: "before clipping", stroke: "#b00020" },
        { label: "after clipping", stroke: "#1b7f3b", dash: [6, 4] }],
      scales: { x: { time: false }, y: { distr: 3 } }, axes: [integerAxis, { values: exponents, size: 60 }]
    }, [steps.step, steps.gradNorm.map(positive), steps.gradNormClipped.map(positive)]);
    plot("lr-chart", {
      series: [{ label: "step" }, { label: "learning rate", stroke: "#7b3fb3" }],
      scales: { x: { time: false }, y: { distr: 3 } }, axes: [integerAxis, { values: exponents, size: 60 }]
    }, [steps.step, steps.learningRate.map(positive)]);
  }

  function renderParamNorms(norms, progress) {
    const body = document.getElementById("param-norms");
    body.replaceChildren();
    const names = Object.keys(norms || {});
    document.getElementById("param-norms-title").textContent = "per-parameter gradient norms, latest step" +
      (progress ? " (" + progress.step + ")" : "");
    if (names.length === 0) {
      cell(body.insertRow(), "the trainer reports no per-parameter norms", "muted").colSpan = 3;
      return;
    }
    const max = Math.max(...names.map(n => norms[n] || 0));
    for (const name of names) {
      const row = body.insertRow();
      row.dataset.param = name;
      cell(row, name);
      cell(row, text(norms[name], 4));
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = (max > 0 && norms[name] > 0 ? 100 * norms[name] / max : 0) + "%";
      cell(row, "", "bar-cell").appendChild(bar);
    }
  }

  function renderTimeline(entries) {
    const body = document.getElementById("timeline");
    body.replaceChildren();
    if (!entries || entries.length === 0) {
      cell(body.insertRow(), "no alerts or actions for this run yet", "healthy").colSpan = 6;
      return;
    }
    for (const entry of entries.slice().reverse()) {
      const row = body.insertRow();
      row.dataset.kind = entry.kind;
      cell(row, entry.step);
      cell(row, entry.timeMs > 0 ? new Date(entry.timeMs).toISOString().slice(11, 19) : "–");
      const kind = { FIRING: "fired", RESOLVED: "resolved", ACTION_TAKEN: "action sent", APPLIED: "applied" }[entry.kind];
      cell(row, kind || entry.kind, entry.kind === "FIRING" ? entry.severity.toLowerCase() : entry.kind === "RESOLVED" ? "healthy" : "");
      cell(row, entry.layer >= 0 ? entry.layer : "–");
      cell(row, entry.type || "–");
      cell(row, entry.detail + (entry.commandId ? " [" + entry.commandId + "]" : ""));
    }
  }

  // The gradient-flow heatmap: x = training step, y = timestep (t = T-1, nearest the loss, on top),
  // colour = log10 ||dL/dh_t|| on a viridis ramp between the grid's own minimum and maximum.
  function renderHeatmaps(layers) {
    const container = document.getElementById("flow-heatmaps");
    const withFlow = layers.filter(l => l.flow && l.flow.steps.length > 0);
    if (container.children.length !== withFlow.length) container.replaceChildren();
    withFlow.forEach((layer, i) => {
      let box = container.children[i];
      if (!box) {
        box = element("div", "heatmap", [element("h3"), element("canvas"),
          element("div", "axis", [element("span", "first"), element("span", "label"), element("span", "last")]),
          element("div", "legend", [element("span", "min"), element("span", "legend-bar"), element("span", "max")])]);
        container.appendChild(box);
      }
      drawHeatmap(box, layer);
    });
  }

  function element(tag, className, children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    (children || []).forEach(child => node.appendChild(child));
    return node;
  }

  function drawHeatmap(box, layer) {
    const flow = layer.flow;
    const rows = flow.steps.length, cols = flow.timesteps.length;
    box.id = "flow-layer-" + layer.layer;
    box.dataset.layer = layer.layer;
    box.dataset.steps = rows;
    box.dataset.timesteps = cols;
    box.querySelector("h3").textContent = "gradient flow, layer " + layer.layer + ": log10 ‖dL/dh_t‖, training step × timestep (T = " + flow.seqLen + ")";
    let min = Infinity, max = -Infinity;
    flow.log10Norms.forEach(row => row.forEach(v => { if (v !== null) { min = Math.min(min, v); max = Math.max(max, v); } }));
    const canvas = box.querySelector("canvas");
    canvas.width = WIDTH;
    canvas.height = HEIGHT;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#eee";
    ctx.fillRect(0, 0, WIDTH, HEIGHT);
    const cw = WIDTH / rows, ch = HEIGHT / cols;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = flow.log10Norms[r][c];
        if (v === null) continue;
        ctx.fillStyle = viridis(max > min ? (v - min) / (max - min) : 0.5);
        ctx.fillRect(Math.floor(r * cw), Math.floor((cols - 1 - c) * ch), Math.ceil(cw), Math.ceil(ch));
      }
    }
    box.querySelector(".first").textContent = "step " + flow.steps[0];
    box.querySelector(".label").textContent = "t = 0 at the bottom, t = " + (flow.seqLen - 1) + " at the top";
    box.querySelector(".last").textContent = "step " + flow.steps[rows - 1];
    box.querySelector(".min").textContent = isFinite(min) ? "1e" + min.toFixed(1) : "–";
    box.querySelector(".max").textContent = isFinite(max) ? "1e" + max.toFixed(1) : "–";
  }

  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  function viridis(x) {
    const at = Math.min(Math.max(x, 0), 1) * (VIRIDIS.length - 1);
    const i = Math.min(Math.floor(at), VIRIDIS.length - 2), f = at - i;
    const c = VIRIDIS[i].map((v, k) => Math.round(v + f * (VIRIDIS[i + 1][k] - v)));
    return "rgb(" + c.join(",") + ")";
  }

  // Log axes span many orders of magnitude: label them 1e-12 .. 1e+0, not rounded to 0.
  function exponents(u, values) {
    return values.map(v => v == null ? "" : v.toExponential(0));
  }

  function color(layer) {
    return ["#1b5fbf", "#b00020", "#1b7f3b", "#7b3fb3"][layer % 4];
  }

  async function getJson(path) {
    const response = await fetch(path, { cache: "no-store" });
    if (!response.ok) throw new Error(path + ": " + response.status);
    return response.json();
  }

  async function refresh() {
    try {
      const [runs, alerts] = await Promise.all([getJson("/api/runs"), getJson("/api/alerts/active")]);
      if (!selectedRun && runs.length) {
        const alerting = runs.find(r => r.activeAlerts.length > 0);
        selectedRun = (alerting || runs[0]).run;
      }
      document.getElementById("summary").textContent = runs.length + " runs, " + alerts.length + " active alerts";
      renderAlerts(alerts);
      renderRuns(runs);
      if (selectedRun) renderRun(await getJson("/api/runs/" + encodeURIComponent(selectedRun)));
    } catch (error) {
      document.getElementById("summary").textContent = "cannot reach alert-service: " + error.message;
    }
  }

  function wireControls() {
    document.querySelectorAll("#fleet th.sortable").forEach(th => th.addEventListener("click", () => {
      view.desc = view.sort === th.dataset.sort ? !view.desc : false;
      view.sort = th.dataset.sort;
      renderRuns(lastRuns);
    }));
    document.getElementById("filter-state").addEventListener("change", e => { view.state = e.target.value; renderRuns(lastRuns); });
    document.getElementById("filter-type").addEventListener("change", e => { view.type = e.target.value; renderRuns(lastRuns); });
    document.getElementById("filter-label").addEventListener("input", e => { view.label = e.target.value.trim(); renderRuns(lastRuns); });
  }

  wireControls();
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
