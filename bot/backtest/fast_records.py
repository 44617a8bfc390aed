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


def decision_record(day: date, row: int, number: int, symbol: str, buy: bool, quantity: Decimal, level: int,
                    mask: int, executed: bool) -> DecisionRecord:
    """The record ``bot.backtest.engine`` keeps of proposal ``b<row>-<number>``."""
    return DecisionRecord(day=day, id=f"b{row}-{number}", symbol=symbol, side="buy" if buy else "sell",
                          quantity=str(quantity), level=LEVEL_NAMES[level], codes=codes_of(mask), executed=executed)


def fill_record(day: date, row: int, number: int, symbol: str, buy: bool, quantity: Decimal, quote: Decimal | None,
                slippage: Decimal, cents: int | None) -> FillRecord:
    """The record of order ``b<row>-<number>`` executed on ``day`` at ``quote`` (``cents``: its notional, None
    when the ledger refused it)."""
    if cents is None or quote is None:
        price, notional, status = "", Decimal(0).scaleb(-2), "rejected"
    else:
        price = str(quote * (ONE + slippage if buy else ONE - slippage))
        notional, status = Decimal(cents).scaleb(-2), "filled"
    return FillRecord(day=day, client_order_id=f"b{row}-{number}", symbol=symbol, side="buy" if buy else "sell",
                      quantity=str(quantity), price=price, notional_base=str(notional), status=status)


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
        return [decision_record(self.day, self.row, n, self.symbols[s], buy, q, lv, mask, take)
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
        return [fill_record(self.day, batch.row, int(batch.number[k]), self.symbols[s], bool(batch.buy[k]),
                            batch.quantity[k], self.quotes.open_price(done.row, s), slippage, cents if filled else None)
                for k, s, filled, cents in zip(done.recorded.tolist(), batch.symbol[done.recorded].tolist(),
                                               done.filled.tolist(), done.cents.tolist(), strict=True)]
