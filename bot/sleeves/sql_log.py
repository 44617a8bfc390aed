"""The live desk's ``AllocationLog``: allocations and sleeve days in the database.

Policy: a thin translation between the sleeves' values (``bot.sleeves``) and their rows
(``storage.sleeve_store``); the allocation's inputs and reasons are stored whole, so what the
allocator saw and why it moved each budget can be shown later.

Failure contract: database errors propagate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime

from bot.sleeves.bounds import Allocation, SleeveInputs
from bot.sleeves.log import SleeveDay, StoredAllocation
from storage.sleeve_store import SleeveStore
from storage.tables_sleeves import SleeveAllocationRow, SleeveDayRow


class SqlAllocationLog:
    """``AllocationLog`` on the desk's database."""

    def __init__(self, store: SleeveStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def latest(self) -> StoredAllocation | None:
        row = self.store.latest_allocation()
        return None if row is None else stored_allocation(row)

    def record_allocation(self, stored: StoredAllocation) -> None:
        a = stored.allocation
        self.store.add_allocation(SleeveAllocationRow(
            created_at=self.clock(), as_of=stored.as_of, method=stored.method, regime=a.regime, cash=a.cash,
            budgets=dict(a.budgets), inputs={name: asdict(i) for name, i in a.inputs.items()}, reasons=dict(a.reasons)))

    def record_days(self, days: Sequence[SleeveDay]) -> None:
        self.store.record_days([SleeveDayRow(**asdict(day)) for day in days])

    def returns(self, sleeve: str, limit: int) -> list[float]:
        return self.store.day_returns(sleeve, limit) if limit > 0 else []

    def allocations(self) -> list[StoredAllocation]:
        return [stored_allocation(row) for row in self.store.allocations()]

    def days(self) -> list[SleeveDay]:
        return [SleeveDay(as_of=r.as_of, sleeve=r.sleeve, budget=r.budget, base_weight=r.base_weight, weight=r.weight,
                          day_return=r.day_return, benchmark_return=r.benchmark_return, contribution=r.contribution)
                for r in self.store.days()]


def stored_allocation(row: SleeveAllocationRow) -> StoredAllocation:
    """An allocation row as the sleeves' value."""
    inputs = {name: SleeveInputs(**values) for name, values in (row.inputs or {}).items()}
    allocation = Allocation(budgets=dict(row.budgets or {}), cash=row.cash, regime=row.regime, inputs=inputs,
                            reasons=dict(row.reasons or {}))
    return StoredAllocation(as_of=row.as_of, method=row.method, allocation=allocation)
