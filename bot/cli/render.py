"""Terminal rendering of desk results with rich; the desk returns data, this only draws it.

Untrusted text (theses, reasons, market views, alerts, symbols from a universe file) is never read
as terminal markup: every line is a ``Text`` built by ``line`` / ``plain`` (styles are given as
values, never written into the text), control characters are shown escaped (no terminal escape
sequences, no hidden links) and secrets are redacted. The CLI's consoles come from
``make_console``, which reads no markup or emoji codes at all, so a string printed elsewhere is safe
too.

Width: the console is as wide as the terminal (``COLUMNS`` first, 150 when piped). Every table is a
``Fitted`` table, drawn at the width it is given: it first drops the columns of least value (each
names its rank), then wraps cells between words; an id, a symbol or an amount is never cut, folded
or replaced by an ellipsis. Lines outside tables wrap between words.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
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

if TYPE_CHECKING:
    from bot.sleeves.views import SleevesView

LEVEL_STYLE = {"SAFE": "green", "BORDERLINE": "yellow", "UNSAFE": "red"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_REDACT = Redactor()
Part = str | tuple[str, str]

_num, _qty, _signed = formats.amount, formats.quantity, formats.signed


def make_console() -> Console:
    """A console that reads no markup, emoji codes or highlighting from what it prints, as wide as the terminal."""
    return Console(highlight=False, markup=False, emoji=False, width=terminal_width())


def terminal_width() -> int:
    """``COLUMNS`` when set, else the terminal's width; 150 when piped (no terminal to fit, keep rows whole)."""
    if os.environ.get("COLUMNS", "").isdigit() or sys.stdout.isatty():
        return shutil.get_terminal_size((150, 24)).columns
    return 150


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


@dataclass(frozen=True)
class Column:
    """A table column: ``whole`` cells (ids, amounts) never wrap; ``drop`` ranks it for leaving out (0: never)."""

    header: str
    justify: JustifyMethod = "left"
    whole: bool = False
    drop: int = 0


class Fitted:
    """A table that fits the width it is drawn at: low-value columns go first (``drop`` 1, then 2, ...), then
    cells wrap between words. No column is narrower than its longest word (a whole cell's full text), so
    nothing is ever cut; when even the kept columns cannot fit, each row becomes a wrapped line instead."""

    def __init__(self, title: str, columns: Sequence[Column], rows: Sequence[Sequence[Part]]) -> None:
        self.title, self.columns = title, list(columns)
        self.rows = [[plain(*c) if isinstance(c, tuple) else plain(c) for c in row] for row in rows]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """The table for this width, or one line per row (rich calls this when printing)."""
        kept = self._kept(options.max_width)
        least = [self._least(i) for i in kept]
        room = options.max_width - _frame(len(kept))
        if sum(least) > room:
            yield plain(self.title, "italic")
            for row in self.rows:
                yield Text(" · ").join(Text.assemble(plain(f"{self.columns[i].header} ", "dim"), row[i]) for i in kept)
            return
        yield self._table(kept, _share(least, [self._natural(i) for i in kept], room))

    def _table(self, kept: list[int], widths: list[int]) -> Table:
        table = Table(title=plain(self.title), title_justify="left")
        for i, width in zip(kept, widths, strict=True):
            column = self.columns[i]
            # every width is at least the column's longest word (a whole cell's full text): nothing folds or cuts
            table.add_column(plain(column.header), justify=column.justify, width=width, overflow="fold")
        for row in self.rows:
            table.add_row(*(row[i] for i in kept))
        return table

    def _kept(self, width: int) -> list[int]:
        kept = list(range(len(self.columns)))
        for i in sorted((i for i in kept if self.columns[i].drop), key=lambda i: self.columns[i].drop):
            if sum(self._least(k) for k in kept) + _frame(len(kept)) <= width:
                break
            kept.remove(i)
        return kept

    def _natural(self, i: int) -> int:
        return max([_widest_line(self.columns[i].header), *(_widest_line(row[i].plain) for row in self.rows)])

    def _least(self, i: int) -> int:
        cells = [_widest_line(row[i].plain) if self.columns[i].whole else _widest_word(row[i].plain)
                 for row in self.rows]
        return max([_widest_word(self.columns[i].header), *cells])


