"""The command line's one-line errors: ``raise fail("...")`` prints ``error: ...`` on stderr and exits 1.

Every command reports an expected failure this way (bad input, settings, data, a database it cannot
use). It loads nothing but typer, so a command's module can use it before its work is imported.
"""

from __future__ import annotations

import sys

import typer


def fail(message: str) -> typer.Exit:
    """Print ``error: <message>`` on stderr and return the exit (code 1) for the caller to raise."""
    print(f"error: {message}", file=sys.stderr)  # noqa: T201
    return typer.Exit(1)
