"""The LLM policy in a backtest: wired as live, its calls tallied, a replay miss ending the run.

Policy: ``backtest_llm`` builds the policy with ``bot.llm_wiring.make_llm_policy`` on the desk's
database, so every call is an ``llm_call`` row with the live audit, cost and monthly budget, and
``PAPERDESK_LLM_CACHE`` means what it means live (``record``: one request per replayed day;
``replay``: answers read back, no request). The ``CallTally`` counts what was recorded: requests
sent (failed attempts included), answers replayed, budget refusals, and their cost. An abstention
(a refusal, an answer invalid twice, the budget) is a day without trades, as live; but a day
missing from the cache in replay mode stops the run with a one-line ``BacktestError`` naming the
day, because trading on without it would no longer reproduce the recorded run.

Failure contract: ``BacktestError`` for a replay miss; ``SettingsError`` when the settings cannot
make the policy; database errors propagate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from agent.llm.audit import CallLog, LlmCall, StoredAnswer
from agent.llm.policy import LlmPolicy, ReplayMiss
from agent.policies.base import PolicyContext
from agent.schema import PolicyDecision
from bot.backtest.run import BacktestError
from bot.clock import Clock
from bot.llm_log import SqlCallLog
from bot.llm_wiring import make_llm_policy
from bot.preflight import check_policy
from bot.settings import Settings
from storage.llm_store import LlmStore
from storage.store import Store

NOT_SENT = ("replay_miss", "over_budget")


@dataclass
class CallTally:
    """What the LLM policy's calls of one run amounted to."""

    model: str
    cache: str
    made: int = 0
    replayed: int = 0
    over_budget: int = 0
    cost_usd: Decimal = Decimal(0)
    logs: list[TallyingCallLog] = field(default_factory=list, repr=False)  # one per LLM policy of the run

    def add(self, call: LlmCall) -> None:
        """Count one audit record."""
        if call.from_cache:
            self.replayed += 1
        elif call.outcome == "over_budget":
            self.over_budget += 1
        elif call.outcome not in NOT_SENT:
            self.made += 1
        self.cost_usd += call.cost_usd

    def flush(self) -> None:
        """Store the audit records a replay buffered (``TallyingCallLog``); call it when the run ends."""
        for log in self.logs:
            log.flush()

    def line(self) -> str:
        """``llm calls: 3 made, 0 replayed``, for the progress bar."""
        return f"llm calls: {self.made} made, {self.replayed} replayed"

    def document(self) -> dict[str, Any]:
        """The tally for the summary (cost as an exact decimal string)."""
        return {"model": self.model, "cache": self.cache, "calls_made": self.made, "calls_replayed": self.replayed,
                "over_budget": self.over_budget, "cost_usd": str(self.cost_usd)}


class TallyingCallLog:
    """A ``CallLog`` that counts every record it passes on; with ``answers`` (read at once), finds there.

    Replaying (``answers`` given), the audit records are buffered and written ``BATCH`` at a time
    in one transaction, and the rest by ``flush`` when the run ends: one commit per replayed day
    was a fifth of a ten-year replay. Recording, each call is stored as it happens, as live.
    """

    BATCH = 500

    def __init__(self, inner: SqlCallLog, tally: CallTally, answers: dict[str, StoredAnswer] | None = None) -> None:
        self.inner = inner
        self.tally = tally
        self.answers = answers
        self.pending: list[LlmCall] = []

    def find(self, cache_key: str) -> StoredAnswer | None:
        """The recorded answer: from ``answers`` when given (a replay records no new answer), else the inner log's."""
        return self.inner.find(cache_key) if self.answers is None else self.answers.get(cache_key)

    def record(self, call: LlmCall) -> None:
        """Store (or, replaying, buffer), then count."""
        if self.answers is None:
            self.inner.record(call)
        else:
            self.pending.append(call)
            if len(self.pending) >= self.BATCH:
                self.flush()
        self.tally.add(call)

    def flush(self) -> None:
        """Store the buffered records."""
        calls, self.pending = self.pending, []
        self.inner.record_many(calls)

    def month_spend(self, month: date) -> Decimal:
        """The inner log's month spend (the budget is the live one)."""
        return self.inner.month_spend(month)


class BacktestLlm:
    """The LLM policy for a replay: a replay miss is a ``BacktestError``, not an abstention."""

    name = "llm"

    def __init__(self, policy: LlmPolicy) -> None:
        self.policy = policy

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        """The live policy's decision for the replayed day."""
        try:
            return await self.policy.decide(context)
        except ReplayMiss as miss:
            raise BacktestError(f"no recorded LLM answer for {miss.day} (model {miss.model}); run the same "
                                f"backtest with PAPERDESK_LLM_CACHE=record first") from None


def backtest_llm(settings: Settings, store: Store, clock: Clock,
                 tally: CallTally | None = None) -> tuple[BacktestLlm, CallTally]:
    """The LLM policy recording in ``store``, and the tally of its calls (``tally``: shared by several
    LLM policies of one run, the sleeves')."""
    check_policy("llm", settings)
    if tally is None:
        tally = CallTally(model=settings.llm_model, cache=settings.llm_cache)
    elif settings.llm_model not in tally.model.split(", "):
        tally.model += f", {settings.llm_model}"
    # Replaying, every answer is already stored: read them in one query rather than one a day.
    replaying = settings.llm_cache == "replay"
    answers = SqlCallLog(LlmStore(store.session)).answers(settings.llm_model) if replaying else None

    def tallying(log: SqlCallLog) -> CallLog:
        tally.logs.append(TallyingCallLog(log, tally, answers))
        return tally.logs[-1]

    policy = make_llm_policy(settings, store, clock, wrap_log=tallying)
    return BacktestLlm(policy), tally
