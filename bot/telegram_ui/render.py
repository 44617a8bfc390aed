"""Telegram HTML for each desk result. Everything that comes from data is escaped.

Telegram refuses messages over 4,096 characters: ``split`` cuts long HTML on line boundaries (a
single over-long line is cut hard), never inside a tag or an entity, and closes the tags open at a
cut at the end of the part and reopens them at the start of the next, so every part is valid on
its own and the parts read as the whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from html import escape, unescape
from typing import TYPE_CHECKING

from bot.desk import formats
from bot.desk.results import (
    CycleReport,
    DecisionResult,
    PnlView,
    PositionLine,
    ProposalLine,
    RiskUsageView,
    StateChange,
    StatusView,
)

if TYPE_CHECKING:
    from bot.sleeves.views import SleevesView

LIMIT = 4096
PLAIN_WORDS = {
    "LOW_CONFIDENCE": "the model is not confident enough",
    "POSITION_WEIGHT_EXCEEDS_MAX": "the position would be too large", "POSITION_WEIGHT_NEAR_MAX":
    "the position would be close to its size limit", "ASSET_CLASS_WEIGHT_EXCEEDS_MAX": "too much in one asset class",
    "ASSET_CLASS_WEIGHT_NEAR_MAX": "close to the asset-class limit", "SECTOR_WEIGHT_EXCEEDS_MAX":
    "too much in one sector", "SECTOR_WEIGHT_NEAR_MAX": "close to the sector limit",
    "CASH_BELOW_FLOOR": "cash would fall below the floor", "SLEEVE_OVER_BUDGET": "its sleeve would exceed its budget",
    "NOT_IN_SLEEVE": "in no sleeve, so not traded", "CVAR_EXCEEDS_MAX": "tail risk (CVaR) would be too high",
    "CVAR_NEAR_MAX": "tail risk (CVaR) close to its limit", "VOLATILITY_EXCEEDS_MAX": "the asset is too volatile",
    "VOLATILITY_NEAR_MAX": "the asset is nearly too volatile", "CORRELATED_WITH_HOLDING":
    "moves with a large holding", "ADV_EXCEEDS_MAX": "too large for the traded volume",
    "DRAWDOWN_NEAR_MAX": "the portfolio is close to its drawdown limit", "DRAWDOWN_HALTS_BUYS":
    "drawdown too deep: buys halted", "TRADES_PER_DAY_NEAR_MAX": "close to today's trade cap",
    "TRADES_PER_WEEK_NEAR_MAX": "close to this week's trade cap", "MIN_HOLDING_PERIOD": "held for too short a time",
    "REENTRY_COOLDOWN": "sold too recently to buy back", "STALE_PRICE": "the price is stale",
}
HELP = """<b>paperdesk</b> — commands
/status — equity, cash, P&amp;L, drawdown, trading state, next cycle
/positions — open positions
/pnl — profit and loss, with a chart against SPY and the CAC 40
/pending — proposals awaiting approval
/approve ID — approve a proposal
/reject ID reason — reject a proposal, with a reason
/run — run a decision cycle now
/halt · /reduce · /resume — trading state
/risk — limits and how much of each is used
/sleeves — each sleeve's budget, holdings and figures, and why its budget moved
/history — recent decisions and their fate
/explain ID — the whole story of a proposal or cycle
/web — a one-time link to the web dashboard (private chat)
/report [week] — performance vs SPY, the CAC 40 and equal weight; decision quality; charts
/memory [QUERY] — latest memories, or those nearest to QUERY
/remember TEXT — a note the agent will recall · /forget ID — remove a memory"""


def split(text: str, limit: int = LIMIT) -> list[str]:
    """Cut HTML into parts of at most ``limit`` characters that are each well-formed on their own."""
    if len(text) <= limit:
        return [text]
    try:
        return _Splitter(limit).run(text)
    except _TooTight:  # tags too long to repeat on every part: keep the words, drop the formatting
        return _Splitter(limit).run(escape(plain(text), quote=False))


def plain(html: str) -> str:
    """The text a reader sees: tags dropped, entities decoded."""
    return unescape(_TAG.sub("", html))


_TAG = re.compile(r"<(/?)([A-Za-z][\w-]*)[^<>]*>")
_TOKEN = re.compile(r"<(/?)([A-Za-z][\w-]*)[^<>]*>|&(?:[A-Za-z]+|#\d+|#[xX][\dA-Fa-f]+);|.", re.DOTALL)
Stack = tuple[tuple[str, str], ...]  # the open tags: (name, the tag as written)


class _TooTight(Exception):
    """One token, with the tags around it, does not fit in a part."""


class _Splitter:
    """Greedy: fill a part token by token; on overflow cut after its last line end (or its last space, or right
    there: whichever keeps the part at least half full first), close the tags still open at the cut and reopen
    them at the start of the next part. Tags and entities are single tokens, so no cut falls inside one."""

    def __init__(self, limit: int) -> None:
        self.limit, self.parts, self.prefix, self.size = limit, list[str](), "", 0
        self.body: list[str] = []
        self.stack: Stack = ()
        self.closing = 0  # len(_closing(self.stack))
        self.breaks: dict[str, tuple[int, int, Stack]] = {}  # "\n" / " " -> (index, size, stack) of the last one
        self.has_text = False

    def run(self, text: str) -> list[str]:
        for token in _TOKEN.finditer(text):
            self._add(token)
        self.parts.append(self.prefix + "".join(self.body) + _closing(self.stack))
        return self.parts

    def _add(self, token: re.Match[str]) -> None:
        raw = token.group()
        stack = _after(self.stack, token) if token.group(2) else self.stack
        closing = self.closing if stack is self.stack else len(_closing(stack))
        if self.size + len(raw) + closing > self.limit:
            self._cut()
            if self.size + len(raw) + closing > self.limit:
                raise _TooTight
        self.body.append(raw)
        self.size += len(raw)
        self.stack, self.closing = stack, closing
        self.has_text = self.has_text or _readable(raw)
        if raw in ("\n", " ") and self.has_text:
            self.breaks[raw] = (len(self.body), self.size, stack)

    def _cut(self) -> None:
        index, stack = self._where()
        while index and _opens(self.body[index - 1]):
            index, stack = index - 1, stack[:-1]  # a tag opened just before the cut opens in the next part
        if not index:
            raise _TooTight
        self.parts.append(self.prefix + "".join(self.body[:index]) + _closing(stack))
        self.prefix, self.body, self.breaks = "".join(tag for _, tag in stack), self.body[index:], {}
        self.size = len(self.prefix) + sum(map(len, self.body))
        self.has_text = any(map(_readable, self.body))

    def _where(self) -> tuple[int, Stack]:
        """Where to cut the full part: (index into its body, the tags open there)."""
        for kind in ("\n", " "):
            index, size, stack = self.breaks.get(kind, (0, 0, ()))
            if size * 2 >= self.limit:
                return index, stack
        if "\n" in self.breaks:
            index, _, stack = self.breaks["\n"]
            return index, stack
        return len(self.body), self.stack


def _after(stack: Stack, token: re.Match[str]) -> Stack:
    """The open tags after this token (a stray closing tag changes nothing)."""
    closing, name = token.group(1), (token.group(2) or "").lower()
    if not name or token.group().endswith("/>"):
        return stack
    if not closing:
        return (*stack, (name, token.group()))
    names = [open_name for open_name, _ in stack]
    return stack[:len(names) - 1 - names[::-1].index(name)] if name in names else stack


def _opens(token: str) -> bool:
    match = _TAG.fullmatch(token)
    return match is not None and not match.group(1) and not token.endswith("/>")


def _readable(token: str) -> bool:
    return not token.isspace() and not _TAG.fullmatch(token)


def _closing(stack: Stack) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


_m, _s, _q = formats.amount, formats.signed, formats.quantity


def _t(value: datetime | None) -> str:
    return "—" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def status(view: StatusView, next_cycle: datetime | None) -> str:
    """/status."""
    cur = escape(view.base_currency)
    reason = f" ({escape(view.state_reason)})" if view.state_reason else ""
    return "\n".join([
        f"<b>Equity</b> {_m(view.equity)} {cur}   <b>cash</b> {_m(view.cash)} ({view.cash_weight:.1%})",
        f"<b>P&amp;L</b> day {_s(view.day_pnl)} · total {_s(view.total_pnl)} ({view.total_return:+.2%})",
        f"<b>Drawdown</b> {view.drawdown:.2%}",
        f"<b>Trading</b> {escape(view.trading_state)}{reason}",
        f"<b>Positions</b> {view.positions} · <b>pending</b> {view.pending}",
        f"<b>Last cycle</b> {_t(view.last_cycle_at)} · <b>next</b> {_t(next_cycle)}",
        f"<i>data: {escape(view.data_source)}</i>",
        *(["<b>Sleeves</b> " + " · ".join(f"{escape(n)} {b:.1%}" for n, b in view.sleeves.items()) + " (/sleeves)"]
          if view.sleeves is not None else []),
    ])


def positions(lines: Sequence[PositionLine], base: str) -> str:
    """/positions."""
    if not lines:
        return "No open positions."
    rows = [f"<b>{escape(p.symbol)}</b> {_q(p.quantity)} @ {_m(p.market_price)} {escape(p.currency)} · "
            f"{_m(p.market_value_base)} {escape(base)} ({p.weight:.1%}) · {_s(p.unrealized_pnl_base)} "
            f"({p.unrealized_pnl_pct:+.1%})" for p in lines]
    return "<b>Positions</b>\n" + "\n".join(rows)


def pnl(view: PnlView) -> str:
    """/pnl (the chart is sent as a photo beside it)."""
    cur = escape(view.base_currency)
    return "\n".join([
        f"<b>P&amp;L</b> {_s(view.total_pnl)} {cur} ({view.total_return:+.2%}) since {_m(view.start_equity)}",
        f"day {_s(view.day_pnl)} · unrealised {_s(view.unrealized_pnl)} · realised {_s(view.realized_pnl)}",
        f"commissions {_m(view.commissions)} · max drawdown {view.max_drawdown:.2%}",
    ])


def _codes(line: ProposalLine) -> str:
    return "; ".join(escape(PLAIN_WORDS.get(code, code.replace("_", " ").lower())) for code in line.codes) or "—"


def approval(line: ProposalLine) -> str:
    """The message that asks a human to approve or reject one proposal."""
    parts = [
        f"<b>Approval needed</b> · <code>{escape(line.id)}</code>",
        f"<b>{escape(line.side.upper())} {escape(line.symbol)}</b> · weight {line.weight_before:.1%} → "
        f"{line.target_weight:.1%}",
        f"Order {_q(line.quantity)} @ {_m(line.price, 4)} {escape(line.currency or '')} "
        f"(≈ {_m(line.notional_base)})",
        f"Confidence {formats.confidence(line.confidence)}",
        f"Why: {escape(line.thesis) or '—'}",
        f"Risk: {_codes(line)}",
    ]
    if line.clamp:
        parts.append(f"Clamp: {escape(line.clamp)}")
    parts.append(f"Expires {_t(line.expires_at)}")
    return "\n".join(parts)


def final(line: ProposalLine, *, by: str | None = None, reason: str | None = None) -> str:
    """An approval message edited to the proposal's final state (``reason``: the stored decision reason)."""
    head = approval(line).split("\n")[:3]
    who = f" by {escape(by)}" if by else ""
    why = f": {escape(reason)}" if reason else ""
    note = why or (f": {escape(line.note)}" if line.note else "")
    if line.status == "FILLED" and line.fill_price is not None:
        outcome = f"✅ <b>Filled</b> {_q(line.fill_quantity)} at {_m(line.fill_price, 4)}{who}"
    elif line.status == "REJECTED_BY_HUMAN":
        outcome = f"❌ <b>Rejected</b>{who}{why}"
    elif line.status == "EXPIRED":
        outcome = f"⌛ <b>Expired</b>{note}"
    elif line.status == "REJECTED_AT_APPROVAL":
        outcome = f"⛔ <b>Refused at approval</b>{note}"
    else:
        outcome = f"<b>{escape(line.status)}</b>{who}{note}"
    return "\n".join([*head, outcome])


