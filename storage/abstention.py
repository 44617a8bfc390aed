"""Store a cycle that ended without a decision, and its alert, in one transaction.

Policy: an abstention is a recorded outcome (status ``abstained``), not a crash; unlike a decided
cycle it does not supersede approvals still pending from earlier cycles.

Failure contract: database errors propagate and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlmodel import Session

from storage.tables import AlertRow, CycleRow


def record_abstention(session: Callable[[], AbstractContextManager[Session]], cycle: CycleRow,
                      alert: AlertRow) -> None:
    """Store the abstained cycle and its alert atomically."""
    with session() as s:
        s.add(cycle)
        s.flush()
        s.add(alert)
