"""The compiled days of an array replay, between the days the exact Python replay takes.

Policy: ``Kernel.run`` hands the replayer's integer state (``fast_book.Venue``'s holdings, cash,
the desk's fills per week and exits) to ``bot.backtest.kernel.run_days`` and turns what it wrote
into the replay's results: the exact Decimal equity of each close (cash plus the 128-bit sum
of its positions), the traded cents, the counts and codes, and records built when first read.
It stops at the first day the kernel leaves to Python and returns that day with the orders
pending for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from bot.backtest.engine import DecisionRecord, FillRecord
from bot.backtest.fast_book import OrderBatch
from bot.backtest.fast_records import LEVEL_NAMES, decision_record, fill_record
from bot.backtest.kernel import UNDECIDED, run_days
from bot.backtest.kernel_cvar import reach_blocks
from bot.backtest.kernel_day import BUY_AND_HOLD, EQUAL_WEIGHT
from bot.backtest.kernel_exact import joined
from broker.simulated import BPS
from risk.batch import NOTES, codes_of

if TYPE_CHECKING:
    from bot.backtest.fast import _Replayer

REFUSED = ("NOT_TRADABLE", "FRACTIONAL_NOT_ALLOWED", "NO_QUOTE", "NO_FX_RATE", "INSUFFICIENT_CASH",
           "INSUFFICIENT_POSITION")
MODES = {"equal_weight": EQUAL_WEIGHT, "buy_and_hold": BUY_AND_HOLD}


def limits_vector(replayer: _Replayer) -> np.ndarray:
    """The limits in ``bot.backtest.kernel_rules``' order."""
    lim = replayer.spec.limits
    return np.array([lim.max_position_weight, lim.max_asset_class_weight, lim.max_sector_weight, lim.min_cash_weight,
                     lim.max_drawdown, lim.intraday_drop_halt, lim.max_volatility, lim.max_correlation,
                     lim.large_holding_weight, lim.max_adv_fraction, lim.max_trades_per_day, lim.max_trades_per_week,
                     lim.min_holding_days, lim.reentry_cooldown_days, lim.max_cvar_95, lim.borderline_fraction,
                     lim.max_price_age_days], dtype=float)


