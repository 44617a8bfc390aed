"""Signals and proposal texts of the rules policy (see ``agent.policies.rules`` for the method).

``read_signals`` turns rows of ``IndicatorSet.arrays`` into ``Signal``s; ``exit_reason`` applies
the loss-aversion cuts; ``make_idea`` writes a ``ProposalIdea`` whose numbers are fractions
(0.05 = 5%) over a 20-day horizon. Never raises on NaN: missing numbers become "n/a" in texts and
neutral values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple

import numpy as np

from agent.indicators import NUMERIC_COLUMNS, IndicatorArrays
from agent.policies.base import HoldingView, PolicyContext
from agent.policies.rules_sizing import floor4
from agent.schema import Action, ProposalIdea

LOSS_AVERSION = 2.25
MAX_UNREALISED_LOSS, MAX_DRAWDOWN = -0.08, -0.15
HORIZON_DAYS = 20
EXIT_CONFIDENCE = 0.8
FULL_STRENGTH, OVERBOUGHT = 0.20, 70.0
_VERBS = {Action.BUY: "raise to", Action.SELL: "trim to", Action.HOLD: "hold at"}
_EXIT_TRIGGERS = (
    f"unrealised loss worse than {MAX_UNREALISED_LOSS:.0%}",
    f"drawdown from the 252-day high worse than {MAX_DRAWDOWN:.0%}",
)


class Signal(NamedTuple):
    """What the rules read from one indicator row."""

    symbol: str
    trending: bool
    strength: float
    long_average: str
    vol: float
    rsi: float
    close: float
    drawdown: float
    return_20d: float

    @property
    def known(self) -> bool:
        """True when the trend and the volatility could be measured."""
        return math.isfinite(self.strength) and math.isfinite(self.vol) and self.vol > 0

    @property
    def score(self) -> float:
        """Trend strength per unit of volatility (NaN when unknown)."""
        return self.strength / self.vol if self.vol > 0 else math.nan

    @property
    def horizon_vol(self) -> float:
        """Volatility over the 20-day horizon."""
        return self.vol * math.sqrt(HORIZON_DAYS / 252)


_SIGNAL_COLUMNS = ("close", "sma50", "sma200", "vol60", "vol20", "rsi14", "drawdown_252", "return_20d")
_SIGNAL_INDEX = [NUMERIC_COLUMNS.index(c) for c in _SIGNAL_COLUMNS]


class Layout(NamedTuple):
    """Where the given symbols sit in a day's arrays: the symbols that have a row, in the order given,
    their rows, and each one's position among them."""

    rows: Mapping[str, int]  # the arrays' row map it was made for (kept, so its id stays the key's)
    names: tuple[str, ...]
    positions: np.ndarray
    position: dict[str, int]


_LAYOUTS: dict[tuple[int, tuple[str, ...]], Layout] = {}


def layout(rows: Mapping[str, int], symbols: tuple[str, ...]) -> Layout:
    """The ``Layout`` of ``symbols`` in ``rows``, made once per row map and symbols: every replayed day
    shares its panel's row map, and a 500-symbol universe would otherwise be looked up daily."""
    key = (id(rows), symbols)
    made = _LAYOUTS.get(key)
    if made is not None and made.rows is rows:
        return made
    present = [(s, i) for s in symbols if (i := rows.get(s)) is not None]
    names = tuple(s for s, _ in present)
    positions = np.fromiter((i for _, i in present), dtype=np.intp, count=len(present))
    positions.setflags(write=False)  # shared by every day that reuses the layout
    made = Layout(rows, names, positions, {name: k for k, name in enumerate(names)})
    if len(_LAYOUTS) >= 8:  # a live desk makes a new row map every cycle: keep only the latest few
        _LAYOUTS.clear()
    _LAYOUTS[key] = made
    return made


