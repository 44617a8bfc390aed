"""Approve / reject: exactly one decision, at most one order, clear refusals that change nothing."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import FixedClock
from bot.desk import approvals, views
from bot.desk.cycle import run_cycle
from bot.desk.results import DeskError
from bot.wiring import App
from tests.bot.conftest import AppFactory

pytestmark = pytest.mark.asyncio


async def _cycle_with(app: App, status: str) -> str:
    report = await run_cycle(app.desk)
    ids = [p.id for p in report.proposals if p.status == status]
    assert ids, f"the scenario needs a {status} proposal: {[(p.symbol, p.level, p.codes) for p in report.proposals]}"
    return ids[0]


def _fingerprint(app: App, pid: str) -> tuple[object, ...]:
    row = app.store.get_proposal(pid)
    assert row is not None
    return row.status, len(app.store.transitions(pid)), len(app.store.fills()), app.store.order_for(pid)


async def test_approve_fills_exactly_once(make_app: AppFactory) -> None:
    app = make_app()
    pid = await _cycle_with(app, "AWAITING_APPROVAL")
    assert pid in [line.id for line in views.pending(app.desk)]
    fills_before = len(app.store.fills())
    result = await approvals.approve(app.desk, pid, "cli:alice")
    assert result.proposal.status == "FILLED" and "filled at" in result.message
    assert len(app.store.fills()) == fills_before + 1
    assert app.store.get_proposal(pid).decided_by == "cli:alice"
    path = [(t.to_status, t.actor) for t in app.store.transitions(pid)][-4:]
    assert path == [("APPROVED", "cli:alice"), ("SUBMITTING", "system"), ("SUBMITTED", "broker"), ("FILLED", "broker")]
    before = _fingerprint(app, pid)
    with pytest.raises(DeskError, match="already FILLED"):
        await approvals.approve(app.desk, pid, "cli:alice")
    assert _fingerprint(app, pid) == before
    assert pid not in [line.id for line in views.pending(app.desk)]


async def test_unknown_and_unsafe_ids_are_refused_without_change(make_app: AppFactory) -> None:
    # every buy is now UNSAFE: VOLATILITY_EXCEEDS_MAX
    app = make_app(risk={"max_volatility": 0.05, "min_confidence": 0.75})
    pid = await _cycle_with(app, "REJECTED_BY_RISK")
    with pytest.raises(DeskError, match="no proposal 'pnope'"):
        await approvals.approve(app.desk, "pnope", "cli:alice")
    before = _fingerprint(app, pid)
    with pytest.raises(DeskError, match="UNSAFE proposals can never be approved"):
        await approvals.approve(app.desk, pid, "cli:alice")
    with pytest.raises(DeskError, match="UNSAFE proposals can never be approved"):
        approvals.reject(app.desk, pid, "cli:alice", "no")
    assert _fingerprint(app, pid) == before


async def test_reject_records_who_and_why(make_app: AppFactory) -> None:
    app = make_app()
    pid = await _cycle_with(app, "AWAITING_APPROVAL")
    result = approvals.reject(app.desk, pid, "cli:bob", "too extended after an earnings run-up")
    row = app.store.get_proposal(pid)
    assert (row.status, row.decided_by, row.decision_reason) == (
        "REJECTED_BY_HUMAN", "cli:bob", "too extended after an earnings run-up")
    assert app.store.transitions(pid)[-1].note == "too extended after an earnings run-up"
    assert "rejected by cli:bob" in result.message
    with pytest.raises(DeskError, match="already REJECTED_BY_HUMAN by cli:bob"):
        await approvals.approve(app.desk, pid, "cli:alice")


async def test_concurrent_approvals_produce_one_order(make_app: AppFactory) -> None:
    first, second = make_app(), make_app()  # two processes deciding the same proposal
    pid = await _cycle_with(first, "AWAITING_APPROVAL")
    fills_before = len(first.store.fills())
    results = await asyncio.gather(approvals.approve(first.desk, pid, "cli:alice"),
                                   approvals.approve(second.desk, pid, "human:42"), return_exceptions=True)
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, DeskError)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert len(first.store.fills()) == fills_before + 1
    decided = [t for t in first.store.transitions(pid) if t.from_status == "AWAITING_APPROVAL"]
    assert len(decided) == 1


async def test_expired_approval_is_refused_and_recorded(make_app: AppFactory, clock: FixedClock) -> None:
    app = make_app()
    pid = await _cycle_with(app, "AWAITING_APPROVAL")
    clock.advance(hours=13)
    with pytest.raises(DeskError, match="expired"):
        await approvals.approve(app.desk, pid, "cli:alice")
    assert app.store.get_proposal(pid).status == "EXPIRED"


async def test_pending_expires_what_is_due(make_app: AppFactory, clock: FixedClock) -> None:
    app = make_app()
    pid = await _cycle_with(app, "AWAITING_APPROVAL")
    clock.advance(hours=12, seconds=1)
    assert pid not in [line.id for line in views.pending(app.desk)]
    assert app.store.get_proposal(pid).status == "EXPIRED"
    assert app.store.transitions(pid)[-1].actor == "system"


async def test_price_drift_refuses_the_approval(make_app: AppFactory, clock: FixedClock) -> None:
    app = make_app(risk={"approval_max_drift": 0.0, "approval_ttl_hours": 96, "min_confidence": 0.75})
    pid = await _cycle_with(app, "AWAITING_APPROVAL")
    clock.advance(days=3)  # Monday: new prices
    with pytest.raises(DeskError, match="price moved"):
        await approvals.approve(app.desk, pid, "cli:alice")
    row = app.store.get_proposal(pid)
    assert row.status == "REJECTED_AT_APPROVAL" and "price moved" in (row.decision_reason or "")
    assert app.store.order_for(pid) is None


async def test_a_later_cycle_supersedes_pending_approvals(make_app: AppFactory) -> None:
    """Approving an old proposal and its re-proposal would buy the target twice; the old one expires."""
    app = make_app()
    old = await _cycle_with(app, "AWAITING_APPROVAL")
    report = await run_cycle(app.desk)
    assert app.store.get_proposal(old).status == "EXPIRED"
    assert any("superseded" in alert for alert in report.alerts)
    with pytest.raises(DeskError, match="already EXPIRED"):
        await approvals.approve(app.desk, old, "cli:alice")
    pending_symbols = [line.symbol for line in views.pending(app.desk)]
    assert len(pending_symbols) == len(set(pending_symbols))
