// The gradwatch live dashboard: polls alert-service's JSON API every 2 s and draws with uPlot.
(function () {
  "use strict";
  const REFRESH_MS = 2000;
  // ?run=ID selects a run; otherwise the first run with an alert, else the first run.
  let selectedRun = new URLSearchParams(window.location.search).get("run");
  let profilePlot = null;
  let historyPlot = null;

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

  function renderRuns(runs) {
    const body = document.getElementById("runs");
    body.replaceChildren();
    for (const run of runs) {
      const row = body.insertRow();
      row.className = "run" + (run.run === selectedRun ? " selected" : "");
      row.dataset.run = run.run;
      row.addEventListener("click", () => { selectedRun = run.run; refresh(); });
      cell(row, run.run);
      cell(row, text(run.step, 0));
      cell(row, text(run.loss, 4));
      cell(row, text(run.accuracy, 2));
      const types = run.activeAlerts.map(a => a.type + "@L" + a.layer);
      cell(row, types.length ? types.join(", ") : "healthy", types.length ? "warning" : "healthy");
    }
  }

  function renderRun(detail) {
    document.getElementById("run-title").textContent = "Run " + detail.run +
      (detail.progress ? " — step " + detail.progress.step : "");
    const layers = detail.layers;
    if (layers.length === 0) return;
    const steps = layers[0].timestepNorms.map((_, t) => t);
    const profileData = [steps].concat(layers.map(l => l.timestepNorms.map(positive)));
    const profileSeries = [{ label: "t" }].concat(layers.map(l => ({ label: "layer " + l.layer, stroke: color(l.layer) })));
    if (!profilePlot || profilePlot.series.length !== profileSeries.length) {
      if (profilePlot) profilePlot.destroy();
      profilePlot = new uPlot({ width: 520, height: 260, series: profileSeries,
        scales: { x: { time: false }, y: { distr: 3 } }, axes: [{}, { values: exponents, size: 60 }] },
        profileData, document.getElementById("profile-chart"));
    } else {
      profilePlot.setData(profileData);
    }
    const history = layers[0].history || [];
    const historyData = [history.map(p => p.step), history.map(p => positive(p.decayRatio)), history.map(p => p.horizon)];
    if (!historyPlot) {
      historyPlot = new uPlot({
        width: 520, height: 260,
        series: [{ label: "step" }, { label: "decay ratio", stroke: "#b00020", scale: "decay" }, { label: "horizon", stroke: "#1b5fbf", scale: "horizon" }],
        scales: { x: { time: false }, decay: { distr: 3 }, horizon: {} },
        axes: [{}, { scale: "decay", values: exponents, size: 60 }, { scale: "horizon", side: 1 }]
      }, historyData, document.getElementById("history-chart"));
    } else {
      historyPlot.setData(historyData);
    }
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

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
