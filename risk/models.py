"""Risk engine values: proposals, the facts a verdict is based on, hits and verdicts.

Everything here is data. The engine never fetches, logs or reads a clock: the caller builds a
``RiskContext`` (with ``as_of``) and persists the ``RiskVerdict``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from broker.models import Instrument, Side
from risk.limits import RiskLimits

if TYPE_CHECKING:  # annotations only: the values, and the records a store reads, need no numpy or pandas
    import pandas as pd

    from risk.measures import CorrelationMatrix, ReturnsMatrix

Detail = dict[str, str | int | float | bool | None]


class Level(StrEnum):
    """Verdict level; the worst hit wins."""

    SAFE = "SAFE"
    BORDERLINE = "BORDERLINE"
    UNSAFE = "UNSAFE"

    @property
    def rank(self) -> int:
        """Ordering used to pick the worst level."""
        return _RANK[self]


_RANK = {Level.SAFE: 0, Level.BORDERLINE: 1, Level.UNSAFE: 2}


class TradingState(StrEnum):
    """The kill switch: ACTIVE trades, REDUCING only reduces risk, HALTED does nothing."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TradeProposal(_Frozen):
    """One order the desk wants to place, sized against the live portfolio."""

    id: str
    symbol: str
    side: Side
    quantity: Decimal = Field(ge=0)
    price: Decimal | None = Field(default=None, description="latest price, instrument currency")
    fx_rate: Decimal | None = Field(default=None, description="base units per instrument currency unit")
    target_weight: float = Field(ge=0, le=1)
    confidence: float = Field(ge=0, le=1)
    stop_loss_pct: float | None = None

    @property
    def price_base(self) -> Decimal | None:
        """Price converted into the base currency, when known."""
        if self.price is None or self.fx_rate is None:
            return None
        return self.price * self.fx_rate

    @property
    def notional_base(self) -> Decimal:
        """Absolute order value in base currency (0 when the price is unknown)."""
        price_base = self.price_base
        return Decimal(0) if price_base is None else self.quantity * price_base

    def with_quantity(self, quantity: Decimal) -> TradeProposal:
        """The same proposal with another size."""
        return self.model_copy(update={"quantity": quantity})


class Holding(_Frozen):
    """A position as the risk engine sees it."""

    symbol: str
    quantity: Decimal
    market_value_base: Decimal
    cost_base: Decimal
    opened_on: date | None = None

    @property
    def unrealized_pnl_pct(self) -> float:
        """Unrealised return of the position (0 when the cost is unknown)."""
        if self.cost_base <= 0:
            return 0.0
        return float(self.market_value_base / self.cost_base - 1)


class MarketFacts(_Frozen):
    """What the market says about one symbol on ``as_of``."""

    symbol: str
    price: Decimal = Field(gt=0)
    fx_rate: Decimal = Field(gt=0)
    price_date: date
    volatility: float | None = Field(default=None, description="annualised, 60-day")
    adv_base: Decimal | None = Field(default=None, description="average daily traded value, base ccy")


@dataclass(frozen=True)
class Sleeve:
    """A named part of the portfolio: its instruments, its budget (a share of equity) and its limits."""

    name: str
    symbols: frozenset[str]
    budget: float
    limits: RiskLimits | None = None  # only ever tighter than the desk's (``RiskLimits.tightened``)


@dataclass(frozen=True)
class SleeveBook:
    """The sleeves in force; a symbol belongs to at most one (checked where the book is built)."""

    sleeves: tuple[Sleeve, ...]
    by_symbol: Mapping[str, Sleeve] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_symbol", {s: sleeve for sleeve in self.sleeves for s in sleeve.symbols})

    def limits_for(self, symbol: str, desk: RiskLimits) -> RiskLimits:
        """The limits a proposal of ``symbol`` is classified under: its sleeve's, else the desk's."""
        sleeve = self.by_symbol.get(symbol)
        return desk if sleeve is None or sleeve.limits is None else sleeve.limits


