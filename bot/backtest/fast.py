"""The replay on arrays: ``bot.backtest.engine.replay`` for the baseline policies, without objects.

Policy: for a policy with an ``array_plan`` (``buy_and_hold``, ``equal_weight``) ``replay_arrays`` returns
the ``ReplayResult`` that ``replay`` returns — the same equity, fills, decisions, counts and codes —
from the same steps: yesterday's orders filled at today's open, the account valued at the close,
the plan sized and classified. The account is held in integers (``bot.backtest.fast_book``). Days
run in the compiled kernel (``bot.backtest.fast_kernel``) until one it cannot settle exactly; that
day runs here in Python — the venue's integer arithmetic with Decimal where it rounds,
``bot.backtest.fast_sizing``, ``risk.batch.classify_day`` or, on the days it declines,
``classify_batch`` — and the kernel resumes the next day. Records are built when first read. It
returns None for what it does not replay (another policy, an instrument whose currency differs
from its price history's, an account without equity, quotes or values beyond exact integers);
the caller then uses ``replay``. Equality is checked against ``replay``, with and without the
kernel, on real and synthetic scenarios by the tests.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from agent.policies.baselines import equal_weight
from bot.backtest.engine import Replay, ReplayResult
from bot.backtest.fast_book import Marks, OrderBatch, Venue, units_of
from bot.backtest.fast_inputs import Day, Panels, plan_proposals, reference_context, risk_inputs
from bot.backtest.fast_kernel import MODES, Kernel, fills_by_week, weeks_of
from bot.backtest.fast_quotes import Quotes, Unsupported
from bot.backtest.fast_records import LEVEL_NAMES, DayDecisions, DayFills
from bot.backtest.fast_sizing import Sized, size_plan
from bot.desk.sizing import weight_of
from risk import classify_batch
from risk.batch import BIT, NOTES, DayVerdicts, classify_day, codes_of
from risk.models import Level, TradingState

HOLD_BAND = 1e-9
ZERO = Decimal(0)
KERNEL = True  # replay the days floats decide in the compiled kernel (``bot.backtest.kernel``)


@dataclass
class _Desk:
    """The equity peak, fills per ISO week (by ``weeks_of`` index) and each symbol's last exit row (-1: none)."""

    week_fills: np.ndarray
    last_exit: np.ndarray
    peak: Decimal | None = None


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
        self.dates = [d.date() for d in history.close.index]
        self.week_id, self.weeks = weeks_of(self.dates)
        self.desk = _Desk(week_fills=np.zeros(len(self.weeks), dtype=np.int64),
                          last_exit=np.full(len(self.symbols), -1, dtype=np.int64))
        self.out = ReplayResult()

    def run(self) -> ReplayResult:
        rows = self.spec.rows
        t, last = rows[0], rows[-1]
        kernel = Kernel(self, MODES[self.spec.policy.name]) if KERNEL and self.spec.policy.name in MODES else None
        pending: OrderBatch | None = None
        while t <= last:
            if kernel is not None:
                t, pending = kernel.run(t, last, pending)
                if t > last:
                    break
            pending = self._day_step(t, last, pending)
            t += 1
        return self.out

    def _day_step(self, t: int, last: int, pending: OrderBatch | None) -> OrderBatch | None:
        """One day in Python: yesterday's orders filled, the account valued, today's orders decided."""
        out, today = self.out, self.dates[t]
        traded = self._execute(pending, t, today)
        marks = self.venue.valued(t)
        out.dates.append(today)
        out.equity.append(marks.equity)
        out.traded.append(traded)
        self.desk.peak = max(self.desk.peak or marks.equity, marks.equity)
        decided = None if t == last else self._decide(t, today, marks)
        if self.spec.on_day is not None:
            self.spec.on_day(t)
        return decided

    def _execute(self, batch: OrderBatch | None, t: int, today: date) -> Decimal:
        if batch is None or not len(batch.symbol):
            return ZERO
        refused: Counter[str] = Counter()
        done = self.venue.execute(batch, t, refused)
        out = self.out
        if refused:
            out.counts["broker_rejected"] += sum(refused.values())
            out.codes.update({f"BROKER:{code}": n for code, n in refused.items()})
        filled = done.recorded[done.filled]
        if len(filled):
            out.counts["filled"] += len(filled)
            self.desk.week_fills[self.week_id[t]] += len(filled)
            self.desk.last_exit[batch.symbol[filled[~batch.buy[filled]]]] = t
        if len(done.recorded):
            out.fill_chunks.append(DayFills(today, done, self.quotes, self.symbols, self.spec.sim))
        return Decimal(done.traded).scaleb(-2)

    def _decide(self, t: int, today: date, marks: Marks) -> OrderBatch:
        equity = marks.equity
        if not equity > 0:
            raise Unsupported("an account without equity")
        spec, panels = self.spec, self.panels
        values_f = marks.value_f
        weights = values_f / float(equity)
        held = np.zeros(len(self.symbols), dtype=bool)
        held[marks.held] = True
        close = panels.panels.values["close"][t]
        priced = panels.tradable & np.isfinite(close)
        target = equal_weight(int(priced.sum()), spec.limits.max_position_weight, spec.limits.min_cash_weight)
        near_band = np.flatnonzero(held & (np.abs(np.abs(weights - target) - HOLD_BAND) < 1e-13))
        for i in near_band.tolist():
            weights[i] = weight_of(marks.value(i), equity)
        plan = spec.policy.array_plan(priced, held, weights, target)  # type: ignore[attr-defined]
        prices = self.quotes.close_row(t)
        rates = self.quotes.fx_row(t)
        fx = [rates[c] for c in self.quotes.currency]
        sized = size_plan(plan=plan, target=target, equity=equity, values=marks.values, quantities=marks.quantities,
                          weights=weights, prices=prices, fx=fx, close_f=self.quotes.close_f[t],
                          fx_f=self.quotes.fx_f(t), fractional=panels.fractional)
        day = self._day(t, today, marks, weights)
        verdicts = self._classify(day, marks, sized, prices, fx, target)
        return self._select(t, today, sized, verdicts)

    def _day(self, t: int, today: date, marks: Marks, weights: np.ndarray) -> Day:
        returns, equity, values = self.panels.panels.returns[t], marks.equity, marks.values
        halt = self.spec.limits.intraday_drop_halt
        day_return = float(weights @ returns)
        if abs(day_return + halt) <= 1e-9:
            # bot.desk.context.day_return exactly: weights times the day's returns, in broker order.
            day_return = 0.0
            for i in self.venue.by_name:
                if i in values:
                    day_return += float(values[i] / equity) * float(returns[i])
        breaker = day_return <= -halt
        week = self.week_id[min(t + 1, len(self.dates) - 1)]
        exits = self.desk.last_exit
        return Day(row=t, today=today, equity=equity, cash=marks.cash, values=values, values_f=marks.value_f,
                   quantities=marks.quantities, costs=marks.costs, opened=marks.opened(self.dates),
                   by_name=self.venue.by_name,
                   last_exit={i: self.dates[row] for i, row in enumerate(exits.tolist()) if row >= 0},
                   peak=self.desk.peak, day_return=day_return, trades_this_week=int(self.desk.week_fills[week]),
                   state=TradingState.REDUCING if breaker else TradingState.ACTIVE)

    def _classify(self, day: Day, marks: Marks, sized: Sized, prices: list[Decimal | None],
                  fx: list[Decimal | None], target: float) -> DayVerdicts:
        priced = np.array([p is not None and f is not None for p, f in zip(prices, fx, strict=True)], dtype=bool)
        # (prices and fx are the day's quotes of every symbol; an idea without one is sized to nothing)
        verdicts = classify_day(*risk_inputs(self.panels, day, sized, priced), self.spec.limits)
        if verdicts is not None:
            return verdicts
        proposals = plan_proposals(self.panels, day, sized, target)
        ctx = reference_context(self.spec, self.quotes.feed, self.symbols, day, marks.avg_prices,
                                fills_by_week(self.desk.week_fills, self.weeks), proposals)
        reference = classify_batch(proposals, ctx, self.spec.limits)
        level = np.array([LEVEL_NAMES.index(v.level.value) for v in reference], dtype=np.int64)
        mask = np.array([sum(BIT[c] for c in v.codes) for v in reference], dtype=np.int64)
        clamps = {row: v.clamped.quantity for row, v in enumerate(reference)
                  if v.level is Level.BORDERLINE and v.clamped is not None}
        return DayVerdicts(level=level, mask=mask, clamp=clamps)

    def _select(self, t: int, today: date, sized: Sized, verdicts: DayVerdicts) -> OrderBatch:
        out, approve = self.out, self.spec.approve_borderline
        levels = verdicts.level.tolist()
        for lv in (0, 1, 2):
            count = levels.count(lv)
            if count:
                out.counts[f"proposals_{LEVEL_NAMES[lv].lower()}"] += count
        for mask, count in Counter((verdicts.mask & ~NOTES).tolist()).items():
            for code in codes_of(mask):
                out.codes[code] += count
        chosen: list[int] = []
        quantities: list[Decimal] = []
        executed: list[bool] = []
        for n, (quantity, lv) in enumerate(zip(sized.quantity, levels, strict=True)):
            take = lv == 0 or (lv == 1 and approve)
            size = verdicts.clamp.get(n, quantity) if lv == 1 else quantity
            if take and size > 0:
                chosen.append(n)
            quantities.append(size)
            executed.append(take)
        if levels:
            out.decision_chunks.append(DayDecisions(today, t, sized, quantities, verdicts, executed, self.symbols))
        picked = [quantities[n] for n in chosen]
        return OrderBatch(row=t, number=np.array(chosen, dtype=np.int64),
                          symbol=np.array([sized.symbol[n] for n in chosen], dtype=np.int64),
                          buy=np.array([sized.buy[n] for n in chosen], dtype=bool),
                          units=np.array([units_of(q) for q in picked], dtype=np.int64), quantity=picked)
