"""The training data set: no look-ahead, labels the desk accepts, splits apart by the horizon, one output per seed."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agent.llm.gate import screen
from agent.market.base import PriceHistory
from agent.market.synthetic import SyntheticMarketData
from agent.schema import PolicyDecision
from agent.universe import Universe, load_universe
from bot.backtest.dataset import DatasetError, DatasetRequest, Example, Prepared, examples, prepare
from bot.backtest.dataset_check import size
from bot.backtest.dataset_files import write_dataset
from bot.backtest.dataset_labels import Utility
from broker.models import Instrument
from broker.simulated import SimConfig
from risk import classify_batch
from risk.limits import RiskLimits
from risk.models import Level

SYMBOLS = ("SPY", "QQQ", "TLT", "GLD", "CAC.PA", "AI.PA", "BNP.PA", "IWM", "USO", "EEM")
START, END = date(2022, 3, 1), date(2022, 5, 31)


class FixedHistory:
    """A provider serving one prepared history (the rows up to ``end``)."""

    def __init__(self, history: PriceHistory) -> None:
        self.full = history

    def history(self, instruments: Sequence[Instrument], end: date, lookback_days: int) -> PriceHistory:
        keep = [i.symbol for i in instruments]
        rows = self.full.close.index <= pd.Timestamp(end)
        return replace(self.full, close=self.full.close.loc[rows, keep], volume=self.full.volume.loc[rows, keep],
                       open=None if self.full.open is None else self.full.open.loc[rows, keep], low=None)


def _universe() -> Universe:
    universe = load_universe("seed")
    return replace(universe, instruments=tuple(i for i in universe.instruments if i.symbol in SYMBOLS))


def _history(universe: Universe) -> PriceHistory:
    return SyntheticMarketData(seed=7, base_currency=universe.base_currency).history(
        universe.instruments, END, 420)


def _request(history: PriceHistory, universe: Universe, **kw: object) -> DatasetRequest:
    return DatasetRequest(start=START, end=END, provider=FixedHistory(history), universe=universe,  # type: ignore[arg-type]
                          limits=RiskLimits(), sim=SimConfig(base_currency=universe.base_currency), **kw)  # type: ignore[arg-type]


def _all(prepared: Prepared) -> list[Example]:
    return list(examples(prepared))


@pytest.fixture(scope="module")
def made() -> tuple[Prepared, list[Example]]:
    universe = _universe()
    prepared = prepare(_request(_history(universe), universe))
    return prepared, _all(prepared)


def test_changing_prices_after_a_cut_changes_no_earlier_prompt_nor_any_label_that_ends_before_it() -> None:
    universe = _universe()
    history = _history(universe)
    index = history.close.index
    cut = int(index.searchsorted(pd.Timestamp(date(2022, 4, 20))))
    later = np.where(index > index[cut], 1.0, 0.0)[:, None]
    noise = np.random.default_rng(1).uniform(0.5, 1.5, history.close.shape)
    altered = replace(history, close=history.close * (1 + later * (noise - 1)),
                      open=None if history.open is None else history.open * (1 + later * (noise - 1)))
    before, after = (_all(prepare(_request(h, universe, states=("empty", "drawdown", "cash_floor", "mixed"))))
                     for h in (history, altered))
    rows = {d.date(): r for r, d in enumerate(index)}
    pairs = list(zip(before, after, strict=True))
    early = [(a, b) for a, b in pairs if rows[a.day] <= cut]
    assert early and len(early) < len(pairs)
    assert all(a.day == b.day and a.state == b.state and a.messages == b.messages for a, b in early)
    settled = [(a, b) for a, b in early if rows[a.day] + 5 <= cut]
    assert settled and all(a.label.accepted.decision == b.label.accepted.decision for a, b in settled)
    assert any(a.messages != b.messages for a, b in pairs if rows[a.day] > cut)  # the change is visible after the cut


def test_every_label_is_a_valid_decision_the_gate_keeps_and_the_engine_does_not_refuse(
        made: tuple[Prepared, list[Example]]) -> None:
    prepared, made_examples = made
    limits = prepared.request.limits
    for example in made_examples:
        book = example.book
        content = example.label.accepted.decision.model_dump_json()
        decision = PolicyDecision.model_validate_json(content)
        gate = screen(json.loads(content), frozenset(book.instruments), book.current, limits.min_cash_weight,
                      frozenset(book.shown))
        assert gate.decision is not None and not gate.dropped, (example.day, example.state, gate.errors)
        proposals = [s.proposal for s in size(book, decision).proposals]
        assert all(v.level is not Level.UNSAFE for v in classify_batch(proposals, book.ctx, limits))
        approved = classify_batch(proposals, book.ctx, limits, borderline_approved=True)
        assert all(v.level is not Level.UNSAFE for v in approved)
        invested = sum(example.label.accepted.weights.values())
        assert invested <= 1 - limits.min_cash_weight + 1e-6 or not proposals


def test_the_label_is_at_least_as_good_as_keeping_or_going_to_cash(made: tuple[Prepared, list[Example]]) -> None:
    utility = Utility()
    for example in made[1]:
        book = example.book
        keep = utility(book.forward.portfolio(book.current))
        assert example.label.utility >= max(keep, 0.0) - 1e-12


def test_the_states_are_what_their_names_say(made: tuple[Prepared, list[Example]]) -> None:
    prepared, made_examples = made
    limits = prepared.request.limits
    by_state: dict[str, list[Example]] = {}
    for example in made_examples:
        by_state.setdefault(example.state, []).append(example)
    assert len(by_state) >= 8
    assert all(not e.book.current for e in by_state["empty"])
    for e in by_state["concentrated"]:
        classes: dict[str, float] = {}
        for symbol, weight in e.book.current.items():
            key = str(e.book.instruments[symbol].asset_class)
            classes[key] = classes.get(key, 0.0) + weight
        assert max(classes.values()) > limits.max_asset_class_weight
    assert all(e.book.ctx.drawdown > limits.borderline_fraction * limits.max_drawdown for e in by_state["drawdown"])
    for e in by_state["cash_floor"]:  # at the floor, give or take the whole shares the positions were floored to
        one_share_each = sum(float(p.market_value_base / p.quantity) for p in e.book.positions)
        cash = float(e.book.account.cash)
        assert limits.min_cash_weight * 100_000 - 0.01 <= cash <= limits.min_cash_weight * 100_000 + one_share_each
    held = {"winning": 1, "losing": -1}
    for name, sign in held.items():
        assert all("unrealised" in e.messages[1]["content"] for e in by_state[name])
        assert all(sign * float(p.market_value_base - p.cost_base) > 0
                   for e in by_state[name] for p in e.book.positions)
    assert all(e.regime == "defensive" for e in by_state.get("defensive", []))


def test_splits_are_in_time_order_with_a_horizon_gap_and_no_overlap(made: tuple[Prepared, list[Example]]) -> None:
    prepared = made[0]
    train, validation, test = (prepared.splits[s] for s in ("train", "validation", "test"))
    horizon = prepared.request.horizon
    assert train and validation and test
    assert train[-1] + horizon < validation[0] and validation[-1] + horizon < test[0]
    assert not set(train) & set(validation) and not set(validation) & set(test)


def test_two_runs_write_the_same_bytes_and_another_seed_other_states(tmp_path: Path) -> None:
    universe = _universe()
    history = _history(universe)
    data = {"source": "test", "synthetic": True, "content_hash": None}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        request = replace(_request(history, universe), end=date(2022, 4, 29), seed=seed)
        write_dataset(prepare(request), tmp_path / name, data)
    files = ("train.jsonl", "validation.jsonl", "test.jsonl", "index.csv", "data_card.json", "data_card.md")
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    assert (tmp_path / "a" / "train.jsonl").read_bytes() != (tmp_path / "c" / "train.jsonl").read_bytes()
    lines = (tmp_path / "a" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert list(first) == ["messages"] and [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    with (tmp_path / "a" / "index.csv").open(encoding="utf-8") as handle:
        index = list(csv.DictReader(handle))
    card = json.loads((tmp_path / "a" / "data_card.json").read_text(encoding="utf-8"))
    assert card["rows"] == len(index) == sum(s["rows"] for s in card["splits"].values())
    assert card["splits"]["train"]["rows"] == len(lines)
    assert card["utility"]["loss_aversion"] == 2.25 and card["utility"]["cvar_weight"] == 1.0


def test_the_utility_weighs_losses_more_and_charges_the_tail() -> None:
    utility = Utility()
    gain = np.array([0.01, 0.01, 0.0, 0.0, 0.0])
    loss = np.array([-0.01, -0.01, 0.0, 0.0, 0.0])
    assert utility(gain) == pytest.approx(1.01 * 1.01 - 1)  # the worst day is flat: no tail penalty
    assert utility(loss) == pytest.approx(2.25 * (0.99 * 0.99 - 1) - 0.01)
    assert Utility(cvar_weight=0.0)(loss) == pytest.approx(2.25 * (0.99 * 0.99 - 1))


@pytest.mark.parametrize(("change", "message"), [
    ({"states": ("empty", "sideways")}, "unknown state(s) sideways"),
    ({"fractions": (0.7, 0.0, 0.3)}, "split fractions"),
    ({"end": date(2022, 3, 14)}, "too few for three splits"),
])
def test_requests_that_cannot_be_made_are_refused_in_one_line(change: dict[str, object], message: str) -> None:
    universe = _universe()
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        prepare(replace(_request(_history(universe), universe), **change))  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)


def test_a_days_examples_do_not_depend_on_the_period_asked(made: tuple[Prepared, list[Example]]) -> None:
    universe = _universe()
    later = _all(prepare(replace(_request(_history(universe), universe), start=date(2022, 4, 1))))
    earlier = {(e.day, e.state): e for e in made[1]}
    common = [(earlier[(e.day, e.state)], e) for e in later if (e.day, e.state) in earlier]
    assert len(common) > 50
    assert all(a.messages == b.messages and a.label.accepted.decision == b.label.accepted.decision for a, b in common)
