"""The LLM master allocator (``allocator = "llm"``): the model proposes the sleeve budgets, the rules bound them.

Policy: the prompt shows each sleeve's bounds, the budget in force, the range the step allows this
rebalance, and the figures the rule allocator saw (annualised Sharpe, momentum), plus the regime and
its cash target, and asks for one JSON object ``{"budgets": {sleeve: weight}, "reasons": {sleeve:
text}}``. The answer is parsed as every LLM answer is (``agent.llm.gate.parse_content``: one markdown
code fence removed, nothing else), validated strictly, and the proposed budgets then go through the
same bounds step as the rule allocator (``bot.sleeves.allocator.settle``) as the targets: an LLM
allocation obeys the cash floor, every [min, max], the step and the regime's cash by construction.
Each reason is the model's text (single-lined, at most ``MAX_REASON_CHARS``) after what it proposed,
followed by whatever held the budget back.

Failure contract: ``parse_allocation`` raises ``ValueError`` with one line for an answer that is not
JSON, not an object of exactly ``budgets`` (required) and ``reasons`` (optional), names an unknown
sleeve or omits one from ``budgets``, or gives a budget that is not a finite number in 0..1 (a negative
weight, or 35 meaning 35%, is refused rather than guessed at) or a reason that is not a string; the
caller then falls back or abstains. A configuration error is ``check_bounds``'s ``ValueError``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from agent.llm.gate import parse_content
from bot.sleeves.bounds import (
    Allocation,
    AllocatorParams,
    Figures,
    SleeveBounds,
    SleeveInputs,
    budget_range,
    check_bounds,
    regime_cash,
    settle,
    starting_budgets,
)

MAX_REASON_CHARS = 300
KEYS = frozenset({"budgets", "reasons"})

SYSTEM = """You are the master allocator of a paper-trading desk whose portfolio is divided into \
sleeves, each run by its own policy. You set each sleeve's budget: its share of desk equity, a \
fraction between 0 and 1 (0.25 = 25%; never 25). Favour sleeves with better risk-adjusted \
performance and trend, and respect the market regime: in a defensive regime hold more cash and \
favour defensive sleeves; in an opportunistic one hold less cash. Every budget must lie within the \
range allowed this rebalance, and the budgets must sum to 1 minus the cash target. Budgets outside \
these bounds are bounded by the desk, not refused.

Answer with one JSON object and nothing else:
{"budgets": {"<sleeve>": <weight>, ...}, "reasons": {"<sleeve>": "<one sentence>", ...}}
naming every sleeve listed, and no other."""


def allocation_messages(sleeves: Sequence[SleeveBounds], inputs: Mapping[str, SleeveInputs], regime: str,
                        params: AllocatorParams) -> list[dict[str, str]]:
    """System and user messages asking for the budgets (``inputs``: per sleeve, its figures and budget in force)."""
    check_bounds(sleeves, params)
    cash = regime_cash(regime, params)
    lines = [f"Regime: {regime}. Cash target: {cash:.1%} (the floor is {params.cash_floor:.1%}), so the "
             f"budgets must sum to {1 - cash:.1%}. Sharpe: annualised over the last {params.sharpe_window} "
             f"trading days; momentum: cumulative return over the last {params.momentum_window}.",
             "sleeve | defensive | base | min | max | budget now | allowed this rebalance | Sharpe | momentum"]
    for s in sleeves:
        x = inputs.get(s.name)
        before = x.before if x is not None else s.base_weight
        lo, hi, _ = budget_range(s, before, params.max_step)
        sharpe = "-" if x is None or x.sharpe is None else f"{x.sharpe:.2f}"
        momentum = "-" if x is None or x.momentum is None else f"{x.momentum:+.1%}"
        lines.append(f"{s.name} | {'yes' if s.defensive else 'no'} | {s.base_weight:.1%} | {s.min_weight:.1%} | "
                     f"{s.max_weight:.1%} | {before:.1%} | {lo:.1%}..{hi:.1%} | {sharpe} | {momentum}")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def parse_allocation(content: str | None, sleeves: Sequence[SleeveBounds], params: AllocatorParams,
                     before: Mapping[str, float] | None, regime: str,
                     inputs: Mapping[str, SleeveInputs] | None = None) -> Allocation:
    """The model's budgets, validated and bounded like the rule allocator's (``ValueError``, one line)."""
    check_bounds(sleeves, params)
    document, error = parse_content(content)
    if error is not None:
        raise ValueError(error)
    budgets, reasons = _validated(document, [s.name for s in sleeves])
    why = {name: f"proposed {weight:.1%}" + (f" ({reasons[name]})" if reasons.get(name) else "")
           for name, weight in budgets.items()}
    figures: dict[str, Figures] = {name: (x.sharpe, x.momentum) for name, x in (inputs or {}).items()}
    return settle(sleeves, budgets, starting_budgets(sleeves, before), regime, params, why, figures)


def _validated(document: Any, names: list[str]) -> tuple[dict[str, float], dict[str, str]]:
    if not isinstance(document, dict):
        raise ValueError(f"the answer must be a JSON object with budgets and reasons, got {type(document).__name__}")
    extra = sorted(str(key)[:40] for key in document.keys() - KEYS)
    if extra or "budgets" not in document:
        raise ValueError(f"the answer needs the key 'budgets' (and optionally 'reasons'), got {sorted(document)[:5]}")
    raw_budgets, raw_reasons = document["budgets"], document.get("reasons", {})
    for key, value in (("budgets", raw_budgets), ("reasons", raw_reasons)):
        if not isinstance(value, dict):
            raise ValueError(f"{key} must be an object keyed by sleeve, got {type(value).__name__}")
        unknown = sorted(str(name)[:40] for name in value.keys() - set(names))
        if unknown:
            raise ValueError(f"{key} names unknown sleeve(s) {', '.join(unknown[:5])}: the sleeves are "
                             f"{', '.join(names)}")
    missing = [name for name in names if name not in raw_budgets]
    if missing:
        raise ValueError(f"budgets omits sleeve(s) {', '.join(missing)}: every sleeve needs a budget")
    budgets = {name: _weight(name, raw_budgets[name]) for name in names}
    reasons = {name: _reason(name, text) for name, text in raw_reasons.items()}
    return budgets, reasons


def _weight(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        shown = json.dumps(value)[:40] if not isinstance(value, float) else f"{value:g}"
        raise ValueError(f"budget for sleeve {name!r} must be a fraction of equity in 0..1 (0.25 = 25%), got {shown}")
    return float(value)


def _reason(name: str, text: Any) -> str:
    if not isinstance(text, str):
        raise ValueError(f"reason for sleeve {name!r} must be a string, got {type(text).__name__}")
    return " ".join(text.split())[:MAX_REASON_CHARS]
