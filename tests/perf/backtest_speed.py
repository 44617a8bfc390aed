"""Benchmark: paperdesk's backtester vs backtrader on the same daily equal-weight rebalancing.

Run as a plain script (not part of the test suite):
``python tests/perf/backtest_speed.py [30] [500] [--years N] [--objects] [--profile]`` (needs
``pip install 'paperdesk[bench]'`` for backtrader). Both engines replay the same base-currency
closes over 10 years and rebalance every instrument to an equal weight every day, with orders
filled at the next bar, 5 bps slippage and 2 bps commission. backtrader fills at the next open,
which is the close (its bars carry closes only); paperdesk fills at the next day's open when the
CSVs have an ``open`` column (the real ones do; the synthetic market has no opens, so there it
fills at the next close). The final values are not expected to match: the fill prices differ on
real data, and paperdesk does not execute its BORDERLINE proposals (no human approves them).
30 instruments: the seed universe on the real CSVs in /work/shared/data/universe when present
(2015–2024), else on the synthetic market; 500 instruments: ``synthetic_universe(500)`` on the
synthetic market (2020–2029).

paperdesk runs its full pipeline in the loop: the policy, sizing, every risk rule on every
proposal and the simulated venue's fills. ``run_backtest`` replays the baselines on arrays
(``bot.backtest.fast``): the account in exact integers, each day in the compiled kernel
(``bot.backtest.kernel``: every rule, floats guarded by the risk batch's tolerances), any day it
cannot settle exactly in Python with Decimal; the same results as the object replay, which the
tests check and ``--objects`` re-checks here, timing it too. Its activity limits (trades per
day/week, holding period, cooldown) are raised so that both engines place the same rebalancing
orders; every rule still runs on every proposal. Prints paperdesk's time end to end
(``run_backtest``: loading, indicator panels, replay, benchmarks, metrics) for the first run in
the process (numba loads its cached kernel then; run the script twice after an install, the first
run compiles) and for a second run, the replay alone, backtrader's ``cerebro.run()``, and the
ratios; ``--profile`` adds the top of a profile of the replay.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import backtrader as bt  # noqa: E402
import pandas as pd  # noqa: E402

from agent.indicator_panels import indicator_panels  # noqa: E402
from agent.market import make_market_data  # noqa: E402
from agent.market.base import MarketData  # noqa: E402
from agent.policies.baselines import EqualWeightPolicy  # noqa: E402
from agent.universe import Universe, load_universe, synthetic_universe  # noqa: E402
from bot.backtest.engine import Replay, replay  # noqa: E402
from bot.backtest.fast import replay_arrays  # noqa: E402
from bot.backtest.run import ALL_ROWS, BacktestRequest, period_rows, restrict_universe, run_backtest  # noqa: E402
from bot.evaluation.benchmarks import base_prices  # noqa: E402
from broker.simulated import SimConfig  # noqa: E402
from risk.limits import RiskLimits  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "universe"
TARGETS = {30: 20.0, 500: 100.0}
LIMITS = RiskLimits(max_trades_per_day=1_000_000, max_trades_per_week=1_000_000, min_holding_days=0,
                    reentry_cooldown_days=0)


def setup(n: int) -> tuple[Universe, MarketData, date, date, str]:
    """Universe, data, period and a label for ``n`` instruments."""
    if n == 30 and REAL.is_dir():
        universe = load_universe("seed")
        return universe, make_market_data(f"csv:{REAL}", base_currency="EUR"), date(2015, 1, 2), date(2024, 12, 31), \
            "seed universe, real CSVs 2015-2024"
    universe = load_universe("seed") if n == 30 else synthetic_universe(n)
    provider = make_market_data("synthetic", base_currency=universe.base_currency)
    return universe, provider, date(2020, 1, 1), date(2029, 12, 31), f"{n} synthetic instruments 2020-2029"


def covered(universe: Universe, provider: MarketData, start: date, end: date) -> tuple[Universe, pd.DataFrame]:
    """The instruments priced on the first day, and their base-currency closes over the period."""
    history = provider.history(universe.instruments, end, ALL_ROWS)
    prices = base_prices(history)
    prices = prices.loc[(prices.index >= pd.Timestamp(start)) & (prices.index <= pd.Timestamp(end))]
    keep = [s for s in prices.columns if pd.notna(prices[s].iloc[0])]
    kept = replace(universe, instruments=tuple(i for i in universe.instruments if i.symbol in keep))
    return kept, prices[keep]


def run_paperdesk(universe: Universe, provider: MarketData, start: date, end: date, cash: int,
                  objects: bool = False, profile_top: int = 0) -> tuple[float, float, float]:
    """Seconds for a paperdesk backtest end to end (first and second run in the process), and its replay alone."""
    sim = SimConfig(initial_cash=Decimal(cash), base_currency=universe.base_currency)
    request = BacktestRequest(start=start, end=end, policy=EqualWeightPolicy(), provider=provider, universe=universe,
                              limits=LIMITS, sim=sim)
    t0 = time.perf_counter()
    folds = asyncio.run(run_backtest(request))
    elapsed = time.perf_counter() - t0
    t0 = time.perf_counter()
    again_folds = asyncio.run(run_backtest(request))
    warm = time.perf_counter() - t0
    result = folds[0].result
    counts = result.counts
    spec = replay_spec(request)
    t1 = time.perf_counter()
    again = replay_arrays(spec)
    replay_only = time.perf_counter() - t1
    assert again is not None and again.equity == result.equity == again_folds[0].result.equity
    print(f"  paperdesk: {elapsed:8.2f} s end to end (first run), {warm:.2f} s (second), {replay_only:.2f} s replay "  # noqa: T201
          f" days={len(result.dates)} filled={counts['filled']} safe={counts['proposals_safe']} "
          f"borderline={counts['proposals_borderline']} unsafe={counts['proposals_unsafe']} "
          f"final={float(folds[0].equity.iloc[-1]):,.0f}")
    if objects:
        t2 = time.perf_counter()
        reference = asyncio.run(replay(spec))
        slow = time.perf_counter() - t2
        same = (reference.equity == result.equity and reference.fills == result.fills
                and reference.decisions == result.decisions and dict(reference.counts) == dict(counts))
        print(f"  paperdesk object replay: {slow:8.2f} s; identical results: {same}")  # noqa: T201
    if profile_top:
        profile = cProfile.Profile()
        profile.runcall(replay_arrays, spec)
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(profile_top)
        print("\n".join(text.getvalue().splitlines()[:profile_top + 12]))  # noqa: T201
    return elapsed, warm, replay_only


def replay_spec(request: BacktestRequest) -> Replay:
    """The replay ``run_backtest`` runs for a one-fold request."""
    universe = restrict_universe(request)
    history = request.provider.history(universe.instruments, request.end, ALL_ROWS)
    rows = period_rows(history, request.start, request.end)
    return Replay(history=history, panels=indicator_panels(history), rows=range(rows[0], rows[-1] + 1),
                  universe=universe, policy=request.policy, limits=request.limits, sim=request.sim)


class EqualWeight(bt.Strategy):  # type: ignore[misc]
    """Rebalance every data feed to the same weight every bar."""

    def next(self) -> None:
        weight = 0.9 / len(self.datas)
        for data in self.datas:
            self.order_target_percent(data=data, target=weight)


def run_backtrader(prices: pd.DataFrame, cash: int) -> float:
    """Seconds for the same rebalancing in backtrader."""
    cerebro = bt.Cerebro(stdstats=False)
    for symbol in prices.columns:
        close = prices[symbol].ffill()
        frame = pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "volume": 1e9,
                              "openinterest": 0.0}, index=prices.index)
        cerebro.adddata(bt.feeds.PandasData(dataname=frame), name=str(symbol))
    cerebro.addstrategy(EqualWeight)
    cerebro.broker.setcash(cash)
    cerebro.broker.setcommission(commission=0.0002)
    cerebro.broker.set_slippage_perc(0.0005)
    t0 = time.perf_counter()
    cerebro.run()
    elapsed = time.perf_counter() - t0
    print(f"  backtrader: {elapsed:8.2f} s  final={cerebro.broker.getvalue():,.0f}")  # noqa: T201
    return elapsed


def main(argv: list[str]) -> None:
    """Measure each size (``--years N`` shortens the period, ``--profile`` prints where the time goes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[30, 500])
    parser.add_argument("--years", type=int, default=10, help="replay only the first N years of the period")
    parser.add_argument("--objects", action="store_true", help="also time the object replay and compare results")
    parser.add_argument("--profile", action="store_true", help="profile the array replay")
    args = parser.parse_args(argv)
    for n in args.sizes:
        universe, provider, start, end, label = setup(n)
        end = min(end, date(start.year + args.years, start.month, start.day) - timedelta(days=1))
        universe, prices = covered(universe, provider, start, end)
        cash = 1_000_000 if n <= 30 else 10_000_000
        print(f"{n} instruments ({label}; replaying {start} → {end}; {len(universe.instruments)} priced from "  # noqa: T201
              f"day one, {len(prices)} days)")
        first, second, replay_only = run_paperdesk(universe, provider, start, end, cash, args.objects,
                                                   profile_top=25 if args.profile else 0)
        theirs = run_backtrader(prices, cash)
        print(f"  ratio backtrader/paperdesk = {theirs / first:.2f}x end to end (first run), "  # noqa: T201
              f"{theirs / second:.2f}x (second), {theirs / replay_only:.2f}x replay "
              f"(target: paperdesk {TARGETS.get(n, 0):.0f}x faster)\n")


if __name__ == "__main__":
    main(sys.argv[1:])
