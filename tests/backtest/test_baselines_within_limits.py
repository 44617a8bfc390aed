"""Baselines size themselves inside the risk limits (SAFE) and say so; a run that executes little says why."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.indicator_panels import indicator_panels
from agent.market.synthetic import SyntheticMarketData
from agent.policies.base import HoldingView
from agent.policies.baselines import BuyAndHoldPolicy, EqualWeightPolicy
from agent.schema import Action
from agent.universe import load_universe
from bot.backtest.engine import Replay, replay
from bot.backtest.notes import codes_lines, execution_warning
from bot.cli.app import app
from broker.simulated import SimConfig
from risk.limits import RiskLimits
from tests.agent.factories import context, row
from tests.backtest.test_cli_backtest import _write_csvs

runner = CliRunner()


@pytest.mark.parametrize("policy", [BuyAndHoldPolicy(), EqualWeightPolicy()], ids=["buy_and_hold", "equal_weight"])
def test_a_baseline_on_the_seed_universe_proposes_only_safe_trades_under_the_default_limits(policy: object) -> None:
    universe = load_universe("seed")
    history = SyntheticMarketData(seed=11, base_currency="EUR").history(universe.instruments, date(2022, 6, 30), 420)
    spec = Replay(history=history, panels=indicator_panels(history), rows=range(300, 400), universe=universe,
                  policy=policy, limits=RiskLimits(), sim=SimConfig(base_currency="EUR"))  # type: ignore[arg-type]

    result = asyncio.run(replay(spec))

    assert result.counts["proposals_borderline"] == 0 and result.counts["proposals_unsafe"] == 0
    assert result.counts["filled"] >= len(universe.instruments)  # every instrument bought, a few a day


@pytest.mark.parametrize("policy", [BuyAndHoldPolicy(), EqualWeightPolicy()], ids=["buy_and_hold", "equal_weight"])
def test_a_baseline_spends_no_trade_on_an_instrument_too_volatile_to_buy_safely(policy: object) -> None:
    # max_volatility 60% × borderline_fraction 0.8: above 48% (vol60, else vol20) a buy is not SAFE.
    # Asked first (largest gap, first in order), such names used the day's whole trade pace on refusals.
    rows = {"WILD": row(vol60=0.90), "EDGE": row(vol60=0.49), "NOVOL": {**row(vol60=float("nan")), "vol20": 0.70},
            "CALM": row(vol60=0.20), "UNKNOWN": {**row(vol60=float("nan")), "vol20": float("nan")}}
    ctx = replace(context(rows), limits=RiskLimits().model_dump())
    decision = asyncio.run(policy.decide(ctx))  # type: ignore[attr-defined]
    assert sorted(i.symbol for i in decision.proposals) == ["CALM", "UNKNOWN"]
    held = replace(ctx, holdings={"WILD": HoldingView("WILD", 0.1, 0.0, 30)}, cash_weight=0.9)
    # a holding that became too volatile is kept (held by buy_and_hold, left alone by equal_weight), never sold
    sells = [i for i in asyncio.run(policy.decide(held)).proposals if i.action is Action.SELL]  # type: ignore[attr-defined]
    assert sells == []


def test_buy_and_hold_of_two_etfs_trades_and_its_summary_says_how_it_sized_itself(tmp_path: Path) -> None:
    data = _write_csvs(tmp_path / "data", symbols=("SPY", "GLD"))
    out = tmp_path / "out"
    result = runner.invoke(app, ["backtest", "--start", "2023-11-01", "--end", "2024-03-22", "--data", f"csv:{data}",
                                 "--policy", "buy_and_hold", "--symbols", "SPY,GLD", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["counts"]["filled"] == 2 and document["counts"]["proposals_safe"] == 2
    assert "proposals_borderline" not in document["counts"]
    note = ("buy_and_hold sizes itself inside the risk limits (so its buys are SAFE): at most 20.0% a position, "
            "32.0% an asset class or sector (limits × borderline_fraction), 4 trade(s) a day; cash at least 10.0%; "
            "buys nothing more volatile than 48% a year")
    assert note in document["notes"] and note in (out / "summary.txt").read_text(encoding="utf-8")


def test_a_run_where_most_proposals_were_not_executed_says_so_first_with_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # every ETF is too volatile: UNSAFE (the rules policy asks anyway; a baseline would leave them out)
    monkeypatch.setenv("PAPERDESK_RISK__MAX_VOLATILITY", "0.01")
    data = _write_csvs(tmp_path / "data", symbols=("SPY", "GLD"))
    out = tmp_path / "out"
    result = runner.invoke(app, ["backtest", "--start", "2023-11-01", "--end", "2024-03-22", "--data", f"csv:{data}",
                                 "--policy", "rules", "--symbols", "SPY,GLD", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "WARNING: most proposals were not executed" in result.stdout
    summary = (out / "summary.txt").read_text(encoding="utf-8").splitlines()
    warning = next(line for line in summary[:4] if line.startswith("WARNING"))
    assert "UNSAFE" in warning and "loosen the limits in [risk]" in warning and "--approve-borderline" not in warning
    # each fold says which rules held its proposals back, on screen and in summary.txt
    hit = next(line for line in summary if line.startswith("risk rules hit"))
    assert hit.startswith("risk rules hit (BORDERLINE or UNSAFE): VOLATILITY_EXCEEDS_MAX ")
    assert hit in result.stdout.splitlines()


def test_the_risk_codes_lines_list_the_five_most_frequent_at_80_columns_and_nothing_when_all_were_safe() -> None:
    codes = {"A_RULE": 2, "B_RULE": 9, "C_RULE": 2, "D_RULE": 1, "E_RULE": 5, "F_RULE": 7}
    assert codes_lines(codes) == ["risk rules hit (BORDERLINE or UNSAFE): B_RULE 9, F_RULE 7, E_RULE 5, A_RULE 2,",
                                  "  C_RULE 2"]
    seed = {"LOW_CONFIDENCE": 844, "REENTRY_COOLDOWN": 121, "ADV_EXCEEDS_MAX": 110, "VOLATILITY_NEAR_MAX": 46,
            "ASSET_CLASS_WEIGHT_NEAR_MAX": 27}
    assert codes_lines(seed) == [
        "risk rules hit (BORDERLINE or UNSAFE): LOW_CONFIDENCE 844, REENTRY_COOLDOWN 121,",
        "  ADV_EXCEEDS_MAX 110, VOLATILITY_NEAR_MAX 46, ASSET_CLASS_WEIGHT_NEAR_MAX 27"]
    assert all(len(line) <= 80 for line in codes_lines(seed))
    assert codes_lines({}) == []


def test_borderline_proposals_left_waiting_point_to_approve_borderline() -> None:
    counts, codes = {"proposals_safe": 2, "proposals_borderline": 5}, {"POSITION_WEIGHT_NEAR_MAX": 5}

    warning = execution_warning(counts, codes, approve_borderline=False)

    assert warning is not None and warning.startswith("WARNING: most proposals were not executed: 5 of 7")
    assert "POSITION_WEIGHT_NEAR_MAX 5" in warning and "--approve-borderline" in warning
    assert execution_warning(counts, codes, approve_borderline=True) is None
    assert execution_warning({"proposals_safe": 3, "proposals_borderline": 3}, codes, approve_borderline=False) is None
