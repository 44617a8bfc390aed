"""The intraday monitor on scripted prices: move alerts, the circuit breaker, a stop-loss SELL filled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

from agent.market.base import MarketData, PriceHistory
from bot.clock import FixedClock
from bot.daemon.runner import DeskRunner
from bot.desk import views
from bot.desk.cycle import run_cycle
from bot.desk.results import CycleReport, ProposalLine
from broker.models import Instrument
from tests.bot.conftest import AppFactory


class ScriptedMarket:
    """The wrapped market, with the last bar of some symbols set to ``factor`` x the bar before (intraday)."""

    def __init__(self, inner: MarketData, moves: dict[str, float]) -> None:
        self.inner, self.moves = inner, moves
        self.name, self.synthetic = inner.name, inner.synthetic

    def history(self, instruments: Sequence[Instrument], end: date, lookback_days: int) -> PriceHistory:
        history = self.inner.history(instruments, end, lookback_days)
        close = history.close.copy()
        for symbol, factor in self.moves.items():
            close.loc[close.index[-1], symbol] = float(close[symbol].iloc[-2]) * factor
        return replace(history, close=close)


class Recorder:
    """A notifier that remembers what it was told."""

    def __init__(self) -> None:
        self.alerts: list[str] = []
        self.fills: list[ProposalLine] = []
        self.approvals: list[ProposalLine] = []
        self.reports: list[tuple[str, list[Path]]] = []

    async def cycle_summary(self, report: CycleReport) -> None:
        """Not needed here."""

    async def approval_request(self, line: ProposalLine) -> None:
        self.approvals.append(line)

    async def fill(self, line: ProposalLine) -> None:
        self.fills.append(line)

    async def alert(self, text: str) -> None:
        self.alerts.append(text)

    async def report(self, text: str, images: Sequence[Path]) -> None:
        self.reports.append((text, list(images)))

    async def settle(self) -> None:
        """Nothing to settle."""


async def test_an_intraday_drop_trips_the_breaker_and_a_stop_loss_sells(make_app: AppFactory,
                                                                         clock: FixedClock) -> None:
    app = make_app(risk={"min_confidence": 0.75, "intraday_drop_halt": 0.01})  # the scenario holds ~12% in stocks
    bought = [p for p in (await run_cycle(app.desk)).proposals if p.status == "FILLED" and p.side == "buy"]
    assert len(bought) >= 2, "the scenario buys on Friday"
    crash, dip = bought[0].symbol, [p.symbol for p in bought[1:]]
    clock.now = clock.now.replace(day=23, hour=16)  # Monday, both markets open
    market = app.desk.market
    market.provider = ScriptedMarket(market.provider, {crash: 0.80, **dict.fromkeys(dip, 0.96)})
    notifier = Recorder()
    report = await DeskRunner(app.desk, notifier, move_alert=0.02).monitor()

    assert report.trading_state == "REDUCING" and (await views.status(app.desk)).trading_state == "REDUCING"
    assert report.day_return <= -app.desk.limits.intraday_drop_halt
    breaker = [a for a in notifier.alerts if a.startswith("CIRCUIT BREAKER: portfolio fell")]
    assert len(breaker) == 1 and "only risk-reducing orders until `paperdesk resume`" in breaker[0]
    assert any(a.startswith(f"{crash} moved -20.00% since the previous close") for a in notifier.alerts)
    assert {m.symbol for m in report.moves} == {crash, *dip}
    [stop] = report.stops  # -4% stays above every stop (at least 5% under the fill); -20% does not
    assert (stop.symbol, stop.side, stop.status) == (crash, "sell", "FILLED")
    assert notifier.fills == [stop] and stop.fill_price is not None
    assert stop.fill_price < bought[0].fill_price * 81 / 100 + 1  # sold near the crashed price, not Friday's
    held = {p.symbol for p in await app.desk.broker.positions()}
    assert crash not in held and set(dip) <= held
    row = app.desk.store.get_proposal(stop.id)
    assert row is not None and row.cycle_id == app.desk.store.cycles(limit=1)[0].id and "stop-loss" in row.thesis


async def test_a_second_watch_repeats_no_alert_and_no_sale(make_app: AppFactory, clock: FixedClock) -> None:
    app = make_app()
    bought = [p.symbol for p in (await run_cycle(app.desk)).proposals if p.status == "FILLED" and p.side == "buy"]
    clock.now = clock.now.replace(day=23, hour=14)
    market = app.desk.market
    market.provider = ScriptedMarket(market.provider, {bought[0]: 0.975})
    runner = DeskRunner(app.desk, Recorder(), move_alert=0.02)
    first = await runner.monitor()
    clock.now = clock.now.replace(hour=16)
    second = await runner.monitor()
    assert [a for a in first.alerts if "moved" in a] and not [a for a in second.alerts if "moved" in a]
    assert first.stops == second.stops == [] and first.trading_state == second.trading_state == "ACTIVE"


async def test_the_weekly_report_sends_its_text_and_charts(make_app: AppFactory, clock: FixedClock,
                                                           tmp_path: Path) -> None:
    clock.now = clock.now.replace(day=19)
    app = make_app()
    await run_cycle(app.desk)
    clock.now = clock.now.replace(day=20)
    await run_cycle(app.desk)
    notifier = Recorder()
    report = await DeskRunner(app.desk, notifier, home=tmp_path / "home").weekly_report()
    [(text, images)] = notifier.reports
    assert text == report.text and text.startswith("paperdesk weekly report, 2026-11-20")
    assert [i.name for i in images] == ["equity.png", "drawdown.png", "calibration.png"]
    assert all(i.read_bytes().startswith(b"\x89PNG") for i in images)


async def test_a_cycle_on_a_falling_day_trips_the_same_breaker_and_buys_nothing(make_app: AppFactory,
                                                                                 clock: FixedClock) -> None:
    app = make_app(risk={"min_confidence": 0.75, "intraday_drop_halt": 0.01})
    held = [p.symbol for p in (await run_cycle(app.desk)).proposals if p.status == "FILLED" and p.side == "buy"]
    assert held, "the scenario buys on Friday"
    clock.now = clock.now.replace(day=23)  # Monday after the close
    app.desk.market.provider = ScriptedMarket(app.desk.market.provider, dict.fromkeys(held, 0.80))
    report = await run_cycle(app.desk)
    breaker = [a for a in report.alerts if a.startswith("CIRCUIT BREAKER: portfolio fell")]
    assert len(breaker) == 1 and (await views.status(app.desk)).trading_state == "REDUCING"
    assert not [p for p in report.proposals if p.side == "buy" and p.status in {"FILLED", "SUBMITTED"}]
