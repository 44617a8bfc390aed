"""Where a sleeved desk keeps its allocations and each sleeve's daily record.

Policy: the live desk stores both in its database (``bot.sleeves.sql_log``), a replay in memory
(``MemoryAllocationLog``); the sleeved policy reads and writes them through ``AllocationLog`` only,
so the allocator's inputs are the same in both. A day recorded again (a cycle re-run on the same
date) replaces that day's records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from bot.sleeves.bounds import Allocation


@dataclass(frozen=True)
class SleeveDay:
    """One sleeve on one decision day: its budget, what it held, and how its holdings did that day."""

    as_of: date
    sleeve: str
    budget: float  # share of desk equity in force that day
    base_weight: float
    weight: float  # market value of its holdings, share of desk equity
    day_return: float  # the day's P&L of its holdings over its budget's capital
    benchmark_return: float  # the equal-weight day return of its instruments
    contribution: float  # the day's P&L of its holdings over desk equity


@dataclass(frozen=True)
class StoredAllocation:
    """An allocation as it was decided."""

    as_of: date
    method: str
    allocation: Allocation


class AllocationLog(Protocol):
    """The sleeves' memory: allocations decided and each sleeve's days."""

    def latest(self) -> StoredAllocation | None:
        """The allocation in force, if one was decided."""
        ...

    def record_allocation(self, stored: StoredAllocation) -> None:
        """Keep one allocation."""
        ...

    def record_days(self, days: Sequence[SleeveDay]) -> None:
        """Keep one decision day of every sleeve (replacing that day if it was recorded)."""
        ...

    def returns(self, sleeve: str, limit: int) -> list[float]:
        """The sleeve's last ``limit`` day returns, oldest first."""
        ...

    def allocations(self) -> list[StoredAllocation]:
        """Every allocation kept, oldest first."""
        ...

    def days(self) -> list[SleeveDay]:
        """Every sleeve day kept, by date."""
        ...


@dataclass
class MemoryAllocationLog:
    """``AllocationLog`` in memory: a replay's."""

    _allocations: list[StoredAllocation] = field(default_factory=list)
    _days: list[SleeveDay] = field(default_factory=list)
    _returns: dict[str, list[float]] = field(default_factory=dict)

    def latest(self) -> StoredAllocation | None:
        return self._allocations[-1] if self._allocations else None

    def record_allocation(self, stored: StoredAllocation) -> None:
        self._allocations.append(stored)

    def record_days(self, days: Sequence[SleeveDay]) -> None:
        if days and self._days and self._days[-1].as_of == days[0].as_of:  # the same day again: replace it
            dropped = {d.sleeve for d in self._days if d.as_of == days[0].as_of}
            self._days = [d for d in self._days if d.as_of != days[0].as_of]
            for sleeve in dropped:
                self._returns[sleeve].pop()
        for day in days:
            self._days.append(day)
            self._returns.setdefault(day.sleeve, []).append(day.day_return)

    def returns(self, sleeve: str, limit: int) -> list[float]:
        return self._returns.get(sleeve, [])[-limit:] if limit > 0 else []

    def allocations(self) -> list[StoredAllocation]:
        return list(self._allocations)

    def days(self) -> list[SleeveDay]:
        return list(self._days)
