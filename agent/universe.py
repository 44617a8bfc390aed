"""The tradable universe: which instruments the desk may trade, and its base currency.

A universe file is UTF-8 text. Lines starting with ``#`` are comments, except the required
``# base_currency: XXX`` line (before the header). The first other line is the CSV header; the
columns ``symbol,asset_class,sector,currency,exchange`` are required, ``name,fractional,
data_symbol,price_scale,tradable`` are optional. ``data_symbol`` names the data series when it
differs from the traded symbol and ``price_scale`` multiplies that series into the instrument's
price. The packaged ``seed`` universe (EUR base) models ``CAC.PA``, the Amundi CAC 40 UCITS ETF on
Euronext Paris, as the CAC 40 index (``^FCHI``) divided by 100. ``us`` holds its US ETFs (USD base).

Symbols and data symbols name files (``csv:DIR`` reads ``<data_symbol or symbol>.csv``) and go into
URLs, so both must match ``SYMBOL_PATTERN``: 1 to 20 of letters, digits and ``. - ^ = _``, starting
with a letter, a digit or ``^``, without ``..`` (``SPY``, ``MC.PA``, ``BRK-B``, ``^FCHI``,
``EURUSD=X``). A path separator, ``..`` or an absolute path is refused.

Failure contract: every problem raises ``UniverseError`` naming the file and the 1-based line.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from broker.models import AssetClass, Instrument

PACKAGED = {"seed": "seed_universe.csv", "us": "us_universe.csv"}
REQUIRED_COLUMNS = ("symbol", "asset_class", "sector", "currency", "exchange")
OPTIONAL_COLUMNS = ("name", "fractional", "data_symbol", "price_scale", "tradable")
_BASE_LINE = re.compile(r"^#\s*base_currency\s*:\s*(\S*)\s*$", re.IGNORECASE)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
SYMBOL_PATTERN = re.compile(r"^[A-Za-z0-9^][A-Za-z0-9.^=_-]{0,19}$")
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}


class UniverseError(ValueError):
    """A universe could not be loaded; the message names the file and the line."""


def is_symbol(value: str) -> bool:
    """True for a symbol or data symbol that is safe as a file name and in a URL (``SYMBOL_PATTERN``)."""
    return bool(SYMBOL_PATTERN.match(value)) and ".." not in value


@dataclass(frozen=True)
class Universe:
    """An ordered set of instruments priced in ``base_currency``."""

    base_currency: str
    instruments: tuple[Instrument, ...]
    name: str

    @cached_property
    def by_symbol(self) -> dict[str, Instrument]:
        """Instruments keyed by symbol (built once: shared, callers must not mutate it)."""
        return {instrument.symbol: instrument for instrument in self.instruments}

    @cached_property
    def tradable(self) -> frozenset[str]:
        """The symbols marked tradable (built once)."""
        return frozenset(instrument.symbol for instrument in self.instruments if instrument.tradable)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols in file order."""
        return tuple(instrument.symbol for instrument in self.instruments)


def load_universe(spec: str) -> Universe:
    """Load ``seed``, ``us`` or a universe file at the path ``spec``."""
    if spec in PACKAGED:
        text = resources.files("agent").joinpath("data", PACKAGED[spec]).read_text(encoding="utf-8")
        return parse_universe(text, source=spec, name=spec)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise UniverseError(f"universe file {path} not found; use 'seed', 'us' or the path of a universe file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UniverseError(f"{path}: cannot read universe file: {exc}") from exc
    return parse_universe(text, source=str(path), name=str(path))


def parse_universe(text: str, *, source: str, name: str) -> Universe:
    """Parse universe text; ``source`` is the file name used in error messages."""
    base: str | None = None
    header: list[str] | None = None
    instruments: list[Instrument] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            if header is None and (match := _BASE_LINE.match(stripped)):
                base = _currency(match.group(1), f"{source}:{lineno}", "base_currency")
            continue
        fields = [field.strip() for field in next(csv.reader([line]))]
        if header is None:
            header = _check_header(fields, source, lineno)
            continue
        instrument = _instrument(header, fields, f"{source}:{lineno}")
        if instrument.symbol in seen:
            raise UniverseError(
                f"{source}:{lineno}: duplicate symbol {instrument.symbol} (first on line {seen[instrument.symbol]})"
            )
        seen[instrument.symbol] = lineno
        instruments.append(instrument)
    if base is None:
        raise UniverseError(f"{source}:1: missing '# base_currency: XXX' line before the header")
    if not instruments:
        raise UniverseError(f"{source}: the universe has no instruments")
    return Universe(base_currency=base, instruments=tuple(instruments), name=name)


def _check_header(fields: list[str], source: str, lineno: int) -> list[str]:
    columns = [field.lower() for field in fields]
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise UniverseError(f"{source}:{lineno}: missing column(s) {', '.join(missing)} in the header")
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS and c not in OPTIONAL_COLUMNS]
    if unknown:
        raise UniverseError(f"{source}:{lineno}: unknown column(s) {', '.join(unknown)} in the header")
    if len(set(columns)) != len(columns):
        raise UniverseError(f"{source}:{lineno}: a column appears twice in the header")
    return columns


