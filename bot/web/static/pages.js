/* paperdesk dashboard: one function per page; each returns the page's element built from the JSON API. */
"use strict";

PD.pages = {};
const el = PD.el;

PD.pages.overview = async function () {
  const [data, equity] = await Promise.all([PD.api("/api/overview"), PD.api("/api/equity")]);
  const s = data.status, ccy = s.base_currency;
  document.getElementById("synthetic").hidden = !data.synthetic;
  const next = Object.entries(data.next_runs).map(([job, at]) => job + ": " + PD.time(at)).join(" · ") || "no schedule (paperdesk web alone)";
  const view = el("section", {},
    el("h2", { text: "Overview" }),
    el("div", { class: "cards" },
      PD.card("Equity", PD.money(s.equity, ccy)), PD.card("Cash", PD.money(s.cash, ccy)),
      PD.card("Cash weight", PD.pct(s.cash_weight)),
      PD.card("Day P&L", PD.money(s.day_pnl, ccy), PD.sign(s.day_pnl)),
      PD.card("Total P&L", PD.money(s.total_pnl, ccy) + " (" + PD.pct(s.total_return, 2) + ")", PD.sign(s.total_pnl)),
      PD.card("Drawdown", PD.pct(s.drawdown, 2), s.drawdown > 0.05 ? "bad" : ""),
      PD.card("Trading state", s.trading_state, s.trading_state === "ACTIVE" ? "good" : "bad"),
      PD.card("Pending approvals", String(s.pending), s.pending ? "warn" : ""),
      PD.card("Positions", String(s.positions))),
    el("p", { class: "muted", text: "Next runs: " + next + " · last cycle " + PD.time(s.last_cycle_at) + " · data " + s.data_source }),
    el("h3", { text: "Equity against buy-and-hold benchmarks (" + ccy + ")" }),
    el("div", { class: "chart", id: "equity-chart" }),
    equity.missing.length ? el("p", { class: "muted", text: "Missing: " + equity.missing.join("; ") }) : null,
    el("h3", { text: "Drawdown from peak" }),
    el("div", { class: "chart small", id: "drawdown-chart" }),
    el("h3", { text: "Alerts" }),
    data.alerts.length ? PD.table([
      { label: "at", get: (a) => PD.time(a.at) }, { label: "severity", get: (a) => a.severity,
        cls: (a) => a.severity === "critical" ? "bad" : a.severity === "warning" ? "warn" : "" },
      { label: "kind", get: (a) => a.kind }, { label: "message", get: (a) => a.message }], data.alerts)
      : el("p", { class: "muted", text: "No alerts." }));
  view.afterMount = () => {
    PD.chart(document.getElementById("equity-chart"), equity.lines);
    PD.chart(document.getElementById("drawdown-chart"), { drawdown: equity.drawdown }, { area: true, percent: true });
  };
  return view;
};

PD.pages.positions = async function () {
  const [rows, status] = await Promise.all([PD.api("/api/positions"), PD.api("/api/overview")]);
  const ccy = status.status.base_currency;
  return el("section", {}, el("h2", { text: "Positions" }), rows.length ? PD.table([
    { label: "symbol", get: (p) => p.symbol }, { label: "quantity", num: true, get: (p) => PD.num(p.quantity) },
    { label: "avg price", num: true, get: (p) => PD.money(p.avg_price, p.currency) },
    { label: "price", num: true, get: (p) => PD.money(p.market_price, p.currency) },
    { label: "stop", num: true, get: (p) => p.stop_price === null ? "—" : PD.money(p.stop_price, p.currency) },
    { label: "value " + ccy, num: true, get: (p) => PD.money(p.market_value_base) },
    { label: "weight", num: true, get: (p) => PD.pct(p.weight) },
    { label: "P&L " + ccy, num: true, get: (p) => PD.money(p.unrealized_pnl_base), cls: (p) => PD.sign(p.unrealized_pnl_base) },
    { label: "P&L %", num: true, get: (p) => PD.pct(p.unrealized_pnl_pct, 2), cls: (p) => PD.sign(p.unrealized_pnl_pct) },
  ], rows) : el("p", { class: "muted", text: "No open positions." }));
};

function proposalFacts(p) {
  return el("div", { class: "facts" },
    el("span", { text: p.side.toUpperCase() + " " + PD.num(p.quantity) + " " + p.symbol + " @ " + PD.money(p.price, p.currency) }),
    el("span", { text: "notional " + PD.money(p.notional_base) }),
    el("span", { text: "weight " + PD.pct(p.weight_before) + " → " + PD.pct(p.target_weight) }),
    el("span", { text: "confidence " + PD.pct(p.confidence, 0) }),
    el("span", { text: "verdict " + (p.level || "—") }),
    el("span", { text: "expires " + PD.time(p.expires_at) }));
}