class Signals(Mapping[str, Signal]):
    """The day's ``Signal``s, by symbol, held as columns: a ``Signal`` is built when first looked up.

    A 500-symbol day ranks its candidates on the columns (``ranked``) and builds the few signals it
    reads, not 500 tuples. Iteration follows the order the symbols were given in.
    """

    def __init__(self, where: Layout, columns: tuple[np.ndarray, ...], averages: np.ndarray) -> None:
        self.names, self._position = where.names, where.position
        self._columns, self._averages = columns, averages  # averages: codes into ``_AVERAGES``
        self._built: dict[str, Signal] = {}
        self._values: list[list[float]] | None = None  # the columns as floats, made on the first lookup
        trending, strength, vol = columns[0], columns[1], columns[2]
        with np.errstate(invalid="ignore", divide="ignore"):
            self.known = np.isfinite(strength) & np.isfinite(vol) & (vol > 0)  # as ``Signal.known``
            self.score = np.where(vol > 0, strength / vol, np.nan)  # as ``Signal.score``
        self.trending = trending

    def __getitem__(self, symbol: str) -> Signal:
        built = self._built.get(symbol)
        if built is None:
            k = self._position[symbol]
            if self._values is None:
                self._values = [c.tolist() for c in self._columns]
            trending, strength, vol, rsi, close, drawdown, return_20d = (c[k] for c in self._values)
            built = self._built[symbol] = Signal(symbol, bool(trending), strength, _AVERAGES[self._averages[k]], vol,
                                                 rsi, close, drawdown, return_20d)
        return built

    def get(self, symbol: str, default: Signal | None = None) -> Signal | None:  # type: ignore[override]
        """``self[symbol]``, or ``default`` for a symbol without a row (no exception raised and caught)."""
        return self[symbol] if symbol in self._position else default

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._position

    def ranked(self, first: Mapping[str, object], left_out: Mapping[str, object]) -> Iterator[str]:
        """Trending, known symbols not in ``left_out``: those in ``first`` first, then by score
        (strongest first), then in the order given."""
        eligible = self.trending & self.known
        for symbol in left_out:
            if (k := self._position.get(symbol)) is not None:
                eligible[k] = False
        early = np.zeros(len(self.names), dtype=bool)
        for symbol in first:
            if (k := self._position.get(symbol)) is not None:
                early[k] = True
        candidates = np.flatnonzero(eligible)
        order = np.lexsort((candidates, -self.score[candidates], ~early[candidates]))
        return (self.names[k] for k in candidates[order].tolist())


def read_signals(arrays: IndicatorArrays, symbols: Iterable[str]) -> Signals:
    """The ``Signal`` of each of ``symbols`` that has a row in ``arrays``, in the order given.

    A symbol trends when close > SMA200 and SMA50 > SMA200, its strength close / SMA200 − 1;
    without an SMA200, close > SMA50 and close / SMA50 − 1; without either it does not trend and
    its strength is NaN. Its volatility is vol60, else vol20. Computed on the day's columns at
    once, so a 500-symbol universe is read in one pass.
    """
    where = layout(arrays.rows, tuple(symbols))
    if not where.names:
        return Signals(where, (np.zeros(0, dtype=bool), *(np.zeros(0) for _ in range(6))), np.zeros(0, dtype=int))
    # The day's columns first, then the symbols: one contiguous row per column (a replay day's table
    # is a view of its columns × symbols copy).
    table = arrays.values.T[_SIGNAL_INDEX][:, where.positions]
    close, sma50, sma200, vol60, vol20, rsi, drawdown, return_20d = table
    long_known, mid_known = np.isfinite(sma200), np.isfinite(sma50)
    with np.errstate(invalid="ignore", divide="ignore"):
        strength = np.where(long_known, close / sma200 - 1, np.where(mid_known, close / sma50 - 1, np.nan))
        trending = np.where(long_known, (close > sma200) & (sma50 > sma200), mid_known & (close > sma50))
    vol = np.where(np.isfinite(vol60), vol60, vol20)
    return Signals(where, (trending, strength, vol, rsi, close, drawdown, return_20d), long_known * 2 + mid_known)


# The long average a trend is measured against, by (SMA200 known) * 2 + (SMA50 known).
_AVERAGES = ("no moving average", "SMA50", "SMA200", "SMA200")


def exit_reason(holding: HoldingView, signal: Signal | None) -> str | None:
    """Why loss aversion cuts this holding now, or None to keep it."""
    if holding.unrealized_pnl_pct < MAX_UNREALISED_LOSS:
        return f"unrealised loss {holding.unrealized_pnl_pct:.1%} is worse than {MAX_UNREALISED_LOSS:.0%}"
    if signal is None or not signal.known:
        return None
    if not signal.trending:
        return f"lost its trend (close {signal.close:.2f}, {signal.strength:+.1%} vs {signal.long_average})"
    if signal.drawdown < MAX_DRAWDOWN:
        return f"drawdown {signal.drawdown:.1%} from the 252-day high is worse than {MAX_DRAWDOWN:.0%}"
    return None


