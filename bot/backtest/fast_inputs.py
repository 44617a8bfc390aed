"""What the risk engine sees on a replayed day, built from indicator panels and the replayed account.

Policy: the same facts ``bot.backtest.engine`` gives ``classify_batch`` (``MarketSnapshot.facts``
and ``_risk_context``): volatility is ``vol60`` unless missing or zero, then ``vol20``; ADV is
rounded to 6 decimals; the CVaR window is the last 252 rows of base-currency returns and the
correlation window their last 60; trades today count 0 and the week's count is the execution
day's. ``risk_inputs`` gives them as ``risk.batch`` arrays; for the days ``classify_day`` declines,
``reference_context`` builds the ``RiskContext`` with ``bot.backtest.engine``'s own code.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property

import numpy as np
import pandas as pd

from agent.indicator_panels import IndicatorPanels, indicators_at
from agent.indicators import CORRELATION_ROWS, RETURNS_ROWS
from agent.universe import Universe
from bot.backtest.engine import Replay, ReplayState, replay_risk_context, replay_snapshot
from bot.backtest.fast_sizing import Sized
from bot.backtest.feed import ReplayFeed
from bot.market import CLOSE_TIME, decimal_6
from broker.models import Account, Position, Side
from risk.batch import Book, Orders
from risk.models import RiskContext, TradeProposal, TradingState

ZERO = Decimal(0)


@dataclass
class Day:
    """One decision day of the replay: the account and the desk's state, as plain values."""

    row: int
    today: date
    equity: Decimal
    cash: Decimal
    values: Mapping[int, Decimal]
    values_f: np.ndarray
    quantities: Mapping[int, Decimal]
    costs: Mapping[int, Decimal]
    opened: Mapping[int, date]
    by_name: list[int]
    last_exit: dict[int, date]
    peak: Decimal | None
    day_return: float
    trades_this_week: int
    state: TradingState


class _Adv(Sequence[Decimal | None]):
    """ADV in base per symbol position, rounded like ``MarketSnapshot.facts`` when asked for."""

    def __init__(self, row: np.ndarray) -> None:
        self.row = row

    def __len__(self) -> int:
        return len(self.row)

    def __getitem__(self, i: int) -> Decimal | None:  # type: ignore[override]
        return decimal_6(self.row[i])


class _ByPosition(Sequence[Decimal]):
    """A holding's Decimal by symbol position (ZERO when not held), built when first read."""

    def __init__(self, n: int, held: Mapping[int, Decimal]) -> None:
        self.n, self.held = n, held
        self.seen: dict[int, Decimal] = {}

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Decimal:  # type: ignore[override]
        value = self.seen.get(i)
        if value is None:
            value = self.seen[i] = self.held[i] if i in self.held else ZERO
        return value


class Panels:
    """The panels of a replay as arrays the day's inputs are sliced from."""

    def __init__(self, panels: IndicatorPanels, universe: Universe) -> None:
        self.panels = panels
        self.symbols = [str(s) for s in panels.symbols]
        self.ordinals = np.array([d.toordinal() for d in panels.days], dtype=np.int64)
        by_symbol = universe.by_symbol
        instruments = [by_symbol[s] for s in self.symbols]
        self.asset_class = pd.factorize(pd.Series([i.asset_class.value for i in instruments]))[0].astype(np.int64)
        self.sector = pd.factorize(pd.Series([i.sector for i in instruments]))[0].astype(np.int64)
        self.fractional = np.array([i.fractional for i in instruments], dtype=bool)
        self.tradable = np.array([i.tradable for i in instruments], dtype=bool)

    @cached_property
    def volatility_panel(self) -> np.ndarray:
        """Volatility by row and symbol: ``vol60`` unless missing or zero, then ``vol20``, else NaN."""
        vol60, vol20 = self.panels.values["vol60"], self.panels.values["vol20"]
        return np.where(np.isfinite(vol60) & (vol60 != 0), vol60, np.where(np.isfinite(vol20), vol20, math.nan))

    @cached_property
    def price_age_panel(self) -> np.ndarray:
        """Days since each symbol's last price, by row (0 before its first)."""
        seen = self.panels.price_row
        return np.where(seen >= 0, self.ordinals[:, None] - self.ordinals[np.maximum(seen, 0)], 0).astype(np.int64)

    def volatility(self, row: int) -> np.ndarray:
        return np.asarray(self.volatility_panel[row])

    def price_age(self, row: int) -> np.ndarray:
        return np.asarray(self.price_age_panel[row])

    def returns(self, row: int) -> np.ndarray:
        return self.panels.returns[max(0, row + 1 - RETURNS_ROWS):row + 1]


