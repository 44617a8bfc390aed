"""The simulated portfolio states of the training data set: named, documented ledgers on a replayed day.

Policy: a state is a ``SimLedger`` (cash, and positions with their quantity, cost and opening date)
plus an equity peak, built on day ``t`` from what the day shows: the feed's closes and FX rates of
row ``t``, the day's candidates (tradable instruments of the universe whose price is at most
``max_price_age_days`` old), the shortlist's leader and the regime. The dataset values it with the
replay's ``SimulatedBroker``, so the policy and risk contexts come from it exactly as in a replay.
Equity is ``SimConfig.initial_cash`` (cash is what the positions leave); a position's quantity is
its weight of equity in shares (``bot.desk.sizing.shares``), its cost the price divided by
``1 + P&L`` at the day's FX rate. Draws come from the ``Generator`` the caller seeds with
``(seed, day, state)``, so a state depends on nothing after its day and on no other day.

States (weights are fractions of equity, P&L unrealised per position):

- ``empty``: all cash, at the equity peak.
- ``concentrated``: 2–3 instruments of one asset class worth ``max_asset_class_weight`` + 5–15 points
  (each within ``max_position_weight``); without two candidates in one class, one position above
  ``max_position_weight``.
- ``drawdown``: 2–4 losing positions (−8…−25%), 40–70% invested, the peak set so the drawdown is
  0.85–1.3 × ``max_drawdown`` (beyond the share that makes buys BORDERLINE, at times beyond the halt).
- ``cash_floor``: 4–6 positions worth ``1 − min_cash_weight``: cash at the floor.
- ``leader``: the shortlist's first instrument (``agent.llm.shortlist``: the strongest up-trend per
  unit of volatility) at 15%–``max_position_weight``, +0…15%, with 0–2 other positions.
- ``winning`` / ``losing``: 3–4 positions at +5…25% / −5…25%, 50–80% invested, held 20–90 days;
  losing sits 10–50% of ``max_drawdown`` below its peak.
- ``defensive``: only on days whose regime is DEFENSIVE (the data decides; nothing is altered):
  3–4 equity positions (US, international, small-cap, EU), 60–80% invested, −10…+5%.
- ``mixed``: 1–5 random positions, 20–85% invested, −15…+20%, 0–50% of ``max_drawdown`` below peak.

Failure contract: ``build_state`` returns None when the state cannot be realised that day (too few
candidates, no leader, not a defensive day); an unknown name is a ``KeyError``; never raises on NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np

from agent.indicators import Regime
from bot.backtest.feed import ReplayFeed
from bot.clock import CLOSE_TIME
from bot.desk.sizing import shares
from broker.ledger import LedgerPosition, SimLedger
from broker.models import AssetClass, Instrument
from risk.limits import RiskLimits

PRICE_PLACES = Decimal("0.000001")
EQUITY_CLASSES = frozenset({AssetClass.US_EQUITY, AssetClass.INTL_EQUITY, AssetClass.SMALL_CAP,
                            AssetClass.EU_EQUITY})


@dataclass(frozen=True)
class DayFacts:
    """What a state may read about day ``t`` (nothing after it)."""

    day: date
    feed: ReplayFeed  # moved to row t, quoting its closes
    instruments: dict[str, Instrument]
    candidates: tuple[str, ...]  # tradable, priced recently enough, sorted
    leader: str | None
    regime: Regime
    limits: RiskLimits
    equity: Decimal


@dataclass(frozen=True)
class Holding:
    """One simulated position: weight of equity, unrealised P&L, days held."""

    symbol: str
    weight: float
    pnl: float
    held_days: int


@dataclass(frozen=True)
class StateBook:
    """A state's positions and the equity peak it sits below."""

    holdings: list[Holding] = field(default_factory=list)
    drawdown: float = 0.0


Builder = Callable[[DayFacts, np.random.Generator], StateBook | None]


def _pick(rng: np.random.Generator, pool: Sequence[str], low: int, high: int) -> list[str] | None:
    """``low``–``high`` distinct symbols of ``pool`` (as many as there are, at least ``low``), in draw order."""
    if len(pool) < low:
        return None
    n = int(rng.integers(low, min(high, len(pool)) + 1))
    return [pool[i] for i in rng.permutation(len(pool))[:n].tolist()]