def _frame(columns: int) -> int:
    """Borders and padding of a default rich table: one space each side of a cell, one rule between cells."""
    return 3 * columns + 1


def _widest_line(text: str) -> int:
    return max((cell_len(line) for line in text.splitlines()), default=0)


def _widest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


def _share(least: list[int], natural: list[int], room: int) -> list[int]:
    """Widths from ``least`` towards ``natural``, the spare room shared evenly among the columns still short."""
    widths, spare = list(least), room - sum(least)
    while spare > 0 and (short := [k for k, w in enumerate(widths) if w < natural[k]]):
        step = max(1, spare // len(short))
        for k in short:
            grow = min(step, natural[k] - widths[k], spare)
            widths[k], spare = widths[k] + grow, spare - grow
    return widths


def _fate(p: ProposalLine) -> str:
    if p.status == "FILLED" and p.fill_price is not None:
        return f"filled {_qty(p.fill_quantity)} @ {p.fill_price:,.4f}"
    return p.status


PROPOSAL_COLUMNS = (Column("id", whole=True), Column("symbol", whole=True), Column("action"),
                    Column("weight now → target", drop=3), Column("order"), Column("verdict"),
                    Column("conf", drop=2), Column("codes", drop=1), Column("status"))


def proposals_table(lines: Sequence[ProposalLine], title: str = "Proposals") -> Fitted:
    """One row per proposal: action, weights, size, verdict and fate (codes, confidence and weights give way
    first in a narrow terminal: the lines under the table repeat the hits)."""
    rows = []
    for p in lines:
        level = p.level or ""
        order = f"{_qty(p.quantity)} @ {_num(p.price, 2)} {p.currency or ''}".strip()
        rows.append((p.id, p.symbol, p.side.upper(), f"{p.weight_before:.1%} → {p.target_weight:.1%}", order,
                     (level, LEVEL_STYLE.get(level, "white")), formats.confidence(p.confidence),
                     ", ".join(p.codes) or "—", _fate(p)))
    return Fitted(title, PROPOSAL_COLUMNS, rows)


def cycle(console: Console, report: CycleReport) -> None:
    """The summary of one decision cycle."""
    synthetic = ("  SYNTHETIC DATA — not real prices", "bold magenta") if report.synthetic else ""
    console.print(line((f"paperdesk cycle {report.cycle_id}", "bold"),
                       f"  as of {report.as_of}  data: {report.data_source}", synthetic))
    inputs = ", ".join(f"{k}={v}" for k, v in report.regime_inputs.items())
    console.print(line(f"policy: {report.policy}   regime: ", (report.regime, "bold"),
                       f" ({inputs})   trading state: {report.trading_state}"))
    if report.status == "abstained":
        console.print(line((f"ABSTAINED — {report.market_view}", "bold red")))
        console.print("nothing was sized, classified or submitted; see `paperdesk llm calls` for the model's answers")
        _cycle_sections(console, report)
        return
    console.print(line(f"market view: {report.market_view}"))
    if report.proposals:
        console.print(proposals_table(report.proposals))
        if report.policy == "llm":
            for p in report.proposals:
                console.print(line(f"  {p.id} {p.symbol} thesis (confidence {formats.confidence(p.confidence)}): "
                                   f"{p.thesis}"))
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
                           f"`paperdesk reject {p.id} --reason ...`"))
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
    if view.sleeves is not None:
        console.print(line("sleeves: " + " · ".join(f"{name} {budget:.1%}" for name, budget in view.sleeves.items())
                           + "   (paperdesk sleeves for their figures)"))