def refused(line: ProposalLine, why: str) -> str:
    """An approval message edited after a refusal."""
    return final(line) + f"\n<i>{escape(why)}</i>"


def proposals(title: str, lines: Sequence[ProposalLine]) -> str:
    """/pending and /history."""
    if not lines:
        return f"<b>{escape(title)}</b>\nnothing"
    rows = [f"<code>{escape(p.id)}</code> {escape(p.side.upper())} {escape(p.symbol)} {p.weight_before:.1%}→"
            f"{p.target_weight:.1%} · {escape(p.level or '')} · <b>{escape(p.status)}</b>"
            + (f" — {escape(p.note)}" if p.note else "") for p in lines]
    return f"<b>{escape(title)}</b>\n" + "\n".join(rows)


def risk(view: RiskUsageView) -> str:
    """/risk."""
    rows = [f"{escape(u.name)}: {u.value:.2%} of {u.limit:.2%} → <b>{u.used:.0%}</b> used"
            + (f" ({escape(u.detail)})" if u.detail else "") for u in view.limits if "trades" not in u.name]
    rows += [f"{escape(u.name)}: {u.value:.0f} of {u.limit:.0f} → <b>{u.used:.0%}</b> used"
             for u in view.limits if "trades" in u.name]
    return f"<b>Risk</b> · trading {escape(view.trading_state)}\n" + "\n".join(rows)