def _spread(rng: np.random.Generator, symbols: list[str], total: float, cap: float,
            pnl: tuple[float, float], held: tuple[int, int] = (5, 90)) -> list[Holding]:
    """``total`` split over ``symbols`` within ±10% of equal shares, each at most ``cap``."""
    jitter = rng.uniform(0.9, 1.1, len(symbols))
    weights = total * jitter / jitter.sum()
    for _ in range(len(symbols)):  # what a capped position cannot hold goes to the others, pro rata
        excess, free = float(np.maximum(weights - cap, 0).sum()), weights < cap
        if excess <= 1e-12 or not free.any():
            break
        weights = np.minimum(weights, cap) + free * excess * weights / float((weights * free).sum())
    weights = np.minimum(weights, cap)
    return [Holding(s, float(w), float(rng.uniform(*pnl)), int(rng.integers(held[0], held[1] + 1)))
            for s, w in zip(symbols, weights.tolist(), strict=True)]


def _empty(day: DayFacts, rng: np.random.Generator) -> StateBook:
    return StateBook()


def _concentrated(day: DayFacts, rng: np.random.Generator) -> StateBook | None:
    limits = day.limits
    by_class: dict[str, list[str]] = {}
    for s in day.candidates:
        by_class.setdefault(str(day.instruments[s].asset_class), []).append(s)
    classes = sorted(c for c, members in by_class.items() if len(members) >= 2)
    total = min(limits.max_asset_class_weight + float(rng.uniform(0.05, 0.15)), 1 - limits.min_cash_weight)
    if classes and 2 * limits.max_position_weight > limits.max_asset_class_weight:
        picked = _pick(rng, by_class[classes[int(rng.integers(len(classes)))]], 2, 3)
        return StateBook(_spread(rng, picked or [], total, limits.max_position_weight, (-0.05, 0.15)))
    single = _pick(rng, day.candidates, 1, 1)
    over = min(limits.max_position_weight + float(rng.uniform(0.05, 0.10)), 1 - limits.min_cash_weight)
    return None if single is None else StateBook(_spread(rng, single, over, 1.0, (-0.05, 0.15)))


def _drawdown(day: DayFacts, rng: np.random.Generator) -> StateBook | None:
    picked = _pick(rng, day.candidates, 2, 4)
    if picked is None:
        return None
    depth = min(0.95, day.limits.max_drawdown * float(rng.uniform(0.85, 1.3)))
    return StateBook(_spread(rng, picked, float(rng.uniform(0.4, 0.7)), day.limits.max_position_weight,
                             (-0.25, -0.08)), depth)


def _cash_floor(day: DayFacts, rng: np.random.Generator) -> StateBook | None:
    limits = day.limits
    total = 1 - limits.min_cash_weight
    picked = _pick(rng, day.candidates, max(4, math.ceil(total / (0.9 * limits.max_position_weight))), 6)
    return None if picked is None else StateBook(_spread(rng, picked, total, limits.max_position_weight,
                                                         (-0.05, 0.05)))


def _leader(day: DayFacts, rng: np.random.Generator) -> StateBook | None:
    if day.leader is None or day.leader not in day.candidates:
        return None
    cap = day.limits.max_position_weight
    lead = Holding(day.leader, float(rng.uniform(min(0.15, cap), cap)), float(rng.uniform(0.0, 0.15)),
                   int(rng.integers(5, 61)))
    others = _pick(rng, [s for s in day.candidates if s != day.leader], 0, 2) or []
    room = max(0.0, 1 - day.limits.min_cash_weight - lead.weight)
    rest = _spread(rng, others, min(room, float(rng.uniform(0.1, 0.3)) * len(others)), cap, (-0.1, 0.1))
    return StateBook([lead, *rest])


