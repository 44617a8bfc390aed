"""The compiled kernel's arithmetic equals the Decimal arithmetic it stands for, or says it cannot tell.

Fill notionals and cost parts against ``fill_terms`` and ``cost_part_of`` (exact half cents
included), 128-bit sums against Python integers, fixed-point quotes against the feed's Decimals,
CVaR and correlation against ``historical_cvar`` and ``np.corrcoef``, and the integer venue (its
Python path and the kernel's) against ``SimulatedBroker`` order by order, average prices included.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import math
import pkgutil
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from agent.market.synthetic import SyntheticMarketData
from agent.universe import load_universe
from bot.backtest import kernel
from bot.backtest.fast_book import OrderBatch, Venue
from bot.backtest.fast_quotes import Quotes, Unsupported, fixed
from bot.backtest.feed import ArchivingLedgerStore, ReplayFeed, fx_decimal, price_decimal
from bot.backtest.kernel_cvar import cvar, moved_cvar
from bot.backtest.kernel_exact import add_product, joined
from bot.backtest.kernel_jit import SOURCES, cache_directory
from bot.backtest.kernel_rules import UNSURE, correlation
from broker.errors import BrokerError
from broker.ledger import cost_part_of
from broker.models import OrderRequest, Side
from broker.simulated import SimConfig, SimulatedBroker, fill_terms
from risk.measures import historical_cvar


@settings(max_examples=400, deadline=None)
@given(units=st.integers(1, 10**9), price=st.integers(1, 10**12), bps=st.integers(0, 200), buy=st.booleans(),
       rate=st.integers(1, 3 * 10**8), half=st.booleans())
def test_a_fill_notional_is_fill_terms_to_the_cent(units: int, price: int, bps: int, buy: bool, rate: int,
                                                   half: bool) -> None:
    factor = 10_000 + bps if buy else 10_000 - bps
    if half:  # make the notional land exactly on a half cent
        units, rate, factor, price = 10_000, 10**8, 10_000, price // 10_000 * 10_000 + 5_000
        bps = 0
    assume(float(units) * price * factor * rate < 5e27 * 1e4)
    exact = float(units) * price * factor * rate * 1e-20
    up, even = kernel._half_up(exact, kernel.FILL_ERROR, np.array([units, price, factor, rate]), kernel.HALF_CENT_UNIT,
                               1e20)
    quantity, quote, fx = Decimal(units).scaleb(-4), Decimal(price).scaleb(-6), Decimal(rate).scaleb(-8)
    fill, notional, _ = fill_terms(SimConfig(slippage_bps=Decimal(bps)), quantity, quote, fx, buy=buy)
    if up == kernel.STOP:
        return  # left to Decimal: the replay then uses fill_terms itself
    assert Decimal(up).scaleb(-2) == notional
    assert Decimal(even).scaleb(-2) == round(quantity * fill * fx, 2)


@settings(max_examples=400, deadline=None)
@given(cost=st.integers(1, 10**11), held=st.integers(2, 10**10), data=st.data())
def test_a_cost_part_is_cost_part_of_to_the_cent(cost: int, held: int, data: st.DataObject) -> None:
    units = data.draw(st.integers(1, held - 1))
    part, _ = kernel._half_up(float(cost) * units / held, kernel.PART_ERROR, np.array([2 * cost, units]),
                              np.uint64(held), 2.0 * held)
    expected = cost_part_of(Decimal(cost).scaleb(-2), Decimal(units).scaleb(-4), Decimal(held).scaleb(-4))
    assert part == kernel.STOP or Decimal(part).scaleb(-2) == expected


def test_exact_half_cents_are_rounded_up_and_to_even() -> None:
    for cents in (12345, 12346):  # 123.455 and 123.465 EUR: half up 123.46 / 123.47, half even 123.46 / 123.46
        price = cents * 10_000 + 5_000
        up, even = kernel._half_up(price * 1e-4, kernel.FILL_ERROR, np.array([10_000, price, 10_000, 10**8]),
                                   kernel.HALF_CENT_UNIT, 1e20)
        assert (up, even) == (cents + 1, cents + cents % 2)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 2**40), st.integers(1, 2**45), st.integers(1, 2**36)), max_size=20))
def test_sums_of_products_are_exact_in_128_bits(terms: list[tuple[int, int, int]]) -> None:
    assume(all(u * p * r < 10**28 for u, p, r in terms) and sum(u * p * r for u, p, r in terms) < 2**127)
    total = np.zeros(2, dtype=np.uint64)
    for units, price, rate in terms:
        add_product(total, units, price, rate)
    assert joined(*total.tolist()) == sum(u * p * r for u, p, r in terms)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.floats(min_value=0.0, max_value=4e7), st.just(float("nan")), st.just(-1.0),
                 st.integers(1, 10**9).map(lambda n: n / 1_000_000 + 5e-7),
                 st.integers(1, 10**12).map(lambda n: n / 100_000_000 + 5e-9)))
def test_fixed_point_quotes_are_the_feed_decimals(value: float) -> None:
    for places, decimal in ((6, price_decimal(value)), (8, fx_decimal(value))):
        if decimal is not None and decimal == 0:  # a positive quote the desk would read as 0: not replayed
            with pytest.raises(Unsupported):
                fixed(np.array([value]), places)
            continue
        assert (decimal or 0) == Decimal(int(fixed(np.array([value]), places)[0])).scaleb(-places)


def test_quotes_beyond_exact_integers_are_left_to_the_object_replay() -> None:
    assert fixed(np.array([4e9]), 6)[0] == 4 * 10**15
    with pytest.raises(Unsupported):
        fixed(np.array([5e9]), 6)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 300), st.floats(-2, 2))
def test_cvar_is_historical_cvar(seed: int, rows: int, delta: float) -> None:
    rng = np.random.default_rng(seed)
    p, column = rng.normal(0, 0.01, rows), rng.normal(0, 0.02, rows)
    tail = max(1, math.ceil(rows * 0.05 - 1e-9))
    assert cvar(p, tail) == pytest.approx(historical_cvar(p), abs=1e-15)
    assert moved_cvar(p, column, delta, tail) == pytest.approx(historical_cvar(p + delta * column), abs=1e-15)


def test_correlation_is_corrcoef() -> None:
    rng = np.random.default_rng(4)
    tail = rng.normal(0, 0.01, (5, 60))
    tail[3] = 0.0  # no returns: no correlation
    tail[4] = 0.002  # constant: a variance of rounding errors, which floats need not agree on
    for a, b in ((0, 1), (1, 2), (2, 0)):
        assert correlation(tail, a, b) == pytest.approx(np.corrcoef(tail[a], tail[b])[0, 1], abs=1e-13)
    assert math.isnan(correlation(tail, 0, 3))
    assert math.isnan(correlation(tail[:, :1], 0, 1))
    assert correlation(tail, 0, 4) == UNSURE


def test_the_cache_is_named_by_every_source_compiled_into_the_kernel() -> None:
    """A source the kernel compiles in, missing from SOURCES, would let numba reuse stale machine code."""
    here = Path(kernel.__file__).parent
    compiled = {f"bot.backtest.{m.name}" for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("kernel")}
    assert compiled <= set(SOURCES)
    for module in compiled:
        for node in ast.walk(ast.parse(_source(module))):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue
            if node.module.split(".")[0] in {"bot", "risk", "agent", "broker", "storage"}:
                assert node.module in SOURCES, f"{module} compiles in {node.module}"
            if node.module == "risk.batch":  # constants only, defined there and not imported from elsewhere
                defined = {t.id for n in ast.parse(_source("risk.batch")).body if isinstance(n, ast.Assign)
                           for t in ast.walk(n) if isinstance(t, ast.Name)}
                assert {alias.name for alias in node.names} <= defined
    assert cache_directory().name.startswith("kernel-") and cache_directory().parent.name == "__pycache__"


def _source(module: str) -> str:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).read_text(encoding="utf-8")


@pytest.mark.parametrize("compiled", [False, True], ids=["python", "kernel"])
def test_the_integer_venue_is_the_simulated_broker(compiled: bool) -> None:
    universe = load_universe("seed")
    history = SyntheticMarketData(seed=21, base_currency="EUR").history(universe.instruments, date(2022, 6, 30), 60)
    config = SimConfig(initial_cash=Decimal(300_000), slippage_bps=Decimal(7), commission_bps=Decimal(3))
    instruments = [universe.by_symbol[str(s)] for s in history.close.columns]
    quotes, feed = Quotes(history), ReplayFeed(history)
    venue = Venue(instruments, quotes, config)
    store = ArchivingLedgerStore()
    broker = SimulatedBroker(universe.by_symbol, feed, store, config, feed.now)
    rng = np.random.default_rng(2)
    for row in range(1, 60):
        symbols = rng.choice(len(instruments), size=6, replace=False)
        buys = rng.random(6) < 0.6
        units = np.array([_size(venue, int(s), bool(b), rng) for s, b in zip(symbols, buys, strict=True)])
        batch = OrderBatch(row=row - 1, number=np.arange(6), symbol=symbols.astype(np.int64), buy=buys, units=units,
                           quantity=[Decimal(int(q)).scaleb(-4) for q in units])
        _execute(venue, batch, row, compiled)
        feed.move_to(row)
        feed.at_open()
        for s, buy, quantity in zip(batch.symbol.tolist(), batch.buy.tolist(), batch.quantity, strict=True):
            request = OrderRequest(client_order_id=f"b{row}-{s}", symbol=instruments[s].symbol,
                                   side=Side.BUY if buy else Side.SELL, quantity=quantity)
            try:
                asyncio.run(broker.submit(request))
            except BrokerError:  # refusals are compared through the ledger below
                continue
        ledger = asyncio.run(broker.ledger())
        assert Decimal(venue.cash).scaleb(-2) == ledger.cash
        held = {instruments[s].symbol: s for s in np.flatnonzero(venue.units > 0).tolist()}
        assert set(held) == set(ledger.positions)
        for symbol, s in held.items():
            position = ledger.positions[symbol]
            assert venue.decimal(s, int(venue.units[s])) == position.quantity
            assert Decimal(int(venue.cost[s])).scaleb(-2) == position.cost_base
            assert venue.avg_price(s) == position.avg_price
    outcomes = Counter((str(o.side), str(o.status)) for o in asyncio.run(broker.ledger()).orders.values())
    assert outcomes[("sell", "filled")] > 10 and outcomes[("buy", "filled")] > 10  # partial and full sells
    assert outcomes[("sell", "rejected")] > 0  # more than held


def _size(venue: Venue, s: int, buy: bool, rng: np.random.Generator) -> int:
    """A buy of up to ~3,000 EUR, or a sell of part, all or more than the holding."""
    if not buy:
        held = int(venue.units[s])
        return max(1, held // int(rng.integers(1, 4))) if held and rng.random() < 0.9 else held + 10_000
    units = int(rng.integers(1, 3_000_000))
    return units if venue.fractional[s] else max(10_000, units // 10_000 * 10_000)


def _execute(venue: Venue, batch: OrderBatch, row: int, compiled: bool) -> None:
    if not compiled:
        venue.execute(batch, row, Counter())
        return
    n, market = len(batch.symbol), _market(venue)
    pending = (np.array([n]), batch.symbol.copy(), batch.buy.copy(), batch.units.copy(), batch.number.copy())
    size = 16
    days = row + 1
    out = (np.zeros((days, 2), dtype=np.uint64), np.zeros(days, dtype=np.int64), np.zeros(days, dtype=np.int64),
           np.zeros(6, dtype=np.int64), np.zeros(1, dtype=np.int64),
           *(np.zeros(size, dtype=np.int32) for _ in range(3)), np.zeros(size, dtype=bool),
           np.zeros(size, dtype=np.int64), np.zeros(size, dtype=bool), np.zeros(size, dtype=np.int64))
    state = (venue.units, venue.cost, venue.opened, np.full(len(venue.units), -1), np.zeros(1, dtype=np.int64),
             venue.money)
    before = [a.copy() for a in (venue.units, venue.cost, venue.opened, venue.money)]
    static = (venue.tradable, venue.fractional)
    sim = np.array([venue.slippage, venue.commission, venue.min_commission])
    if kernel.execute(row, market, static, sim, state, pending, out) == kernel.STOP:
        for array, saved in zip((venue.units, venue.cost, venue.opened, venue.money), before, strict=True):
            array[:] = saved  # as run_days rolls the day back: the Python venue does it with Decimal
        venue.execute(batch, row, Counter())
        return
    filled = np.flatnonzero(out[10][:int(out[4][0])])
    rows = out[5][filled].astype(np.int64)
    venue.fills.append((rows, out[7][filled].astype(np.int64), out[8][filled], out[9][filled]))


def _market(venue: Venue) -> tuple[np.ndarray, ...]:
    q = venue.quotes
    weeks = np.zeros(len(q.close_units), dtype=np.int64)
    return (q.close_units, q.open_units, q.fx_units, q.symbol_fx, *(np.zeros(1) for _ in range(8)), weeks)
