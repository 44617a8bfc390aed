"""Daily prices from a directory of CSV files, one per series (``csv:DIR``).

Each instrument is read from ``<data_symbol or symbol>.csv`` with the header
``date,open,high,low,close,adj_close,volume`` (names are case-insensitive; only ``date`` and
``close`` are required). Blank lines are ignored; every other line has as many fields as the
header (``2016-03-10,1,2`` under a seven-column header is a truncated line, an error: its close is
not "unknown", it was cut off). Dates are ISO ``YYYY-MM-DD``, strictly ascending. An empty field
means "not available". The price of a row is ``adj_close`` when that column exists and the field
is non-empty, else ``close``; it is multiplied by the instrument's ``price_scale``. A row without
any price is skipped. ``open``, when the file has it, is scaled the same way and adjusted by
``adj_close / close`` on rows that have both, so opens and prices share one scale (the backtest
fills at the next open); ``low`` likewise (the backtest's stop-losses trigger on it). Volumes are
shares, kept as given (a zero means the source did not know it; indicators treat it as unknown).

Exchanges are outer-joined on dates and prices are not forward-filled (NaN on a market's
holidays). When an instrument's currency differs from the base, FX comes from ``EURUSD=X.csv``
(USD per 1 EUR; other pairs ``<CUR><BASE>=X.csv``), forward-filled without limit over the price
dates; its last real date is in ``history.fx[cur].attrs["last_observed"]``. Parsed files are
cached per (path, size, mtime), so repeated calls (backtests) do not re-read them.

Failure contract: ``MarketDataError`` naming the symbol and the file: a series name that is not a
plain symbol (a path separator, ``..``, an absolute path: the file must be inside DIR); a missing
file; a corrupt file (missing ``close`` column, a line with fewer fields than the header,
unparseable date or number, a non-finite number such as ``inf`` or ``1e400``, non-positive price,
negative volume, dates not ascending or duplicated) with the 1-based line of the first bad row;
symbols with no price on or before ``end`` (``NoPriceBeforeEnd``, naming them all).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from agent.market.assemble import (
    data_symbol,
    finish_history,
    foreign_currencies,
    fx_ticker,
    invert_if,
    resolve_base,
)
from agent.market.base import MarketDataError, PriceHistory
from agent.universe import is_symbol
from broker.models import Instrument

PRICE_COLUMNS = ("open", "high", "low", "close", "adj_close")
_FileKey = tuple[int, int]


class CsvMarketData:
    """Prices from ``<DIR>/<SYMBOL>.csv`` files; ``synthetic`` is False."""

    synthetic = False

    def __init__(self, directory: Path, *, base_currency: str | None = None) -> None:
        self.directory = Path(directory)
        self.name = f"csv:{self.directory}"
        self.base_currency = base_currency
        self._parsed: dict[Path, tuple[_FileKey, pd.DataFrame]] = {}

    def history(self, instruments: Sequence[Instrument], end: date, lookback_days: int) -> PriceHistory:
        """At most ``lookback_days`` rows (union of all files' dates) ending on or before ``end``."""
        base = resolve_base(self.base_currency, instruments)
        files = {i.symbol: (self._read(data_symbol(i), i.symbol), float(i.price_scale)) for i in instruments}
        close, volume, opens, lows = _wide(files)
        fx = {}
        for currency in foreign_currencies(instruments, base):
            ticker, invert = fx_ticker(currency, base)
            frame = self._read(ticker, f"FX {currency}->{base}")
            fx[currency] = invert_if(frame["price"], invert).rename(currency)
        return finish_history(
            close, volume, fx, instruments=instruments, base_currency=base, source=self.name, synthetic=False,
            end=end, lookback_days=lookback_days, opens=opens, lows=lows,
        )

    def _read(self, series: str, label: str) -> pd.DataFrame:
        if not is_symbol(series):
            raise MarketDataError(f"no data for {label}: {series!r} is not a symbol; files are read only from "
                                  f"{self.directory}")
        path = self.directory / f"{series}.csv"
        try:
            stat = path.stat()
        except OSError:
            raise MarketDataError(f"no data for {label}: file {path} not found") from None
        key = (stat.st_size, stat.st_mtime_ns)
        cached = self._parsed.get(path)
        if cached is None or cached[0] != key:
            cached = (key, read_price_file(path, label))
            self._parsed[path] = cached
        return cached[1]


_FIELDS = ("price", "volume", "open", "low")


def _wide(files: dict[str, tuple[pd.DataFrame, float]]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None,
                                                                pd.DataFrame | None]:
    """Close, volume, open and low frames (symbols × the union of the files' dates) of parsed files and
    their price scales; open and low are None when no file has one.

    Filled in place on one sorted date axis: a frame built from a dict of 500 series aligned them
    again for each of the four, and scaling each series was a pandas operation apiece.
    """
    stamps = [frame.index.to_numpy() for frame, _ in files.values() if len(frame)]
    days = np.unique(np.concatenate(stamps)) if stamps else np.array([], dtype="datetime64[us]")
    # Column-major, so that each file fills contiguous memory.
    panels = {name: np.full((len(days), len(files)), np.nan, order="F") for name in _FIELDS}
    for column, (frame, scale) in enumerate(files.values()):
        rows = np.searchsorted(days, frame.index.to_numpy())
        table = frame.to_numpy(dtype=float)
        for name, panel in panels.items():
            values = table[:, frame.columns.get_loc(name)]
            panel[rows, column] = values if name == "volume" else values * scale
    index, symbols = pd.DatetimeIndex(days), list(files)
    close, volume, opens, lows = (pd.DataFrame(panel, index=index, columns=symbols) for panel in panels.values())
    known = [None if np.isnan(frame.to_numpy()).all() else frame for frame in (opens, lows)]
    return close, volume, known[0], known[1]


def read_price_file(path: Path, label: str) -> pd.DataFrame:
    """Parse one price file into ``price`` and ``volume`` columns on a ``DatetimeIndex``."""
    try:
        content = path.read_text(encoding="utf-8-sig")
        # Numbers are parsed by pandas' C reader (a column keeps its text only where some field is
        # not a number: that column alone is converted below, and its first bad line reported).
        raw = pd.read_csv(io.StringIO(content), keep_default_na=False, na_values=[""], skip_blank_lines=False,
                          skipinitialspace=True)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise MarketDataError(f"{label}: cannot read {path}: {exc}") from None
    raw.columns = [str(c).strip().lower().replace(" ", "_") for c in raw.columns]
    missing = [column for column in ("date", "close") if column not in raw.columns]
    if missing:
        raise MarketDataError(f"{label}: {path} line 1: missing column(s) {', '.join(missing)}")
    # The checks and the result work on numpy arrays: a pandas operation per check cost more than
    # the C reader's parse of the whole file.
    absent = {c: pd.isna(raw[c].to_numpy()) for c in raw.columns}
    rows = ~np.logical_and.reduce(list(absent.values()))  # blank lines are all-NaN rows
    if not rows.any():
        return pd.DataFrame({"price": [], "open": [], "low": [], "volume": []}, index=pd.DatetimeIndex([]),
                            dtype=float)
    kept = Kept(raw if rows.all() else raw.loc[rows], np.flatnonzero(rows), content, path, label)
    parsed = _parse(kept, absent[raw.columns[-1]][rows])
    price = parsed["close"]
    unknown = np.full(len(price), np.nan)
    opening, low = parsed.get("open", unknown), parsed.get("low", unknown)
    if "adj_close" in parsed:
        adjusted = parsed["adj_close"]
        factor = adjusted / price
        factor[np.isnan(factor)] = 1.0
        opening, low = opening * factor, low * factor
        price = np.where(np.isnan(adjusted), price, adjusted)
    # One float block from the start (a dict of columns is consolidated into one at a cost); most files
    # have every row priced, and keep them all without a copy.
    table = np.column_stack([price, opening, low, parsed.get("volume", unknown)])
    dates = parsed["date"]
    priced = ~np.isnan(price)
    if not priced.all():
        table, dates = table[priced], dates[priced]
    return pd.DataFrame(table, index=pd.DatetimeIndex(dates), columns=["price", "open", "low", "volume"])


class Kept(NamedTuple):
    """The non-blank rows of a file (``raw``), their 0-based data-row numbers, and the file."""

    raw: pd.DataFrame
    numbers: np.ndarray
    content: str
    path: Path
    label: str


class _Check(NamedTuple):
    mask: np.ndarray
    message: str
    column: str | None = None


def _field_counts(content: str) -> np.ndarray:
    """The number of fields of each data row, numbered as ``read_csv`` numbers them (blank lines included)."""
    if '"' in content:  # quoted fields may hold commas: let the csv module split them
        counts = [len(fields) for fields in csv.reader(io.StringIO(content, newline=None))]
    else:  # without quotes a line has one field more than it has commas (a blank line has none)
        counts = [line.count(",") + 1 if line else 0 for line in content.splitlines()]
    return np.array(counts[1:], dtype=int)


def _numbers(column: pd.Series) -> np.ndarray:
    """The column as floats: as parsed when every field was a number, else converted (NaN where one is not)."""
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=float)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