def cycle(report: CycleReport) -> str:
    """The summary sent after every cycle."""
    counts: dict[str, int] = {}
    for line in report.proposals:
        counts[line.status] = counts.get(line.status, 0) + 1
    synthetic = " · <b>SYNTHETIC DATA</b>" if report.synthetic else ""
    lines = [
        f"<b>Cycle</b> <code>{escape(report.cycle_id)}</code> as of {report.as_of}{synthetic}",
        f"regime {escape(report.regime)} · trading {escape(report.trading_state)} · policy {escape(report.policy)}",
        f"equity {_m(report.equity_before)} → {_m(report.equity_after)} {escape(report.base_currency)}",
        " · ".join(f"{escape(k)} {v}" for k, v in sorted(counts.items())) or "no proposals",
    ]
    if report.market_view:
        lines.append(f"<i>{escape(report.market_view)}</i>")
    lines += [f"⚠️ {escape(alert)}" for alert in report.alerts]
    return "\n".join(lines)


def fill(line: ProposalLine) -> str:
    """A fill notification."""
    return (f"✅ {escape(line.side.upper())} {_q(line.fill_quantity)} {escape(line.symbol)} filled at "
            f"{_m(line.fill_price, 4)} {escape(line.currency or '')} · <code>{escape(line.id)}</code>")