async function decide(p, action, box) {
  const message = box.querySelector(".message") || el("div", { class: "message" });
  box.dataset.busy = "1";
  for (const b of box.querySelectorAll("button")) b.disabled = true;
  try {
    const body = action === "reject" ? JSON.stringify({ reason: box.querySelector("input").value || null }) : undefined;
    const result = await PD.api("/api/proposals/" + encodeURIComponent(p.id) + "/" + action, { method: "POST", body });
    message.textContent = result.message; message.className = "message good";
  } catch (error) {
    message.textContent = error.message; message.className = "message bad";
  }
  box.append(message);
  delete box.dataset.busy;
  setTimeout(PD.refresh, 4000);
}

PD.pages.pending = async function () {
  const items = await PD.api("/api/pending");
  const approver = PD.session.role === "approver";
  return el("section", {}, el("h2", { text: "Pending approvals" }),
    approver ? null : el("p", { class: "muted", text: "View-only: you can read, not act." }),
    items.length ? items.map((p) => {
      const box = el("div", { class: "proposal", "data-id": p.id },
        el("h3", { text: p.symbol + " · " + p.id }), proposalFacts(p),
        p.clamp ? el("p", { text: "Clamp: " + p.clamp }) : null,
        el("p", { text: "Risk: " + (p.hits.join("; ") || "none") }),
        el("p", { class: "muted", text: p.thesis }));
      if (approver) {
        box.append(el("div", { class: "actions" },
          el("button", { class: "approve", type: "button", text: "Approve", onclick: () => decide(p, "approve", box) }),
          el("input", { type: "text", placeholder: "reason (for a rejection)", maxlength: "500" }),
          el("button", { class: "reject", type: "button", text: "Reject", onclick: () => decide(p, "reject", box) })));
      }
      return box;
    }) : el("p", { class: "muted", text: "Nothing awaits approval." }));
};

function section(title, ...content) { return [el("h3", { text: title }), ...content]; }

function storyView(story) {
  if (story.kind === "cycle") {
    return el("div", { class: "story" }, el("h2", { text: "Cycle " + story.cycle.id }),
      el("p", { text: story.cycle.market_view || "" }),
      PD.table([{ label: "proposal", get: (b) => b.id }, { label: "symbol", get: (b) => b.symbol },
        { label: "side", get: (b) => b.side }, { label: "verdict", get: (b) => b.level }, { label: "status", get: (b) => b.status }],
      story.proposals, (b) => openStory(b.id)));
  }
  const r = story.reasoning, c = story.cycle;
  return el("div", { class: "story", id: "story" },
    el("h2", { text: story.symbol + " · " + story.id + " · " + story.status }),
    section("Cycle", el("p", { text: c.id + " as of " + c.as_of + " · " + c.data_source + " · policy " + c.policy +
      (c.regime ? " · regime " + c.regime : "") }), c.market_view ? el("p", { text: c.market_view }) : null),
    section("Reasoning", el("p", { text: r.thesis }), el("p", { class: "muted", text: "confidence " + PD.pct(r.confidence, 0) +
      " · upside " + PD.pct(r.expected_upside_pct) + " · worst case " + PD.pct(r.worst_case_loss_pct) +
      " · horizon " + (r.time_horizon_days || "—") + " days · stop " + PD.pct(r.stop_loss_pct) })),
    section("Sizing", el("p", { text: story.sizing.side + " " + PD.num(story.sizing.quantity) + " at " +
      PD.money(story.sizing.price, story.sizing.currency) + " · weight " + PD.pct(story.sizing.weight_before) + " → " +
      PD.pct(story.sizing.target_weight) + " · notional " + PD.money(story.sizing.notional_base, story.sizing.base_currency) })),
    section("Verdicts", story.verdicts.map((v) => el("div", {},
      el("p", { text: v.stage + ": " + v.level + " at " + PD.time(v.at) + (v.clamp && v.clamp.text ? " · clamp: " + v.clamp.text : "") }),
      el("ul", {}, v.hits.map((h) => el("li", { text: h.code + " " + JSON.stringify(h.detail) })))))),
    section("Transitions", PD.table([{ label: "at", get: (t) => PD.time(t.at) }, { label: "actor", get: (t) => t.actor },
      { label: "from", get: (t) => t.from_status }, { label: "to", get: (t) => t.to_status }, { label: "note", get: (t) => t.note }],
    story.transitions)),
    section("Human", el("p", { text: story.decided_by ? story.decided_by + (story.decision_reason ? ": " + story.decision_reason : "") : "no human decision" })),
    section("Orders and fills", story.orders.length ? story.orders.map((o) => el("p", { text: o.id + " " + o.side + " " +
      PD.num(o.filled_quantity) + "/" + PD.num(o.quantity) + " " + o.status + " at " + PD.num(o.filled_avg_price) +
      (o.reject_reason ? " · " + o.reject_reason : "") })) : el("p", { class: "muted", text: "no order" })),
    section("Outcome", el("p", { text: story.outcome.note })),
    section("Model calls", story.llm_calls.length ? story.llm_calls.map((call) => el("details", {},
      el("summary", { text: call.purpose + " · " + call.model + " · " + call.outcome + " · " + call.prompt_tokens + "/" + call.completion_tokens + " tokens" }),
      el("pre", { text: call.messages.map((m) => "[" + m.role + "]\n" + m.content).join("\n\n") }),
      el("pre", { text: call.raw_answer || call.error || "" })))
      : el("p", { class: "muted", text: "no model call (rules policy: its reasons are the thesis above)" })));
}