def risk_inputs(panels: Panels, day: Day, sized: Sized, priced: np.ndarray) -> tuple[Book, Orders]:
    """``risk.batch`` inputs for the day's orders (``priced``: a quote and an FX rate)."""
    n = len(panels.symbols)
    window = panels.returns(day.row)
    tail = window[-CORRELATION_ROWS:]
    cache: dict[tuple[int, int], float] = {}

    def correlation(a: int, b: int) -> float:
        key = (min(a, b), max(a, b))
        if key not in cache:
            with np.errstate(invalid="ignore", divide="ignore"):
                cache[key] = float(np.corrcoef(tail[:, a], tail[:, b])[0, 1]) if len(tail) >= 2 else math.nan
        return cache[key]

    adv_row = panels.panels.values["adv_base"][day.row]
    opened: list[int | None] = [None] * n
    for i, d in day.opened.items():
        opened[i] = d.toordinal()
    book = Book(
        as_of=day.today.toordinal(), equity=day.equity, cash=day.cash, quantity=_ByPosition(n, day.quantities),
        value=_ByPosition(n, day.values), cost=_ByPosition(n, day.costs),
        value_f=day.values_f, opened=opened,
        holdings=[i for i in day.by_name if i in day.values],
        last_exit={i: d.toordinal() for i, d in day.last_exit.items()},
        asset_class=panels.asset_class, sector=panels.sector, fractional=panels.fractional, tradable=panels.tradable,
        has_market=priced, volatility=panels.volatility(day.row), adv=_Adv(adv_row), adv_f=adv_row,
        price_age=panels.price_age(day.row), returns=window, correlation=correlation, trading_state=day.state,
        peak=day.peak, day_return=day.day_return, trades_today=0, trades_this_week=day.trades_this_week,
    )
    price_base = [p * f if p is not None and f is not None else ZERO
                  for p, f in zip(sized.price, sized.fx, strict=True)]
    orders = Orders(
        symbol=np.array(sized.symbol, dtype=np.int64), buy=np.array(sized.buy, dtype=bool), quantity=sized.quantity,
        price_base=price_base, quantity_f=np.array([float(q) for q in sized.quantity]),
        price_base_f=np.array([float(pb) for pb in price_base]), confidence=np.ones(len(sized.symbol)),
    )
    return book, orders


def plan_proposals(panels: Panels, day: Day, sized: Sized, target: float) -> list[TradeProposal]:
    """The proposals ``size_decision`` makes of a baseline's plan (ids ``b<row>-<n>``)."""
    symbols = panels.symbols
    return [
        TradeProposal(id=f"b{day.row}-{n}", symbol=symbols[s], side=Side.BUY if buy else Side.SELL, quantity=q,
                      price=p, fx_rate=f, target_weight=target, confidence=1.0)
        for n, (s, buy, q, p, f) in enumerate(zip(sized.symbol, sized.buy, sized.quantity, sized.price, sized.fx,
                                                  strict=True))
    ]


def reference_context(spec: Replay, feed: ReplayFeed, symbols: list[str], day: Day, avg_price: Mapping[int, Decimal],
                      fills_by_week: Counter[tuple[int, int]], proposals: list[TradeProposal]) -> RiskContext:
    """The context ``bot.backtest.engine`` classifies the day's proposals against, built by its own code.

    The account and positions are the ones ``SimulatedBroker`` would report for the replayed
    ledger; ``feed`` is moved to the day.
    """
    feed.move_to(day.row)
    positions = [
        Position(symbol=symbols[i], quantity=day.quantities[i], avg_price=avg_price[i],
                 currency=feed.currency[symbols[i]], cost_base=day.costs[i],
                 market_price=quote.price if (quote := feed.quote(symbols[i])) is not None else avg_price[i],
                 market_value_base=day.values[i], opened_at=datetime.combine(day.opened[i], CLOSE_TIME))
        for i in day.by_name if i in day.values
    ]
    account = Account(base_currency=feed.base_currency, cash=day.cash, positions_value=sum(day.values.values(), ZERO),
                      equity=day.equity, at=feed.now())
    state = ReplayState(peak=day.peak, fills_by_week=fills_by_week,
                        last_exit={symbols[i]: d for i, d in day.last_exit.items()})
    indicators = indicators_at(spec.panels, day.row)
    ctx = replay_risk_context(spec, day.row, indicators, account, positions, state)
    snapshot = replay_snapshot(spec, feed, indicators, [p.symbol for p in proposals], positions)
    return replace(ctx, market=snapshot.facts())
