"""The desk measures the prompt's tail risk with the risk engine's measures, only when a policy reads
it (the rules policy never does), and the shortlist cap is a validated setting that reaches the LLM policy."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

import bot.desk.context as desk_context
from agent.indicators import compute_indicators
from agent.llm.prompt import user_message
from agent.policies.base import PolicyContext
from agent.policies.rules import RulesPolicy
from agent.universe import Universe
from bot.desk.market import MarketSnapshot
from bot.settings import SettingsError, load_settings
from broker.models import Account, Position
from risk.limits import RiskLimits
from tests.agent.factories import history, instrument
from tests.bot.conftest import AppFactory

DAYS = 120


def paths() -> dict[str, np.ndarray]:
    """Daily returns: B moves with A a little, C almost exactly like A (but C is not held)."""
    rng = np.random.default_rng(7)
    a = rng.normal(0.0005, 0.012, DAYS)
    b = 0.3 * a + rng.normal(0.0, 0.010, DAYS)
    c = a + rng.normal(0.0, 0.001, DAYS)
    return {"AAA": a, "BBB": b, "CCC": c}


def context() -> tuple[PolicyContext, dict[str, np.ndarray]]:
    returns = paths()
    closes = {s: list(100 * np.cumprod(np.concatenate([[1.0], 1 + r]))) for s, r in returns.items()}
    prices = history(closes)
    snapshot = MarketSnapshot(history=prices, indicators=compute_indicators(prices), quotes={}, fx={})
    now = datetime(2024, 6, 28, 21, tzinfo=UTC)
    account = Account(base_currency="EUR", cash=Decimal(50_000), positions_value=Decimal(50_000),
                      equity=Decimal(100_000), at=now)
    positions = [Position(symbol=s, quantity=Decimal(1), avg_price=Decimal(v), currency="EUR", cost_base=Decimal(v),
                          market_price=Decimal(v), market_value_base=Decimal(v), opened_at=now)
                 for s, v in (("AAA", 30_000), ("BBB", 20_000))]
    universe = Universe("EUR", tuple(instrument(s) for s in returns), "test")
    ctx = desk_context.policy_context(as_of=prices.as_of, account=account, positions=positions, snapshot=snapshot,
                                      universe=universe, limits=RiskLimits(), drawdown=0.0)
    return ctx, returns


def worst_5pct_mean(series: np.ndarray) -> float:
    """The mean loss of the worst 5% of days; the first price's day counts as a 0 return, as in the
    series the risk engine reads (``IndicatorSet.returns``)."""
    days = np.concatenate([[0.0], series])
    k = int(np.ceil(len(days) * 0.05))
    return float(-np.sort(days)[:k].mean())


def test_the_tail_risk_is_historical_cvar_95_and_the_closest_other_holding() -> None:
    ctx, returns = context()
    risk = ctx.tail_risk
    for symbol, series in returns.items():
        assert risk.instrument_cvar[symbol] == pytest.approx(worst_5pct_mean(series), rel=1e-9)
    assert risk.portfolio_cvar == pytest.approx(worst_5pct_mean(0.3 * returns["AAA"] + 0.2 * returns["BBB"]), rel=1e-9)
    corr = float(np.corrcoef(returns["AAA"][-60:], returns["BBB"][-60:])[0, 1])
    assert {s: other for s, (other, _) in risk.holding_max_correlation.items()} == {"AAA": "BBB", "BBB": "AAA"}
    assert risk.holding_max_correlation["AAA"][1] == pytest.approx(corr, abs=1e-9)
    assert "vs limit 3.00%" in user_message(ctx)


def test_the_rules_policy_never_pays_for_the_tail_risk_and_the_prompt_measures_it_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    measure = desk_context.tail_risk

    def counted(*args: object) -> object:
        calls.append("measured")
        return measure(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(desk_context, "tail_risk", counted)
    ctx, _ = context()
    RulesPolicy().plan(ctx)
    assert calls == []
    user_message(ctx)
    user_message(ctx)
    assert calls == ["measured"]


@pytest.mark.parametrize("value", ["0", "-3", "many", "1e9"])
def test_a_bad_prompt_cap_is_refused_in_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                                      value: str) -> None:
    monkeypatch.setenv("PAPERDESK_LLM_PROMPT_MAX_INSTRUMENTS", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "PAPERDESK_LLM_PROMPT_MAX_INSTRUMENTS" in str(caught.value) and "\n" not in str(caught.value)


def test_the_prompt_cap_reaches_the_llm_policy(make_app: AppFactory) -> None:
    app = make_app(policy="llm", openai_api_key="x", openai_base_url="http://127.0.0.1:9/v1",
                   llm_prompt_max_instruments=12)
    assert app.desk.policy.max_instruments == 12  # type: ignore[attr-defined]
    assert load_settings().llm_prompt_max_instruments == 40
