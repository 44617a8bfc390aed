"""The replay on arrays: ``bot.backtest.engine.replay`` for the baseline policies, without objects.

Policy: for a policy with an ``array_plan`` (``buy_and_hold``, ``equal_weight``) ``replay_arrays`` returns
the ``ReplayResult`` that ``replay`` returns — the same equity, fills, decisions, counts and codes —
from the same steps: yesterday's orders filled at today's open (``bot.backtest.fast_book``), the
account valued at the close, the plan sized (``bot.backtest.fast_sizing``) and classified by
``risk.batch.classify_day``, or by ``classify_batch`` on the days it declines. Records are built
when first read. It returns None for what it does not replay (another policy, an instrument whose
currency differs from its price history's, an account without equity); the caller then uses
``replay``. Equality is checked against ``replay`` on real and synthetic scenarios by the tests.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np

from agent.policies.baselines import equal_weight
from bot.backtest.engine import Replay, ReplayResult
from bot.backtest.fast_book import Order, Venue
from bot.backtest.fast_inputs import Day, Panels, plan_proposals, reference_context, risk_inputs
from bot.backtest.fast_quotes import Quotes
from bot.backtest.fast_records import LEVEL_NAMES, DayDecisions, DayFills
from bot.backtest.fast_sizing import Sized, size_plan
from bot.desk.sizing import weight_of
from risk import classify_batch
from risk.batch import BIT, NOTES, DayVerdicts, classify_day, codes_of
from risk.models import Level, TradingState

HOLD_BAND = 1e-9


class Unsupported(Exception):
    """This replay needs ``bot.backtest.engine.replay``."""


@dataclass
class _Desk:
    peak: Decimal | None = None
    fills_by_week: Counter[tuple[int, int]] = field(default_factory=Counter)
    last_exit: dict[int, date] = field(default_factory=dict)


def supports(spec: Replay) -> bool:
    """Whether ``replay_arrays`` replays this spec (its policy has an ``array_plan``)."""
    return callable(getattr(spec.policy, "array_plan", None))


def replay_arrays(spec: Replay) -> ReplayResult | None:
    """``replay(spec)`` computed on arrays, or None when this replay is not one it does."""
    try:
        return _Replayer(spec).run()
    except Unsupported:
        return None


class _Replayer:
    def __init__(self, spec: Replay) -> None:
        if not supports(spec) or len(spec.rows) < 2:
            raise Unsupported("policy without an array plan, or too few rows")
        self.spec = spec
        by_symbol = spec.universe.by_symbol
        if any(str(s) not in by_symbol for s in spec.panels.symbols):
            raise Unsupported("a priced symbol outside the universe")
        self.panels = Panels(spec.panels, spec.universe)
        self.symbols = self.panels.symbols
        self.instruments = [by_symbol[s] for s in self.symbols]
        history = spec.history
        if [str(s) for s in history.close.columns] != self.symbols or any(
                history.currencies.get(s, history.base_currency) != i.currency
                for s, i in zip(self.symbols, self.instruments, strict=True)):
            raise Unsupported("instrument currencies differ from the history's")
        self.quotes = Quotes(history)
        self.venue = Venue(self.instruments, self.quotes, spec.sim)
        self.desk = _Desk()
        self.dates = [d.date() for d in history.close.index]
        self.out = ReplayResult()

    def run(self) -> ReplayResult:
        spec, out = self.spec, self.out
        pending: list[Order] = []
        for t in spec.rows:
            today = self.dates[t]
            traded = self._execute(pending, t, today)
            equity, values = self.venue.valued(t)
            out.dates.append(today)
            out.equity.append(equity)
            out.traded.append(traded)
            self.desk.peak = max(self.desk.peak or equity, equity)
            pending = [] if t == spec.rows[-1] else self._decide(t, today, equity, values)
            if spec.on_day is not None:
                spec.on_day(t)
        return out

    def _execute(self, orders: list[Order], t: int, today: date) -> Decimal:
        refused: Counter[str] = Counter()
        outcomes = self.venue.execute(orders, t, today, refused)
        out = self.out
        if refused:
            out.counts["broker_rejected"] += sum(refused.values())
            out.codes.update({f"BROKER:{code}": n for code, n in refused.items()})
        traded = Decimal(0)
        week = today.isocalendar()[:2]
        for outcome in outcomes:
            if outcome.notional is None:
                continue
            traded += outcome.notional
            out.counts["filled"] += 1
            self.desk.fills_by_week[week] += 1
            if not outcome.order.buy:
                self.desk.last_exit[outcome.order.symbol] = today
        if outcomes:
            out.fill_chunks.append(DayFills(today, outcomes, self.symbols))
        return traded

    def _decide(self, t: int, today: date, equity: Decimal, values: dict[int, Decimal]) -> list[Order]:
        if not equity > 0:
            raise Unsupported("an account without equity")
        spec, account, panels = self.spec, self.venue.account, self.panels
        values_f = self.venue.value_floats(values)
        weights = values_f / float(equity)
        held = np.zeros(len(self.symbols), dtype=bool)
        held[list(values)] = True
        close = panels.panels.values["close"][t]
        priced = panels.tradable & np.isfinite(close)
        target = equal_weight(int(priced.sum()), spec.limits.max_position_weight, spec.limits.min_cash_weight)
        near_band = np.flatnonzero(held & (np.abs(np.abs(weights - target) - HOLD_BAND) < 1e-13))
        for i in near_band.tolist():
            weights[i] = weight_of(values[i], equity)
        plan = spec.policy.array_plan(priced, held, weights, target)  # type: ignore[attr-defined]
        prices = self.quotes.close_row(t)
        rates = self.quotes.fx_row(t)
        fx = [rates[c] for c in self.quotes.currency]
        sized = size_plan(plan=plan, target=target, equity=equity, values=values, quantities=account.quantity,
                          weights=weights, prices=prices, fx=fx, close_f=self.quotes.close_f[t],
                          fx_f=self.quotes.fx_f(t), fractional=panels.fractional)
        day = self._day(t, today, equity, values, values_f, weights)
        verdicts = self._classify(day, sized, prices, fx, target)
        return self._select(t, today, sized, verdicts)

    def _day(self, t: int, today: date, equity: Decimal, values: dict[int, Decimal], values_f: np.ndarray,
             weights: np.ndarray) -> Day:
        account, returns = self.venue.account, self.panels.panels.returns[t]
        halt = self.spec.limits.intraday_drop_halt
        day_return = float(weights @ returns)
        if abs(day_return + halt) <= 1e-9:
            # bot.desk.context.day_return exactly: weights times the day's returns, in broker order.
            day_return = 0.0
            for i in self.venue.by_name:
                if i in values:
                    day_return += float(values[i] / equity) * float(returns[i])
        breaker = day_return <= -halt
        dates = self.dates
        week = dates[min(t + 1, len(dates) - 1)].isocalendar()[:2]
        return Day(row=t, today=today, equity=equity, cash=account.cash, values=values, values_f=values_f,
                   quantities=account.quantity, costs=account.cost, opened=account.opened, by_name=self.venue.by_name,
                   last_exit=dict(self.desk.last_exit), peak=self.desk.peak, day_return=day_return,
                   trades_this_week=self.desk.fills_by_week[week],
                   state=TradingState.REDUCING if breaker else TradingState.ACTIVE)

    def _classify(self, day: Day, sized: Sized, prices: list[Decimal | None], fx: list[Decimal | None],
                  target: float) -> DayVerdicts:
        priced = np.array([p is not None and f is not None for p, f in zip(prices, fx, strict=True)], dtype=bool)
        # (prices and fx are the day's quotes of every symbol; an idea without one is sized to nothing)
        verdicts = classify_day(*risk_inputs(self.panels, day, sized, priced), self.spec.limits)
        if verdicts is not None:
            return verdicts
        proposals = plan_proposals(self.panels, day, sized, target)
        ctx = reference_context(self.spec, self.quotes.feed, self.symbols, day, self.venue.account.avg_price,
                                self.desk.fills_by_week, proposals)
        reference = classify_batch(proposals, ctx, self.spec.limits)
        level = np.array([LEVEL_NAMES.index(v.level.value) for v in reference], dtype=np.int64)
        mask = np.array([sum(BIT[c] for c in v.codes) for v in reference], dtype=np.int64)
        clamps = {row: v.clamped.quantity for row, v in enumerate(reference)
                  if v.level is Level.BORDERLINE and v.clamped is not None}
        return DayVerdicts(level=level, mask=mask, clamp=clamps)

    def _select(self, t: int, today: date, sized: Sized, verdicts: DayVerdicts) -> list[Order]:
        out, approve = self.out, self.spec.approve_borderline
        levels = verdicts.level.tolist()
        for lv in (0, 1, 2):
            count = levels.count(lv)
            if count:
                out.counts[f"proposals_{LEVEL_NAMES[lv].lower()}"] += count
        for mask, count in Counter((verdicts.mask & ~NOTES).tolist()).items():
            for code in codes_of(mask):
                out.codes[code] += count
        chosen: list[Order] = []
        quantities: list[Decimal] = []
        executed: list[bool] = []
        for n, (symbol, buy, quantity, lv) in enumerate(zip(sized.symbol, sized.buy, sized.quantity, levels,
                                                            strict=True)):
            take = lv == 0 or (lv == 1 and approve)
            size = verdicts.clamp.get(n, quantity) if lv == 1 else quantity
            if take and size > 0:
                chosen.append(Order(symbol=symbol, buy=buy, quantity=size, row=t, number=n))
            quantities.append(size)
            executed.append(take)
        if levels:
            out.decision_chunks.append(DayDecisions(today, t, sized, quantities, verdicts, executed, self.symbols))
        return chosen
