"""Ledger stores: the in-memory one and the atomic JSON file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from broker.errors import FatalBrokerError
from broker.ledger import InMemoryLedgerStore, JsonFileLedgerStore, SimLedger
from broker.models import Fill, Order, OrderStatus, Side
from tests.broker.fakes import T0

D = Decimal


def busy_ledger() -> SimLedger:
    fill = Fill(
        order_id="sim-1",
        client_order_id="p-1",
        symbol="SPY",
        side=Side.BUY,
        quantity=D("2"),
        price=D("500.25"),
        currency="USD",
        fx_rate=D("0.9"),
        commission_base=D("1.00"),
        at=T0,
    )
    placed = Order(
        id="sim-1",
        client_order_id="p-1",
        symbol="SPY",
        side=Side.BUY,
        quantity=D(2),
        status=OrderStatus.FILLED,
        filled_quantity=D(2),
        filled_avg_price=D("500.25"),
        submitted_at=T0,
        fills=(fill,),
    )
    ledger = SimLedger.new("EUR", D(10_000), T0).with_order(placed)
    return ledger.bought("SPY", D(2), D("500.25"), "USD", D("900.45"), D("1.00"), T0)


def test_missing_file_loads_as_none(tmp_path: Path) -> None:
    assert JsonFileLedgerStore(tmp_path / "ledger.json").load() is None


def test_json_round_trip_is_exact(tmp_path: Path) -> None:
    store = JsonFileLedgerStore(tmp_path / "nested" / "ledger.json")
    ledger = busy_ledger()

    store.save(ledger)

    loaded = JsonFileLedgerStore(tmp_path / "nested" / "ledger.json").load()
    assert loaded == ledger
    assert loaded is not None and loaded.cash == D("9098.55")
    assert loaded.positions["SPY"].opened_at.tzinfo is not None


def test_save_replaces_the_file_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = JsonFileLedgerStore(tmp_path / "ledger.json")
    store.save(SimLedger.new("EUR", D(1), T0))

    store.save(busy_ledger())

    assert [p.name for p in tmp_path.iterdir()] == ["ledger.json"]
    assert store.load() == busy_ledger()


def test_failed_save_keeps_the_previous_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = JsonFileLedgerStore(tmp_path / "ledger.json")
    store.save(SimLedger.new("EUR", D(1), T0))

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("broker.ledger.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.save(busy_ledger())

    assert store.load() == SimLedger.new("EUR", D(1), T0)
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.json"]


def test_corrupt_file_is_fatal(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    path.write_text('{"cash": "lots"}', encoding="utf-8")

    with pytest.raises(FatalBrokerError) as excinfo:
        JsonFileLedgerStore(path).load()

    assert excinfo.value.code == "LEDGER_CORRUPT"
    assert str(path) in str(excinfo.value)


def test_in_memory_store_returns_what_was_saved() -> None:
    store = InMemoryLedgerStore()
    assert store.load() is None

    store.save(busy_ledger())

    assert store.load() == busy_ledger()


def test_ledger_transitions_do_not_touch_the_original() -> None:
    fresh = SimLedger.new("EUR", D(10_000), T0)

    after = fresh.bought("MC.PA", D(1), D(700), "EUR", D(700), D(1), T0).sold("MC.PA", D(1), D(710), D(1))

    assert fresh == SimLedger.new("EUR", D(10_000), T0)
    assert after.realized_pnl_base == D(710) - D(701) - D(1)
    assert after.cash == D(10_000) + after.realized_pnl_base
    assert after.positions == {}