@dataclass(frozen=True)
class RiskContext:
    """The portfolio and the market at decision time; pure data, built by the caller."""

    as_of: date
    equity: Decimal
    cash: Decimal
    instruments: Mapping[str, Instrument]
    market: Mapping[str, MarketFacts]
    holdings: Mapping[str, Holding] = field(default_factory=dict)
    # Days × symbols daily returns and symbols × symbols correlations: frames, or the same numbers
    # as arrays (what a replay day holds; ``risk.derived`` reads either through one accessor).
    returns: pd.DataFrame | ReturnsMatrix | None = None
    correlations: pd.DataFrame | CorrelationMatrix | None = None
    trading_state: TradingState = TradingState.ACTIVE
    peak_equity: Decimal | None = None
    day_return: float = 0.0
    trades_today: int = 0
    trades_this_week: int = 0
    last_exit: Mapping[str, date] = field(default_factory=dict)
    tradable: frozenset[str] | None = None
    sleeves: SleeveBook | None = None  # None: one implicit sleeve, the whole desk
    # Values derived from the fields above, computed once per context (see ``risk.facts.derived``);
    # ``dataclasses.replace`` starts a new context with an empty memo, so nothing stale survives it.
    memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def weight(self, symbol: str) -> float:
        """Current weight of a symbol in the portfolio."""
        holding = self.holdings.get(symbol)
        if holding is None or self.equity <= 0:
            return 0.0
        return float(holding.market_value_base / self.equity)

    @property
    def drawdown(self) -> float:
        """Drawdown of equity from its peak (0 when no peak is known)."""
        if self.peak_equity is None or self.peak_equity <= 0:
            return 0.0
        return max(0.0, float(1 - self.equity / self.peak_equity))


class Hit(_Frozen):
    """One rule's finding: a stable code, a level, its numbers, and optionally a smaller size."""

    code: str
    level: Level
    detail: Detail = Field(default_factory=dict)
    clamp_quantity: Decimal | None = None

    @classmethod
    def unsafe(cls, code: str, **detail: Any) -> Hit:
        """A finding that forbids the trade."""
        return cls(code=code, level=Level.UNSAFE, detail=_clean(detail))

    @classmethod
    def borderline(cls, code: str, clamp_quantity: Decimal | None = None, **detail: Any) -> Hit:
        """A finding that needs a human; ``clamp_quantity`` offers a size within the limit."""
        return cls(code=code, level=Level.BORDERLINE, detail=_clean(detail), clamp_quantity=clamp_quantity)

    @classmethod
    def note(cls, code: str, **detail: Any) -> Hit:
        """An informational finding that does not change the verdict."""
        return cls(code=code, level=Level.SAFE, detail=_clean(detail))

    def describe(self) -> str:
        """``CODE: key=value, ...`` for logs and messages."""
        if not self.detail:
            return self.code
        return f"{self.code}: " + ", ".join(f"{k}={v}" for k, v in self.detail.items())


class Clamp(_Frozen):
    """A size reduction the engine offers instead of the requested order."""

    quantity_before: Decimal
    quantity_after: Decimal
    weight_before: float
    weight_after: float


class RiskVerdict(_Frozen):
    """The engine's answer: level, every hit, and a clamped proposal when only the size is wrong."""

    level: Level
    hits: tuple[Hit, ...] = ()
    clamped: TradeProposal | None = None
    clamp: Clamp | None = None

    @property
    def codes(self) -> list[str]:
        """The codes of the hits, in rule order."""
        return [hit.code for hit in self.hits]

    @classmethod
    def from_hits(cls, hits: list[Hit]) -> RiskVerdict:
        """The worst level of the hits (SAFE when there are none)."""
        level = max((hit.level for hit in hits), key=lambda lv: lv.rank, default=Level.SAFE)
        return cls(level=level, hits=tuple(hits))


def _clean(detail: dict[str, Any]) -> Detail:
    """Round floats and stringify decimals so details serialise and read well."""
    out: Detail = {}
    for key, value in detail.items():
        if isinstance(value, float):
            out[key] = round(value, 6)
        elif isinstance(value, Decimal):
            out[key] = str(value)
        else:
            out[key] = value
    return out