def positions(console: Console, lines: Sequence[PositionLine], base_currency: str = "EUR") -> None:
    """Open positions."""
    if not lines:
        console.print("no open positions")
        return
    columns = (Column("symbol", whole=True), Column("quantity", "right", whole=True),
               Column("avg price", "right", whole=True, drop=1), Column("price", "right", whole=True),
               Column("ccy"), Column(f"value {base_currency}", "right", whole=True), Column("weight", "right"),
               Column("P&L", "right", whole=True), Column("P&L %", "right", drop=2))
    rows = [(p.symbol, _qty(p.quantity), _num(p.avg_price, 4), _num(p.market_price, 4), p.currency,
             _num(p.market_value_base), f"{p.weight:.1%}", _signed(p.unrealized_pnl_base),
             f"{p.unrealized_pnl_pct:+.2%}") for p in lines]
    console.print(Fitted("Positions", columns, rows))


def pnl(console: Console, view: PnlView) -> None:
    """P&L summary and the recent equity series."""
    ccy = view.base_currency
    console.print(line(f"start {ccy} {_num(view.start_equity)} → now {_num(view.equity)}: {_signed(view.total_pnl)} "
                       f"({view.total_return:+.2%}), day {_signed(view.day_pnl)}"))
    console.print(line(f"unrealised {_signed(view.unrealized_pnl)}   realised incl. costs {_signed(view.realized_pnl)}"
                       f"   commissions {_num(view.commissions)}   max drawdown {view.max_drawdown:.2%}"))
    columns = (Column("at"), Column("as of", whole=True), Column(f"equity {ccy}", "right", whole=True))
    rows = [(f"{point.at:%Y-%m-%d %H:%M}", str(point.as_of), _num(point.equity)) for point in view.series[-10:]]
    console.print(Fitted("Equity (last 10 snapshots)", columns, rows))


def pending(console: Console, lines: Sequence[ProposalLine]) -> None:
    """Proposals awaiting approval."""
    if not lines:
        console.print("nothing awaits approval")
        return
    console.print(proposals_table(lines, title="Awaiting approval"))
    for p in lines:
        expires = f"{p.expires_at:%Y-%m-%d %H:%M} UTC" if p.expires_at else "never"
        clamp = f" | {p.clamp}" if p.clamp else ""
        console.print(line(f"{p.id}: {'; '.join(p.hits)}{clamp} | confidence {formats.confidence(p.confidence)} "
                           f"| expires {expires}"))
        console.print(line(f"  thesis: {p.thesis}"))


def decision(console: Console, result: DecisionResult) -> None:
    """The outcome of approve / reject."""
    console.print(line(result.message))


def state_change(console: Console, change: StateChange) -> None:
    """A halt or resume."""
    why = f": {change.reason}" if change.reason else ""
    console.print(line(f"trading state {change.previous} → ", (str(change.state), "bold"), f" by {change.actor}{why}"))


def sleeves(console: Console, view: SleevesView) -> None:
    """The sleeves in force, then their figures since the first recorded day."""
    from bot.evaluation.attribution import sleeve_lines  # pandas: only for this command
    when = f"allocated on {view.allocated_on} ({view.regime} regime)" if view.allocated_on else "no allocation yet"
    columns = (Column("sleeve", whole=True), Column("policy"), Column("n", "right", drop=2),
               Column("base", "right", drop=1), Column("range", "right", drop=1), Column("budget", "right"),
               Column("held", "right"))
    rows = [(s.name, s.policy, str(s.instruments), f"{s.base_weight:.0%}", f"{s.min_weight:.0%}–{s.max_weight:.0%}",
             f"{s.budget:.1%}", f"{s.weight:.1%}") for s in view.lines]
    console.print(Fitted(f"Sleeves · {when} · cash {view.cash:.1%}", columns, rows))
    for s in view.lines:
        if s.reason:
            console.print(line(f"{s.name}: {s.reason}"))
    if view.document["figures"]:
        for text in sleeve_lines({**view.document, "allocations": []}):  # the reasons are shown above
            console.print(line(text))
