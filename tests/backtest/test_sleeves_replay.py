"""Sleeves in the one replay: the per-sleeve table and files, bounded allocations, folds afresh, and a
desk without sleeves deciding exactly as before sleeves existed."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.universe import load_universe
from bot.backtest.run import BacktestRequest, replay_policy, run_backtest
from bot.cli.app import app
from bot.market_wiring import make_provider
from bot.settings import load_settings
from broker.simulated import SimConfig

CONFIG = """
[sleeves.us_equity]
asset_class = ["us_equity", "small_cap", "intl_equity"]
base_weight = 0.40
min_weight = 0.20
max_weight = 0.60

[sleeves.commodities]
asset_class = ["commodity", "bond"]
base_weight = 0.20
min_weight = 0.10
max_weight = 0.35
defensive = true
risk = { max_position_weight = 0.10 }

[sleeves.paris]
asset_class = "eu_equity"
policy = "equal_weight"
base_weight = 0.30
min_weight = 0.15
max_weight = 0.45

[allocation]
every_days = 7
max_step = 0.04
"""
BOUNDS = {"us_equity": (0.20, 0.60), "commodities": (0.10, 0.35), "paris": (0.15, 0.45)}
# Recorded on cf6c68d, before sleeves existed: the synthetic seed market, 2023-01-02 → 2024-06-28.
BEFORE_SLEEVES = {"rules": "rules 854 108130.011784111544524274 d7813a549ea0eb7a",
                  "equal_weight": "equal_weight 52 119050.803457628102307665 7c1bc2ac94fd0901"}


@pytest.fixture
def sleeved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "paperdesk.toml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("PAPERDESK_CONFIG", str(config))
    return tmp_path


def backtest(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["backtest", "--json", *args])
    assert result.exit_code == 0, result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_a_sleeved_backtest_reports_each_sleeve_and_bounds_every_allocation(sleeved: Path) -> None:
    document = backtest("--start", "2023-01-02", "--end", "2023-09-29", "--out", str(sleeved / "out"))
    assert document["policy"] == "sleeves"
    fold = document["folds"][0]  # type: ignore[index]
    figures = {f["sleeve"]: f for f in fold["sleeves"]["figures"]}
    assert list(figures) == ["us_equity", "commodities", "paris"]
    assert sum(f["contribution"] for f in figures.values()) == pytest.approx(
        fold["metrics"]["total_return"], abs=0.02)  # daily contributions add up to about the desk's return
    allocations = fold["sleeves"]["allocations"]
    assert len(allocations) >= 35  # weekly over nine months
    before = {"us_equity": 0.40, "commodities": 0.20, "paris": 0.30}
    for allocation in allocations:
        budgets = allocation["budgets"]
        assert allocation["cash"] >= 0.10 - 1e-9
        for name, (low, high) in BOUNDS.items():
            assert low - 1e-9 <= budgets[name] <= high + 1e-9
            assert abs(budgets[name] - before[name]) <= 0.04 + 1e-6
        before = budgets
    out = sleeved / "out"
    assert (out / "allocation.png").stat().st_size > 10_000
    rows = (out / "sleeves.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "date,sleeve,budget,base_weight,weight,day_return,benchmark_return,contribution"
    assert len(rows) == 1 + 3 * fold["days"] - 3  # every decision day (not the last) of three sleeves
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert "per sleeve" in summary and "us_equity" in summary and "allocation(s); the last" in summary


def test_each_walk_forward_fold_starts_from_the_base_weights(sleeved: Path) -> None:
    document = backtest("--start", "2023-01-02", "--end", "2023-12-29", "--walk-forward", "2",
                        "--out", str(sleeved / "out"))
    for fold in document["folds"]:  # type: ignore[attr-defined]
        first = fold["sleeves"]["allocations"][0]
        assert first["as_of"] == fold["start"]
        assert abs(first["budgets"]["us_equity"] - 0.40) <= 0.04 + 1e-9  # one step from the base, not from fold 1


@pytest.mark.parametrize("policy", sorted(BEFORE_SLEEVES))
def test_a_desk_without_sleeves_decides_exactly_as_before(policy: str) -> None:
    settings = load_settings()
    universe = load_universe("seed")
    request = BacktestRequest(start=date(2023, 1, 2), end=date(2024, 6, 28), policy=replay_policy(policy),
                              provider=make_provider(settings, universe), universe=universe, limits=settings.risk,
                              sim=SimConfig(initial_cash=Decimal(100_000), base_currency="EUR"))
    result = asyncio.run(run_backtest(request))[0].result
    digest = hashlib.sha256()
    for d in result.decisions:
        digest.update(repr((d.day, d.symbol, d.side, d.quantity, d.level, d.codes, d.executed)).encode())
    for f in result.fills:
        digest.update(repr((f.day, f.symbol, f.side, f.quantity, f.price, f.status)).encode())
    digest.update(str(result.equity[-1]).encode())
    assert f"{policy} {len(result.decisions)} {result.equity[-1]} {digest.hexdigest()[:16]}" == BEFORE_SLEEVES[policy]
