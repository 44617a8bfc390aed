"""Wiring of the LLM policy: the SDK client, our retry loop, the audit log, prices and budget.

Failure contract: builds objects only (no network); settings were validated by ``Settings``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from agent.llm.audit import CallLog, Prices
from agent.llm.client import LlmClient, make_openai
from agent.llm.policy import LlmPolicy
from bot.clock import Clock
from bot.llm_log import SqlCallLog
from bot.settings import Settings
from storage.llm_store import LlmStore
from storage.store import Store

REPLAY_ONLY_KEY = "replay-only"  # replay never calls the endpoint; the SDK still wants a key


def make_llm_policy(settings: Settings, store: Store, clock: Clock,
                    wrap_log: Callable[[SqlCallLog], CallLog] | None = None) -> LlmPolicy:
    """The LLM policy wired to the configured endpoint and the database (``wrap_log`` may observe its calls)."""
    sdk = make_openai(settings.openai_base_url, settings.openai_api_key or REPLAY_ONLY_KEY,
                      settings.llm_timeout_seconds)
    client = LlmClient(sdk, settings.llm_model, max_retries=settings.llm_max_retries,
                       max_tokens=settings.llm_max_tokens, output_mode=settings.llm_output_mode)
    prices = Prices(Decimal(str(settings.llm_price_input_per_mtok)), Decimal(str(settings.llm_price_output_per_mtok)))
    budget = None if settings.llm_budget_usd is None else Decimal(str(settings.llm_budget_usd))
    sql_log = SqlCallLog(LlmStore(store.session))
    log: CallLog = wrap_log(sql_log) if wrap_log else sql_log
    return LlmPolicy(client, log, clock, cache=settings.llm_cache, budget_usd=budget, prices=prices, modes=sql_log,
                     max_instruments=settings.llm_prompt_max_instruments)
