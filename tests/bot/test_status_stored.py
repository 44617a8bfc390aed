"""``paperdesk status`` reads the latest cycle's stored valuation while it holds, and says what the whole desk says.

It holds on the simulated broker, on data other than CSV files, while the ledger keeps the cash and
quantities the cycle valued. Any change to the book, another kind of data, CSV files, sleeves, a
cycle dated after today or ``--as-of`` send the command back to the whole desk, which values the
portfolio at market (``bot.status_wiring``).
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.clock import FixedClock, system_clock
from bot.desk import views
from bot.settings import load_settings
from bot.status_wiring import status_from_store
from bot.wiring import build_app
from storage.engine import make_engine
from storage.portfolio import SqlLedgerStore
from storage.store import Store
from tests.bot.csv_market import write_market

runner = CliRunner()


@pytest.fixture
def desk_env(db_url: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A synthetic-data desk after one cycle and a state change (so every field is stored), on ``db_url``."""
    monkeypatch.setenv("PAPERDESK_DATABASE_URL", db_url)
    for args in (["cycle"], ["reduce", "--reason", "stored state"], ["resume"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr
    return db_url


def whole_desk_status() -> dict[str, object]:
    """What the whole desk shows: valued at market, on the clock ``bot.wiring`` picks for status."""
    built = build_app(load_settings(), dating="view")
    try:
        return asyncio.run(views.status(built.desk)).model_dump(mode="json")
    finally:
        built.close()


def cli_status() -> dict[str, object]:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def same_status(shown: dict[str, object], valued: dict[str, object]) -> bool:
    """Equal to the cent; the ratios to 1e-12 (PostgreSQL keeps money to 10 decimal places, and the
    value at market has more, so a ratio can differ in its 16th digit)."""
    ratios = ("cash_weight", "total_return", "drawdown")
    return ({k: v for k, v in shown.items() if k not in ratios} == {k: v for k, v in valued.items() if k not in ratios}
            and all(shown[k] == pytest.approx(valued[k], rel=1e-12, abs=1e-15) for k in ratios))


def test_the_stored_status_is_the_whole_desks(desk_env: str) -> None:
    stored = status_from_store(load_settings())
    assert stored is not None
    shown, valued = stored.model_dump(mode="json"), whole_desk_status()
    assert same_status(shown, valued) and shown == cli_status()
    assert stored.positions > 0 and stored.data_source.startswith("SYNTHETIC")


def test_a_changed_book_is_valued_again_by_the_whole_desk(desk_env: str) -> None:
    engine = make_engine(desk_env)
    ledgers = SqlLedgerStore(Store(engine, system_clock).session, system_clock)
    ledger = ledgers.load()
    assert ledger is not None
    ledgers.save(ledger.model_copy(update={"cash": ledger.cash - Decimal("1000")}))  # as a fill after the cycle would
    engine.dispose()
    assert status_from_store(load_settings()) is None
    shown = cli_status()
    assert shown == whole_desk_status()  # both valued at market
    assert Decimal(str(shown["cash"])) == (ledger.cash - Decimal("1000")).quantize(Decimal("0.01"))


def test_a_position_the_snapshot_does_not_hold_is_a_changed_book(desk_env: str) -> None:
    engine = make_engine(desk_env)
    ledgers = SqlLedgerStore(Store(engine, system_clock).session, system_clock)
    ledger = ledgers.load()
    assert ledger is not None and ledger.positions
    symbol, held = next(iter(ledger.positions.items()))
    changed = {**ledger.positions, symbol: held.model_copy(update={"quantity": held.quantity + 1})}
    ledgers.save(ledger.model_copy(update={"positions": changed}))
    engine.dispose()
    assert status_from_store(load_settings()) is None


@pytest.mark.parametrize(("variable", "value"), [
    ("PAPERDESK_DATA", "yfinance"),  # the stored prices are synthetic: not what this data would say
    ("PAPERDESK_BROKER", "alpaca"),  # Alpaca reports its own account
    ("PAPERDESK_POLICY", "sleeves"),  # the sleeves' budgets come from their plan
])
def test_other_settings_leave_status_to_the_whole_desk(desk_env: str, monkeypatch: pytest.MonkeyPatch, variable: str,
                                                      value: str) -> None:
    monkeypatch.setenv(variable, value)
    assert status_from_store(load_settings()) is None


def test_a_cycle_dated_after_today_leaves_status_to_the_whole_desk(desk_env: str) -> None:
    yesterday = FixedClock(system_clock() - timedelta(days=1))
    assert status_from_store(load_settings(), yesterday) is None


def test_nothing_is_created_before_the_first_cycle(isolated_env: Path) -> None:
    assert status_from_store(load_settings()) is None
    assert not (isolated_env / "paperdesk.db").exists()


def test_csv_data_is_valued_by_the_whole_desk(tmp_path: Path, isolated_env: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in write_market(tmp_path).items():
        monkeypatch.setenv(variable, value)
    result = runner.invoke(app, ["cycle", "--as-of", "2024-06-28"])
    assert result.exit_code == 0, result.stderr
    assert status_from_store(load_settings()) is None  # the files' last day decides the portfolio's date


def test_settings_the_whole_desk_refuses_are_refused_on_the_stored_path_too(desk_env: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERDESK_POLICY", "llm")  # no OPENAI_API_KEY, no recorded calls
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: the llm policy needs OPENAI_API_KEY") and result.stderr.count("\n") == 1


def test_an_unreachable_database_is_one_line(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERDESK_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 1 and result.stderr.startswith("error: database error: OperationalError:")
    assert result.stderr.count("\n") == 1
