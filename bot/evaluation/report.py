"""The performance report of the live portfolio: text summary plus PNG charts, transport-agnostic.

``build_report(desk, week=False)`` reads the stored equity snapshots, proposals and fills, loads
the benchmark prices over the same dates, and writes into PAPERDESK_HOME/reports/<as-of date>/
(``summary.txt``, ``equity.png``, ``drawdown.png``, ``calibration.png``). It returns a ``Report``
(text + chart paths) that the CLI prints and a Telegram job can send as a message and photos.

Policy: the figures are per trading day, as a backtest's are: the snapshots (one per cycle, so
several on some days and none on others) become one equity per business day by
``bot.evaluation.metrics.daily_equity`` (each day's last snapshot by its as-of date, carried
forward over days without one), then ``summarize``, the function every backtest uses. The
report is as of the portfolio's date, ``Desk.portfolio_date`` (``--as-of``, else its latest
cycle's or snapshot's as-of date; not the wall clock: a desk replayed on CSV data lives in the
past): it names the report and its folder and ends the period, which is since the first
snapshot or, with ``week``, the 7 days before; snapshots after it are left out. Performance is
measured against SPY, the CAC 40 and the equal-weight universe over the same dates, in the base currency; then
decision quality (``bot.evaluation.decisions``). A fresh home (no snapshot yet) gives a
one-paragraph report saying nothing has been traded, and no charts. A benchmark whose data
cannot be loaded is left out and named in the text. A desk divided into sleeves adds the per-sleeve
attribution of the period (``bot.evaluation.attribution``) and a stacked chart of the sleeves'
budgets (``allocation.png``).

Failure contract: database errors propagate; market-data errors for benchmarks are reported in
the text, not raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from agent.market.base import MarketDataError, PriceHistory
from bot.desk import formats
from bot.evaluation import benchmarks as bench
from bot.evaluation import charts, decisions
from bot.evaluation.attribution import budget_frame, sleeve_document, sleeve_lines
from bot.evaluation.metrics import as_json, business_days_of, daily_equity, summarize

if TYPE_CHECKING:
    from bot.desk.desk import Desk

HISTORY_ROWS = 5000
KEYS = ("total_return", "cagr", "annual_volatility", "sharpe", "sortino", "max_drawdown", "hit_rate", "cvar_95")


@dataclass(frozen=True)
class Report:
    """A finished report: what to print or send."""

    title: str
    text: str
    charts: list[Path] = field(default_factory=list)
    directory: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)


def build_report(desk: Desk, home: Path, *, week: bool = False) -> Report:
    """The report of the live portfolio (since the start, or its last 7 days)."""
    as_of = desk.portfolio_date()
    recorded = equity_snapshots(desk, as_of)
    history = daily_equity(recorded)
    title = f"paperdesk {'weekly ' if week else ''}report, {as_of}"
    title += " — SYNTHETIC DATA, not real prices" if desk.market.provider.synthetic else ""
    equity = history[history.index >= pd.Timestamp(as_of - timedelta(days=7))] if week else history
    if len(equity) < 2:
        text = (f"{title}\nNothing to measure yet: {len(equity)} trading day(s) with an equity snapshot in this "
                "period. Run `paperdesk cycle` on a few days first.\n")
        return Report(title=title, text=text)
    dates = [d.date() for d in equity.index]
    series, missing = benchmark_curves(desk, dates, float(equity.iloc[0]))
    quality = _decision_quality(desk, dates, as_of)
    data = {"period": [str(dates[0]), str(dates[-1])], "metrics": as_json(summarize(equity)),
            "benchmarks": {name: as_json(summarize(s)) for name, s in series.items()}, "missing_benchmarks": missing,
            "decision_quality": quality, "sparse": _sparse(recorded, pd.DatetimeIndex(equity.index))}
    directory = home / "reports" / as_of.isoformat()
    directory.mkdir(parents=True, exist_ok=True)
    paths = [charts.equity_chart(directory / "equity.png", equity, series, title, desk.universe.base_currency),
             charts.drawdown_chart(directory / "drawdown.png", equity, "drawdown"),
             charts.calibration_chart(directory / "calibration.png", quality["calibration"]["table"], "calibration")]
    text = render_text(title, data)
    if desk.sleeves is not None and (days := [d for d in desk.sleeves.log.days() if d.as_of >= dates[0]]):
        equity_by_day = {stamp.date(): float(value) for stamp, value in zip(recorded.index, recorded, strict=True)}
        sleeves = sleeve_document(days, desk.sleeves.log.allocations(), equity_by_day)
        data["sleeves"] = sleeves
        text += "\n" + "\n".join(sleeve_lines(sleeves)) + "\n"
        paths.append(charts.allocation_chart(directory / "allocation.png", budget_frame(days), "sleeve budgets"))
    (directory / "summary.txt").write_text(text, encoding="utf-8")
    return Report(title=title, text=text, charts=paths, directory=directory, data=data)


def _sparse(recorded: pd.Series, days: pd.DatetimeIndex) -> str | None:
    """A caveat when many trading days of the period have no snapshot of their own (they were carried)."""
    own = len(days.intersection(business_days_of(recorded.index).unique()))
    if own >= 0.8 * len(days):
        return None
    return (f"{own} of {len(days)} trading days have an equity snapshot; the others carry the day before's "
            "equity (a flat day), which understates volatility (run a cycle every trading day for exact figures)")


def equity_snapshots(desk: Desk, as_of: date) -> pd.Series:
    """Every stored equity snapshot up to ``as_of`` by its as-of date, in the order they were taken."""
    rows = [row for row in desk.store.equity_history() if row.as_of <= as_of]
    return pd.Series([float(row.equity) for row in rows], index=pd.DatetimeIndex([row.as_of for row in rows]),
                     dtype=float)


def _load(desk: Desk, symbols: list[str], end: date) -> PriceHistory:
    instruments = [desk.universe.by_symbol[s] for s in symbols]
    return desk.market.provider.history(instruments, end, HISTORY_ROWS)


def benchmark_curves(desk: Desk, dates: list[date], initial: float) -> tuple[dict[str, pd.Series], list[str]]:
    """SPY and CAC 40 buy-and-hold and the equal-weight universe from ``initial`` over ``dates`` (the report's
    and the dashboard's curves), and a line for each that could not be priced."""
    series: dict[str, pd.Series] = {}
    missing: list[str] = []
    for symbol in (bench.SPY, bench.CAC):
        if symbol not in desk.universe.by_symbol:
            continue
        try:
            prices = bench.base_prices(_load(desk, [symbol], dates[-1]))[symbol]
        except MarketDataError as exc:
            missing.append(f"{bench.NAMES[symbol]}: {exc}")
            continue
        if (held := bench.buy_and_hold(prices, dates, initial)) is not None:
            series[bench.NAMES[symbol]] = held
    try:
        universe = bench.base_prices(_load(desk, list(desk.universe.symbols), dates[-1]))
    except MarketDataError as exc:
        missing.append(f"{bench.EQUAL_WEIGHT}: {exc}")
        return series, missing
    if (equal := bench.equal_weight(universe, dates, initial)) is not None:
        series[bench.EQUAL_WEIGHT] = equal
    return series, missing


def _decision_quality(desk: Desk, dates: list[date], as_of: date) -> dict[str, Any]:
    from storage.evaluation_store import EvaluationStore  # the desk's tables: not for a backtest's alpha line

    facts = EvaluationStore(desk.store.session)
    proposals = [p for p in facts.proposal_facts() if p.as_of is None or dates[0] <= p.as_of <= dates[-1]]
    try:
        closes = desk.market.provider.history(desk.universe.instruments, as_of, HISTORY_ROWS).close
    except MarketDataError:
        closes = pd.DataFrame()
    due, pending = decisions.outcomes(proposals, closes)
    fills = [(f.at.date(), f.symbol, f.side) for f in desk.store.fills() if dates[0] <= f.at.date() <= dates[-1]]
    executed = [o for o in due if o.facts.status in decisions.EXECUTED]
    return {"proposals": len(proposals), "not_due": pending, "thesis_vs_outcome": decisions.thesis_vs_outcome(due),
            "position_hit_rate": decisions.mean([1.0 if o.realised > 0 else 0.0 for o in executed]),
            "calibration": decisions.calibration(due), "regret": decisions.regret(due),
            "human": decisions.human_value(due),
            "behaviour": decisions.behaviour(proposals, fills, facts.risk_code_counts(), (dates[-1] - dates[0]).days)}


def render_text(title: str, data: dict[str, Any]) -> str:
    """The text summary of a report's data."""
    start, end = data["period"]
    lines = [title, f"period {start} → {end}"]
    names = ["portfolio", *data["benchmarks"]]
    rows = [data["metrics"], *data["benchmarks"].values()]
    lines.append(f"{'':<18}" + "".join(f"{n[:20]:>22}" for n in names))
    lines += [f"{key:<18}" + "".join(f"{formats.metric(key, r.get(key)):>22}" for r in rows) for key in KEYS]
    lines += [alpha_line(data["metrics"], name, figures) for name, figures in data["benchmarks"].items()]
    lines += [f"benchmark unavailable: {m}" for m in data["missing_benchmarks"]]
    if data.get("sparse"):
        lines.append(f"note: {data['sparse']}")
    q = data["decision_quality"]
    tvo, cal, human, beh = q["thesis_vs_outcome"], q["calibration"], q["human"], q["behaviour"]
    lines += [
        f"decisions: {q['proposals']} proposals, {tvo['due']} past their horizon ({q['not_due']} not yet); "
        f"reached upside {tvo['reached_upside']}, worse than worst case {tvo['worse_than_worst_case']}",
        f"calibration: Brier {formats.metric('brier', cal['brier'])}; "
        f"position hit rate {formats.metric('hit_rate', q['position_hit_rate'])}",
        "regret: " + ", ".join(f"{k.lower()} {v['count']} ({v['counterfactual_pnl']:+.2f})"
                               for k, v in q["regret"].items()),
        f"human: asked {human['asked']}, approved {human['approved']} (P&L {human['approved_pnl']:+.2f}), "
        f"stopped {human['stopped']} (value {human['human_value']:+.2f})",
        f"behaviour: {beh['trades']} trades ({beh['trades_per_week']}/week), mean holding "
        f"{formats.metric('holding_days_mean', beh['holding_days_mean'])} days, "
        f"override rate {formats.metric('override_rate', beh['override_rate'])}",
        "risk codes: " + (", ".join(f"{k} {v}" for k, v in list(beh["risk_codes"].items())[:8]) or "none"),
    ]
    return "\n".join(lines) + "\n"


def alpha_line(mine: dict[str, Any], name: str, theirs: dict[str, Any]) -> str:
    """One line: our total return against a benchmark's, saying plainly when we are behind."""
    ours, other = mine.get("total_return"), theirs.get("total_return")
    if ours is None or other is None:
        return f"vs {name}: not comparable"
    verdict = "BEHIND: negative alpha" if ours < other else "ahead" if ours > other else "level"
    points = (ours - other) * 100
    gap = f"{points:+.1f} points" if abs(points) >= 0.05 else "less than 0.1 points"  # never "-0.0 points"
    return f"vs {name}: total return {ours:.1%} against {other:.1%}, {gap} ({verdict})"