def confidence(signal: Signal) -> float:
    """0.45–0.85 from trend strength, lowered when RSI is overbought, within [0.4, 0.9]."""
    if not math.isfinite(signal.strength):
        return 0.5
    value = 0.45 + 0.40 * min(max(signal.strength / FULL_STRENGTH, 0.0), 1.0)
    if signal.rsi > OVERBOUGHT:
        value -= 0.10 + 0.01 * (signal.rsi - OVERBOUGHT)
    return round(min(max(value, 0.4), 0.9), 3)


def make_idea(
    symbol: str, target: float, holding: HoldingView | None, signal: Signal | None, exit_why: str | None,
    context: PolicyContext,
) -> ProposalIdea | None:
    """The idea for one symbol: an exit, a BUY/SELL to ``target``, a HOLD for a held one, else None."""
    current = holding.weight if holding is not None else 0.0
    if exit_why is not None and current > 0:
        return _exit_idea(symbol, signal, exit_why)
    if holding is None and floor4(target) <= 0:
        return None
    if holding is not None and abs(target - current) < 1e-9:
        return _idea(symbol, Action.HOLD, current, signal, context)
    action = Action.BUY if target > current else Action.SELL
    return _idea(symbol, action, floor4(target), signal, context)


def _idea(symbol: str, action: Action, target: float, signal: Signal | None, context: PolicyContext) -> ProposalIdea:
    """A BUY, SELL or HOLD idea with its numbers."""
    if signal is None or not signal.known:
        return ProposalIdea(
            symbol=symbol, action=action, target_weight=target, confidence=0.5,
            thesis=f"{symbol}: trend or volatility unknown (short or missing history); weight {target:.1%}.",
            expected_upside_pct=0.0, worst_case_loss_pct=0.1, time_horizon_days=HORIZON_DAYS, stop_loss_pct=None,
            risk_factors=["indicators unavailable"], catalysts=[], exit_triggers=["unrealised loss worse than -8%"],
        )
    sigma = signal.horizon_vol
    regime, rsi, strength = context.indicators.regime.value, fmt_num(signal.rsi, 0), f"{signal.strength:+.1%}"
    thesis = (
        f"{symbol} trends {'up' if signal.trending else 'sideways'}: close {signal.close:.2f} is "
        f"{strength} vs {signal.long_average}, vol60 {signal.vol:.1%}, RSI {rsi}; "
        f"{_VERBS[action]} {target:.1%} (inverse-volatility weight, regime {regime})."
    )
    risks = [f"volatility {signal.vol:.0%} annualised", f"regime {regime}"]
    if signal.rsi > OVERBOUGHT:
        risks.append(f"RSI {rsi} overbought")
    return ProposalIdea(
        symbol=symbol, action=action, target_weight=target, confidence=confidence(signal), thesis=thesis,
        expected_upside_pct=round(min(max(0.5 * _finite(signal.return_20d), sigma / 4), 1.5 * sigma), 4),
        worst_case_loss_pct=round(2.33 * sigma, 4), time_horizon_days=HORIZON_DAYS,
        stop_loss_pct=round(max(0.05, 2 * sigma), 4), risk_factors=risks,
        catalysts=[f"price {strength} vs {signal.long_average}", f"20-day return {fmt_pct(signal.return_20d, '+')}"],
        exit_triggers=[f"close below {signal.long_average}", *_EXIT_TRIGGERS],
    )


def _exit_idea(symbol: str, signal: Signal | None, why: str) -> ProposalIdea:
    """A full exit: loss aversion cuts at once."""
    sigma = signal.horizon_vol if signal is not None and signal.known else 0.05
    return ProposalIdea(
        symbol=symbol, action=Action.SELL, target_weight=0.0, confidence=EXIT_CONFIDENCE,
        thesis=f"Cut {symbol} to 0: {why} (loss aversion, λ={LOSS_AVERSION}: cut at once, re-enter on a new trend).",
        expected_upside_pct=0.0, worst_case_loss_pct=round(2.33 * sigma, 4), time_horizon_days=HORIZON_DAYS,
        stop_loss_pct=None, risk_factors=[why], catalysts=[], exit_triggers=["exit now"],
    )


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def fmt_pct(value: float | None, sign: str = "") -> str:
    """``value`` as a percentage with one decimal ("n/a" when unknown); ``sign="+"`` shows the sign."""
    return f"{value:{sign}.1%}" if value is not None and math.isfinite(value) else "n/a"


def fmt_num(value: float | None, decimals: int = 2) -> str:
    """``value`` with ``decimals`` decimals ("n/a" when unknown)."""
    return f"{value:.{decimals}f}" if value is not None and math.isfinite(value) else "n/a"