class Kernel:
    """``run_days`` over a replayer's arrays, and its results appended to the replayer's."""

    def __init__(self, replayer: _Replayer, mode: int) -> None:
        self.r = r = replayer
        quotes, panels, venue, desk = r.quotes, r.panels, r.venue, r.desk
        rows, n = len(r.dates), len(r.symbols)
        values = panels.panels.values
        adv = values["adv_base"]
        returns = panels.panels.returns
        self.market = (quotes.close_units, quotes.open_units, quotes.fx_units, quotes.symbol_fx, values["close"],
                       panels.volatility_panel, adv, panels.price_age_panel, returns,
                       np.ascontiguousarray(returns.T), reach_blocks(returns), panels.ordinals, r.week_id)
        self.static = (panels.tradable, panels.fractional, panels.asset_class, panels.sector)
        self.lim = limits_vector(r)
        self.sim = np.array([venue.slippage, venue.commission, venue.min_commission], dtype=np.int64)
        self.state = (venue.units, venue.cost, venue.opened, desk.last_exit, desk.week_fills, venue.money)
        self.mode = mode
        self.pending = (np.zeros(1, dtype=np.int64), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.bool_),
                        np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
        self.snap_exact = np.zeros((rows, 2), dtype=np.uint64)
        self.snap_cash = np.zeros(rows, dtype=np.int64)
        self.traded = np.zeros(rows, dtype=np.int64)
        self.refused = np.zeros(len(REFUSED), dtype=np.int64)
        self.f_n, self.d_n = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        size = len(replayer.spec.rows) * max(n, 1)  # at most one fill and one decision per symbol a day
        # (zeroed pages are only committed when written)
        self.f_row, self.f_number, self.f_sym = (np.zeros(size, dtype=np.int32) for _ in range(3))
        self.f_units, self.f_cents = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)
        self.f_buy, self.f_filled = np.zeros(size, dtype=bool), np.zeros(size, dtype=bool)
        self.d_row, self.d_number, self.d_sym, self.d_level = (np.zeros(size, dtype=np.int32) for _ in range(4))
        self.d_units, self.d_mask = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)
        self.d_buy, self.d_exec = np.zeros(size, dtype=bool), np.zeros(size, dtype=bool)
        self.scratch = (np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.bool_), np.zeros(n, dtype=np.int64),
                        np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                        np.zeros(n, dtype=np.int64), np.zeros(n))
        self.peak = np.zeros(1)

    def _out(self) -> tuple[np.ndarray, ...]:
        return (self.snap_exact, self.snap_cash, self.traded, self.refused, self.f_n, self.f_row, self.f_number,
                self.f_sym, self.f_buy, self.f_units, self.f_filled, self.f_cents, self.d_n, self.d_row,
                self.d_number, self.d_sym, self.d_buy, self.d_units, self.d_level, self.d_mask, self.d_exec)

    def run(self, t: int, last: int, pending: OrderBatch | None) -> tuple[int, OrderBatch | None]:
        """Replay from row ``t``; the first row left to Python (``last + 1`` when none) and its pending orders."""
        self._load(pending)
        self.peak[0] = float(self.r.desk.peak) if self.r.desk.peak is not None else 0.0
        marks = (int(self.f_n[0]), int(self.d_n[0]), self.refused.copy())
        stop, code = run_days(t, last + 1, last, self.mode, self.r.spec.approve_borderline, self.market, self.static,
                              self.lim, self.sim, self.state, self.peak, self.pending, self._out(), self.scratch)
        self._collect(t, stop, *marks)
        if code == UNDECIDED:
            return stop, self._unload(stop - 1)
        return last + 1, None

    def _load(self, batch: OrderBatch | None) -> None:
        count, symbol, buy, units, number = self.pending
        size = 0 if batch is None else len(batch.symbol)
        count[0] = size
        if batch is not None and size:
            symbol[:size], buy[:size], units[:size], number[:size] = batch.symbol, batch.buy, batch.units, batch.number

    def _unload(self, row: int) -> OrderBatch:
        count, symbol, buy, units, number = self.pending
        size = int(count[0])
        symbol, buy, units = symbol[:size].copy(), buy[:size].copy(), units[:size].copy()
        venue = self.r.venue
        return OrderBatch(row=row, number=number[:size].copy(), symbol=symbol, buy=buy, units=units,
                          quantity=[venue.decimal(s, q) for s, q in zip(symbol.tolist(), units.tolist(), strict=True)])

    def _collect(self, t0: int, t1: int, fills_from: int, decisions_from: int, refused: np.ndarray) -> None:
        """The results of rows ``t0..t1-1`` into the replay's."""
        r, out = self.r, self.r.out
        for t in range(t0, t1):
            high, low = self.snap_exact[t].tolist()
            equity = Decimal(int(self.snap_cash[t])).scaleb(-2) + Decimal(joined(high, low)).scaleb(-18)
            out.dates.append(r.dates[t])
            out.equity.append(equity)
            out.traded.append(Decimal(int(self.traded[t])).scaleb(-2))
            r.desk.peak = max(r.desk.peak or equity, equity)
            if r.spec.on_day is not None:
                r.spec.on_day(t)
        f1, d1 = int(self.f_n[0]), int(self.d_n[0])
        self._count(fills_from, f1, decisions_from, d1, self.refused - refused)
        if f1 > fills_from:
            filled = np.flatnonzero(self.f_filled[fills_from:f1]) + fills_from
            r.venue.fills.append((self.f_row[filled], self.f_sym[filled], self.f_buy[filled], self.f_units[filled]))
            out.fill_chunks.append(self._fill_records(fills_from, f1))
        if d1 > decisions_from:
            out.decision_chunks.append(self._decision_records(decisions_from, d1))

    def _count(self, f0: int, f1: int, d0: int, d1: int, refused: np.ndarray) -> None:
        out = self.r.out
        if (filled := int(self.f_filled[f0:f1].sum())):
            out.counts["filled"] += filled
        if (rejected := int(refused.sum())):
            out.counts["broker_rejected"] += rejected
            for name, n in zip(REFUSED, refused.tolist(), strict=True):
                if n:
                    out.codes[f"BROKER:{name}"] += n
        for lv, n in enumerate(np.bincount(self.d_level[d0:d1], minlength=3).tolist()):
            if n:
                out.counts[f"proposals_{LEVEL_NAMES[lv].lower()}"] += n
        masks, counts = np.unique(np.bitwise_and(self.d_mask[d0:d1], ~NOTES), return_counts=True)
        for mask, n in zip(masks.tolist(), counts.tolist(), strict=True):
            for code in codes_of(mask):
                out.codes[code] += n

    def _fill_records(self, f0: int, f1: int) -> Callable[[], list[FillRecord]]:
        rows, numbers, symbols, buys = (a[f0:f1] for a in (self.f_row, self.f_number, self.f_sym, self.f_buy))
        units, filled, cents = (a[f0:f1] for a in (self.f_units, self.f_filled, self.f_cents))
        r = self.r
        slippage = r.spec.sim.slippage_bps / BPS

        def records() -> list[FillRecord]:
            return [fill_record(r.dates[row], row - 1, number, r.symbols[s], buy, r.venue.decimal(s, q),
                                r.quotes.open_price(row, s), slippage, c if done else None)
                    for row, number, s, buy, q, done, c in zip(rows.tolist(), numbers.tolist(), symbols.tolist(),
                                                               buys.tolist(), units.tolist(), filled.tolist(),
                                                               cents.tolist(), strict=True)]

        return records

    def _decision_records(self, d0: int, d1: int) -> Callable[[], list[DecisionRecord]]:
        rows, numbers, symbols, buys = (a[d0:d1] for a in (self.d_row, self.d_number, self.d_sym, self.d_buy))
        units, levels, masks, executed = (a[d0:d1] for a in (self.d_units, self.d_level, self.d_mask, self.d_exec))
        r = self.r

        def records() -> list[DecisionRecord]:
            return [decision_record(r.dates[row], row, number, r.symbols[s], buy, r.venue.decimal(s, q), lv, mask,
                                    take)
                    for row, number, s, buy, q, lv, mask, take in zip(
                        rows.tolist(), numbers.tolist(), symbols.tolist(), buys.tolist(), units.tolist(),
                        levels.tolist(), masks.tolist(), executed.tolist(), strict=True)]

        return records


def weeks_of(dates: list[date]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Each row's ISO week as an index, and the weeks by index."""
    index: dict[tuple[int, int], int] = {}
    ids = [index.setdefault(d.isocalendar()[:2], len(index)) for d in dates]
    return np.array(ids, dtype=np.int64), list(index)


def fills_by_week(week_fills: np.ndarray, weeks: list[tuple[int, int]]) -> Counter[tuple[int, int]]:
    """The desk's fills per ISO week, as ``bot.backtest.engine.ReplayState`` counts them."""
    return Counter({weeks[i]: int(n) for i, n in enumerate(week_fills.tolist()) if n})
