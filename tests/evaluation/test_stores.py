"""Backtest runs and evaluation reads on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from risk.models import Level
from storage.backtest_store import BacktestStore
from storage.engine import make_engine
from storage.evaluation_store import EvaluationStore
from storage.migrate import ensure_schema
from storage.store import Store
from storage.tables_backtest import BacktestRunRow
from tests.storage.test_store import NOW, _cycle, _item, clock


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    engine = make_engine(db_url)
    ensure_schema(engine)
    yield Store(engine, clock)
    engine.dispose()


def test_a_backtest_run_round_trips_with_its_curve_and_metrics(store: Store) -> None:
    runs = BacktestStore(store.session, clock)
    row = BacktestRunRow(id="bt1", created_at=NOW, start=date(2024, 1, 2), end=date(2024, 3, 28), policy="rules",
                         data_source="csv:/data", status="completed", symbols=["SPY", "TLT"],
                         params={"walk_forward": 1}, metrics={"sharpe": 0.8, "calmar": None},
                         benchmarks={"SPY buy-and-hold": {"sharpe": 1.1}},
                         equity=[["2024-01-02", 100000.0], ["2024-01-03", 100250.5]], out_dir="runs/bt1",
                         elapsed_seconds=1.5)
    runs.save_runs([row])
    stored = runs.get_run("bt1")
    assert stored is not None
    assert stored.metrics == {"sharpe": 0.8, "calmar": None}
    assert stored.equity == [["2024-01-02", 100000.0], ["2024-01-03", 100250.5]]
    assert [r.id for r in runs.runs()] == ["bt1"]


def test_evaluation_reads_proposals_with_their_cycle_date_and_the_codes(store: Store) -> None:
    store.record_cycle(_cycle(), [_item("pa", Level.SAFE), _item("pb", Level.BORDERLINE), _item("pc", Level.UNSAFE)])
    reads = EvaluationStore(store.session)
    facts = {f.id: f for f in reads.proposal_facts()}
    assert set(facts) == {"pa", "pb", "pc"}
    assert facts["pb"].awaited_human and not facts["pa"].awaited_human
    assert facts["pc"].status == "REJECTED_BY_RISK" and facts["pa"].as_of == date(2026, 11, 20)
    assert facts["pa"].price == pytest.approx(101.2345678901) and facts["pa"].idea == {"symbol": "SPY"}
    assert reads.risk_code_counts() == {"LOW_CONFIDENCE": 1, "UNKNOWN_SYMBOL": 1}


def _run_row(run_id: str, sharpe: float) -> BacktestRunRow:
    return BacktestRunRow(id=run_id, created_at=NOW, start=date(2024, 1, 2), end=date(2024, 3, 28), policy="rules",
                          data_source="csv:/data", status="completed", symbols=["SPY"], params={"walk_forward": 2},
                          metrics={"sharpe": sharpe}, benchmarks={}, equity=[], out_dir="runs/sw1",
                          elapsed_seconds=1.0)


def test_a_runs_folds_are_stored_whole_replacing_what_a_crash_left(store: Store) -> None:
    runs = BacktestStore(store.session, clock)
    runs.save_runs([_run_row("sw1-f1", 0.1)])  # fold 1 of an earlier attempt that crashed before fold 2
    runs.save_runs([_run_row("sw1-f1", 0.5), _run_row("sw1-f2", 0.6)])
    stored = {r.id: r.metrics for r in runs.runs()}
    assert stored == {"sw1-f1": {"sharpe": 0.5}, "sw1-f2": {"sharpe": 0.6}}


def test_a_fold_that_cannot_be_stored_stores_none_of_its_run(store: Store) -> None:
    runs = BacktestStore(store.session, clock)
    broken = _run_row("sw2-f2", 0.2)
    broken.policy = None  # type: ignore[assignment]  # NOT NULL in the database
    with pytest.raises(Exception, match=r"(?i)null"):
        runs.save_runs([_run_row("sw2-f1", 0.1), broken])
    assert runs.runs() == []
