"""Hindsight labels: the best decision, with the realised forward returns, that the risk engine accepts.

Policy:

- Utility of a portfolio whose daily forward returns over the horizon are ``p`` (the weights held
  from day ``t``'s close, cash returning 0, ``risk.measures.ReturnsMatrix.portfolio``): with
  ``R = Π(1 + p) − 1``, ``u = R`` if ``R ≥ 0`` else ``λ·R``, minus ``κ · max(0, CVaR_α(p))``
  (``risk.measures.historical_cvar``; a tail that is a gain earns no bonus). Defaults λ = 2.25,
  κ = 1.0, α = 0.95.
- Candidates, in this order (a tie keeps the earlier): ``keep`` (today's holdings), ``cash`` (sell
  everything), and for k = 1…``TOP_K`` over the instruments the prompt lists that are candidates
  of the day, ranked by their own utility and taken only when it is positive: ``top<k>`` (those k,
  every other holding sold) and ``keep+top<k>`` (holdings of positive utility kept, the others
  sold, the k added in what the budget leaves). Smaller sizes are not candidates: the utility
  scales with the weights (compounding aside), so a scaled-down candidate (nearly) never beats
  its full size; half-size ones were never chosen on ten years of the seed universe. A new
  position's size is ``min(borderline_fraction × max_position_weight, (1 − min_cash_weight) / k)``:
  within the size at which the engine asks a human.
- Acceptance (``bot.backtest.dataset_check``): each candidate's decision is sized by the desk's
  ``size_decision`` and classified in the state's risk context; an UNSAFE idea goes back to the
  current weight, a clamped one to the clamp's weight, an idea that sizes to nothing too, and the
  decision is sized and classified again (at most ``MAX_ROUNDS`` times: ``settle``). Candidates
  with the same targets are tried once. The label is the settled candidate of highest utility,
  measured on the weights its orders actually reach, that the gate and ``classify_batch`` accept
  (``confirm``; if the best fails, the next best is tried).

Failure contract: pure and deterministic; ``best_label`` returns None only when no candidate is
accepted (``keep`` always is, unless the day's holdings break the gate's cash budget).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from agent.policies.rules_sizing import floor4
from bot.backtest.dataset_check import Accepted, Book, confirm, settle
from risk.measures import FloatArray, historical_cvar

TOP_K = 3


@dataclass(frozen=True)
class Utility:
    """Loss-averse utility of a forward path, with a CVaR penalty."""

    loss_aversion: float = 2.25
    cvar_weight: float = 1.0
    alpha: float = 0.95

    def __call__(self, daily: FloatArray) -> float:
        """``u(R) − κ·max(0, CVaR)`` of one path of daily returns."""
        total = float(np.prod(1 + daily) - 1)
        gain = total if total >= 0 else self.loss_aversion * total
        return gain - self.cvar_weight * max(0.0, historical_cvar(daily, self.alpha))


@dataclass(frozen=True)
class Label:
    """The chosen candidate, its accepted decision, and what it realised."""

    candidate: str
    accepted: Accepted
    utility: float
    forward_return: float
    rejected: int


def asset_utilities(book: Book, utility: Utility) -> dict[str, float]:
    """Each listed candidate's and each holding's own utility over the horizon."""
    symbols = sorted({*book.listed, *book.current})
    return {s: utility(book.forward.column(s)) for s in symbols}


def candidates(book: Book, scores: Mapping[str, float]) -> list[tuple[str, dict[str, float]]]:
    """The candidate target weights, by name, in preference order for ties."""
    limits = book.limits
    budget = 1 - limits.min_cash_weight
    current = book.current
    ranked = sorted((s for s in book.listed if scores[s] > 0), key=lambda s: (-scores[s], s))
    sold = dict.fromkeys(current, 0.0)
    winners = {s: w for s, w in current.items() if scores.get(s, 0.0) > 0}
    out: list[tuple[str, dict[str, float]]] = [("keep", dict(current)), ("cash", dict(sold))]
    for k in range(1, min(TOP_K, len(ranked)) + 1):
        size = floor4(min(limits.borderline_fraction * limits.max_position_weight, budget / k))
        top = ranked[:k]
        out.append((f"top{k}", {**sold, **dict.fromkeys(top, size)}))
        fresh = [s for s in top if s not in winners] or top
        room = max(0.0, budget - sum(winners.values()))
        added = {s: floor4(current.get(s, 0.0) + min(size, room / len(fresh))) for s in fresh}
        out.append((f"keep+top{k}", {**sold, **winners, **added}))
    return out


def best_label(book: Book, utility: Utility) -> Label | None:
    """The accepted candidate of highest utility on the weights it reaches (the earlier candidate on a tie)."""
    scores = asset_utilities(book, utility)
    settled: list[tuple[float, int, str, Accepted, float]] = []
    seen: set[tuple[tuple[str, float], ...]] = set()
    rejected = 0
    for order, (name, targets) in enumerate(candidates(book, scores)):
        key = tuple(sorted(targets.items()))
        if key in seen:
            continue
        seen.add(key)
        accepted = settle(book, targets)
        if accepted is None:
            rejected += 1
            continue
        path = book.forward.portfolio(accepted.weights)
        settled.append((-utility(path), order, name, accepted, float(np.prod(1 + path) - 1)))
    for negative, _, name, accepted, total in sorted(settled, key=lambda item: item[:2]):
        if confirm(book, accepted):
            return Label(name, accepted, -negative, total, rejected)
        rejected += 1
    return None
