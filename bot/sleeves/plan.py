"""Sleeves wired from the settings: who holds which instrument, each sleeve's policy and limits.

Policy: a sleeve names its instruments by list, by asset class, by sector or by a universe file;
every instrument resolves against the desk's universe (an unknown symbol is an error), and an
instrument named by two sleeves is a one-line error naming both. What belongs to no sleeve is not
traded (``risk.rules_sleeve``). A sleeve's ``[risk]`` may only tighten the desk's limits
(``RiskLimits.tightened``). ``SleevePlan.book()`` is the risk engine's view of the sleeves in force
(the latest allocation's budgets), read fresh each time: the live cycle, approvals, the stop-loss
watch and the replay all classify against it.

Failure contract: ``SettingsError`` with one line for every configuration problem.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from agent.policies.base import Policy
from agent.universe import Universe, UniverseError, load_universe
from bot.settings import Settings, SettingsError, SleeveSettings
from bot.sleeves.bounds import AllocatorParams, SleeveBounds, check_bounds
from bot.sleeves.log import AllocationLog, MemoryAllocationLog
from bot.sleeves.policy import Allocator, SleevedPolicy, SleeveSpec, rules_allocator
from risk.limits import RiskLimits, limit_values
from risk.models import Sleeve, SleeveBook

PolicyMaker = Callable[[str, SleeveSettings], Policy]


@dataclass(frozen=True)
class SleevePlan:
    """The configured sleeves: the policy that decides for them and the limits the engine holds them to."""

    policy: SleevedPolicy
    limits: Mapping[str, RiskLimits]

    def fresh(self) -> SleevePlan:
        """The same sleeves with an empty in-memory log: one replay (or walk-forward fold) each."""
        return SleevePlan(policy=self.policy.with_log(MemoryAllocationLog()), limits=self.limits)

    @property
    def log(self) -> AllocationLog:
        """Where the sleeves' allocations and days are kept."""
        return self.policy.log

    def book(self) -> SleeveBook:
        """The sleeves in force for the risk engine: members, budgets, limits."""
        budgets = self.policy.budgets()
        return SleeveBook(tuple(Sleeve(name=s.name, symbols=s.symbols, budget=budgets[s.name],
                                       limits=self.limits[s.name]) for s in self.policy.sleeves))


def sleeve_members(sleeves: Mapping[str, SleeveSettings], universe: Universe) -> dict[str, frozenset[str]]:
    """Each sleeve's instruments in the universe; ``SettingsError`` for an unknown one or one in two sleeves."""
    owner: dict[str, str] = {}
    members: dict[str, frozenset[str]] = {}
    for name, sleeve in sleeves.items():
        symbols = _selected(name, sleeve, universe)
        if not symbols:
            raise SettingsError(f"sleeve {name}: no instrument of the universe {universe.name} matches its selection")
        for symbol in sorted(symbols):
            if symbol in owner:
                raise SettingsError(f"{symbol} is in two sleeves, {owner[symbol]} and {name}: an instrument "
                                    "belongs to at most one sleeve")
            owner[symbol] = name
        members[name] = frozenset(symbols)
    return members


def allocator_params(settings: Settings) -> AllocatorParams:
    """The allocator's parameters: the ``[allocation]`` table over the sleeves' base weights and the cash floor."""
    a = settings.allocation
    base = sum(s.base_weight for s in settings.sleeves.values())
    floor = settings.risk.min_cash_weight
    return AllocatorParams(
        cash_target=a.cash_target if a.cash_target is not None else round(max(0.0, 1 - base), 12),
        defensive_cash=a.defensive_cash, opportunistic_cash=max(a.opportunistic_cash, floor), cash_floor=floor,
        sharpe_window=a.sharpe_window, momentum_window=a.momentum_window, sharpe_tilt=a.sharpe_tilt,
        momentum_tilt=a.momentum_tilt, regime_tilt=a.regime_tilt, max_step=a.max_step)


def make_plan(settings: Settings, universe: Universe, log: AllocationLog, make_policy: PolicyMaker,
              allocator: Allocator = rules_allocator) -> SleevePlan:
    """The sleeved policy and the sleeves' limits; ``SettingsError`` when the sleeves cannot work."""
    if not settings.sleeves:
        raise SettingsError("the sleeves policy needs [sleeves.NAME] tables in the config file (see the README)")
    members = sleeve_members(settings.sleeves, universe)
    bounds = [SleeveBounds(name=name, base_weight=s.base_weight, min_weight=s.min_weight, max_weight=s.max_weight,
                           defensive=s.defensive) for name, s in settings.sleeves.items()]
    params = allocator_params(settings)
    try:
        check_bounds(bounds, params)
        limits = {name: settings.risk.tightened(s.risk, f"sleeve {name}") for name, s in settings.sleeves.items()}
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    specs = [SleeveSpec(bounds=b, symbols=members[b.name], policy=make_policy(b.name, settings.sleeves[b.name]),
                        limits=dict(limit_values(limits[b.name])),
                        instructions=settings.sleeves[b.name].prompt) for b in bounds]
    policy = SleevedPolicy(specs, params, log, every_days=settings.allocation.every_days, allocator=allocator)
    return SleevePlan(policy=policy, limits=limits)


def _selected(name: str, sleeve: SleeveSettings, universe: Universe) -> set[str]:
    if sleeve.instruments is not None:
        unknown = sorted(set(sleeve.instruments) - set(universe.symbols))
        if unknown:
            raise SettingsError(f"sleeve {name}: {', '.join(unknown)} not in the universe {universe.name}")
        return set(sleeve.instruments)
    if sleeve.asset_class is not None:
        wanted = set(sleeve.asset_class)
        return {i.symbol for i in universe.instruments if i.asset_class.value in wanted}
    if sleeve.sector is not None:
        wanted = set(sleeve.sector)
        return {i.symbol for i in universe.instruments if i.sector in wanted}
    try:
        listed = load_universe(str(sleeve.universe_file))
    except UniverseError as exc:
        raise SettingsError(f"sleeve {name}: {exc}") from None
    return {s for s in listed.symbols if s in set(universe.symbols)}
