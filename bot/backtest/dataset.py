"""Training data for a small local model: the llm policy's exact prompts, labelled with hindsight.

Policy: the data and the universe are loaded as ``paperdesk backtest`` loads them
(``bot.backtest.run.restrict_universe``: instruments priced in the period, ``symbols`` restricting
further; the whole history up to ``end``; causal ``indicator_panels``). A day is every trading day
``t`` of [start, end] whose ``horizon`` following rows exist. On each day, for each simulated state
(``bot.backtest.dataset_states``, drawn from ``numpy.random.default_rng((seed, day, state))``), the
state's ledger is valued by the replay's ``SimulatedBroker`` at ``t``'s close, the risk context is
``replay_risk_context`` and the policy context the replay's own, and the messages are those
``LlmPolicy.decide`` sends (``agent.llm.policy.request_messages``: no memories, no recent
decisions, as in a replay; in ``prompt`` output mode the schema is written into the system message
as the client does). The label (``bot.backtest.dataset_labels``) reads the base-currency returns of
rows ``t+1 … t+horizon`` only. Days are split by time into train / validation / test (fractions of
the days left after two gaps) with ``horizon`` days dropped between splits, so no label window
reaches into the next split. Nothing is random but the states' draws, and every output is
written in day and state order: the same request writes the same bytes.

Failure contract: ``DatasetError`` (one line, says what to do) for an unknown state, bad
fractions or too few days for the horizon and three splits; ``BacktestError`` as a backtest for
its data; nothing is written before the data is loaded and the splits are known.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from agent.indicator_panels import IndicatorPanels, indicator_panels, indicators_at
from agent.indicators import IndicatorSet
from agent.llm.client import response_format
from agent.llm.modes import OutputMode
from agent.llm.policy import request_messages
from agent.llm.prompt import with_schema
from agent.llm.shortlist import DEFAULT_MAX_INSTRUMENTS, shortlist
from agent.market.base import MarketData, PriceHistory
from agent.policies.base import PolicyAbstained, PolicyContext
from agent.schema import PolicyDecision
from agent.universe import Universe
from bot.backtest.dataset_check import Book
from bot.backtest.dataset_labels import Label, Utility, best_label
from bot.backtest.dataset_states import STATES, DayFacts, build_state
from bot.backtest.desk_state import ReplayState
from bot.backtest.engine import Replay, replay_policy_context, replay_risk_context, replay_snapshot
from bot.backtest.feed import ReplayFeed
from bot.backtest.run import ALL_ROWS, BacktestRequest, period_rows, restrict_universe
from broker.ledger import InMemoryLedgerStore
from broker.models import Account
from broker.simulated import SimConfig, SimulatedBroker
from risk.limits import RiskLimits
from risk.measures import ReturnsMatrix

SPLITS = ("train", "validation", "test")
Messages = list[dict[str, str]]


class DatasetError(ValueError):
    """The data set cannot be made as asked; the message says why."""


class LabelsOnly:
    """The replay's policy slot: a data set never asks a policy (the label is chosen with hindsight)."""

    name = "hindsight"

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        """Never called by the data set."""
        raise PolicyAbstained("the data set labels with hindsight; it asks no policy")


@dataclass(frozen=True)
class DatasetRequest:
    """What to generate and how."""

    start: date
    end: date
    provider: MarketData
    universe: Universe
    limits: RiskLimits
    sim: SimConfig
    symbols: tuple[str, ...] = ()
    skip_missing: bool = False
    horizon: int = 5
    seed: int = 0
    states: tuple[str, ...] = tuple(STATES)
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    utility: Utility = field(default_factory=Utility)
    max_instruments: int = DEFAULT_MAX_INSTRUMENTS
    output_mode: str = OutputMode.JSON_SCHEMA.value


@dataclass(frozen=True)
class Example:
    """One chat example and what the card and the index say about it."""

    split: str
    day: date
    state: str
    regime: str
    messages: Messages
    label: Label
    book: Book = field(compare=False, repr=False)  # the state as the desk's checks saw it


@dataclass
class Prepared:
    """The loaded data, the replay's inputs and the days of each split."""

    request: DatasetRequest
    history: PriceHistory
    panels: IndicatorPanels
    spec: Replay
    splits: dict[str, list[int]]

    @property
    def days(self) -> int:
        """Days generated, all splits together."""
        return sum(len(rows) for rows in self.splits.values())


def check_request(request: DatasetRequest) -> None:
    """Refuse unknown states, bad fractions, a bad horizon or output mode before any data is read."""
    unknown = [s for s in request.states if s not in STATES]
    if unknown or not request.states:
        raise DatasetError(f"unknown state(s) {', '.join(unknown) or '(none given)'}: choose from {', '.join(STATES)}")
    if len(request.fractions) != 3 or any(not f > 0 for f in request.fractions):
        raise DatasetError("split fractions must be three positive numbers (train, validation, test)")
    if request.horizon < 1:
        raise DatasetError(f"--horizon must be at least 1 trading day, got {request.horizon}")
    if request.output_mode not in {m.value for m in OutputMode}:
        raise DatasetError(f"unknown output mode {request.output_mode!r}: choose json_schema, json_object or prompt")


def split_days(rows: list[int], horizon: int, fractions: tuple[float, float, float]) -> dict[str, list[int]]:
    """Consecutive train / validation / test days with ``horizon`` days dropped between two splits."""
    usable = len(rows) - 2 * horizon
    total = sum(fractions)
    n_train, n_val = int(usable * fractions[0] / total), int(usable * fractions[1] / total)
    if usable < 3 or min(n_train, n_val, usable - n_train - n_val) < 1:
        raise DatasetError(f"{len(rows)} day(s) with a full {horizon}-day horizon: too few for three splits "
                           f"with {horizon}-day gaps; choose a longer period or a shorter --horizon")
    val_at = n_train + horizon
    test_at = val_at + n_val + horizon
    return {"train": rows[:n_train], "validation": rows[val_at:val_at + n_val], "test": rows[test_at:]}