def _instrument(header: list[str], fields: list[str], where: str) -> Instrument:
    if len(fields) != len(header):
        raise UniverseError(f"{where}: expected {len(header)} fields, found {len(fields)}")
    row = dict(zip(header, fields, strict=True))
    for column in REQUIRED_COLUMNS:
        if not row[column]:
            raise UniverseError(f"{where}: empty {column}")
    for column in ("symbol", "data_symbol"):
        if row.get(column) and not is_symbol(row[column]):
            raise UniverseError(f"{where}: bad {column} {row[column]!r} (1 to 20 letters, digits or . - ^ = _, "
                                "no path: e.g. SPY, MC.PA, BRK-B, ^FCHI, EURUSD=X)")
    try:
        asset_class = AssetClass(row["asset_class"].lower())
    except ValueError:
        choices = ", ".join(member.value for member in AssetClass)
        raise UniverseError(f"{where}: unknown asset class {row['asset_class']!r} (one of {choices})") from None
    try:
        return Instrument(
            symbol=row["symbol"],
            name=row.get("name", ""),
            asset_class=asset_class,
            sector=row["sector"],
            currency=_currency(row["currency"], where, "currency"),
            exchange=row["exchange"],
            fractional=_flag(row.get("fractional", ""), where, "fractional", default=False),
            tradable=_flag(row.get("tradable", ""), where, "tradable", default=True),
            data_symbol=row.get("data_symbol") or None,
            price_scale=_scale(row.get("price_scale", ""), where),
        )
    except ValidationError as exc:
        raise UniverseError(f"{where}: invalid instrument: {exc.errors()[0]['msg']}") from None


def _currency(value: str, where: str, column: str) -> str:
    if not _CURRENCY.match(value):
        raise UniverseError(f"{where}: bad {column} {value!r} (expected an ISO code like EUR or USD)")
    return value


def _flag(value: str, where: str, column: str, *, default: bool) -> bool:
    lowered = value.lower()
    if not lowered:
        return default
    if lowered in _TRUE or lowered in _FALSE:
        return lowered in _TRUE
    raise UniverseError(f"{where}: bad {column} {value!r} (expected true or false)")


def _scale(value: str, where: str) -> Decimal:
    if not value:
        return Decimal(1)
    try:
        scale = Decimal(value)
    except InvalidOperation:
        scale = Decimal(0)
    if not scale.is_finite() or scale <= 0:
        raise UniverseError(f"{where}: bad price_scale {value!r} (expected a positive number)")
    return scale


_SYNTHETIC_CLASSES = (
    (AssetClass.US_EQUITY, "USD", "ARCA", ("us_large_cap", "us_large_cap_growth", "us_value")),
    (AssetClass.INTL_EQUITY, "USD", "ARCA", ("eurozone_large_cap", "intl_small_cap", "emerging")),
    (AssetClass.SMALL_CAP, "USD", "ARCA", ("us_small_cap",)),
    (AssetClass.BOND, "USD", "NASDAQ", ("us_treasuries", "corporate_bonds")),
    (AssetClass.COMMODITY, "USD", "ARCA", ("precious_metals", "energy", "agriculture", "industrial_metals")),
    (AssetClass.EU_EQUITY, "EUR", "XPAR", ("industrials", "financials", "health_care", "energy", "materials")),
)
_SYNTHETIC_ODDS = (0.15, 0.1, 0.1, 0.05, 0.1, 0.5)


def synthetic_universe(n: int, seed: int = 7) -> Universe:
    """``n`` fake instruments ``SYN001``… mixing EUR/USD and asset classes (EUR base), for benchmarks."""
    if n < 1:
        raise UniverseError(f"synthetic universe: n must be at least 1, got {n}")
    import numpy as np  # benchmarks only: loading a universe needs no numpy

    rng = np.random.default_rng(seed)
    picks = rng.choice(len(_SYNTHETIC_CLASSES), size=n, p=_SYNTHETIC_ODDS)
    width = max(3, len(str(n)))
    instruments = []
    for index, pick in enumerate(picks, start=1):
        asset_class, currency, exchange, sectors = _SYNTHETIC_CLASSES[int(pick)]
        instruments.append(
            Instrument(
                symbol=f"SYN{index:0{width}d}",
                name=f"Synthetic instrument {index}",
                asset_class=asset_class,
                sector=sectors[int(rng.integers(len(sectors)))],
                currency=currency,
                exchange=exchange,
                fractional=currency == "USD",
            )
        )
    return Universe(base_currency="EUR", instruments=tuple(instruments), name=f"synthetic-{n}")
