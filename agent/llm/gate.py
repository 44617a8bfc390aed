"""The validation gate: the model's answer is judged here before anything else sees it.

Policy:

- The whole document is invalid when it is not the strict schema of ``agent.schema.PolicyDecision``
  (not an object, missing or extra keys, wrong types, non-finite numbers, a proposal that is not a
  complete ``ProposalIdea``), or when the kept BUY/HOLD targets plus the weights of holdings the
  answer does not mention sum above ``1 − min_cash_weight`` (DESIGN: weights summing above 1 minus
  the cash floor are never executed). The caller then asks once for a repair, then abstains.
- The same rules hold in every output mode (``agent.llm.modes``): a grammar-constrained answer
  parses, but its numbers are not bounded by the server (a real small model answered
  ``target_weight: 32.9``), so bounds are checked here. One markdown code fence around the whole
  answer (as models asked in plain prompt mode write) is removed before parsing; nothing else is.
- Single proposals are dropped with a stable code and the rest go on to the risk engine:
  ``WEIGHT_OUT_OF_RANGE`` (a numeric ``target_weight`` outside 0..1), ``UNKNOWN_SYMBOL`` (not in
  the universe, compared exactly), ``NOT_SHOWN`` (in the universe, but neither listed in the
  prompt's shortlist nor held: ``agent.llm.shortlist``), ``HOLD_WITH_SIZE`` (a HOLD whose target
  differs from the current weight by more than half a point), ``DUPLICATE_SYMBOL`` (a symbol named
  twice: every copy is dropped, because the desk does not guess which of two contradictory targets
  was meant).

Failure contract: ``screen`` never raises, whatever JSON value (or Python object) it is given;
the only way out of the gate towards the risk engine is a ``ScreenedDecision`` built from
validated ``ProposalIdea`` objects.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from agent.policies.base import DroppedIdea, ScreenedDecision
from agent.schema import Action, ProposalIdea

HOLD_TOLERANCE = 0.005
SUM_TOLERANCE = 1e-9
TOP_KEYS = frozenset({"market_view", "proposals"})
MAX_ERRORS = 20
_FENCE = re.compile(r"```[A-Za-z]*\s*\n(.*)\n\s*```", re.DOTALL)


@dataclass(frozen=True)
class GateResult:
    """A screened decision, or the reasons the document as a whole is invalid."""

    decision: ScreenedDecision | None
    errors: list[str] = field(default_factory=list)

    @property
    def dropped(self) -> list[DroppedIdea]:
        """Proposals screened out of a valid document."""
        return list(self.decision.dropped) if self.decision else []


def parse_content(content: str | None) -> tuple[Any, str | None]:
    """The JSON value of an answer's text, or an error message."""
    if content is None or not content.strip():
        return None, "the answer is empty"
    try:
        return json.loads(_unfenced(content)), None
    except (ValueError, RecursionError) as exc:
        return None, f"the answer is not valid JSON: {str(exc)[:200]}"


def _unfenced(content: str) -> str:
    """The text inside one markdown code fence wrapping the whole answer, else the answer."""
    match = _FENCE.fullmatch(content.strip())
    return match.group(1) if match else content


def screen(document: Any, universe: frozenset[str], holdings: Mapping[str, float],
           min_cash_weight: float, shown: frozenset[str] | None = None) -> GateResult:
    """Validate a whole answer (``shown``: the symbols the prompt listed, None for all); never raises."""
    try:
        listed = universe if shown is None else universe & (shown | frozenset(holdings))
        return _screen(document, universe, holdings, min_cash_weight, listed)
    except Exception as exc:  # the gate must hold whatever arrives: an unexpected input is an invalid document
        return GateResult(None, [f"the answer could not be validated: {type(exc).__name__}"])


def _screen(document: Any, universe: frozenset[str], holdings: Mapping[str, float],
            min_cash_weight: float, listed: frozenset[str]) -> GateResult:
    errors = _top_level_errors(document)
    if errors:
        return GateResult(None, errors)
    ideas: list[ProposalIdea] = []
    dropped: list[DroppedIdea] = []
    for index, item in enumerate(document["proposals"]):
        result = _one(index, item)
        if isinstance(result, ProposalIdea):
            ideas.append(result)
        elif isinstance(result, DroppedIdea):
            dropped.append(result)
        else:
            errors.append(result)
    if errors:
        return GateResult(None, errors[:MAX_ERRORS])
    kept = _screen_ideas(ideas, universe, listed, holdings, dropped)
    excess = _budget_error(kept, holdings, min_cash_weight)
    if excess:
        return GateResult(None, [excess])
    decision = ScreenedDecision(market_view=document["market_view"], proposals=kept, dropped=dropped)
    return GateResult(decision)