def _truncated(kept: Kept, last_absent: np.ndarray) -> np.ndarray:
    """Rows with fewer fields than the header; only a row whose last field is empty can be one."""
    if not last_absent.any():
        return last_absent
    counts = _field_counts(kept.content)
    width = len(kept.raw.columns)
    numbers = kept.numbers
    cut = np.array([n < len(counts) and counts[n] < width for n in numbers], dtype=bool)
    truncated: np.ndarray = cut & last_absent
    return truncated


def _parse(kept: Kept, last_absent: np.ndarray) -> dict[str, np.ndarray]:
    """Convert the columns, raising on the first bad line."""
    raw = kept.raw
    width = len(raw.columns)
    dates = pd.to_datetime(raw["date"].astype(object), format="%Y-%m-%d", errors="coerce").to_numpy()
    unparsed = np.isnat(dates)
    later = np.ones(len(dates), dtype=bool)
    later[1:] = dates[1:] > dates[:-1]  # NaT compares False either side
    checks = [
        _Check(_truncated(kept, last_absent),
               f"truncated line: fewer than the header's {width} fields ({', '.join(raw.columns)})"),
        _Check(unparsed, "unparseable date {value} (expected YYYY-MM-DD)", "date"),
        _Check(~unparsed & ~later, "date {value} is not after the previous row's date", "date"),
    ]
    parsed: dict[str, np.ndarray] = {"date": dates}
    for column in (*PRICE_COLUMNS, "volume"):
        if column not in raw:
            continue
        values = _numbers(raw[column])
        given = ~pd.isna(raw[column].to_numpy())
        with np.errstate(invalid="ignore"):
            checks.append(_Check(np.isnan(values) & given, f"unparseable number {{value}} in {column}", column))
            checks.append(_Check(np.isinf(values), f"non-finite {column} {{value}}", column))
            if column == "volume":
                checks.append(_Check(values < 0, "negative volume {value}", column))
            else:
                checks.append(_Check(values <= 0, f"non-positive {column} {{value}}", column))
        parsed[column] = values
    _raise_first(checks, kept)
    return parsed


def _raise_first(checks: list[_Check], kept: Kept) -> None:
    """Raise for the earliest row flagged by any check, quoting the field as the file has it."""
    flagged = [(int(hits[0]), check) for check in checks if len(hits := check.mask.nonzero()[0])]
    if not flagged:
        return
    position, check = min(flagged, key=lambda item: item[0])
    line = int(kept.numbers[position]) + 2  # header is line 1; blank lines keep their numbers
    value = repr(_field(kept.content, line, list(kept.raw.columns).index(check.column))) if check.column else ""
    raise MarketDataError(f"{kept.label}: {kept.path} line {line}: {check.message.format(value=value)}")


def _field(content: str, line: int, index: int) -> str:
    """Field ``index`` of 1-based ``line`` of the file, as written (leading spaces skipped, as the reader does)."""
    fields = next(csv.reader([content.splitlines()[line - 1]], skipinitialspace=True), [])
    return fields[index] if index < len(fields) else ""