def prepare(request: DatasetRequest) -> Prepared:
    """Load the data as a backtest does and fix the days of each split."""
    check_request(request)
    if request.start >= request.end:
        raise DatasetError(f"empty range: start {request.start} is not before end {request.end}")
    universe = restrict_universe(BacktestRequest(start=request.start, end=request.end, policy=LabelsOnly(),
                                                 provider=request.provider, universe=request.universe,
                                                 limits=request.limits, sim=request.sim, symbols=request.symbols,
                                                 skip_missing=request.skip_missing))
    history = request.provider.history(universe.instruments, request.end, ALL_ROWS)
    last = len(history.close) - 1
    rows = [t for t in period_rows(history, request.start, request.end) if t + request.horizon <= last]
    splits = split_days(rows, request.horizon, request.fractions)
    panels = indicator_panels(history)
    spec = Replay(history=history, panels=panels, rows=range(rows[0], rows[-1] + 1), universe=universe,
                  policy=LabelsOnly(), limits=request.limits, sim=request.sim)
    return Prepared(request, history, panels, spec, splits)


def examples(prepared: Prepared, on_day: Callable[[int], None] | None = None) -> Iterator[Example]:
    """Every example, split by split, day by day, state by state (the broker's valuation runs on one loop)."""
    feed = ReplayFeed(prepared.history)
    with asyncio.Runner() as runner:
        for split, rows in prepared.splits.items():
            for t in rows:
                yield from runner.run(_day(prepared, feed, split, t))
                if on_day is not None:
                    on_day(t)


async def _day(prepared: Prepared, feed: ReplayFeed, split: str, t: int) -> list[Example]:
    request, spec = prepared.request, prepared.spec
    feed.move_to(t)
    indicators = indicators_at(prepared.panels, t)
    horizon = prepared.panels.returns[t + 1:t + 1 + request.horizon]
    forward = ReturnsMatrix.of_array(horizon, prepared.panels.rows)
    facts = _facts(prepared, feed, indicators)
    out = []
    for name in request.states:
        draws = np.random.default_rng([request.seed, facts.day.toordinal(), list(STATES).index(name)])
        built = build_state(name, facts, draws)
        if built is None:
            continue
        ledger, peak = built
        broker = SimulatedBroker(spec.universe.by_symbol, feed, InMemoryLedgerStore(ledger), request.sim, feed.now)
        account, positions = await broker.valuation()
        ctx = replay_risk_context(spec, t, indicators, account, positions, ReplayState(peak=peak))
        context = replay_policy_context(spec, indicators.as_of, account, positions, indicators, ctx)
        messages, listed = request_messages(context, request.max_instruments)
        if request.output_mode == OutputMode.PROMPT:
            messages = with_schema(messages, response_format()["json_schema"]["schema"])
        snapshot = replay_snapshot(spec, feed, indicators, list(listed.shown), positions)
        book = Book(account=account, positions=positions, snapshot=snapshot, ctx=replace(ctx, market=snapshot.facts()),
                    instruments=spec.universe.by_symbol, limits=request.limits,
                    listed=tuple(s for s in listed.shown if s in facts.candidates), shown=listed.shown,
                    current={s: h.weight for s, h in context.holdings.items()}, forward=forward,
                    horizon=request.horizon)
        label = best_label(book, request.utility)
        if label is not None:
            out.append(Example(split, indicators.as_of, name, str(indicators.regime), messages, label, book))
    return out


def _facts(prepared: Prepared, feed: ReplayFeed, indicators: IndicatorSet) -> DayFacts:
    """The day as the states may read it: candidates, the shortlist's leader, the regime."""
    spec, limits = prepared.spec, prepared.request.limits
    today, arrays = indicators.as_of, indicators.arrays
    fresh = {s for s, i in arrays.rows.items()
             if (d := arrays.price_dates[i]) is not None and (today - d).days <= limits.max_price_age_days}
    candidates = tuple(sorted(i.symbol for i in spec.universe.instruments if i.tradable and i.symbol in fresh
                              and feed.quote(i.symbol) is not None and feed.fx_rate(i.currency) is not None))
    equity = Decimal(str(spec.sim.initial_cash))
    empty = Account(base_currency=feed.base_currency, cash=equity, positions_value=Decimal(0), equity=equity,
                    at=feed.now())
    ctx = replay_risk_context(spec, feed.row, indicators, empty, [], ReplayState(peak=equity))
    ranked = shortlist(replay_policy_context(spec, today, empty, [], indicators, ctx), 1).shown
    return DayFacts(day=today, feed=feed, instruments=spec.universe.by_symbol, candidates=candidates,
                    leader=ranked[0] if ranked else None, regime=indicators.regime, limits=limits, equity=equity)


def assistant_message(example: Example, horizon: int) -> dict[str, Any]:
    """The label as the assistant's answer: the decision's JSON, its market view stating what it realised."""
    label = example.label
    view = (f"Hindsight label ({label.candidate}): this portfolio returned {label.forward_return:+.1%} over the "
            f"next {horizon} trading days (utility {label.utility:+.4f}); regime {example.regime}.")
    decision = label.accepted.decision.model_copy(update={"market_view": view})
    return {"role": "assistant", "content": decision.model_dump_json()}
