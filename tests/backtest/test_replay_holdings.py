"""The replay's holdings (built without re-validation) equal the live desk's ``holdings_of``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot.backtest.engine import replay_holdings
from bot.desk.context import holdings_of
from broker.models import Position


def _position(symbol: str, opened_at: datetime | None) -> Position:
    return Position(symbol=symbol, quantity=Decimal("12.5"), avg_price=Decimal("101.25"), currency="EUR",
                    cost_base=Decimal("1265.625"), market_price=Decimal("103.5"),
                    market_value_base=Decimal("1293.75"), opened_at=opened_at)


def test_replay_holdings_equal_holdings_of_field_by_field() -> None:
    positions = [_position("AIR.PA", datetime(2024, 3, 1, 21, 0, tzinfo=UTC)), _position("MC.PA", None)]
    fast, checked = replay_holdings(positions), holdings_of(positions)
    assert fast == checked
    assert list(fast) == list(checked)
    for symbol, holding in fast.items():
        assert holding.model_dump() == checked[symbol].model_dump()
        assert {k: type(v) for k, v in holding} == {k: type(v) for k, v in checked[symbol]}
        assert holding.unrealized_pnl_pct == checked[symbol].unrealized_pnl_pct
