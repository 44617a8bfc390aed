"""What the replayed desk remembers between days, as the live desk's store would: activity, stops, breaker.

Policy (the replay's reading of the live desk on daily bars):

- Activity: a fill counts on the day its order was decided (``counted_on``): the live desk fills
  a cycle's orders at once, the replay at the next open, so trades per day and per ISO week and the
  day of the last sell (cooldown) are the dates the live desk would have stored (the day a position
  opened, for the holding period, is stamped by the feed: ``ReplayFeed.stamp``). A stop-loss sell
  counts on the day it fired.
- Stops: the stop of a symbol is that of its latest filled BUY that carried a ``stop_loss_pct``
  (``risk.stops.stop_level`` of the fill price), as ``bot.desk.watch.stop_price`` reads live.
  On a day's bar it triggers when the low is at or below it and sells at the open when the open
  gapped through it, else at the stop (rounded down to the feed's 6 decimals).
- Circuit breaker: live, a tripped desk stays REDUCING until a human resumes it; nobody does in a
  replay, so ``trip`` keeps it REDUCING through ``breaker_days`` decision days counting the trip
  day, and a new trip inside that window restarts the count.

Failure contract: plain bookkeeping; nothing raises.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal

from bot.backtest.feed import Bar, price_decimal
from broker.models import Order, Side
from risk.models import TradingState
from risk.stops import stop_level

PRICE_STEP = Decimal("0.000001")


def week_of(day: date) -> tuple[int, int]:
    """The ISO (year, week) of ``day``."""
    iso = day.isocalendar()
    return iso[0], iso[1]


@dataclass
class ReplayState:
    """The equity peak, fills per day and ISO week, last sells, stops and the breaker's reach."""

    peak: Decimal | None = None
    fills_by_week: Counter[tuple[int, int]] = field(default_factory=Counter)
    last_exit: dict[str, date] = field(default_factory=dict)
    fills_by_day: Counter[date] = field(default_factory=Counter)
    stops: dict[str, Decimal] = field(default_factory=dict)
    reducing_through: int = -1  # the last row the circuit breaker keeps REDUCING

    def count_fill(self, order: Order, counted_on: date, stop_loss_pct: float | None) -> None:
        """Record one filled order on the day it counts on."""
        self.fills_by_day[counted_on] += 1
        self.fills_by_week[week_of(counted_on)] += 1
        if order.side is Side.SELL:
            self.last_exit[order.symbol] = counted_on
        elif stop_loss_pct is not None and order.filled_avg_price is not None:
            self.stops[order.symbol] = stop_level(order.filled_avg_price, stop_loss_pct)

    def trading_state(self, row: int) -> TradingState:
        """REDUCING while the breaker's window covers ``row``, else ACTIVE."""
        return TradingState.REDUCING if row <= self.reducing_through else TradingState.ACTIVE

    def trip(self, row: int, breaker_days: int) -> bool:
        """Trip the breaker on ``row``; True when it was not already REDUCING (a new trip)."""
        new = row > self.reducing_through
        self.reducing_through = max(self.reducing_through, row + breaker_days - 1)
        return new


def stop_fill(bar: Bar, stop: Decimal) -> Decimal | None:
    """The price a stop at ``stop`` sells at on ``bar``: None when the low stayed above it."""
    low = price_decimal(bar.low)
    if low is None or low > stop:
        return None
    opening = price_decimal(bar.open)
    if opening is not None and opening <= stop:
        return opening  # gapped through: the first price available was already below the stop
    text = f"{stop.quantize(PRICE_STEP, rounding=ROUND_DOWN):f}".rstrip("0")
    return Decimal(text + "0" if text.endswith(".") else text)  # in the feed's form (``price_decimal``)
