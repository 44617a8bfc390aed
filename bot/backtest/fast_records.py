"""The records of an array replay's day, built when first read: ``DecisionRecord`` and ``FillRecord``.

Policy: the same records ``bot.backtest.engine`` appends, field for field (ids ``b<row>-<n>``,
sides and levels as their text, quantities and prices as their Decimal text, notionals rounded
to cents); a ten-year replay keeps its days compact until someone reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.backtest.engine import DecisionRecord, FillRecord
from bot.backtest.fast_book import Outcome
from bot.backtest.fast_sizing import Sized
from risk.batch import DayVerdicts, codes_of

LEVEL_NAMES = ("SAFE", "BORDERLINE", "UNSAFE")


@dataclass(frozen=True)
class DayDecisions:
    day: date
    row: int
    sized: Sized
    quantities: list[Decimal]
    verdicts: DayVerdicts
    executed: list[bool]
    symbols: list[str]

    def __call__(self) -> list[DecisionRecord]:
        masks = self.verdicts.mask.tolist()
        levels = self.verdicts.level.tolist()
        return [DecisionRecord(day=self.day, id=f"b{self.row}-{n}", symbol=self.symbols[s],
                               side="buy" if buy else "sell", quantity=str(q), level=LEVEL_NAMES[lv],
                               codes=codes_of(mask), executed=take)
                for n, (s, buy, q, lv, mask, take) in enumerate(zip(self.sized.symbol, self.sized.buy, self.quantities,
                                                                    levels, masks, self.executed, strict=True))]


@dataclass(frozen=True)
class DayFills:
    day: date
    outcomes: list[Outcome]
    symbols: list[str]

    def __call__(self) -> list[FillRecord]:
        return [FillRecord(day=self.day, client_order_id=f"b{o.order.row}-{o.order.number}",
                           symbol=self.symbols[o.order.symbol], side="buy" if o.order.buy else "sell",
                           quantity=str(o.order.quantity), price="" if o.price is None else str(o.price),
                           notional_base=str(round(o.notional if o.notional is not None else Decimal(0), 2)),
                           status="rejected" if o.price is None else "filled")
                for o in self.outcomes]