def _top_level_errors(document: Any) -> list[str]:
    if not isinstance(document, dict):
        return [f"the answer must be a JSON object with market_view and proposals, got {type(document).__name__}"]
    errors = [f"missing key {key!r}" for key in sorted(TOP_KEYS - document.keys())]
    errors += [f"unexpected key {str(key)[:40]!r}" for key in list(document.keys() - TOP_KEYS)[:5]]
    if "market_view" in document and not isinstance(document["market_view"], str):
        errors.append("market_view must be a string")
    if "proposals" in document and not isinstance(document["proposals"], list):
        errors.append("proposals must be an array")
    return errors


def _one(index: int, item: Any) -> ProposalIdea | DroppedIdea | str:
    """A validated idea, a dropped one, or a document-level error."""
    if not isinstance(item, dict):
        return f"proposals[{index}] must be an object, got {type(item).__name__}"
    symbol = item.get("symbol")
    label = symbol[:40] if isinstance(symbol, str) else "?"
    weight = item.get("target_weight")
    if isinstance(weight, int | float) and not isinstance(weight, bool) and not 0 <= weight <= 1:
        return DroppedIdea(label, "WEIGHT_OUT_OF_RANGE",
                           f"target_weight {_show(weight)} is outside 0..1 (a fraction of equity: 0.25 = 25%)")
    try:
        idea = ProposalIdea.model_validate_json(json.dumps(item), strict=True)
    except (TypeError, ValueError, RecursionError) as exc:
        if not isinstance(exc, ValidationError):
            return f"proposals[{index}] ({label}): not a JSON document ({type(exc).__name__})"

        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "proposal"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"proposals[{index}] ({label}): {where}: {first['msg']}{more}"
    if not _finite(idea):
        return f"proposals[{index}] ({label}): numbers must be finite"
    return idea


def _screen_ideas(ideas: list[ProposalIdea], universe: frozenset[str], listed: frozenset[str],
                  holdings: Mapping[str, float], dropped: list[DroppedIdea]) -> list[ProposalIdea]:
    counts = Counter(idea.symbol for idea in ideas)
    kept: list[ProposalIdea] = []
    for idea in ideas:
        current = holdings.get(idea.symbol, 0.0)
        if idea.symbol not in universe:
            dropped.append(DroppedIdea(idea.symbol[:40], "UNKNOWN_SYMBOL", "not in the universe"))
        elif idea.symbol not in listed:
            dropped.append(DroppedIdea(idea.symbol, "NOT_SHOWN", f"not among the {len(listed)} instruments "
                                       "listed in the prompt (a shortlist of the universe)"))
        elif counts[idea.symbol] > 1:
            dropped.append(DroppedIdea(idea.symbol, "DUPLICATE_SYMBOL",
                                       f"named {counts[idea.symbol]} times; every copy is dropped"))
        elif idea.action is Action.HOLD and abs(idea.target_weight - current) > HOLD_TOLERANCE:
            dropped.append(DroppedIdea(idea.symbol, "HOLD_WITH_SIZE",
                                       f"HOLD with target {idea.target_weight:.1%} but current weight {current:.1%}"))
        else:
            kept.append(idea)
    return kept


def _budget_error(kept: list[ProposalIdea], holdings: Mapping[str, float], min_cash_weight: float) -> str | None:
    named = {idea.symbol for idea in kept}
    invested = sum(idea.target_weight for idea in kept if idea.action in {Action.BUY, Action.HOLD})
    untouched = sum(w for symbol, w in holdings.items() if symbol not in named)
    budget = 1 - min_cash_weight
    if invested + untouched > budget + SUM_TOLERANCE:
        return (f"target weights sum to {invested + untouched:.1%} (BUY/HOLD targets {invested:.1%} plus "
                f"{untouched:.1%} in holdings not mentioned), above the {budget:.0%} allowed by the "
                f"{min_cash_weight:.0%} cash floor")
    return None


def _show(number: float) -> str:
    if isinstance(number, float):
        return f"{number:g}"
    return str(number) if abs(number) < 10**9 else "(a huge integer)"


def _finite(idea: ProposalIdea) -> bool:
    numbers = [idea.target_weight, idea.confidence, idea.expected_upside_pct, idea.worst_case_loss_pct]
    if idea.stop_loss_pct is not None:
        numbers.append(idea.stop_loss_pct)
    return all(math.isfinite(n) for n in numbers)
