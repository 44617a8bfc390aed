"""Terminal rendering of desk results with rich; the desk returns data, this only draws it.

Untrusted text (theses, reasons, market views, alerts, symbols from a universe file) is never read
as terminal markup: every line is a ``Text`` built by ``line`` / ``plain`` (styles are given as
values, never written into the text), control characters are shown escaped (no terminal escape
sequences, no hidden links) and secrets are redacted. The CLI's consoles come from
``make_console``, which reads no markup or emoji codes at all, so a string printed elsewhere is safe
too.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.desk import formats
from bot.desk.results import (
    CycleReport,
    DecisionResult,
    PnlView,
    PositionLine,
    ProposalLine,
    StateChange,
    StatusView,
)
from broker.redaction import Redactor

LEVEL_STYLE = {"SAFE": "green", "BORDERLINE": "yellow", "UNSAFE": "red"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_REDACT = Redactor()
Part = str | tuple[str, str]

_num, _qty, _signed = formats.amount, formats.quantity, formats.signed


def make_console() -> Console:
    """A console that reads no markup, emoji codes or highlighting from what it prints."""
    return Console(highlight=False, markup=False, emoji=False, width=None if sys.stdout.isatty() else 150)


def plain(value: object, style: str = "") -> Text:
    """Data as terminal text: literal, control characters escaped, secrets redacted."""
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    return Text(_REDACT.text(shown), style=style)


def line(*parts: Part) -> Text:
    """One line from plain strings and ``(text, style)`` pairs; nothing in them is read as markup."""
    text = Text()
    for part in parts:
        text.append_text(plain(*part) if isinstance(part, tuple) else plain(part))
    return text


def _row(table: Table, *cells: Part) -> None:
    table.add_row(*(plain(*c) if isinstance(c, tuple) else plain(c) for c in cells))


def _fate(p: ProposalLine) -> str:
    if p.status == "FILLED" and p.fill_price is not None:
        return f"filled {_qty(p.fill_quantity)} @ {p.fill_price:,.4f}"
    return p.status


def proposals_table(lines: Sequence[ProposalLine], title: str = "Proposals") -> Table:
    """One row per proposal: action, weights, size, verdict and fate."""
    table = Table(title=plain(title), title_justify="left", show_lines=False)
    for column in ("id", "symbol", "action", "weight now → target", "order", "verdict", "conf", "codes", "status"):
        table.add_column(column)
    for p in lines:
        level = p.level or ""
        order = f"{_qty(p.quantity)} @ {_num(p.price, 2)} {p.currency or ''}".strip()
        _row(table, p.id, p.symbol, p.side.upper(), f"{p.weight_before:.1%} → {p.target_weight:.1%}", order,
             (level, LEVEL_STYLE.get(level, "white")), f"{p.confidence:.2f}", ", ".join(p.codes) or "—", _fate(p))
    return table


def cycle(console: Console, report: CycleReport) -> None:
    """The summary of one decision cycle."""
    synthetic = ("  SYNTHETIC DATA — not real prices", "bold magenta") if report.synthetic else ""
    console.print(line((f"paperdesk cycle {report.cycle_id}", "bold"),
                       f"  as of {report.as_of}  data: {report.data_source}", synthetic))
    inputs = ", ".join(f"{k}={v}" for k, v in report.regime_inputs.items())
    console.print(line(f"policy: {report.policy}   regime: ", (report.regime, "bold"),
                       f" ({inputs})   trading state: {report.trading_state}"))
    if report.status == "abstained":
        console.print(line((f"ABSTAINED — {report.market_view}", "bold red")), soft_wrap=True)
        console.print("nothing was sized, classified or submitted; see `paperdesk llm calls` for the model's answers")
        _cycle_sections(console, report)
        return
    console.print(line(f"market view: {report.market_view}"), soft_wrap=True)
    if report.proposals:
        console.print(proposals_table(report.proposals))
        if report.policy == "llm":
            for p in report.proposals:
                console.print(line(f"  {p.id} {p.symbol} thesis (confidence {p.confidence:.2f}): {p.thesis}"),
                              soft_wrap=True)
    else:
        console.print("no orders proposed: the portfolio is already where the policy wants it")
    _cycle_sections(console, report)
    console.print(line(f"equity {report.base_currency} {_num(report.equity_before)} → {_num(report.equity_after)} "
                       f"(cash {_num(report.cash_after)})   elapsed {report.elapsed_seconds:.2f} s"))


def _cycle_sections(console: Console, report: CycleReport) -> None:
    filled = [p for p in report.proposals if p.status == "FILLED"]
    waiting = [p for p in report.proposals if p.status == "AWAITING_APPROVAL"]
    rejected = [p for p in report.proposals if p.status in {"REJECTED_BY_RISK", "BROKER_REJECTED"}]
    for p in filled:
        console.print(line(("filled", "green"), f"   {p.id} {p.side.upper()} {_qty(p.fill_quantity)} {p.symbol} "
                                                f"@ {_num(p.fill_price, 4)} {p.currency or ''}"))
    for p in waiting:
        clamp = f"; {p.clamp}" if p.clamp else ""
        console.print(line(("awaiting approval", "yellow"), f" {p.id} {p.side.upper()} {_qty(p.quantity)} {p.symbol}: "
                           f"{'; '.join(p.hits) or p.level}{clamp} → `paperdesk approve {p.id}` or "
                           f"`paperdesk reject {p.id} --reason ...`"), soft_wrap=True)
    for p in rejected:
        why = "; ".join(p.hits) if p.status == "REJECTED_BY_RISK" else (p.note or "")
        console.print(line(("rejected", "red"), f" {p.id} {p.side.upper()} {p.symbol} ({p.status}): {why}"))
    for s in report.skipped:
        console.print(line((f"skipped {s.symbol}: {s.reason}", "dim")))
    if report.holds:
        console.print(line((f"hold: {', '.join(report.holds)}", "dim")))
    for alert in report.alerts:
        console.print(line(("alert:", "bold red"), f" {alert}"))


def status(console: Console, view: StatusView) -> None:
    """The portfolio at a glance."""
    ccy = view.base_currency
    console.print(line(f"equity {ccy} {_num(view.equity)}   cash {_num(view.cash)} ({view.cash_weight:.1%})   "
                       f"positions {_num(view.positions_value)} in {view.positions}"))
    console.print(line(f"day P&L {_signed(view.day_pnl)}   total P&L {_signed(view.total_pnl)} "
                       f"({view.total_return:+.2%})   drawdown {view.drawdown:.2%}"))
    reason = f" ({view.state_reason})" if view.state_reason and view.state_reason != "default" else ""
    console.print(line("trading state: ", (view.trading_state, "bold"),
                       f"{reason}   pending approvals: {view.pending}"))
    last = f"{view.last_cycle_as_of} (run {view.last_cycle_at:%Y-%m-%d %H:%M} UTC)" if view.last_cycle_at else "never"
    console.print(line(f"last cycle: {last}   data: {view.data_source}"))


def positions(console: Console, lines: Sequence[PositionLine], base_currency: str = "EUR") -> None:
    """Open positions."""
    if not lines:
        console.print("no open positions")
        return
    table = Table(title="Positions", title_justify="left")
    for column in ("symbol", "quantity", "avg price", "price", "ccy", f"value {base_currency}", "weight", "P&L",
                   "P&L %"):
        table.add_column(plain(column), justify="right" if column not in {"symbol", "ccy"} else "left")
    for p in lines:
        _row(table, p.symbol, _qty(p.quantity), _num(p.avg_price, 4), _num(p.market_price, 4), p.currency,
             _num(p.market_value_base), f"{p.weight:.1%}", _signed(p.unrealized_pnl_base),
             f"{p.unrealized_pnl_pct:+.2%}")
    console.print(table)


def pnl(console: Console, view: PnlView) -> None:
    """P&L summary and the recent equity series."""
    ccy = view.base_currency
    console.print(line(f"start {ccy} {_num(view.start_equity)} → now {_num(view.equity)}: {_signed(view.total_pnl)} "
                       f"({view.total_return:+.2%}), day {_signed(view.day_pnl)}"))
    console.print(line(f"unrealised {_signed(view.unrealized_pnl)}   realised incl. costs {_signed(view.realized_pnl)}"
                       f"   commissions {_num(view.commissions)}   max drawdown {view.max_drawdown:.2%}"))
    table = Table(title="Equity (last 10 snapshots)", title_justify="left")
    table.add_column("at")
    table.add_column("as of")
    table.add_column(plain(f"equity {ccy}"), justify="right")
    for point in view.series[-10:]:
        _row(table, f"{point.at:%Y-%m-%d %H:%M}", str(point.as_of), _num(point.equity))
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
        console.print(line(f"{p.id}: {'; '.join(p.hits)}{clamp} | confidence {p.confidence:.2f} | expires {expires}"))
        console.print(line(f"  thesis: {p.thesis}"))


def decision(console: Console, result: DecisionResult) -> None:
    """The outcome of approve / reject."""
    console.print(line(result.message))


def state_change(console: Console, change: StateChange) -> None:
    """A halt or resume."""
    why = f": {change.reason}" if change.reason else ""
    console.print(line(f"trading state {change.previous} → ", (str(change.state), "bold"), f" by {change.actor}{why}"))
