"""A sweep's grid: a TOML file expanded to one ``RunSpec`` per backtest, each with its content key.

The grid (``paperdesk sweep GRID.toml``) names ``policies``, risk ``limits`` (``[[limits]]`` override
sets, or a ``[limits]`` table of ``key = [values…]`` whose product is taken), ``universes``,
``periods`` (``start``, ``end``, optional ``walk_forward`` folds) and ``data`` (one spec or a list);
optional ``symbols`` and ``approve_borderline`` apply to every run. Runs are the product
policies × limits × universes × data × periods, in that order. A run's key is the SHA-256 of its
canonical config JSON, the data's content hash (the CSV files' bytes, or the synthetic seed) and,
for the llm policy, the identity of its call cache (model, endpoint, cache mode).

Failure contract: an unknown key, policy or limit, a bad date or value, data without a content hash
(yfinance, alpaca) raise ``GridError`` with one line naming the culprit.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from risk.limits import RiskLimits

POLICIES = ("rules", "llm", "buy_and_hold", "equal_weight")
KEYS = {"policies", "limits", "universes", "periods", "data", "symbols", "approve_borderline"}
PERIOD_KEYS = {"start", "end", "walk_forward"}


class GridError(ValueError):
    """The grid file cannot be expanded; the message names the culprit."""


@dataclass(frozen=True)
class RunSpec:
    """One backtest of a sweep: everything a worker needs to run it (no database, no settings)."""

    policy: str
    limits: dict[str, Any]  # the complete RiskLimits, base settings with the grid's overrides
    overrides: dict[str, Any]
    universe: str
    data: str
    start: date
    end: date
    walk_forward: int = 1
    symbols: tuple[str, ...] = ()
    approve_borderline: bool = False
    seed: int = 42
    sim: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    llm: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        """The stored run's id: the key's first 16 hex digits (a fold adds ``-fN`` as in ``paperdesk backtest``)."""
        return f"sw{self.key[:16]}"

    def config(self) -> dict[str, Any]:
        """The canonical, JSON-ready configuration (everything but the key and the data's content)."""
        out = asdict(self)
        out.pop("key")
        out.update(start=str(self.start), end=str(self.end), symbols=list(self.symbols))
        return out

    def label(self) -> str:
        """A short human name: policy, overrides, universe, period."""
        extra = ",".join(f"{k}={v}" for k, v in self.overrides.items())
        return f"{self.policy}{f'[{extra}]' if extra else ''} {self.universe} {self.start}→{self.end}"


def load_grid(path: Path) -> dict[str, Any]:
    """The parsed TOML grid, or a one-line GridError."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GridError(f"grid file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GridError(f"cannot read grid file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise GridError(f"grid file {path} is not valid TOML: {exc}") from None


def expand(grid: dict[str, Any], base: RiskLimits, *, seed: int, sim: dict[str, Any],
           llm: dict[str, Any] | None = None) -> list[RunSpec]:
    """Every run of the grid, keyed; ``base`` are the configured limits the overrides change."""
    unknown = sorted(set(grid) - KEYS)
    if unknown:
        raise GridError(f"unknown grid key(s) {', '.join(unknown)}: use {', '.join(sorted(KEYS))}")
    policies = _strings(grid, "policies", ["rules"])
    bad = [p for p in policies if p not in POLICIES]
    if bad:
        raise GridError(f"unknown policy {bad[0]!r} in the grid: choose {', '.join(POLICIES)}")
    limit_sets = [_limits(base, o) for o in _overrides(grid.get("limits"))]
    symbols = tuple(s.upper() for s in _strings(grid, "symbols", [])) if grid.get("symbols") else ()
    borderline = grid.get("approve_borderline", False)
    if not isinstance(borderline, bool):
        raise GridError("approve_borderline must be true or false")
    hashes = {d: data_hash(d, seed) for d in _strings(grid, "data", ["synthetic"])}
    specs = []
    for policy, (limits, override), universe, data, period in itertools.product(
            policies, limit_sets, _strings(grid, "universes", ["seed"]), hashes, _periods(grid)):
        spec = RunSpec(policy=policy, limits=limits, overrides=override, universe=universe, data=data,
                       symbols=symbols, approve_borderline=borderline, seed=seed, sim=sim,
                       llm=(llm or {}) if policy == "llm" else {}, **period)
        specs.append(_keyed(spec, hashes[data] + universe_hash(universe)))
    return specs


def _keyed(spec: RunSpec, content: str) -> RunSpec:
    blob = json.dumps(spec.config(), sort_keys=True, separators=(",", ":"), default=str) + "\n" + content
    return replace(spec, key=hashlib.sha256(blob.encode()).hexdigest())


def _strings(grid: dict[str, Any], key: str, default: list[str]) -> list[str]:
    value = grid.get(key, default)
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise GridError(f"{key} must be a non-empty list of strings")
    return list(dict.fromkeys(value))


def _overrides(value: Any) -> list[dict[str, Any]]:
    """``[[limits]]``: the sets as given; ``[limits]``: the product of its lists; absent: the base limits."""
    if value is None:
        return [{}]
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return value or [{}]
    if isinstance(value, dict):
        keys = list(value)
        choices = [v if isinstance(v, list) else [v] for v in value.values()]
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*choices)]
    raise GridError("limits must be a [limits] table of lists or [[limits]] sets")


def _limits(base: RiskLimits, override: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    unknown = sorted(set(override) - set(RiskLimits.model_fields))
    if unknown:
        raise GridError(f"unknown limit {unknown[0]!r} in the grid: see the [risk] keys in the README")
    try:
        limits = RiskLimits(**{**base.model_dump(), **override})
    except ValidationError as exc:
        error = exc.errors()[0]
        raise GridError(f"invalid limit {'.'.join(map(str, error['loc']))}={error.get('input')!r}: "
                        f"{error['msg']}") from None
    return limits.model_dump(), dict(override)


def _periods(grid: dict[str, Any]) -> list[dict[str, Any]]:
    periods = grid.get("periods")
    if not isinstance(periods, list) or not periods or not all(isinstance(p, dict) for p in periods):
        raise GridError("periods must be [[periods]] tables with start and end")
    out = []
    for period in periods:
        unknown = sorted(set(period) - PERIOD_KEYS)
        if unknown or not {"start", "end"} <= set(period):
            raise GridError(f"a period needs start and end (and optional walk_forward), got {sorted(period)}")
        start, end = _day(period["start"]), _day(period["end"])
        folds = period.get("walk_forward", 1)
        if start >= end:
            raise GridError(f"empty period: start {start} must be before end {end}")
        if not isinstance(folds, int) or isinstance(folds, bool) or not 1 <= folds <= 50:
            raise GridError(f"walk_forward must be a whole number from 1 to 50, got {folds!r}")
        out.append({"start": start, "end": end, "walk_forward": folds})
    return out


def _day(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise GridError(f"invalid date {value!r} in periods: use YYYY-MM-DD") from None


def data_hash(spec: str, seed: int) -> str:
    """The content hash of a data source: the synthetic seed, or every CSV file's name and bytes."""
    kind, _, argument = spec.strip().partition(":")
    if kind.lower() == "synthetic" and not argument:
        return f"synthetic:{seed}"
    if kind.lower() == "csv" and argument:
        directory = Path(argument).expanduser()
        if not directory.is_dir():
            raise GridError(f"market data directory {directory} not found")
        digest = hashlib.sha256()
        for path in sorted(directory.glob("*.csv")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return f"csv:{digest.hexdigest()}"
    raise GridError(f"data {spec!r} has no content hash: a sweep runs on synthetic or csv:DIR data")


def universe_hash(spec: str) -> str:
    """A universe file's bytes (packaged universes are part of the code)."""
    path = Path(spec).expanduser()
    return f"|universe:{hashlib.sha256(path.read_bytes()).hexdigest()}" if path.is_file() else f"|universe:{spec}"
