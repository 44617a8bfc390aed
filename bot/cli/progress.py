"""A long run's progress on stderr (a backtest's, a data set's): days done of the total, elapsed time
and (``--policy llm``) the LLM calls.

Policy: stdout never receives a byte of it (``--json`` stays one document). On a terminal a bar is shown from
the data load on and erased when the run ends. Elsewhere (a pipe, a log file, CI) there is no bar: a plain
line at each tenth of the days, but only once the run has lasted ``QUIET_SECONDS``, so a short run, and the
one-line error a run can stop with, print nothing extra. The clock is injected (``time.perf_counter`` by
default) so the lines can be tested without waiting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Column

QUIET_SECONDS = 3.0
STEPS = 10


class DayProgress:
    """Tells the days replayed so far; ``start(total)`` once the days are known, ``day(row)`` after each."""

    def __init__(self, console: Console, extra: Callable[[], str] | None = None, *, label: str = "backtest",
                 clock: Callable[[], float] = time.perf_counter, quiet_seconds: float | None = None) -> None:
        self.console, self.extra, self.clock, self.label = console, extra, clock, label
        self.quiet_seconds = QUIET_SECONDS if quiet_seconds is None else quiet_seconds
        self.total: int | None = None
        self.done = 0
        self.began = self.replay_began = clock()
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> DayProgress:
        if self.console.is_terminal:  # the figures keep their width; the bar gets what is left of the line
            self.bar = Progress(BarColumn(bar_width=None, table_column=Column(ratio=1)),
                                TextColumn("{task.fields[text]}", table_column=Column(no_wrap=True)),
                                console=self.console, transient=True, redirect_stdout=False, expand=True)
            self.task = self.bar.add_task(self.label, total=None, text=self.text())
            self.bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()

    def start(self, total: int) -> None:
        """The number of days the run replays (every walk-forward fold together)."""
        self.total, self.replay_began = total, self.clock()
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, total=total, text=self.text())

    def day(self, _row: int) -> None:
        """One day replayed."""
        self.done += 1
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=self.done, text=self.text())
        elif self._at_step() and self.clock() - self.began >= self.quiet_seconds:
            self.console.print(self.line(), markup=False, highlight=False, soft_wrap=True)

    def _at_step(self) -> bool:
        """Has this day completed a tenth of the total?"""
        if not self.total:
            return False
        return any(self.done == math.ceil(self.total * k / STEPS) for k in range(1, STEPS + 1))

    def _extra(self) -> str:
        return self.extra() if self.extra is not None else ""

    def text(self) -> str:
        """The bar's figures: ``1293/2583 days, 0:06 elapsed, 0:06 left · llm calls: 3 made, 0 replayed``."""
        elapsed = self.clock() - self.began
        if self.total is None:
            return f"{self.label}: loading data, {_clock(elapsed)} elapsed"
        rate = (self.clock() - self.replay_began) / self.done if self.done else None
        left = f"{_clock((self.total - self.done) * rate)} left" if rate is not None else "? left"
        extra = self._extra()
        return f"{self.done}/{self.total} days, {_clock(elapsed)} elapsed, {left}" + (f" · {extra}" if extra else "")

    def line(self) -> str:
        """``backtest: 252/2516 days (10%), 3.1 s elapsed, llm calls: 3 made, 0 replayed``."""
        total = self.total or 0
        share = f" ({self.done / total:.0%})" if total else ""
        extra = self._extra()
        return (f"{self.label}: {self.done}/{total} days{share}, {self.clock() - self.began:.1f} s elapsed"
                + (f", {extra}" if extra else ""))


def _clock(seconds: float) -> str:
    """``0:06``, ``12:30``, ``1:02:03``."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
