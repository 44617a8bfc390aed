"""Store guarantees on SQLite and PostgreSQL: atomic cycle records, compare-and-set, exact money."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from broker.models import Account, Fill, Order, OrderStatus, Position, Side
from risk.lifecycle import IllegalTransition, ProposalStatus
from risk.models import Clamp, Hit, Level, RiskVerdict, TradeProposal, TradingState
from storage.engine import make_engine
from storage.migrate import SchemaOutOfDate, current_revision, ensure_schema, head_revision
from storage.store import NewProposal, Store
from storage.tables import CycleRow

S = ProposalStatus
NOW = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


@pytest.fixture
def store(db_url: str) -> Store:
    engine = make_engine(db_url)
    ensure_schema(engine)
    yield Store(engine, clock)
    engine.dispose()


def _proposal(pid: str, quantity: str = "10", price: str = "101.2345678901") -> TradeProposal:
    return TradeProposal(id=pid, symbol="SPY", side=Side.BUY, quantity=Decimal(quantity), price=Decimal(price),
                         fx_rate=Decimal("0.91"), target_weight=0.1, confidence=0.7)


def _item(pid: str, level: Level, clamp: bool = False) -> NewProposal:
    hits = [] if level is Level.SAFE else [Hit(code="LOW_CONFIDENCE" if level is Level.BORDERLINE
                                               else "UNKNOWN_SYMBOL", level=level, detail={"x": 1})]
    verdict = RiskVerdict(level=level, hits=tuple(hits),
                          clamp=Clamp(quantity_before=Decimal(10), quantity_after=Decimal(7), weight_before=0.32,
                                      weight_after=0.25) if clamp else None)
    return NewProposal(proposal=_proposal(pid), verdict=verdict, currency="USD", weight_before=0.0, thesis="t",
                       idea={"symbol": "SPY"}, nonce="abcd", expires_at=NOW + timedelta(hours=12))


def _cycle(cid: str = "c1") -> CycleRow:
    return CycleRow(id=cid, started_at=NOW, as_of=date(2026, 11, 20), policy="rules", data_source="synthetic",
                    synthetic=True, status="running", equity_before=Decimal("100000.00"))


def test_record_cycle_stores_every_proposal_with_its_path(store: Store) -> None:
    store.record_cycle(_cycle(), [_item("pa", Level.SAFE), _item("pb", Level.BORDERLINE, clamp=True),
                                  _item("pc", Level.UNSAFE)])
    statuses = {row.id: row.status for row in store.proposals(cycle_id="c1")}
    assert statuses == {"pa": "SAFE", "pb": "AWAITING_APPROVAL", "pc": "REJECTED_BY_RISK"}
    assert [t.to_status for t in store.transitions("pb")] == ["PROPOSED", "BORDERLINE", "AWAITING_APPROVAL"]
    assert [t.actor for t in store.transitions("pc")] == ["agent", "risk", "risk"]
    verdict, hits = store.verdicts("pb")[0]
    assert (verdict.quantity_before, verdict.quantity_after, verdict.weight_after) == (Decimal(10), Decimal(7), 0.25)
    assert [h.code for h in hits] == ["LOW_CONFIDENCE"] and hits[0].detail == {"x": 1}


@pytest.mark.filterwarnings("ignore:New instance")
def test_record_cycle_is_atomic(store: Store) -> None:
    with pytest.raises(Exception):  # noqa: B017  (a duplicate primary key, whatever the backend calls it)
        store.record_cycle(_cycle(), [_item("pa", Level.SAFE), _item("pa", Level.SAFE)])
    assert store.get_cycle("c1") is None
    assert store.proposals() == []


def test_money_round_trips_exactly(store: Store) -> None:
    store.record_cycle(_cycle(), [_item("pa", Level.SAFE)])
    row = store.get_proposal("pa")
    assert row is not None
    assert row.price == Decimal("101.2345678901") and row.fx_rate == Decimal("0.91") and row.quantity == Decimal(10)
    assert store.get_cycle("c1").equity_before == Decimal("100000")


def test_compare_and_set_lets_one_writer_win(store: Store) -> None:
    store.record_cycle(_cycle(), [_item("pb", Level.BORDERLINE)])
    assert store.transition("pb", S.AWAITING_APPROVAL, S.APPROVED, "cli:alice", decided_by="cli:alice")
    assert not store.transition("pb", S.AWAITING_APPROVAL, S.REJECTED_BY_HUMAN, "human:42")
    row = store.get_proposal("pb")
    assert row.status == "APPROVED" and row.decided_by == "cli:alice"
    assert [t.to_status for t in store.transitions("pb")][-1] == "APPROVED"


def test_illegal_transitions_raise(store: Store) -> None:
    store.record_cycle(_cycle(), [_item("pc", Level.UNSAFE)])
    with pytest.raises(IllegalTransition):
        store.transition("pc", S.REJECTED_BY_RISK, S.APPROVED, "cli:alice")
    with pytest.raises(ValueError, match="invalid actor"):
        store.transition("pc", S.AWAITING_APPROVAL, S.APPROVED, "somebody")


def test_record_execution_moves_to_filled_and_stores_the_fill(store: Store) -> None:
    store.record_cycle(_cycle(), [_item("pa", Level.SAFE)])
    fill = Fill(order_id="o1", client_order_id="pa", symbol="SPY", side=Side.BUY, quantity=Decimal(10),
                price=Decimal("101.30"), currency="USD", fx_rate=Decimal("0.91"), commission_base=Decimal("1.00"),
                at=NOW)
    order = Order(id="o1", client_order_id="pa", symbol="SPY", side=Side.BUY, quantity=Decimal(10),
                  status=OrderStatus.FILLED, filled_quantity=Decimal(10), filled_avg_price=Decimal("101.30"),
                  submitted_at=NOW, fills=(fill,))
    with pytest.raises(IllegalTransition):
        store.record_execution("pa", S.SAFE, order, "sim")  # an order is only recorded after SUBMITTING
    assert store.transition("pa", S.SAFE, S.SUBMITTING, "system")
    assert store.record_execution("pa", S.SUBMITTING, order, "sim")
    assert not store.record_execution("pa", S.SUBMITTING, order, "sim")  # a replay records nothing twice
    assert store.get_proposal("pa").status == "FILLED"
    assert [t.to_status for t in store.transitions("pa")][-3:] == ["SUBMITTING", "SUBMITTED", "FILLED"]
    assert len(store.fills()) == 1 and store.order_for("pa").filled_avg_price == Decimal("101.3")
    assert store.activity(date(2026, 11, 20)) == (1, 1, {})
    assert store.fill_positions() == {"SPY": Decimal(10)}


def test_an_open_order_is_updated_as_its_fills_arrive(store: Store) -> None:
    store.record_cycle(_cycle(), [_item("pa", Level.SAFE)])
    store.transition("pa", S.SAFE, S.SUBMITTING, "system")
    fills = [Fill(order_id="o1", client_order_id="pa", symbol="SPY", side=Side.BUY, quantity=Decimal(q),
                  price=Decimal(100), currency="USD", fx_rate=Decimal("0.91"), commission_base=Decimal(0), at=NOW)
             for q in (4, 6)]
    accepted = Order(id="o1", client_order_id="pa", symbol="SPY", side=Side.BUY, quantity=Decimal(10),
                     status=OrderStatus.ACCEPTED, submitted_at=NOW)
    assert store.record_execution("pa", S.SUBMITTING, accepted, "alpaca")
    assert store.get_proposal("pa").status == "SUBMITTED" and store.fills() == []
    partial = accepted.model_copy(update={"status": OrderStatus.PARTIALLY_FILLED, "filled_quantity": Decimal(4),
                                          "fills": (fills[0],)})
    assert store.record_execution("pa", S.SUBMITTED, partial, "alpaca")
    assert store.record_execution("pa", S.PARTIALLY_FILLED, partial, "alpaca")  # the same news twice: no new fill
    filled = partial.model_copy(update={"status": OrderStatus.FILLED, "filled_quantity": Decimal(10),
                                        "fills": tuple(fills)})
    assert store.record_execution("pa", S.PARTIALLY_FILLED, filled, "alpaca")
    assert not store.record_execution("pa", S.PARTIALLY_FILLED, filled, "alpaca")
    assert store.get_proposal("pa").status == "FILLED" and store.order_for("pa").status == "filled"
    assert [f.quantity for f in store.fills()] == [Decimal(4), Decimal(6)]
    assert store.fill_positions() == {"SPY": Decimal(10)}


def _filled(store: Store, pid: str, symbol: str, side: Side, quantity: int, at: datetime) -> None:
    """Record a filled order for ``pid`` (a SAFE proposal of the test cycle)."""
    store.add_proposals("c1", [_item(pid, Level.SAFE)])
    fill = Fill(order_id=f"o-{pid}", client_order_id=pid, symbol=symbol, side=side, quantity=Decimal(quantity),
                price=Decimal(100), currency="USD", fx_rate=Decimal(1), commission_base=Decimal(0), at=at)
    order = Order(id=f"o-{pid}", client_order_id=pid, symbol=symbol, side=side, quantity=Decimal(quantity),
                  status=OrderStatus.FILLED, filled_quantity=Decimal(quantity), filled_avg_price=Decimal(100),
                  submitted_at=at, fills=(fill,))
    store.transition(pid, S.SAFE, S.SUBMITTING, "system")
    assert store.record_execution(pid, S.SUBMITTING, order, "alpaca")


def test_a_holding_starts_at_its_first_fill_since_the_position_was_last_flat(store: Store) -> None:
    store.record_cycle(_cycle(), [])
    day = timedelta(days=1)
    _filled(store, "p1", "SPY", Side.BUY, 10, NOW - 9 * day)
    _filled(store, "p2", "SPY", Side.SELL, 10, NOW - 6 * day)  # flat: the next buy is a new holding
    _filled(store, "p3", "SPY", Side.BUY, 4, NOW - 3 * day)
    _filled(store, "p4", "SPY", Side.BUY, 6, NOW - 2 * day)  # adding keeps the open date
    _filled(store, "p5", "SPY", Side.SELL, 5, NOW - day)  # so does a partial sell
    _filled(store, "p6", "TLT", Side.BUY, 3, NOW - 5 * day)
    _filled(store, "p7", "TLT", Side.SELL, 3, NOW - 4 * day)  # sold out: no holding

    assert store.holding_starts() == {"SPY": NOW - 3 * day}
    assert store.holding_starts()["SPY"].tzinfo is not None


def test_trading_state_and_snapshots(store: Store) -> None:
    assert store.trading_state().state == "ACTIVE"
    store.set_trading_state(TradingState.HALTED, "cli:alice", "vacation")
    assert (store.trading_state().state, store.trading_state().reason) == ("HALTED", "vacation")
    account = Account(base_currency="EUR", cash=Decimal("50000"), positions_value=Decimal("50500.5"),
                      equity=Decimal("100500.5"), at=NOW)
    position = Position(symbol="SPY", quantity=Decimal(10), avg_price=Decimal(100), currency="USD",
                        cost_base=Decimal(910), market_price=Decimal(101), market_value_base=Decimal("50500.5"))
    store.snapshot(account, [position], date(2026, 11, 20), "c1")
    assert store.peak_equity() == Decimal("100500.5")
    assert store.last_snapshot_before(date(2026, 11, 21)).equity == Decimal("100500.5")
    assert store.last_snapshot_before(date(2026, 11, 20)) is None


def test_schema_older_than_the_code_is_refused(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    assert current_revision(engine) == head_revision(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    with pytest.raises(SchemaOutOfDate, match="paperdesk db upgrade"):
        ensure_schema(engine)
    engine.dispose()


@pytest.mark.postgres
def test_two_writers_race_and_exactly_one_wins(pg_url: str) -> None:
    """Two connections decide the same proposal at the same instant; PostgreSQL lets one win."""
    engine = make_engine(pg_url)
    ensure_schema(engine)
    setup = Store(engine, clock)
    for round_ in range(20):
        pid = f"p{round_:03d}"
        setup.record_cycle(_cycle(f"c{round_}"), [_item(pid, Level.BORDERLINE)])
        barrier = threading.Barrier(2)
        results: dict[str, bool] = {}

        def decide(actor: str, target: ProposalStatus, pid: str = pid, barrier: threading.Barrier = barrier,
                   results: dict[str, bool] = results) -> None:
            writer = Store(engine, clock)
            barrier.wait()
            results[actor] = writer.transition(pid, S.AWAITING_APPROVAL, target, actor, decided_by=actor)

        threads = [threading.Thread(target=decide, args=("human:1", S.APPROVED)),
                   threading.Thread(target=decide, args=("cli:bob", S.REJECTED_BY_HUMAN))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [False, True], results
        winner = next(actor for actor, won in results.items() if won)
        row = setup.get_proposal(pid)
        assert row.decided_by == winner
        decisions = [t for t in setup.transitions(pid) if t.from_status == "AWAITING_APPROVAL"]
        assert len(decisions) == 1 and decisions[0].actor == winner
    engine.dispose()


def test_two_processes_cannot_overwrite_each_others_ledger(store: Store) -> None:
    from broker.errors import RetryableBrokerError
    from broker.ledger import SimLedger
    from storage.portfolio import SqlLedgerStore

    first, second = SqlLedgerStore(store.session, clock), SqlLedgerStore(store.session, clock)
    assert first.load() is None
    first.save(SimLedger.new("EUR", Decimal(100000), NOW))
    a, b = first.load(), second.load()
    assert a == b and a is not None
    first.save(a.model_copy(update={"cash": Decimal(90000)}))
    with pytest.raises(RetryableBrokerError, match="changed in another process"):
        second.save(b.model_copy(update={"cash": Decimal(80000)}))
    assert second.load().cash == Decimal(90000)
    second.save(second.load().model_copy(update={"cash": Decimal(85000)}))  # after a reload it succeeds
    assert first.load().cash == Decimal(85000)


def test_a_new_cycle_supersedes_older_pending_approvals(store: Store) -> None:
    store.record_cycle(_cycle("c1"), [_item("pb", Level.BORDERLINE), _item("pa", Level.SAFE)])
    _, superseded = store.record_cycle(_cycle("c2"), [_item("pz", Level.BORDERLINE)])
    assert superseded == ["pb"]
    old = store.get_proposal("pb")
    assert old.status == "EXPIRED" and old.decision_reason == "superseded by cycle c2"
    assert store.transitions("pb")[-1].actor == "system"
    assert store.get_proposal("pz").status == "AWAITING_APPROVAL"
    assert store.get_proposal("pa").status == "SAFE"


def test_ledger_with_orders_round_trips_through_a_fresh_store(store: Store) -> None:
    from broker.ledger import SimLedger
    from storage.portfolio import SqlLedgerStore

    writer = SqlLedgerStore(store.session, clock)
    order = Order(id="sim-1", client_order_id="pa", symbol="SPY", side=Side.BUY, quantity=Decimal("1.5"),
                  status=OrderStatus.FILLED, filled_quantity=Decimal("1.5"), filled_avg_price=Decimal("101.25"),
                  submitted_at=NOW)
    ledger = SimLedger.new("EUR", Decimal(100000), NOW).with_order(order)
    writer.save(ledger)
    writer.save(writer.load().model_copy(update={"cash": Decimal("99847.89")}))  # cached order JSON reused
    assert SqlLedgerStore(store.session, clock).load() == ledger.model_copy(update={"cash": Decimal("99847.89")})


def test_an_alert_quoting_an_echoed_key_is_stored_redacted(store: Store) -> None:
    key = "sk-proj-" + "a1B2c3D4" * 5
    store.add_alert("broker_rejected", "warning", f"order refused: Invalid API key provided: {key}",
                    detail={"error": f"Bearer {key}"})
    [row] = store.alerts(limit=1)
    assert key not in row.message and key not in str(row.detail)
    assert row.message.startswith("order refused: Invalid API key provided: ")


def test_the_peak_is_the_highest_equity_as_a_number_not_as_text(store: Store) -> None:
    """SQLite keeps money as text, where MAX says "99500.25" > "120000": the drawdown would vanish."""
    for day, equity in enumerate(("100000", "120000.5", "99500.25", "95000")):
        account = Account(base_currency="EUR", cash=Decimal(equity), positions_value=Decimal(0),
                          equity=Decimal(equity), at=NOW)
        store.snapshot(account, [], date(2026, 11, 2 + day), f"c{day}")
    assert store.peak_equity() == Decimal("120000.5")


def test_proposals_filter_by_symbol_and_side_in_the_database(store: Store) -> None:
    """The watch finds a holding's stop among that symbol's buys, however many other fills came after."""
    store.record_cycle(_cycle(), [])
    made = [("b-spy", "SPY", Side.BUY), ("s-spy", "SPY", Side.SELL), ("b-tlt", "TLT", Side.BUY)]
    for pid, symbol, side in made:
        item = _item(pid, Level.SAFE)
        proposal = TradeProposal(id=pid, symbol=symbol, side=side, quantity=Decimal(1), price=Decimal(100),
                                 fx_rate=Decimal(1), target_weight=0.1, confidence=0.7)
        store.add_proposals("c1", [NewProposal(proposal=proposal, verdict=item.verdict, currency="USD",
                                               weight_before=0.0, thesis="t", idea={}, nonce="abcd",
                                               expires_at=item.expires_at)])
    assert [r.id for r in store.proposals(symbol="SPY", side=str(Side.BUY))] == ["b-spy"]
    assert {r.id for r in store.proposals(symbol="SPY")} == {"b-spy", "s-spy"}
    assert [r.id for r in store.proposals([S.SAFE], side=str(Side.BUY), symbol="TLT")] == ["b-tlt"]
    assert store.proposals(symbol="GLD") == []
