"""Trading vocabulary shared by every package: enums carrying wire values and frozen models.

Money and quantities are ``Decimal`` everywhere; floats are converted once at an adapter boundary.
Datetimes are UTC-aware. Amounts "in base" are in the account's base currency (EUR by default).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

ZERO = Decimal(0)


class Frozen(BaseModel):
    """Base for immutable value objects."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Side(StrEnum):
    """Order side, as brokers spell it on the wire."""

    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    """Order types the desk uses."""

    MARKET = "market"


class TimeInForce(StrEnum):
    """How long an order stays working."""

    DAY = "day"


class OrderStatus(StrEnum):
    """Broker-side order status (a subset of Alpaca's vocabulary)."""

    NEW = "new"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        """True when the order can no longer change."""
        return self in {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}


class AssetClass(StrEnum):
    """Coarse asset classes used for concentration limits."""

    US_EQUITY = "us_equity"
    INTL_EQUITY = "intl_equity"
    SMALL_CAP = "small_cap"
    EU_EQUITY = "eu_equity"
    BOND = "bond"
    COMMODITY = "commodity"
    OTHER = "other"


class Instrument(Frozen):
    """A tradable instrument of the universe."""

    symbol: str
    name: str = ""
    asset_class: AssetClass
    sector: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    exchange: str
    fractional: bool = False
    tradable: bool = True
    data_symbol: str | None = None
    price_scale: Decimal = Decimal(1)

    @field_validator("symbol")
    @classmethod
    def _symbol_upper(cls, value: str) -> str:
        if not value or value != value.strip():
            raise ValueError("symbol must be a non-empty string without surrounding spaces")
        return value.upper()


class Quote(Frozen):
    """Latest price of an instrument in its own currency."""

    symbol: str
    price: Decimal = Field(gt=0)
    currency: str
    at: datetime


class Position(Frozen):
    """A holding, valued in its currency and in the base currency."""

    symbol: str
    quantity: Decimal
    avg_price: Decimal
    currency: str
    cost_base: Decimal
    market_price: Decimal
    market_value_base: Decimal
    opened_at: datetime | None = None

    @property
    def unrealized_pnl_base(self) -> Decimal:
        """Profit or loss in base currency, FX effects included."""
        return self.market_value_base - self.cost_base


class Account(Frozen):
    """Account totals in the base currency."""

    base_currency: str
    cash: Decimal
    positions_value: Decimal
    equity: Decimal
    at: datetime


class OrderRequest(Frozen):
    """What the desk asks a broker to do; ``client_order_id`` is the proposal id."""

    client_order_id: str = Field(min_length=1, max_length=48)
    symbol: str
    side: Side
    quantity: Decimal = Field(gt=0)
    type: OrderType = OrderType.MARKET
    time_in_force: TimeInForce = TimeInForce.DAY


class Fill(Frozen):
    """One execution of an order."""

    order_id: str
    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    currency: str
    fx_rate: Decimal = Field(description="base currency units per unit of the instrument currency")
    commission_base: Decimal
    at: datetime


class Order(Frozen):
    """A broker order and what has happened to it."""

    id: str
    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    status: OrderStatus
    filled_quantity: Decimal = ZERO
    filled_avg_price: Decimal | None = None
    submitted_at: datetime
    fills: tuple[Fill, ...] = ()
    reject_reason: str | None = None
