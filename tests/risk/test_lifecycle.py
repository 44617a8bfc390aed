"""The proposal lifecycle table: every order passes SUBMITTING, final states stay final."""

from __future__ import annotations

import pytest

from risk.lifecycle import TRANSITIONS, IllegalTransition, ProposalStatus, check_actor, check_transition

S = ProposalStatus


def test_every_status_has_a_row_and_targets_are_statuses() -> None:
    assert set(TRANSITIONS) == set(ProposalStatus)
    assert all(targets <= set(ProposalStatus) for targets in TRANSITIONS.values())


@pytest.mark.parametrize("decided", [S.SAFE, S.APPROVED])
def test_a_decided_proposal_reaches_the_broker_only_through_submitting(decided: ProposalStatus) -> None:
    check_transition(decided, S.SUBMITTING)
    check_transition(decided, S.BROKER_REJECTED)  # refused before any broker call
    check_transition(decided, S.CANCELED)  # never sent: its process died before SUBMITTING (recovery)
    for skipped in (S.SUBMITTED, S.FILLED, S.PARTIALLY_FILLED):
        with pytest.raises(IllegalTransition, match=f"{decided} -> {skipped}"):
            check_transition(decided, skipped)


def test_submitting_moves_on_to_every_broker_outcome_or_canceled_after_a_crash() -> None:
    assert TRANSITIONS[S.SUBMITTING] == {S.SUBMITTED, S.FILLED, S.PARTIALLY_FILLED, S.BROKER_REJECTED, S.CANCELED}
    assert not S.SUBMITTING.is_final
    with pytest.raises(IllegalTransition):
        check_transition(S.SUBMITTING, S.SAFE)  # a proposal that may be at the broker is never re-decided


def test_only_decided_proposals_enter_submitting() -> None:
    sources = {status for status, targets in TRANSITIONS.items() if S.SUBMITTING in targets}
    assert sources == {S.SAFE, S.APPROVED}


def test_final_statuses_have_no_way_out() -> None:
    final = {status for status in ProposalStatus if status.is_final}
    assert final == {S.FILLED, S.BROKER_REJECTED, S.CANCELED, S.REJECTED_BY_HUMAN, S.EXPIRED,
                     S.REJECTED_AT_APPROVAL, S.REJECTED_BY_RISK}
    with pytest.raises(IllegalTransition):
        check_transition(S.CANCELED, S.SUBMITTING)


def test_unsafe_can_never_be_submitted() -> None:
    reachable, frontier = {S.UNSAFE}, [S.UNSAFE]
    while frontier:
        for target in TRANSITIONS[frontier.pop()] - reachable:
            reachable.add(target)
            frontier.append(target)
    assert reachable == {S.UNSAFE, S.REJECTED_BY_RISK}


def test_actors_are_well_formed() -> None:
    assert check_actor("system") == "system" and check_actor("human:42") == "human:42"
    with pytest.raises(ValueError, match="invalid actor"):
        check_actor("human:alice")
