"""Shares at Alpaca that the desk never bought are not the desk's (issue 13, item 4).

Before: a position bought outside the desk was sold as a "risk-reducing" SAFE order, and reconcile
then reported "recorded fills add up to -7" forever. Now the desk sizes and sells only what its
recorded fills account for, and reconcile names the rest as not bought by the desk.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.schema import Action, ProposalIdea
from bot.desk.cycle import run_cycle
from bot.desk.reconcile import reconcile
from tests.bot.conftest import AppFactory
from tests.bot.test_alpaca_cycle import wired
from tests.bot.test_book_serialisation import Scripted
from tests.fakes.alpaca_server import FakeAlpaca, Held

pytestmark = pytest.mark.asyncio


def exit_all(symbol: str) -> ProposalIdea:
    """A SELL to zero: risk-reducing, so SAFE when the shares are the desk's."""
    return ProposalIdea(symbol=symbol, action=Action.SELL, target_weight=0.0, confidence=0.9, thesis="exit",
                        expected_upside_pct=0.0, worst_case_loss_pct=0.05, time_horizon_days=5, stop_loss_pct=None,
                        risk_factors=[], catalysts=[], exit_triggers=[])


async def test_the_desk_never_sells_shares_it_did_not_buy(make_app: AppFactory, alpaca: FakeAlpaca) -> None:
    app = wired(make_app, alpaca)
    alpaca.positions["SPY"] = Held(qty=Decimal(7), cost=Decimal(7) * alpaca.prices["SPY"])
    app.desk.policy = Scripted([exit_all("SPY")])

    report = await run_cycle(app.desk)

    assert not [o for o in alpaca.orders if o["symbol"] == "SPY"], alpaca.orders
    assert not [line for line in report.proposals if line.symbol == "SPY"], report.proposals
    assert alpaca.positions["SPY"].qty == Decimal(7)
    again = await reconcile(app.desk)
    assert again.differences == ["SPY: the broker holds 7, the recorded fills add up to 0 "
                                 "(7 not bought by the desk: left alone)"]