async function openStory(id) {
  const holder = document.getElementById("story-holder");
  try {
    holder.replaceChildren(storyView(await PD.api("/api/explain/" + encodeURIComponent(id))));
  } catch (error) {
    holder.replaceChildren(el("p", { class: "message bad", text: error.message }));
  }
  holder.scrollIntoView({ behavior: "smooth" });
}

PD.pages.decisions = async function () {
  const params = new URLSearchParams(window.location.search);
  const query = new URLSearchParams();
  for (const key of ["symbol", "verdict", "actor"]) if (params.get(key)) query.set(key, params.get(key));
  query.set("limit", "50");
  const rows = await PD.api("/api/decisions?" + query.toString());
  const form = el("form", { class: "filters", method: "get", action: "/decisions" },
    el("input", { name: "symbol", placeholder: "symbol", value: params.get("symbol") || "" }),
    el("select", { name: "verdict" }, ["", "SAFE", "BORDERLINE", "UNSAFE"].map((v) =>
      el("option", { value: v, text: v || "any verdict", selected: params.get("verdict") === v }))),
    el("input", { name: "actor", placeholder: "actor (e.g. web: or human:)", value: params.get("actor") || "" }),
    el("button", { type: "submit", text: "Filter" }));
  const view = el("section", {}, el("h2", { text: "Decision log" }), form,
    PD.table([{ label: "created", get: (d) => PD.time(d.created_at) }, { label: "cycle", get: (d) => d.cycle_id },
      { label: "proposal", get: (d) => d.proposal.id }, { label: "symbol", get: (d) => d.proposal.symbol },
      { label: "side", get: (d) => d.proposal.side }, { label: "qty", num: true, get: (d) => PD.num(d.proposal.quantity) },
      { label: "verdict", get: (d) => d.proposal.level }, { label: "status", get: (d) => d.proposal.status },
      { label: "by", get: (d) => d.decided_by }, { label: "codes", get: (d) => d.proposal.codes.join(", ") }],
    rows, (d) => openStory(d.proposal.id)),
    el("div", { id: "story-holder" }));
  return view;
};
PD.pages.decisions.poll = false;

PD.pages.risk = async function () {
  const data = await PD.api("/api/risk");
  return el("section", {}, el("h2", { text: "Risk usage · trading state " + data.trading_state }),
    PD.table([{ label: "limit", get: (l) => l.name }, { label: "value", num: true, get: (l) => Number(l.value).toFixed(4) },
      { label: "limit", num: true, get: (l) => Number(l.limit).toFixed(4) },
      { label: "used", num: true, get: (l) => PD.pct(l.used, 0), cls: (l) => l.used >= 1 ? "bad" : l.used >= 0.8 ? "warn" : "good" },
      { label: "", get: (l) => el("meter", { min: "0", max: "1", low: "0.8", high: "0.95", optimum: "0", value: String(Math.min(l.used, 1)) }) },
      { label: "detail", get: (l) => l.detail }], data.limits));
};

