"""Which instruments the LLM prompt lists: a small universe whole, a large one as a deterministic shortlist.

Policy: a universe of at most ``max_instruments`` symbols is listed whole, alphabetically. Above
that, the prompt lists at most ``max_instruments`` lines (the cap, ``PAPERDESK_LLM_PROMPT_MAX_INSTRUMENTS``):
every holding of the universe first, heaviest first (all of them, even beyond the cap: the model must
mention each), then the strongest candidates by the rules policy's signals
(``agent.policies.rules_ideas.read_signals``): tradable symbols in an up-trend ranked by trend
strength per unit of volatility, then the others by the same score, unknown scores last, ties by
symbol. The symbols left out are summarised in one line per asset class (``class_summaries``), and
the gate accepts only listed symbols (``NOT_SHOWN`` otherwise), so the model never trades a name
it was not shown.

Failure contract: pure and deterministic; never raises on NaN indicators.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from agent.policies.base import PolicyContext
from agent.policies.rules_ideas import Signal, read_signals
from broker.models import Instrument

DEFAULT_MAX_INSTRUMENTS = 40


@dataclass(frozen=True)
class Shortlist:
    """The symbols the prompt lists, in prompt order, and those of the universe it leaves out."""

    shown: tuple[str, ...]
    hidden: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """True when the whole universe is listed."""
        return not self.hidden


class ClassSummary(NamedTuple):
    """The unlisted symbols of one asset class in a few medians (NaN when unknown)."""

    asset_class: str
    size: int
    trending: int
    return_20d: float
    vol60: float
    cvar95: float
    drawdown: float


def shortlist(context: PolicyContext, max_instruments: int = DEFAULT_MAX_INSTRUMENTS) -> Shortlist:
    """The whole universe when it is small enough, else holdings then the strongest candidates."""
    universe = sorted(context.instruments)
    if len(universe) <= max_instruments:
        return Shortlist(tuple(universe))
    held = sorted((s for s in context.holdings if s in context.instruments),
                  key=lambda s: (-context.holdings[s].weight, s))
    signals = read_signals(context.indicators.arrays, universe)
    others = [s for s in universe if s not in context.holdings]
    ranked = sorted(others, key=lambda s: _rank(signals.get(s), context.instruments[s]))
    shown = (*held, *ranked[:max(0, max_instruments - len(held))])
    listed = set(shown)
    return Shortlist(shown, tuple(s for s in universe if s not in listed))


def class_summaries(context: PolicyContext, symbols: Iterable[str]) -> list[ClassSummary]:
    """One summary per asset class of ``symbols``, classes in alphabetical order."""
    by_class: dict[str, list[str]] = {}
    for symbol in symbols:
        by_class.setdefault(str(context.instruments[symbol].asset_class), []).append(symbol)
    cvar = context.tail_risk.instrument_cvar
    summaries = []
    for asset_class, members in sorted(by_class.items()):
        signals = list(read_signals(context.indicators.arrays, members).values())
        summaries.append(ClassSummary(
            asset_class, len(members), sum(s.trending for s in signals),
            _median(s.return_20d for s in signals), _median(s.vol for s in signals),
            _median(cvar.get(s, math.nan) for s in members), _median(s.drawdown for s in signals)))
    return summaries


def _rank(signal: Signal | None, instrument: Instrument) -> tuple[bool, float, str]:
    """Sort key: tradable up-trends first, then by score (strength / volatility), best first."""
    if signal is None:
        return True, math.inf, instrument.symbol
    eligible = signal.trending and signal.known and instrument.tradable
    score = signal.score
    return not eligible, -score if math.isfinite(score) else math.inf, signal.symbol


def _median(values: Iterable[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else math.nan
