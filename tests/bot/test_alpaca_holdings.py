"""Holding-period rules on Alpaca, whose positions carry no open date: the desk takes it from the stored fills."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest

from agent.policies.base import PolicyContext
from agent.schema import Action, PolicyDecision, ProposalIdea
from bot.clock import FixedClock
from bot.desk.cycle import run_cycle
from bot.desk.results import CycleReport, ProposalLine
from bot.wiring import App
from tests.bot.conftest import FRIDAY_CLOSE, AppFactory
from tests.bot.test_alpaca_cycle import wired
from tests.fakes.alpaca_server import FakeAlpaca

THURSDAY_CLOSE = FRIDAY_CLOSE - timedelta(days=1)


@dataclass
class BuyThenSell:
    """Buys ``symbol`` while it is not held and sells all of it once it is; remembers the held days it saw."""

    symbol: str
    name: str = "buy-then-sell"
    held_days: list[int | None] = field(default_factory=list)

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        """One idea: the buy, or the exit."""
        held = context.holdings.get(self.symbol)
        if held is not None:
            self.held_days.append(held.held_days)
        action, weight = (Action.SELL, 0.0) if held is not None else (Action.BUY, 0.1)
        idea = ProposalIdea(symbol=self.symbol, action=action, target_weight=weight, confidence=0.9, thesis="t",
                            expected_upside_pct=0.05, worst_case_loss_pct=0.05, time_horizon_days=10,
                            stop_loss_pct=0.1, risk_factors=[], catalysts=[], exit_triggers=[])
        return PolicyDecision(market_view="scripted", proposals=[idea])


@pytest.fixture
def alpaca() -> Iterator[FakeAlpaca]:
    server = FakeAlpaca(cash=Decimal(100_000))
    server.now = THURSDAY_CLOSE
    server.start()
    yield server
    server.stop()


def _riser(app: App, clock: FixedClock) -> str:
    """The US symbol that gains most from Thursday's close to Friday's (a profitable exit on Friday)."""
    clock.now = THURSDAY_CLOSE
    thursday = app.desk.market.load(THURSDAY_CLOSE.date()).quotes
    friday = app.desk.market.load(FRIDAY_CLOSE.date()).quotes
    gains = {s: friday[s].price / q.price for s, q in thursday.items() if s in friday and q.currency == "USD"}
    symbol = max(gains, key=lambda s: gains[s])
    assert gains[symbol] > Decimal("1.01"), gains  # enough to beat the simulated broker's costs
    return symbol


def _line(report: CycleReport, symbol: str) -> ProposalLine:
    [line] = [p for p in report.proposals if p.symbol == symbol]
    return line


async def _buy_thursday_sell_friday(app: App, clock: FixedClock,
                                    alpaca: FakeAlpaca | None) -> tuple[ProposalLine, list[int | None]]:
    """Thursday's cycle buys the day's riser, Friday's asks to sell it at a profit: the sell, the ages seen."""
    symbol = _riser(app, clock)
    policy = app.desk.policy = BuyThenSell(symbol)
    assert _line(await run_cycle(app.desk), symbol).status == "FILLED"
    clock.now = FRIDAY_CLOSE
    if alpaca is not None:
        alpaca.now = FRIDAY_CLOSE
        alpaca.prices = {s: q.price for s, q in app.desk.snapshot().quotes.items() if q.currency == "USD"}
    sell = _line(await run_cycle(app.desk), symbol)
    assert sell.side == "sell"
    return sell, policy.held_days


async def test_selling_yesterdays_buy_at_a_profit_on_alpaca_hits_the_holding_period(
        make_app: AppFactory, alpaca: FakeAlpaca, clock: FixedClock) -> None:
    clock.now = THURSDAY_CLOSE
    app = wired(make_app, alpaca)

    sell, held_days = await _buy_thursday_sell_friday(app, clock, alpaca)

    assert all(p.opened_at is None for p in await app.desk.broker.positions())  # Alpaca gives no open date
    assert "MIN_HOLDING_PERIOD" in sell.codes and sell.status == "AWAITING_APPROVAL"
    assert alpaca.orders_for(sell.id) == []  # a BORDERLINE sell waits for a human
    assert held_days == [1]  # the policy sees the holding's age too


async def test_the_same_sell_on_the_simulated_broker_hits_the_same_rule(make_app: AppFactory,
                                                                         clock: FixedClock) -> None:
    clock.now = THURSDAY_CLOSE
    app = make_app(universe="us", synthetic_seed=2, risk={"min_confidence": 0.5})

    sell, held_days = await _buy_thursday_sell_friday(app, clock, None)

    assert "MIN_HOLDING_PERIOD" in sell.codes and sell.status == "AWAITING_APPROVAL"
    assert held_days == [1]
