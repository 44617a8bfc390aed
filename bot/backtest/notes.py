"""What a backtest summary must tell its reader besides the figures, one line each.

- synthetic prices (``SYNTHETIC DATA — not real prices``), first, as everywhere they are shown;
- instruments left out: by ``--skip-missing`` (with the error of their data) and for having no
  price in the period; benchmarks that could not be computed, with the reason;
- how a baseline policy sized itself inside the risk limits (``agent.policies.baselines``);
- a warning when most proposals were not executed (BORDERLINE ones wait for a human a backtest
  does not have; UNSAFE ones never run), with the most frequent rule codes and the fix.

Pure functions over the run's figures; the CLI prints the lines above the tables and writes them
to ``summary.txt`` and ``metrics.json``. Never raises on empty counts.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from agent.policies.baselines import NAMES as BASELINES
from agent.policies.baselines import sizing_note
from bot.backtest.run import DataReport

SYNTHETIC = "SYNTHETIC DATA — not real prices"
TOP_CODES = 3
TOP_LISTED = 5  # in each fold's lines
WIDTH = 80


def data_notes(data: DataReport) -> list[str]:
    """Synthetic data, and what the data left out of the run."""
    notes = [f"{SYNTHETIC}: the seeded synthetic market (--data synthetic)"] if data.synthetic else []
    if data.skipped:
        notes.append(f"left out by --skip-missing, {len(data.skipped)} instrument(s): "
                     + "; ".join(f"{symbol}: {why}" for symbol, why in data.skipped.items()))
    if data.unpriced:
        notes.append(f"no price in the period, left out: {', '.join(data.unpriced)}")
    notes += [f"benchmark unavailable: {name}: {why}" for name, why in data.benchmarks_unavailable.items()]
    return notes


def policy_note(policy: str, limits: Mapping[str, float]) -> list[str]:
    """How a baseline sized itself; nothing for the other policies."""
    return [sizing_note(policy, limits)] if policy in BASELINES else []


def execution_warning(counts: Mapping[str, int], codes: Mapping[str, int], approve_borderline: bool) -> str | None:
    """A warning when more than half of the proposals were not executed, saying why and what to do."""
    borderline, unsafe = counts.get("proposals_borderline", 0), counts.get("proposals_unsafe", 0)
    total = counts.get("proposals_safe", 0) + borderline + unsafe
    waiting = 0 if approve_borderline else borderline
    if total == 0 or 2 * (waiting + unsafe) <= total:
        return None
    frequent = most_frequent(codes, TOP_CODES)
    why = [f"{waiting} BORDERLINE, which nobody approves in a backtest"] if waiting else []
    why += [f"{unsafe} UNSAFE"] if unsafe else []
    fix = "--approve-borderline executes BORDERLINE ones (at the engine's clamped size), or " if waiting else ""
    return (f"WARNING: most proposals were not executed: {waiting + unsafe} of {total} ({'; '.join(why)}). "
            f"Most frequent rules: {frequent or 'none'}. Fix: {fix}loosen the limits in [risk] "
            "(PAPERDESK_RISK__<KEY>).")


def most_frequent(codes: Mapping[str, int], top: int) -> str:
    """The ``top`` most frequent rule codes with their counts, most frequent first (ties by name)."""
    return ", ".join(f"{code} {n}" for code, n in sorted(codes.items(), key=lambda c: (-c[1], c[0]))[:top])


def codes_lines(codes: Mapping[str, int]) -> list[str]:
    """Which risk rules held a fold's proposals back (BORDERLINE or UNSAFE), wrapped at ``WIDTH``
    columns between codes; none when every proposal was SAFE."""
    if not codes:
        return []
    return textwrap.wrap(f"risk rules hit (BORDERLINE or UNSAFE): {most_frequent(codes, TOP_LISTED)}", WIDTH,
                         subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)


def summed(folds: Sequence[Mapping[str, Any]], key: str) -> dict[str, int]:
    """The ``key`` counters (``counts`` or ``risk_codes``) of fold documents, added up."""
    total: dict[str, int] = {}
    for fold in folds:
        for name, n in fold[key].items():
            total[name] = total.get(name, 0) + n
    return total
