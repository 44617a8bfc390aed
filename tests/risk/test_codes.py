"""Every rule code has a table case where it fires and the codes in the rule modules are all known."""

from __future__ import annotations

import re
from pathlib import Path

import risk
from tests.risk import (
    test_rules_activity,
    test_rules_data,
    test_rules_exposure,
    test_rules_market,
    test_rules_portfolio,
    test_rules_sleeve,
    test_rules_state,
)

ALL_CODES = {
    "UNKNOWN_SYMBOL",
    "NOT_TRADABLE_AT_BROKER",
    "NO_PRICE",
    "STALE_PRICE",
    "ZERO_QUANTITY",
    "SELL_EXCEEDS_POSITION",
    "NON_FINITE_EQUITY",
    "NO_EQUITY",
    "TRADING_HALTED",
    "TRADING_REDUCING",
    "MIN_HOLDING_PERIOD",
    "POSITION_WEIGHT_EXCEEDS_MAX",
    "POSITION_WEIGHT_NEAR_MAX",
    "ASSET_CLASS_WEIGHT_EXCEEDS_MAX",
    "ASSET_CLASS_WEIGHT_NEAR_MAX",
    "SECTOR_WEIGHT_EXCEEDS_MAX",
    "SECTOR_WEIGHT_NEAR_MAX",
    "SLEEVE_OVER_BUDGET",
    "NOT_IN_SLEEVE",
    "CASH_BELOW_FLOOR",
    "DRAWDOWN_HALTS_BUYS",
    "DRAWDOWN_NEAR_MAX",
    "CIRCUIT_BREAKER",
    "VOLATILITY_EXCEEDS_MAX",
    "VOLATILITY_NEAR_MAX",
    "VOLATILITY_UNKNOWN",
    "CORRELATED_WITH_HOLDING",
    "CORRELATION_UNKNOWN",
    "ADV_EXCEEDS_MAX",
    "ADV_UNKNOWN",
    "TRADES_PER_DAY_EXCEEDED",
    "TRADES_PER_DAY_NEAR_MAX",
    "TRADES_PER_WEEK_EXCEEDED",
    "TRADES_PER_WEEK_NEAR_MAX",
    "REENTRY_COOLDOWN",
    "CVAR_EXCEEDS_MAX",
    "CVAR_NEAR_MAX",
    "CVAR_UNKNOWN",
    "LOW_CONFIDENCE",
}
TABLES = (
    test_rules_data,
    test_rules_state,
    test_rules_exposure,
    test_rules_market,
    test_rules_activity,
    test_rules_portfolio,
    test_rules_sleeve,
)
CODE = re.compile(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"')


def test_every_code_has_a_firing_case() -> None:
    fired = {case.code for table in TABLES for case in table.CASES if case.code is not None}
    assert fired == ALL_CODES


def test_every_rule_has_a_silent_case() -> None:
    silent = {case.rule for table in TABLES for case in table.CASES if case.code is None}
    assert silent == set(risk.RULES)


def test_rule_modules_use_only_known_codes() -> None:
    package = Path(risk.__file__).parent
    found = {code for path in package.glob("rules_*.py") for code in CODE.findall(path.read_text())}
    assert found == ALL_CODES
