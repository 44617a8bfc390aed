/* paperdesk dashboard: DOM helpers, the API client and charts. Text is always set with textContent. */
"use strict";

const PD = {};

PD.el = function (tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

PD.session = null;

PD.api = async function (path, options) {
  const init = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
  if (init.method === "POST") {
    init.headers["X-CSRF-Token"] = PD.session ? PD.session.csrf : "";
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  if (response.status === 401) { window.location.reload(); throw new Error("not logged in"); }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || response.statusText);
  return body;
};

PD.money = (v, ccy) => v === null || v === undefined ? "—" :
  Number(v).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + (ccy ? " " + ccy : "");
PD.pct = (v, digits) => v === null || v === undefined ? "—" : (Number(v) * 100).toFixed(digits === undefined ? 1 : digits) + "%";
PD.num = (v) => v === null || v === undefined ? "—" : String(Number(v));
PD.time = (v) => v ? new Date(v).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "—";
PD.sign = (v) => v === null || v === undefined ? "" : (Number(v) >= 0 ? "good" : "bad");

PD.table = function (columns, rows, onClick) {
  const head = PD.el("tr", {}, columns.map((c) => PD.el("th", { class: c.num ? "num" : "", text: c.label })));
  const body = rows.map((row) => PD.el("tr", { class: onClick ? "clickable" : "", onclick: onClick ? () => onClick(row) : null },
    columns.map((c) => {
      const value = c.get(row);
      const cell = PD.el("td", { class: (c.num ? "num " : "") + (c.cls ? c.cls(row) : "") });
      cell.append(value instanceof Node ? value : document.createTextNode(value === null || value === undefined ? "—" : String(value)));
      return cell;
    })));
  return PD.el("table", {}, PD.el("thead", {}, head), PD.el("tbody", {}, body));
};

PD.card = (label, value, cls) => PD.el("div", { class: "card" }, PD.el("div", { class: "label", text: label }),
  PD.el("div", { class: "value " + (cls || ""), text: value }));

PD.COLORS = ["#2962ff", "#ef6c00", "#8e24aa", "#00897b", "#c62828", "#6d4c41"];

PD.charts = [];
PD.dropCharts = function () { for (const c of PD.charts) c.remove(); PD.charts = []; };

PD.chart = function (container, lines, options) {
  const dark = document.documentElement.dataset.theme === "dark";
  const chart = LightweightCharts.createChart(container, {
    autoSize: true,
    layout: { background: { color: "transparent" }, textColor: dark ? "#e6e6e6" : "#1d1d1f" },
    grid: { vertLines: { color: dark ? "#2e2f33" : "#eeeeee" }, horzLines: { color: dark ? "#2e2f33" : "#eeeeee" } },
    rightPriceScale: { borderVisible: false }, timeScale: { borderVisible: false },
  });
  const legend = PD.el("div", { class: "legend" });
  Object.entries(lines).forEach(([name, points], i) => {
    const color = PD.COLORS[i % PD.COLORS.length];
    const series = options && options.area
      ? chart.addAreaSeries({ lineColor: color, topColor: color + "00", bottomColor: color + "55", lineWidth: 2 })
      : chart.addLineSeries({ color: color, lineWidth: i === 0 ? 3 : 2 });
    series.setData(points.map((p) => ({ time: p.time, value: p.value })));
    if (options && options.percent) {
      series.applyOptions({ priceFormat: { type: "custom", minMove: 0.0001, formatter: (v) => (v * 100).toFixed(2) + "%" } });
    }
    const swatch = PD.el("i"); swatch.style.background = color;
    legend.append(PD.el("span", {}, swatch, name));
  });
  chart.timeScale().fitContent();
  PD.charts.push(chart);
  container.after(legend);
  return chart;
};