PD.pages.sleeves = async function () {
  const data = await PD.api("/api/sleeves");
  if (data.view === null) {
    return el("section", {}, el("h2", { text: "Sleeves" }), el("p", { class: "muted", text: data.message }));
  }
  const v = data.view, figures = Object.fromEntries(v.document.figures.map((f) => [f.sleeve, f]));
  const fig = (s, key, digits) => figures[s.name] === undefined ? "—" : PD.pct(figures[s.name][key], digits);
  const when = v.allocated_on === null ? "no allocation yet" : "allocated on " + v.allocated_on + " (" + v.regime + " regime)";
  const view = el("section", {}, el("h2", { text: "Sleeves · " + when + " · cash " + PD.pct(v.cash, 1) }),
    PD.table([{ label: "sleeve", get: (s) => s.name }, { label: "policy", get: (s) => s.policy },
      { label: "range", get: (s) => PD.pct(s.min_weight, 0) + "–" + PD.pct(s.max_weight, 0) },
      { label: "budget", num: true, get: (s) => PD.pct(s.budget, 1) }, { label: "held", num: true, get: (s) => PD.pct(s.weight, 1) },
      { label: "return", num: true, get: (s) => fig(s, "total_return", 1) },
      { label: "contribution", num: true, get: (s) => fig(s, "contribution", 2) },
      { label: "allocation", num: true, get: (s) => fig(s, "allocation_effect", 2) },
      { label: "selection", num: true, get: (s) => fig(s, "selection_effect", 2) },
      { label: "why its budget", get: (s) => s.reason || "" }], v.lines),
    el("h3", { text: "Budgets over time (stacked, share of equity)" }),
    el("div", { class: "chart", id: "sleeves-chart" }));
  view.afterMount = () => {
    // The widest band first, so each narrower one is drawn over it: stacked areas.
    const bands = Object.fromEntries(Object.entries(data.stacked).reverse());
    PD.chart(document.getElementById("sleeves-chart"), bands, { area: true, percent: true });
  };
  return view;
};

PD.pages.llm = async function () {
  const data = await PD.api("/api/llm/calls");
  const budget = data.budget_usd === null ? "no budget set" : "of " + PD.money(data.budget_usd, "USD");
  return el("section", {}, el("h2", { text: "LLM calls" }),
    el("div", { class: "cards" }, PD.card("Spent this month", PD.money(data.month_spend_usd, "USD") + " " + budget)),
    data.calls.length ? PD.table([{ label: "id", get: (c) => c.id }, { label: "at", get: (c) => PD.time(c.at) },
      { label: "cycle", get: (c) => c.cycle_id }, { label: "model", get: (c) => c.model }, { label: "mode", get: (c) => c.output_mode },
      { label: "outcome", get: (c) => c.outcome }, { label: "tokens in/out", num: true, get: (c) => c.prompt_tokens + "/" + c.completion_tokens },
      { label: "cost USD", num: true, get: (c) => c.cost_usd }, { label: "ms", num: true, get: (c) => Math.round(c.latency_ms) },
      { label: "why", get: (c) => c.error || c.validation_errors.slice(0, 2).join("; ") }], data.calls)
      : el("p", { class: "muted", text: "No LLM calls recorded (the rules policy makes none)." }));
};

async function openRun(run) {
  const holder = document.getElementById("run-holder");
  const detail = await PD.api("/api/backtests/" + encodeURIComponent(run.id));
  const chart = el("div", { class: "chart", id: "run-chart" });
  PD.dropCharts();
  holder.replaceChildren(el("h3", { text: "Run " + run.id + " equity" }), chart);
  PD.chart(chart, { [run.id]: detail.equity });
}

PD.pages.backtests = async function () {
  const runs = await PD.api("/api/backtests");
  const metric = (r, key) => r.metrics[key] === undefined ? "—" : PD.pct(r.metrics[key], 1);
  return el("section", {}, el("h2", { text: "Backtest runs" }),
    runs.length ? PD.table([{ label: "run", get: (r) => r.id }, { label: "period", get: (r) => r.start + " → " + r.end },
      { label: "policy", get: (r) => r.policy }, { label: "data", get: (r) => r.data_source },
      { label: "return", num: true, get: (r) => metric(r, "total_return") }, { label: "CAGR", num: true, get: (r) => metric(r, "cagr") },
      { label: "max DD", num: true, get: (r) => metric(r, "max_drawdown") },
      { label: "Sharpe", num: true, get: (r) => r.metrics.sharpe === undefined ? "—" : Number(r.metrics.sharpe).toFixed(2) }],
    runs, openRun) : el("p", { class: "muted", text: "No backtest runs stored: `paperdesk backtest` stores each run." }),
    el("div", { id: "run-holder" }));
};
PD.pages.backtests.poll = false;
