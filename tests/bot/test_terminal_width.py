"""Tables and help fit an 80-column terminal: low-value columns give way, ids and amounts are never cut.

The CLI as a user runs it (``COLUMNS=80``, as a terminal of that width sets it), and the table renderer
on its own at widths where columns must go, or where even the kept ones cannot fit.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from bot.cli import render
from bot.cli.app import app
from bot.desk import formats
from bot.desk.results import ProposalLine

runner = CliRunner()
AS_OF = ("--as-of", "2026-11-20")
NARROW = {"COLUMNS": "80", "PAPERDESK_RISK__MIN_CONFIDENCE": "0.75"}  # some proposals await a human


def run(*args: str, **env: str) -> str:
    result = runner.invoke(app, list(args), env={**NARROW, **env})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def _fits(shown: str, width: int = 80) -> None:
    assert "…" not in shown, shown
    assert max(cell_len(line) for line in shown.splitlines()) <= width, shown


def _table_rows(shown: str) -> list[str]:
    return [line for line in shown.splitlines() if line.startswith("│")]


def test_cycle_pending_and_positions_at_80_columns_keep_ids_and_money_whole(isolated_env: Path) -> None:
    cycle = run("cycle", *AS_OF)
    waiting = json.loads(run("pending", *AS_OF, "--json"))
    held = json.loads(run("positions", *AS_OF, "--json"))
    assert waiting and held
    pending, positions = run("pending", *AS_OF), run("positions", *AS_OF)
    for shown in (cycle, pending, positions):
        _fits(shown)
    for p in waiting:
        price = formats.amount(Decimal(p["price"]))
        for shown in (cycle, pending):
            row = next(line for line in _table_rows(shown) if f"│ {p['id']} │" in line)  # the full id, in its cell
            assert p["symbol"] in row
            assert f" {price} " in shown.replace("\n", " ")  # the order's price, one word
        assert f"{p['id']}: LOW_CONFIDENCE" in pending
    for p in held:
        row = next(line for line in _table_rows(positions) if f"│ {p['symbol']} " in line)
        for money in (formats.amount(Decimal(p["market_value_base"])), formats.amount(Decimal(p["market_price"]), 4),
                      formats.signed(Decimal(p["unrealized_pnl_base"])), formats.quantity(Decimal(p["quantity"]))):
            assert f" {money} │" in row, (money, row)


def test_a_wide_terminal_shows_every_column(isolated_env: Path) -> None:
    shown = run("cycle", *AS_OF, COLUMNS="160")
    header = next(line for line in shown.splitlines() if "│ id" in line or "┃ id" in line)
    for column in ("symbol", "action", "weight now → target", "order", "verdict", "conf", "codes", "status"):
        assert column in header


def _proposal(**fields: object) -> ProposalLine:
    values: dict[str, object] = {
        "id": "p0702c0ffee", "symbol": "RMS.PA", "side": "buy", "quantity": Decimal(31), "price": Decimal("2204.67"),
        "currency": "EUR", "notional_base": Decimal("68344.77"), "weight_before": 0.0, "target_weight": 0.064,
        "confidence": 0.548, "level": "BORDERLINE", "codes": ["LOW_CONFIDENCE", "POSITION_WEIGHT_NEAR_MAX"],
        "hits": ["LOW_CONFIDENCE: confidence=0.548, min=0.55"], "status": "AWAITING_APPROVAL",
        "expires_at": datetime(2026, 11, 21, 9, tzinfo=UTC), "thesis": "trend"}
    values.update(fields)
    return ProposalLine.model_validate(values)


def _draw(renderable: object, width: int) -> str:
    console = Console(record=True, width=width, markup=False, highlight=False)
    console.print(renderable)
    return console.export_text()


def test_columns_give_way_in_rank_order_and_nothing_is_cut() -> None:
    table = render.proposals_table([_proposal(), _proposal(id="p0702beef00", status="filled 31 @ 2,204.6700")])
    wide, narrow = _draw(table, 200), _draw(table, 72)
    assert "codes" in wide and "conf" in wide and "weight" in wide
    assert "codes" not in narrow and "conf" not in narrow  # the lowest ranks went first
    _fits(narrow, 72)
    for shown in (wide, narrow):
        assert "p0702c0ffee" in shown and "p0702beef00" in shown and "2,204.67" in shown and "2,204.6700" in shown


def test_a_terminal_too_narrow_for_the_kept_columns_gets_a_line_per_row_not_a_cut_id() -> None:
    shown = _draw(render.proposals_table([_proposal()]), 30)
    _fits(shown, 30)
    assert "id p0702c0ffee" in shown and "2,204.67" in shown and "AWAITING_APPROVAL" in shown


def test_confidence_next_to_low_confidence_shows_the_digits_that_decide() -> None:
    console = Console(record=True, width=200, markup=False)
    render.pending(console, [_proposal()])
    shown = console.export_text()
    assert "confidence 0.548" in shown and "0.55 " not in shown.replace("min=0.55", "")


def test_backtest_help_at_80_columns_shows_its_options_whole() -> None:
    result = runner.invoke(app, ["backtest", "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    _fits(result.stdout)
    for option in ("--approve-borderline", "--walk-forward", "--breaker-days", "--json", "--start", "--out"):
        assert option in result.stdout


def test_flags_show_no_type_in_help() -> None:
    for args in (["--help"], ["cycle", "--help"], ["backtest", "--help"], ["db", "upgrade", "--help"]):
        result = runner.invoke(app, args, env={"COLUMNS": "120"})
        assert result.exit_code == 0 and "--help" in result.stdout
        assert "<bool>" not in result.stdout, args
    assert "<str>" in runner.invoke(app, ["cycle", "--help"], env={"COLUMNS": "120"}).stdout  # values keep theirs
