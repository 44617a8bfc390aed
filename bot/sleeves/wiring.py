"""Wire a sleeved desk: each sleeve's policy, the allocation log, the plan the desk and the replay use.

Policy: a sleeve's policy is built as the desk's would be (``rules``, the baselines, or ``llm`` on the
desk's endpoint and audit log, with the sleeve's own model when it names one); ``allocator = "llm"``
asks the desk's model for the budgets (``bot.sleeves.llm_allocator``); live, the allocations and
sleeve days are kept in the database, in a replay in memory.

Failure contract: ``SettingsError`` with one line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.policies.base import Policy
from agent.policies.baselines import BuyAndHoldPolicy, EqualWeightPolicy
from agent.policies.rules import RulesPolicy
from agent.universe import Universe
from bot.clock import Clock
from bot.settings import Settings, SettingsError, SleeveSettings
from bot.sleeves.log import AllocationLog, MemoryAllocationLog
from bot.sleeves.plan import SleevePlan, make_plan
from bot.sleeves.policy import Allocator, rules_allocator
from bot.sleeves.sql_log import SqlAllocationLog
from storage.sleeve_store import SleeveStore
from storage.store import Store

if TYPE_CHECKING:
    from agent.llm.policy import LlmPolicy

# An LLM policy on these settings: the policy a sleeve decides with, and the LLM endpoint under it (with
# its cache, budget and audit), which the llm allocator asks.
LlmMaker = Callable[[Settings], tuple[Policy, "LlmPolicy"]]
PLAIN: dict[str, Callable[[], Policy]] = {"rules": RulesPolicy, "buy_and_hold": BuyAndHoldPolicy,
                                          "equal_weight": EqualWeightPolicy}


def check_sleeves(settings: Settings) -> None:
    """Refuse sleeves that cannot run with these settings, before anything is built."""
    if not settings.sleeves:
        raise SettingsError("the sleeves policy needs [sleeves.NAME] tables in the config file (see the README)")
    llm = [f"sleeve {name} uses the llm policy" for name, s in settings.sleeves.items() if s.policy == "llm"]
    llm += ["PAPERDESK_ALLOCATOR=llm"] if settings.allocator == "llm" else []
    if llm and not settings.openai_api_key and settings.llm_cache != "replay":
        raise SettingsError(f"{llm[0]}, which needs OPENAI_API_KEY (any string for a local server) or "
                            "PAPERDESK_LLM_CACHE=replay")


def sleeve_plan(settings: Settings, universe: Universe, log: AllocationLog, make_llm: LlmMaker | None) -> SleevePlan:
    """The sleeves' plan, each sleeve's policy made by name (``make_llm`` for the llm ones and the llm allocator)."""
    check_sleeves(settings)

    def make(name: str, sleeve: SleeveSettings) -> Policy:
        if sleeve.policy in PLAIN:
            return PLAIN[sleeve.policy]()
        if make_llm is None:
            raise SettingsError(f"sleeve {name}: the llm policy needs a database for its audit log")
        return make_llm(settings.model_copy(update={"llm_model": sleeve.model}) if sleeve.model else settings)[0]

    allocator: Allocator = rules_allocator
    if settings.allocator == "llm":
        if make_llm is None:
            raise SettingsError("the llm allocator needs a database for its audit log")
        from bot.sleeves.llm_allocator import LlmAllocator  # the openai SDK loads only for it

        allocator = LlmAllocator(make_llm(settings)[1])
    return make_plan(settings, universe, log, make, allocator)


def live_plan(settings: Settings, universe: Universe, store: Store, clock: Clock) -> SleevePlan:
    """The desk's sleeves, their allocations and days kept in its database."""

    def make_llm(chosen: Settings) -> tuple[Policy, LlmPolicy]:
        from bot.llm_wiring import make_llm_policy  # the openai SDK loads only when a sleeve uses it

        policy = make_llm_policy(chosen, store, clock)
        return policy, policy

    return sleeve_plan(settings, universe, SqlAllocationLog(SleeveStore(store.session), clock), make_llm)


def replay_plan(settings: Settings, universe: Universe, make_llm: LlmMaker | None = None) -> SleevePlan:
    """The sleeves for one replay: allocations and days in memory, a fresh log per run."""
    return sleeve_plan(settings, universe, MemoryAllocationLog(), make_llm)
