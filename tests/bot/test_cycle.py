"""The decision cycle end to end: synthetic market, rules policy, risk engine, simulated broker, database."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.desk.cycle import run_cycle
from bot.desk.results import CycleReport, DeskError
from broker.errors import OrderRejectedError
from broker.models import Order, OrderRequest
from risk.models import TradingState
from tests.bot.conftest import AppFactory

pytestmark = pytest.mark.asyncio


async def test_first_cycle_fills_safe_orders_and_records_everything(make_app: AppFactory) -> None:
    app = make_app()
    report = await run_cycle(app.desk)
    assert report.synthetic and "SYNTHETIC" in report.data_source
    assert report.proposals, "a portfolio in cash should buy something"
    by_level = {p.level for p in report.proposals}
    assert "SAFE" in by_level
    for line in report.proposals:
        expected = {"SAFE": {"FILLED", "BROKER_REJECTED"}, "BORDERLINE": {"AWAITING_APPROVAL"},
                    "UNSAFE": {"REJECTED_BY_RISK"}}[line.level]
        assert line.status in expected, line
        stored = app.store.get_proposal(line.id)
        assert stored is not None and stored.status == line.status
    filled = [p for p in report.proposals if p.status == "FILLED"]
    assert filled and all(p.fill_price is not None and p.fill_quantity == p.quantity for p in filled)
    positions = await app.desk.broker.positions()
    assert {p.symbol for p in positions} == {p.symbol for p in filled}
    # costs only: equity moves by slippage and commissions, not by price changes (same day)
    assert report.equity_after < report.equity_before
    assert report.equity_before - report.equity_after < Decimal("0.01") * report.equity_before
    assert report.cash_after >= Decimal("0.10") * report.equity_after
    cycle = app.store.get_cycle(report.cycle_id)
    assert cycle is not None and cycle.status == "completed" and cycle.report["cycle_id"] == report.cycle_id


async def test_a_second_run_continues_the_same_portfolio(make_app: AppFactory) -> None:
    first = await run_cycle(make_app().desk)
    again = make_app()  # a new process on the same database
    held_before = {p.symbol: p.quantity for p in await again.desk.broker.positions()}
    assert held_before, first
    second = await run_cycle(again.desk)
    assert second.equity_before == first.equity_after
    # same day, same prices, same targets: nothing is bought twice
    assert not [p for p in second.proposals if p.side == "buy" and p.symbol in held_before and p.status == "FILLED"]
    assert {p.symbol: p.quantity for p in await again.desk.broker.positions()} == held_before


async def test_halted_desk_trades_nothing(make_app: AppFactory) -> None:
    app = make_app()
    app.desk.set_state(TradingState.HALTED, "cli:tester", "test")
    report = await run_cycle(app.desk)
    assert report.trading_state == "HALTED"
    assert report.proposals and all(p.level == "UNSAFE" and "TRADING_HALTED" in p.codes for p in report.proposals)
    assert await app.desk.broker.positions() == []


class RejectingBroker:
    """Wraps the simulated broker and refuses one symbol the way a venue would."""

    def __init__(self, inner: object, symbol: str) -> None:
        self.inner, self.symbol, self.name = inner, symbol, "sim"

    def __getattr__(self, item: str) -> object:
        return getattr(self.inner, item)

    async def submit(self, request: OrderRequest) -> Order:
        if request.symbol == self.symbol:
            raise OrderRejectedError("insufficient buying power", code="INSUFFICIENT_CASH")
        return await self.inner.submit(request)  # type: ignore[attr-defined]


async def test_a_broker_rejection_is_recorded_and_the_others_carry_on(make_app: AppFactory, tmp_path: Path) -> None:
    probe = await run_cycle(make_app(database_url=f"sqlite:///{tmp_path / 'probe.db'}").desk)
    safe = [p.symbol for p in probe.proposals if p.level == "SAFE"]
    assert len(safe) >= 2, probe
    app = make_app()
    app.desk.broker = RejectingBroker(app.desk.broker, safe[0])  # type: ignore[assignment]
    report: CycleReport = await run_cycle(app.desk)
    rejected = [p for p in report.proposals if p.symbol == safe[0]]
    assert rejected and rejected[0].status == "BROKER_REJECTED" and "INSUFFICIENT_CASH" in (rejected[0].note or "")
    assert [p.symbol for p in report.proposals if p.status == "FILLED"] == safe[1:]
    assert any("rejected" in a for a in report.alerts)
    assert app.store.alerts()[0].kind == "broker_rejected"


async def test_replaying_an_earlier_day_on_a_later_portfolio_is_refused(make_app: AppFactory, clock) -> None:
    app = make_app()
    await run_cycle(app.desk)
    clock.advance(days=-7)
    with pytest.raises(DeskError, match="already has a cycle as of 2026-11-20"):
        await run_cycle(app.desk)
    assert len(app.store.cycles()) == 1


async def test_pnl_counts_the_first_cycles_costs(make_app: AppFactory) -> None:
    from bot.desk import views

    app = make_app()
    report = await run_cycle(app.desk)
    pnl = await views.pnl(app.desk)
    assert pnl.start_equity == Decimal("100000.00")
    assert pnl.total_pnl == report.equity_after - Decimal("100000.00") < 0
    assert pnl.commissions > 0
