"""Settings that would pass validation and crash later are refused at start-up, in one line naming the
variable: non-finite or huge numbers (``approval_ttl_hours=inf`` raised OverflowError every cycle,
``initial_cash=1e30`` broke the ledger) and a database URL with a non-numeric port.

Property: any value of any numeric risk limit is either refused with a ``SettingsError`` naming it,
or it loads and the arithmetic a cycle does with it (approval expiry and drift, both risk engines,
the prompt's limits) does not raise.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from annotated_types import Ge, Gt, Le, Lt
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from agent.llm.prompt import system_prompt
from agent.policies.base import PolicyContext
from bot.cli.app import app
from bot.settings import SettingsError, SimSettings, load_settings
from risk.engine import classify, classify_batch
from risk.limits import RiskLimits
from tests.risk import factories

runner = CliRunner()
NUMERIC = sorted(name for name, f in RiskLimits.model_fields.items() if f.annotation in {"int", "float", int, float})
AWKWARD = st.sampled_from(["inf", "-inf", "+inf", "Infinity", "nan", "NaN", "1e308", "-1e308", "1e400", "1e30", "-1",
                           "0", "-0.0", "5e-324", str(10**30), str(2**63), "1e-300"])
VALUES = st.one_of(AWKWARD, st.floats().map(repr), st.integers(-(10**25), 10**25).map(str),
                   st.floats(-10, 10_000, allow_nan=False).map(repr))


def env_name(key: str) -> str:
    return f"PAPERDESK_RISK__{key.upper()}"


def cycle_arithmetic(limits: RiskLimits) -> None:
    """What a cycle computes from the limits, outside the rules' comparisons."""
    now = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
    assert now + timedelta(hours=limits.approval_ttl_hours) >= now
    assert f"{Decimal(str(limits.approval_max_drift)).quantize(Decimal('0.0001')):.2%}".endswith("%")
    ctx = factories.context()
    for proposal in (factories.proposal(), factories.sell("SPY", 10)):
        classify(proposal, ctx, limits)
    classify_batch([factories.proposal(), factories.sell("SPY", 10)], ctx, limits)
    system_prompt(PolicyContext(as_of=ctx.as_of, instruments={}, indicators=None,  # type: ignore[arg-type]
                                equity=float(ctx.equity), cash_weight=0.5, limits=limits.model_dump()))


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from(NUMERIC), value=VALUES)
def test_a_numeric_risk_setting_is_refused_by_name_or_safe_to_compute_with(key: str, value: str) -> None:
    with mock.patch.dict(os.environ, {env_name(key): value}):
        try:
            loaded = load_settings()
        except SettingsError as exc:
            assert str(exc).startswith(f"invalid setting {env_name(key)}: ") and "\n" not in str(exc)
            return
    cycle_arithmetic(loaded.risk)


@pytest.mark.parametrize(("env", "name"), [
    ({"PAPERDESK_RISK__APPROVAL_TTL_HOURS": "inf"}, "PAPERDESK_RISK__APPROVAL_TTL_HOURS"),
    ({"PAPERDESK_RISK__APPROVAL_TTL_HOURS": "1e308"}, "PAPERDESK_RISK__APPROVAL_TTL_HOURS"),
    ({"PAPERDESK_RISK__MAX_VOLATILITY": "nan"}, "PAPERDESK_RISK__MAX_VOLATILITY"),
    ({"PAPERDESK_RISK__MIN_HOLDING_DAYS": str(10**12)}, "PAPERDESK_RISK__MIN_HOLDING_DAYS"),
    ({"PAPERDESK_SIM__INITIAL_CASH": "1e30"}, "PAPERDESK_SIM__INITIAL_CASH"),
    ({"PAPERDESK_SIM__INITIAL_CASH": "inf"}, "PAPERDESK_SIM__INITIAL_CASH"),
    ({"PAPERDESK_SYNTHETIC_SEED": "-1"}, "PAPERDESK_SYNTHETIC_SEED"),
    ({"PAPERDESK_LLM_BUDGET_USD": "inf"}, "PAPERDESK_LLM_BUDGET_USD"),
    ({"PAPERDESK_DATABASE_URL": "postgresql+psycopg://desk:hunter2@db:abc/desk"}, "PAPERDESK_DATABASE_URL"),
    ({"PAPERDESK_DATABASE_URL": "postgresql://desk@db:70000/desk"}, "PAPERDESK_DATABASE_URL"),
    ({"OPENAI_BASE_URL": "http://proxy:port/v1"}, "OPENAI_BASE_URL"),
    ({"PAPERDESK_TELEGRAM_API_URL": "api.telegram.org"}, "PAPERDESK_TELEGRAM_API_URL"),
])
def test_a_setting_that_would_crash_later_is_one_line_at_start_up(isolated_env: Path, env: dict[str, str],
                                                                  name: str) -> None:
    result = runner.invoke(app, ["cycle"], env=env)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: invalid setting {name}: ")
    assert "hunter2" not in result.stderr and not (isolated_env / "paperdesk.db").exists()


def _extreme(model: type[RiskLimits] | type[SimSettings], end: str) -> dict[str, Any]:
    """Every numeric field at the edge of its accepted range (``end`` is "low" or "high")."""
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        bounds = {type(m): m for m in field.metadata}
        if end == "high" and Le in bounds:
            values[name] = bounds[Le].le
        elif end == "high" and Lt in bounds:
            values[name] = float(bounds[Lt].lt) - 1e-3
        elif end == "low" and Ge in bounds:
            values[name] = bounds[Ge].ge
        elif end == "low" and Gt in bounds:
            values[name] = 1e-6 if field.annotation in {"float", float} else bounds[Gt].gt + 1
    return values


@pytest.mark.parametrize("end", ["low", "high"])
def test_a_cycle_runs_with_every_limit_at_the_edge_of_its_range(isolated_env: Path, end: str) -> None:
    env = {env_name(k): str(v) for k, v in _extreme(RiskLimits, end).items()}
    env |= {f"PAPERDESK_SIM__{k.upper()}": str(v) for k, v in _extreme(SimSettings, end).items()}
    assert "PAPERDESK_RISK__APPROVAL_TTL_HOURS" in env and "PAPERDESK_SIM__INITIAL_CASH" in env
    result = runner.invoke(app, ["cycle", "--as-of", "2026-11-20", "--json"], env=env)
    assert result.exit_code == 0, (result.stderr, result.exception)
