"""The composition root: settings in, a wired ``Desk`` out. Nothing is built at import time.

Clock policy: a pinned date (``--as-of``) wins, and it is refused, before anything is written,
when it lies after the wall clock's today or after the last day of CSV data (a day with no
prices yet would invent them). Without one, the date depends on what the command does (``dating``):
- ``cycle`` (cycle, run) moves the portfolio forward: the wall clock, or, on a CSV directory that
  ends before today ("historical" data), the data's last day;
- ``view`` (status, positions, pnl, report: they only read) looks at the portfolio on its own
  date, ``Store.portfolio_date`` (its latest cycle's or equity snapshot's as-of date);
- ``act`` (approvals, reconcile and the rest: they record what happens now) uses the wall clock
  on live data and the portfolio's date on historical data, where the portfolio lives in the past.
A pinned day stands at 21:00 UTC (the US close): fills, expiry and holding periods then all use
market time, and a replay of historical files behaves like the day it describes. A database
holding a cycle dated after today (a future ``--as-of`` from before it was refused) stops
``cycle`` with a one-line error naming it and the way out, and is a note on the other commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog

from agent.policies.base import Policy
from agent.policies.rules import RulesPolicy
from agent.universe import Universe, load_universe
from bot.clock import Clock, system_clock
from bot.desk.desk import Desk
from bot.desk.market import MarketService
from bot.desk.results import DeskError
from bot.market_wiring import alpaca_config, make_provider
from bot.memory_wiring import attach_memory, make_memory
from bot.preflight import Dating, check_policy, choose_clock, future_cycle, refuse_future_as_of
from bot.settings import Settings, SettingsError
from broker.ledger import LedgerStore
from broker.protocol import Broker
from broker.simulated import SimConfig, SimulatedBroker
from storage.engine import Engine, make_engine
from storage.migrate import ensure_schema
from storage.portfolio import SqlLedgerStore
from storage.store import Store

if TYPE_CHECKING:
    from bot.sleeves.plan import SleevePlan

log = structlog.get_logger("paperdesk.wiring")


@dataclass
class App:
    """Everything a command needs, and how to release it."""

    settings: Settings
    engine: Engine
    store: Store
    desk: Desk
    notices: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Release the memory store and database connections."""
        self.desk.memory.close()
        self.engine.dispose()


def build_app(settings: Settings, *, clock: Clock | None = None, as_of: date | None = None,
              policy_name: str | None = None, dating: Dating = "act") -> App:
    """Wire the desk from settings; raises SettingsError, MarketDataError, DeskError or SchemaOutOfDate."""
    universe = load_universe(settings.universe)
    market = MarketService(make_provider(settings, universe), universe, settings.lookback_days)
    wall = clock or system_clock
    today = wall().date()
    data_end = _csv_data_end(settings, market, today)
    if as_of is not None:
        refuse_future_as_of(as_of, today, data_end, settings.data)
    policy_name = policy_name or settings.effective_policy
    check_policy(policy_name, settings)
    check_broker(settings)
    memory = make_memory(settings)  # every setting is checked before the database is created or migrated
    engine = make_engine(settings.effective_database_url)
    ensure_schema(engine)
    reader = Store(engine, wall)
    future = future_cycle(reader, today)
    if future is not None and dating == "cycle":
        memory.close()
        engine.dispose()
        raise DeskError(future)
    notices = [future] if future else []
    historical = data_end is not None and (today - data_end).days > settings.risk.max_price_age_days
    clock = choose_clock(reader, wall, as_of, data_end if historical else None, dating, notices)
    store = Store(engine, clock)
    sleeves = _sleeves(policy_name, settings, universe, store, clock)
    policy = sleeves.policy if sleeves is not None else make_policy(policy_name, settings, notices, store, clock)
    broker = make_broker(settings, universe, market, SqlLedgerStore(store.session, clock), clock)
    notices += untradable_notice(broker, universe)
    desk = Desk(store=store, broker=broker, market=market, policy=policy, universe=universe,
                limits=settings.risk, clock=clock, memory=memory, as_of=as_of, sleeves=sleeves)
    attach_memory(desk)
    return App(settings=settings, engine=engine, store=store, desk=desk, notices=notices)


def _sleeves(policy_name: str, settings: Settings, universe: Universe, store: Store, clock: Clock) -> SleevePlan | None:
    """The sleeves when the desk runs them (``--policy sleeves``, the default once sleeves are configured)."""
    if policy_name != "sleeves":
        return None
    from bot.sleeves.wiring import live_plan

    return live_plan(settings, universe, store, clock)


def _csv_data_end(settings: Settings, market: MarketService, today: date) -> date | None:
    """The last day of CSV data (loaded now: a bad file fails before anything is written); None for other data."""
    return market.load(today).as_of if settings.data.startswith("csv:") else None


def check_broker(settings: Settings) -> None:
    """Refuse broker settings that cannot work (Alpaca without keys or with a bad URL), before anything is built."""
    if settings.broker == "alpaca":
        alpaca_config(settings, "PAPERDESK_BROKER=alpaca")


def make_policy(name: str, settings: Settings, notices: list[str], store: Store | None = None,
                clock: Clock | None = None) -> Policy:
    """The decision policy by name (the llm policy records its calls in ``store``)."""
    check_policy(name, settings)
    if name == "rules":
        return RulesPolicy()
    if store is None:
        raise SettingsError("the llm policy needs a database for its audit log")
    from bot.llm_wiring import make_llm_policy  # the openai SDK loads only for the llm policy (0.7 s of start-up)

    return make_llm_policy(settings, store, clock or system_clock)


def make_broker(settings: Settings, universe: Universe, market: MarketService, ledger: LedgerStore,
                clock: Clock) -> Broker:
    """The execution venue by name."""
    if settings.broker == "alpaca":
        return alpaca_broker(settings, universe, market, clock)
    sim = settings.sim
    config = SimConfig(initial_cash=Decimal(str(sim.initial_cash)), base_currency=universe.base_currency,
                       slippage_bps=Decimal(str(sim.slippage_bps)), commission_bps=Decimal(str(sim.commission_bps)),
                       min_commission=Decimal(str(sim.min_commission)))
    return SimulatedBroker(universe.by_symbol, market, ledger, config, clock)


def alpaca_broker(settings: Settings, universe: Universe, market: MarketService, clock: Clock,
                  **tuning: Any) -> Broker:
    """The Alpaca paper account; amounts are converted to the universe's base currency with the market's FX."""
    from broker.alpaca import AlpacaBroker

    config = alpaca_config(settings, "PAPERDESK_BROKER=alpaca", **tuning)
    return AlpacaBroker(config, universe.by_symbol, clock, base_currency=universe.base_currency,
                        fx_rate=market.fx_rate)


def untradable_notice(broker: Broker, universe: Universe) -> list[str]:
    """A note when the universe holds instruments this broker cannot trade (they will be UNSAFE)."""
    blocked = [s for s in universe.symbols if not broker.is_tradable(s)]
    if not blocked:
        return []
    shown = ", ".join(blocked[:5]) + (f" and {len(blocked) - 5} more" if len(blocked) > 5 else "")
    hint = "; PAPERDESK_UNIVERSE=us is the universe for Alpaca" if broker.name == "alpaca" else ""
    return [f"{len(blocked)} instrument(s) of the {universe.name} universe cannot be traded at {broker.name} "
            f"({shown}): their proposals are UNSAFE (NOT_TRADABLE_AT_BROKER){hint}"]