def _streak(sign: float) -> Builder:
    def build(day: DayFacts, rng: np.random.Generator) -> StateBook | None:
        picked = _pick(rng, day.candidates, 3, 4)
        if picked is None:
            return None
        pnl = (0.05, 0.25) if sign > 0 else (-0.25, -0.05)
        held = _spread(rng, picked, float(rng.uniform(0.5, 0.8)), day.limits.max_position_weight, pnl, (20, 90))
        depth = 0.0 if sign > 0 else day.limits.max_drawdown * float(rng.uniform(0.1, 0.5))
        return StateBook(held, depth)
    return build


def _defensive(day: DayFacts, rng: np.random.Generator) -> StateBook | None:
    if day.regime is not Regime.DEFENSIVE:
        return None
    picked = _pick(rng, [s for s in day.candidates if day.instruments[s].asset_class in EQUITY_CLASSES], 3, 4)
    if picked is None:
        return None
    return StateBook(_spread(rng, picked, float(rng.uniform(0.6, 0.8)), day.limits.max_position_weight,
                             (-0.10, 0.05)))


def _mixed(day: DayFacts, rng: np.random.Generator) -> StateBook | None:
    picked = _pick(rng, day.candidates, 1, 5)
    if picked is None:
        return None
    total = min(float(rng.uniform(0.2, 0.85)), len(picked) * day.limits.max_position_weight)
    return StateBook(_spread(rng, picked, total, day.limits.max_position_weight, (-0.15, 0.20)),
                     day.limits.max_drawdown * float(rng.uniform(0.0, 0.5)))


STATES: dict[str, Builder] = {
    "empty": _empty, "concentrated": _concentrated, "drawdown": _drawdown, "cash_floor": _cash_floor,
    "leader": _leader, "winning": _streak(1.0), "losing": _streak(-1.0), "defensive": _defensive, "mixed": _mixed,
}


def build_state(name: str, day: DayFacts, rng: np.random.Generator) -> tuple[SimLedger, Decimal] | None:
    """The ledger of state ``name`` on ``day`` and its equity peak, or None when the day cannot hold it."""
    book = STATES[name](day, rng)
    if book is None:
        return None
    feed, positions, invested = day.feed, {}, Decimal(0)
    opened = datetime.combine(day.day, CLOSE_TIME)
    for h in book.holdings:
        quote, instrument = feed.quote(h.symbol), day.instruments[h.symbol]
        fx = feed.fx_rate(instrument.currency)
        if quote is None or fx is None or h.weight <= 0:
            continue
        amount = Decimal(str(math.floor(h.weight * 1e6) / 1e6)) * day.equity  # floored: never above the weight
        quantity = shares(amount, quote.price * fx, instrument.fractional)
        if quantity <= 0:
            continue
        cost_price = (quote.price / Decimal(str(round(1 + h.pnl, 6)))).quantize(PRICE_PLACES)
        positions[h.symbol] = LedgerPosition(
            quantity=quantity, avg_price=cost_price, currency=instrument.currency,
            cost_base=round(quantity * cost_price * fx, 2), opened_at=opened - timedelta(days=h.held_days))
        invested += quantity * quote.price * fx
    ledger = SimLedger(base_currency=feed.base_currency, cash=day.equity - invested, positions=positions,
                       created_at=opened)
    peak = (day.equity / Decimal(str(round(1 - book.drawdown, 6)))).quantize(Decimal("0.01"))
    return ledger, max(peak, day.equity)

DESCRIPTIONS: dict[str, str] = {
    "empty": "all cash, at the equity peak",
    "concentrated": "2-3 instruments of one asset class above max_asset_class_weight (or one above "
                    "max_position_weight)",
    "drawdown": "2-4 losing positions, 40-70% invested, 0.85-1.3 x max_drawdown below the peak",
    "cash_floor": "4-6 positions worth 1 - min_cash_weight: cash at the floor",
    "leader": "the shortlist's leader at 15%-max_position_weight, with 0-2 other positions",
    "winning": "3-4 positions at +5..+25% unrealised, 50-80% invested, at the peak",
    "losing": "3-4 positions at -5..-25% unrealised, 50-80% invested, 10-50% of max_drawdown below the peak",
    "defensive": "days whose regime is DEFENSIVE only: 3-4 equity positions, 60-80% invested",
    "mixed": "1-5 random positions, 20-85% invested, -15..+20%",
}
