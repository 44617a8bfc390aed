"""Numba for the replay kernel: the one importer of numba, and where its compilations are cached.

Policy: ``jit`` compiles a function on its first call (``numba.njit``) and keeps its Python
signature for the type checker. ``cached`` also keeps the machine code on disk, under
``__pycache__/kernel-<hash>``, where the hash covers every source the kernel compiles in: numba
checks only the decorated function's own file before it reuses a cached compilation, and the
kernel's callees live in other modules (and read ``risk.batch``'s codes), so a change there must
compile afresh; directories of earlier sources are removed then. Where that directory cannot be
written, numba caches in its own places or not at all; the kernel then compiles on each
process's first call (about 17 s on a 2-core machine).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])
SOURCES = ("bot.backtest.kernel", "bot.backtest.kernel_day", "bot.backtest.kernel_rules", "bot.backtest.kernel_cvar",
           "bot.backtest.kernel_exact", "bot.backtest.kernel_jit", "risk.batch")


def jit(function: F) -> F:
    """``numba.njit(function)``: compiled on first call, typed as the function itself."""
    return cast(F, numba.njit(function))


def cached(function: F) -> F:
    """``jit`` with its compilations kept in the directory of the current kernel sources' hash (an entry
    point called from Python; the directory is hashed on its first call)."""
    compiled: list[Callable[..., Any]] = []

    @functools.wraps(function)
    def call(*args: Any) -> Any:
        if not compiled:
            directory = cache_directory()
            for stale in directory.parent.glob("kernel-*"):  # compiled from sources that changed since
                if stale != directory:
                    shutil.rmtree(stale, ignore_errors=True)
            config = cast(Any, numba.config)
            previous, config.CACHE_DIR = config.CACHE_DIR, str(directory)
            try:
                compiled.append(numba.njit(cache=True)(function))
            finally:
                config.CACHE_DIR = previous
        return compiled[0](*args)

    return cast(F, call)


def cache_directory() -> Path:
    """``__pycache__/kernel-<hash of SOURCES>`` beside this module."""
    digest = hashlib.sha256()
    for module in SOURCES:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"kernel source {module} not found")
        digest.update(Path(spec.origin).read_bytes())
    return Path(__file__).parent / "__pycache__" / f"kernel-{digest.hexdigest()[:16]}"
