"""Table-driven rule cases: one proposal, one context, and the code the rule must (not) return."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from risk.limits import RiskLimits
from risk.models import Level, RiskContext, TradeProposal
from risk.rules import Rule
from tests.risk.factories import apply


@dataclass(frozen=True)
class Case:
    """A rule, its inputs, and the expected hit code and level (code None: the rule is silent)."""

    id: str
    rule: Rule
    p: TradeProposal
    code: str | None
    level: Level | None = None
    ctx: RiskContext | None = None
    lim: RiskLimits | None = None
    clamp: Decimal | None = None


def params(cases: list[Case]) -> list[Any]:
    """The cases as pytest params named by their ids."""
    return [pytest.param(case, id=case.id) for case in cases]


def check(case: Case) -> None:
    """Assert the rule returns what the case expects."""
    hit = apply(case.rule, case.p, case.ctx, case.lim)
    if case.code is None:
        assert hit is None, hit.describe() if hit else ""
        return
    assert hit is not None, f"{case.code} did not fire"
    assert hit.code == case.code, hit.describe()
    if case.level is not None:
        assert hit.level is case.level, hit.describe()
    assert hit.clamp_quantity == case.clamp, hit.describe()
