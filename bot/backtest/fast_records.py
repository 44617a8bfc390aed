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
from bot.backtest.fast_book import Executed
from bot.backtest.fast_quotes import Quotes
from bot.backtest.fast_sizing import Sized
from broker.simulated import BPS, ONE, SimConfig
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
    done: Executed
    quotes: Quotes
    symbols: list[str]
    config: SimConfig

    def __call__(self) -> list[FillRecord]:
        done, batch = self.done, self.done.batch
        slippage = self.config.slippage_bps / BPS
        records = []
        for k, filled, cents in zip(done.recorded.tolist(), done.filled.tolist(), done.cents.tolist(), strict=True):
            symbol, buy = int(batch.symbol[k]), bool(batch.buy[k])
            quote = self.quotes.open_price(done.row, symbol)
            price = "" if not filled or quote is None else str(quote * (ONE + slippage if buy else ONE - slippage))
            records.append(FillRecord(day=self.day, client_order_id=f"b{batch.row}-{int(batch.number[k])}",
                                      symbol=self.symbols[symbol], side="buy" if buy else "sell",
                                      quantity=str(batch.quantity[k]), price=price,
                                      notional_base=str(Decimal(cents if filled else 0).scaleb(-2)),
                                      status="filled" if filled else "rejected"))
        return records
