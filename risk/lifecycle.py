"""The proposal lifecycle as a transition table; an illegal move raises ``IllegalTransition``.

Every transition is stored by the caller with its time and actor. Actors are ``agent``, ``risk``,
``broker``, ``system``, ``human:<telegram user id>`` or ``cli:<os user>``.

Crash safety: an order is never sent from SAFE or APPROVED directly. The proposal first moves to
SUBMITTING (committed), then the broker is called with client_order_id = proposal id, then the
outcome is recorded (SUBMITTING -> SUBMITTED -> FILLED | ...). A SUBMITTING proposal found after a
crash is resolved by asking the broker for that client_order_id: found, it moves on like any
order; not found, it never reached the broker and becomes CANCELED ("not submitted before
crash"), so a human decides whether to trade it again. SAFE/APPROVED -> BROKER_REJECTED remains
for refusals before any broker call. SAFE/APPROVED -> CANCELED is the same recovery one step
earlier: a process that died between classifying (or approving) and SUBMITTING sent nothing, and
reconciliation cancels what it left behind rather than trade it on a stale book.
"""

from __future__ import annotations

import re
from enum import StrEnum


class ProposalStatus(StrEnum):
    """Where a proposal is in its life."""

    PROPOSED = "PROPOSED"
    SAFE = "SAFE"
    BORDERLINE = "BORDERLINE"
    UNSAFE = "UNSAFE"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    APPROVED = "APPROVED"
    SUBMITTING = "SUBMITTING"
    SUBMITTED = "SUBMITTED"
    FILLED = "FILLED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    BROKER_REJECTED = "BROKER_REJECTED"
    CANCELED = "CANCELED"
    REJECTED_BY_HUMAN = "REJECTED_BY_HUMAN"
    EXPIRED = "EXPIRED"
    REJECTED_AT_APPROVAL = "REJECTED_AT_APPROVAL"
    REJECTED_BY_RISK = "REJECTED_BY_RISK"

    @property
    def is_final(self) -> bool:
        """True when no transition leaves this status."""
        return not TRANSITIONS[self]


S = ProposalStatus

TRANSITIONS: dict[ProposalStatus, frozenset[ProposalStatus]] = {
    S.PROPOSED: frozenset({S.SAFE, S.BORDERLINE, S.UNSAFE}),
    S.SAFE: frozenset({S.SUBMITTING, S.BROKER_REJECTED, S.CANCELED}),
    S.BORDERLINE: frozenset({S.AWAITING_APPROVAL}),
    S.UNSAFE: frozenset({S.REJECTED_BY_RISK}),
    S.AWAITING_APPROVAL: frozenset({S.APPROVED, S.REJECTED_BY_HUMAN, S.EXPIRED, S.REJECTED_AT_APPROVAL}),
    S.APPROVED: frozenset({S.SUBMITTING, S.BROKER_REJECTED, S.CANCELED}),
    S.SUBMITTING: frozenset({S.SUBMITTED, S.FILLED, S.PARTIALLY_FILLED, S.BROKER_REJECTED, S.CANCELED}),
    S.SUBMITTED: frozenset({S.FILLED, S.PARTIALLY_FILLED, S.BROKER_REJECTED, S.CANCELED}),
    S.PARTIALLY_FILLED: frozenset({S.FILLED, S.CANCELED}),
    S.FILLED: frozenset(),
    S.BROKER_REJECTED: frozenset(),
    S.CANCELED: frozenset(),
    S.REJECTED_BY_HUMAN: frozenset(),
    S.EXPIRED: frozenset(),
    S.REJECTED_AT_APPROVAL: frozenset(),
    S.REJECTED_BY_RISK: frozenset(),
}

_ACTOR = re.compile(r"^(agent|risk|broker|system|human:\d+|cli:[\w.\-]+|web:[\w.\-]+)$")


class IllegalTransition(ValueError):
    """A lifecycle move the table does not allow."""


def check_transition(current: ProposalStatus, target: ProposalStatus) -> None:
    """Raise ``IllegalTransition`` unless ``current -> target`` is in the table."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"{current} -> {target} is not a legal proposal transition")


def check_actor(actor: str) -> str:
    """Return the actor if it is well formed, else raise ``ValueError``."""
    if not _ACTOR.match(actor):
        raise ValueError(f"invalid actor {actor!r}")
    return actor