def alert(text: str) -> str:
    """An alert notification."""
    return f"⚠️ {escape(text)}"


def report(text: str) -> str:
    """A performance report: monospaced when it fits one message (``split`` would cut the tag)."""
    body = escape(text.rstrip())
    return f"<pre>{body}</pre>" if len(body) + 11 <= LIMIT else body


def decision(result: DecisionResult) -> str:
    """/approve and /reject."""
    return escape(result.message)


def state_change(change: StateChange) -> str:
    """/halt, /reduce, /resume."""
    why = f": {escape(change.reason)}" if change.reason else ""
    return f"Trading {escape(change.previous)} → <b>{escape(change.state)}</b> by {escape(change.actor)}{why}"


def sleeves(view: SleevesView) -> str:
    """/sleeves: budgets and holdings, why each budget moved, and each sleeve's figures."""
    when = f"allocated {view.allocated_on} ({escape(view.regime or '')})" if view.allocated_on else "no allocation yet"
    figures = {f["sleeve"]: f for f in view.document["figures"]}
    lines = [f"<b>Sleeves</b> · {when} · cash {view.cash:.1%}"]
    for s in view.lines:
        lines.append(f"<b>{escape(s.name)}</b> ({escape(s.policy)}, {s.instruments} instruments): budget "
                     f"<b>{s.budget:.1%}</b> of {s.min_weight:.0%}–{s.max_weight:.0%}, held {s.weight:.1%}")
        f = figures.get(s.name)
        if f is not None:
            pnl = "" if f["pnl_base"] is None else f", P&amp;L {f['pnl_base']:+,.0f} {escape(view.base_currency)}"
            lines.append(f"  return {f['total_return']:+.1%}, contribution {f['contribution']:+.2%}, "
                         f"allocation {f['allocation_effect']:+.2%}, selection {f['selection_effect']:+.2%}{pnl}")
        if s.reason:
            lines.append(f"  <i>{escape(s.reason)}</i>")
    return "\n".join(lines)
