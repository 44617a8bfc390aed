"""Terminal rendering of desk results with rich; the desk returns data, this only draws it."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot import formats
from bot.desk.results import (
    CycleReport,
    DecisionResult,
    PnlView,
    PositionLine,
    ProposalLine,
    StateChange,
    StatusView,
)

LEVEL_STYLE = {"SAFE": "green", "BORDERLINE": "yellow", "UNSAFE": "red"}


_num, _qty, _signed = formats.amount, formats.quantity, formats.signed


def _fate(line: ProposalLine) -> str:
    if line.status == "FILLED" and line.fill_price is not None:
        return f"filled {_qty(line.fill_quantity)} @ {line.fill_price:,.4f}"
    return line.status


def proposals_table(lines: Sequence[ProposalLine], title: str = "Proposals") -> Table:
    """One row per proposal: action, weights, size, verdict and fate."""
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in ("id", "symbol", "action", "weight now → target", "order", "verdict", "conf", "codes", "status"):
        table.add_column(column)
    for line in lines:
        level = line.level or ""
        order = f"{_qty(line.quantity)} @ {_num(line.price, 2)} {line.currency or ''}".strip()
        table.add_row(line.id, line.symbol, line.side.upper(), f"{line.weight_before:.1%} → {line.target_weight:.1%}",
                      order, f"[{LEVEL_STYLE.get(level, 'white')}]{level}[/]", f"{line.confidence:.2f}",
                      ", ".join(line.codes) or "—", _fate(line))
    return table


def cycle(console: Console, report: CycleReport) -> None:
    """The summary of one decision cycle."""
    synthetic = " [bold magenta]SYNTHETIC DATA — not real prices[/]" if report.synthetic else ""
    console.print(f"[bold]paperdesk cycle {report.cycle_id}[/]  as of {report.as_of}  data: {report.data_source}"
                  f"{synthetic}")
    inputs = ", ".join(f"{k}={v}" for k, v in report.regime_inputs.items())
    console.print(f"policy: {report.policy}   regime: [bold]{report.regime}[/] ({inputs})   "
                  f"trading state: {report.trading_state}")
    if report.status == "abstained":
        console.print(f"[bold red]ABSTAINED — {escape(report.market_view)}[/]", soft_wrap=True)
        console.print("nothing was sized, classified or submitted; see `paperdesk llm calls` for the model's answers")
        _cycle_sections(console, report)
        return
    console.print(f"market view: {report.market_view}", soft_wrap=True, markup=False)
    if report.proposals:
        console.print(proposals_table(report.proposals))
        if report.policy == "llm":
            for p in report.proposals:
                console.print(f"  {p.id} {p.symbol} thesis (confidence {p.confidence:.2f}): {p.thesis}",
                              soft_wrap=True, markup=False)
    else:
        console.print("no orders proposed: the portfolio is already where the policy wants it")
    _cycle_sections(console, report)
    console.print(f"equity {report.base_currency} {_num(report.equity_before)} → {_num(report.equity_after)} "
                  f"(cash {_num(report.cash_after)})   elapsed {report.elapsed_seconds:.2f} s")


def _cycle_sections(console: Console, report: CycleReport) -> None:
    filled = [p for p in report.proposals if p.status == "FILLED"]
    waiting = [p for p in report.proposals if p.status == "AWAITING_APPROVAL"]
    rejected = [p for p in report.proposals if p.status in {"REJECTED_BY_RISK", "BROKER_REJECTED"}]
    for p in filled:
        console.print(f"[green]filled[/]   {p.id} {p.side.upper()} {_qty(p.fill_quantity)} {p.symbol} "
                      f"@ {_num(p.fill_price, 4)} {p.currency or ''}")
    for p in waiting:
        clamp = f"; {p.clamp}" if p.clamp else ""
        console.print(f"[yellow]awaiting approval[/] {p.id} {p.side.upper()} {_qty(p.quantity)} {p.symbol}: "
                      f"{'; '.join(p.hits) or p.level}{clamp} → `paperdesk approve {p.id}` or "
                      f"`paperdesk reject {p.id} --reason ...`", soft_wrap=True)
    for p in rejected:
        why = "; ".join(p.hits) if p.status == "REJECTED_BY_RISK" else (p.note or "")
        console.print(f"[red]rejected[/] {p.id} {p.side.upper()} {p.symbol} ({p.status}): {why}")
    for s in report.skipped:
        console.print(f"[dim]skipped {escape(s.symbol)}: {escape(s.reason)}[/]")
    if report.holds:
        console.print(f"[dim]hold: {', '.join(report.holds)}[/]")
    for alert in report.alerts:
        console.print(f"[bold red]alert:[/] {escape(alert)}")


def status(console: Console, view: StatusView) -> None:
    """The portfolio at a glance."""
    ccy = view.base_currency
    console.print(f"equity {ccy} {_num(view.equity)}   cash {_num(view.cash)} ({view.cash_weight:.1%})   "
                  f"positions {_num(view.positions_value)} in {view.positions}")
    console.print(f"day P&L {_signed(view.day_pnl)}   total P&L {_signed(view.total_pnl)} ({view.total_return:+.2%})"
                  f"   drawdown {view.drawdown:.2%}")
    reason = f" ({view.state_reason})" if view.state_reason and view.state_reason != "default" else ""
    console.print(f"trading state: [bold]{view.trading_state}[/]{reason}   pending approvals: {view.pending}")
    last = f"{view.last_cycle_as_of} (run {view.last_cycle_at:%Y-%m-%d %H:%M} UTC)" if view.last_cycle_at else "never"
    console.print(f"last cycle: {last}   data: {view.data_source}")


def positions(console: Console, lines: Sequence[PositionLine], base_currency: str = "EUR") -> None:
    """Open positions."""
    if not lines:
        console.print("no open positions")
        return
    table = Table(title="Positions", title_justify="left")
    for column in ("symbol", "quantity", "avg price", "price", "ccy", f"value {base_currency}", "weight", "P&L",
                   "P&L %"):
        table.add_column(column, justify="right" if column not in {"symbol", "ccy"} else "left")
    for p in lines:
        table.add_row(p.symbol, _qty(p.quantity), _num(p.avg_price, 4), _num(p.market_price, 4), p.currency,
                      _num(p.market_value_base), f"{p.weight:.1%}", _signed(p.unrealized_pnl_base),
                      f"{p.unrealized_pnl_pct:+.2%}")
    console.print(table)


def pnl(console: Console, view: PnlView) -> None:
    """P&L summary and the recent equity series."""
    ccy = view.base_currency
    console.print(f"start {ccy} {_num(view.start_equity)} → now {_num(view.equity)}: {_signed(view.total_pnl)} "
                  f"({view.total_return:+.2%}), day {_signed(view.day_pnl)}")
    console.print(f"unrealised {_signed(view.unrealized_pnl)}   realised incl. costs {_signed(view.realized_pnl)}   "
                  f"commissions {_num(view.commissions)}   max drawdown {view.max_drawdown:.2%}")
    table = Table(title="Equity (last 10 snapshots)", title_justify="left")
    table.add_column("at")
    table.add_column("as of")
    table.add_column(f"equity {ccy}", justify="right")
    for point in view.series[-10:]:
        table.add_row(f"{point.at:%Y-%m-%d %H:%M}", str(point.as_of), _num(point.equity))
    console.print(table)


def pending(console: Console, lines: Sequence[ProposalLine]) -> None:
    """Proposals awaiting approval."""
    if not lines:
        console.print("nothing awaits approval")
        return
    console.print(proposals_table(lines, title="Awaiting approval"))
    for p in lines:
        expires = f"{p.expires_at:%Y-%m-%d %H:%M} UTC" if p.expires_at else "never"
        clamp = f" | {p.clamp}" if p.clamp else ""
        console.print(f"{p.id}: {'; '.join(p.hits)}{clamp} | confidence {p.confidence:.2f} | expires {expires}")
        console.print(f"  thesis: {p.thesis}")


def decision(console: Console, result: DecisionResult) -> None:
    """The outcome of approve / reject."""
    console.print(result.message)


def state_change(console: Console, change: StateChange) -> None:
    """A halt or resume."""
    why = f": {change.reason}" if change.reason else ""
    console.print(f"trading state {change.previous} → [bold]{change.state}[/] by {change.actor}{why}")
