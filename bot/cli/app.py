"""The ``paperdesk`` command line: parse, call the desk, render. Errors are one line and exit 1.

Start-up policy: importing this module loads typer and the standard library only. Each command
imports what it uses in its body, and the backtest, report, explain, compare, sweep and dataset
commands are registered lazily (``bot.cli.lazy``): their modules hold options and cheap checks, their
work is in ``*_run`` modules loaded once the options are valid. So ``paperdesk --help`` and each of
their ``--help`` load no pandas, SQLAlchemy or backtest engine, and ``paperdesk status`` loads no
Alembic (unless a migration is due), matplotlib, numba or SDK, nor pandas and numpy while the latest
cycle's stored valuation holds (``bot.status_wiring``).
"""

from __future__ import annotations

import gc
import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

import typer

from bot.cli.errors import fail
from bot.cli.lazy import LazyGroup
from bot.cli.llm import llm_app
from bot.cli.memory import memory_app
from bot.cli.web import web_app

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.console import Console

    from bot.desk.results import StatusView
    from bot.preflight import Dating
    from bot.settings import Settings
    from bot.wiring import App

T = TypeVar("T")


class CommandGroup(LazyGroup):
    """paperdesk's top-level group: these commands' modules load only when they run."""

    lazy: ClassVar[dict[str, str]] = {"backtest": "bot.cli.backtest:backtest", "report": "bot.cli.backtest:report",
                                      "explain": "bot.cli.explain:explain", "compare": "bot.cli.compare:compare",
                                      "sweep": "bot.cli.sweep:sweep", "dataset": "bot.cli.dataset:dataset"}


app = typer.Typer(help="paperdesk: a human-in-the-loop paper-trading desk.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False, cls=CommandGroup)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(llm_app, name="llm")
app.add_typer(memory_app, name="memory")
app.add_typer(web_app, name="web")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="Pin the desk's date (YYYY-MM-DD), e.g. to replay CSV data.")]
# Events whose outcome a command prints as its own line (halt, resume, a refused approval, an abstained cycle):
# logged at INFO, not WARNING, so the default log level does not repeat the line on stderr.
SHOWN_EVENTS = ("trading_state_changed", "approval_refused", "cycle_abstained")


def out() -> Console:
    """The console: reads no markup from data; as wide as the terminal now (``COLUMNS``), 150 when piped."""
    from bot.cli import render

    return render.make_console()


def expected_errors() -> tuple[type[Exception], ...]:
    """The failures a command reports as one line (imported on use: their modules are not light)."""
    from agent.market.base import MarketDataError
    from agent.universe import UniverseError
    from bot.desk.results import DeskError
    from bot.settings import SettingsError
    from broker.errors import BrokerError
    from storage.engine import DatabaseUrlError
    from storage.migrate import SchemaOutOfDate

    return DeskError, SettingsError, MarketDataError, UniverseError, SchemaOutOfDate, DatabaseUrlError, BrokerError


@contextmanager
def _app(as_of: str | None = None, policy: str | None = None, dating: Dating = "act",
         shown: tuple[str, ...] = SHOWN_EVENTS) -> Iterator[App]:
    """Build the app (on the date ``dating`` picks, ``bot.wiring``); every expected failure is one line, exit 1.

    ``shown``: the events this command prints as its own line (SHOWN_EVENTS), logged at INFO only.
    """
    from bot.wiring import build_app

    with _one_line_failures():
        settings = _settings(shown)
        built = build_app(settings, as_of=_parse_date(as_of) if as_of else None, policy_name=policy, dating=dating)
    expected = expected_errors()
    try:
        for notice in built.notices:
            print(f"note: {notice}", file=sys.stderr)  # noqa: T201
        yield built
    except expected as exc:
        raise fail(str(exc)) from None
    finally:
        built.close()


@contextmanager
def _one_line_failures() -> Iterator[None]:
    """Every expected failure of building a command's desk, a database error included: one line, exit 1."""
    from storage.engine import DatabaseError

    try:
        yield
    except expected_errors() as exc:
        raise fail(str(exc)) from None
    except DatabaseError as exc:
        raise fail(f"database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None


def _settings(shown: tuple[str, ...]) -> Settings:
    """The settings, with logging configured from them (``shown``: as ``_app``'s)."""
    from bot.logging import configure_logging, settings_secrets
    from bot.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format, settings_secrets(settings), shown)
    return settings


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"invalid date {value!r}: use YYYY-MM-DD") from None


def _run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio

    return asyncio.run(coro)


def _actor() -> str:
    user = re.sub(r"[^\w.\-]", "_", getpass.getuser()) or "unknown"
    return f"cli:{user}"


def _secrets(built: App) -> list[str]:
    from bot.logging import settings_secrets

    return settings_secrets(built.settings)


def _emit(as_json: bool, value: BaseModel | list[Any], draw: Callable[[], None], secrets: list[str] | None = None,
          ) -> None:
    """JSON (redacted: the configured secrets and key-shaped text) or the rendered tables."""
    from pydantic import BaseModel, TypeAdapter

    from bot.logging import Redactor

    if as_json:
        data = value.model_dump(mode="json") if isinstance(value, BaseModel) else TypeAdapter(Any).dump_python(
            value, mode="json")
        print(json.dumps(Redactor(secrets or ()).value(data), indent=2, default=str))  # noqa: T201
    else:
        draw()


@app.command()
def cycle(policy: Annotated[str | None, typer.Option(help="rules or llm (default: PAPERDESK_POLICY)")] = None,
          as_of: AsOf = None, as_json: JsonFlag = False) -> None:
    """Run one decision cycle now and print its summary."""
    from bot.cli import render
    from bot.desk.cycle import run_cycle

    if policy not in {None, "rules", "llm"}:
        raise fail(f"unknown policy {policy!r}: choose rules or llm")
    with _app(as_of, policy, "cycle") as built:
        report = _run(run_cycle(built.desk))
        _emit(as_json, report, lambda: render.cycle(out(), report), _secrets(built))


@app.command()
def status(as_of: AsOf = None, as_json: JsonFlag = False) -> None:
    """Equity, P&L, drawdown, trading state and pending approvals, on the portfolio's date (its latest cycle)."""
    from bot.cli import render

    stored = None if as_of else _stored_status()
    if stored is not None:
        view, secrets = stored
        _emit(as_json, view, lambda: render.status(out(), view), secrets)
        return
    from bot.desk import views

    with _app(as_of, dating="view") as built:
        view = _run(views.status(built.desk))
        _emit(as_json, view, lambda: render.status(out(), view), _secrets(built))


def _stored_status() -> tuple[StatusView, list[str]] | None:
    """Status from the latest cycle's stored valuation, and the secrets to redact (``bot.status_wiring``);
    None when the whole desk must value the portfolio. Expected failures are one line, exit 1."""
    from bot.logging import settings_secrets
    from bot.status_wiring import status_from_store

    with _one_line_failures():
        settings = _settings(SHOWN_EVENTS)
        view = status_from_store(settings)
    return None if view is None else (view, settings_secrets(settings))


@app.command()
def positions(as_of: AsOf = None, as_json: JsonFlag = False) -> None:
    """Open positions valued on the portfolio's date (its latest cycle)."""
    from bot.cli import render
    from bot.desk import views

    with _app(as_of, dating="view") as built:
        lines = _run(views.positions(built.desk))
        _emit(as_json, lines, lambda: render.positions(out(), lines, built.desk.universe.base_currency))


@app.command()
def pnl(as_of: AsOf = None, as_json: JsonFlag = False) -> None:
    """Profit and loss since the first cycle, to the portfolio's date (its latest cycle)."""
    from bot.cli import render
    from bot.desk import views

    with _app(as_of, dating="view") as built:
        view = _run(views.pnl(built.desk))
        _emit(as_json, view, lambda: render.pnl(out(), view))


@app.command()
def sleeves(as_of: AsOf = None, as_json: JsonFlag = False) -> None:
    """Each sleeve's budget, holdings and figures, and why the master allocator last moved it."""
    from bot.cli import render
    from bot.sleeves.views import sleeves_view

    with _app(as_of, dating="view") as built:
        view = _run(sleeves_view(built.desk))
        _emit(as_json, view, lambda: render.sleeves(out(), view))


@app.command()
def pending(as_of: AsOf = None, as_json: JsonFlag = False) -> None:
    """Proposals awaiting a human decision."""
    from bot.cli import render
    from bot.desk import views

    with _app(as_of) as built:
        lines = views.pending(built.desk)
        _emit(as_json, lines, lambda: render.pending(out(), lines), _secrets(built))


@app.command()
def approve(proposal_id: Annotated[str, typer.Argument(help="The proposal id shown by `pending`.")],
            as_of: AsOf = None, as_json: JsonFlag = False) -> None:
    """Approve a pending proposal: re-price, re-check risk, execute once."""
    from bot.cli import render
    from bot.desk import approvals

    with _app(as_of) as built:
        result = _run(approvals.approve(built.desk, proposal_id, _actor()))
        _emit(as_json, result, lambda: render.decision(out(), result), _secrets(built))


@app.command()
def reject(proposal_id: Annotated[str, typer.Argument(help="The proposal id shown by `pending`.")],
           reason: Annotated[str | None, typer.Option(help="Why; stored with the decision.")] = None,
           as_of: AsOf = None, as_json: JsonFlag = False) -> None:
    """Reject a pending proposal, with a reason."""
    from bot.cli import render
    from bot.desk import approvals

    with _app(as_of) as built:
        result = approvals.reject(built.desk, proposal_id, _actor(), reason)
        _emit(as_json, result, lambda: render.decision(out(), result), _secrets(built))


def _set_state(state: str, reason: str | None) -> None:
    """halt, reduce and resume: one state change by this OS user, rendered."""
    from bot.cli import render
    from risk.models import TradingState

    with _app() as built:
        render.state_change(out(), built.desk.set_state(TradingState(state), _actor(), reason))


@app.command()
def halt(reason: Annotated[str | None, typer.Option(help="Why trading stops.")] = None) -> None:
    """Stop all trading (HALTED) until `paperdesk resume`."""
    _set_state("HALTED", reason)


@app.command()
def reduce(reason: Annotated[str | None, typer.Option(help="Why only risk-reducing orders are allowed.")] = None,
           ) -> None:
    """Allow only risk-reducing orders (REDUCING) until `paperdesk resume`."""
    _set_state("REDUCING", reason)


@app.command()
def resume(reason: Annotated[str | None, typer.Option(help="Why trading resumes.")] = None) -> None:
    """Return to ACTIVE trading."""
    _set_state("ACTIVE", reason)


@app.command()
def run() -> None:
    """The daemon: scheduled cycles, and the Telegram bot when TELEGRAM_BOT_TOKEN is set (Ctrl-C stops it)."""
    from bot.cli import render
    from bot.daemon import daemon  # the daemon's libraries load only for this command
    from storage.engine import redact
    from storage.instance_lock import instance_lock

    with _app(dating="cycle", shown=daemon.SHOWN) as built:  # it tells its set-up and job runs (bot.daemon.story)
        lock = instance_lock(built.engine)  # one daemon per database; the OS or server frees it if we die
        if not lock.try_acquire():
            where = redact(built.settings.effective_database_url)
            raise fail(f"another paperdesk run holds the lock on {where}; {lock.holder() or 'holder unknown'}")
        try:
            desk_daemon = daemon.Daemon(built, say=lambda text: out().print(render.line(text), soft_wrap=True),
                                        serve_web=True)
            _run(daemon.serve(desk_daemon))
        finally:
            lock.release()


@app.command()
def reconcile(as_of: AsOf = None, as_json: JsonFlag = False) -> None:
    """Settle orders a crash left open with the broker, compare positions, print what was done."""
    from bot.desk.reconcile import reconcile as reconcile_desk

    with _app(as_of) as built:  # it writes: the wall clock on live data, the portfolio's date on historical files
        result = _run(reconcile_desk(built.desk))
        _emit(as_json, result, lambda: _print_lines(result.lines() or [result.summary()]), _secrets(built))


def _print_lines(lines: list[str]) -> None:
    from bot.cli import render

    for line in lines:
        out().print(render.line(line))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the latest revision."""
    from bot.settings import load_settings
    from storage.engine import DatabaseError, make_engine, redact
    from storage.migrate import upgrade

    try:
        settings = load_settings()
        engine = make_engine(settings.effective_database_url)
        before, after = upgrade(engine)
        engine.dispose()
    except expected_errors() as exc:
        raise fail(str(exc)) from None
    except DatabaseError as exc:
        raise fail(f"database error: {str(exc).splitlines()[0]}") from None
    where = redact(settings.effective_database_url)
    out().print(f"{where}: schema at {after}" + (f" (was {before or 'empty'})" if before != after else " (up to date)"))


def main() -> None:
    """Console-script entry point."""
    # numpy's OpenBLAS starts a thread per core for every matrix product; on the desk's small
    # matrices (a day's 60 x 500 correlations) the threads only spin, costing more CPU than the
    # product (~10x on a busy 2-core machine). One thread, unless the user chose otherwise; this must
    # run before numpy is first imported, which no module imported so far does.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        app()
    finally:
        # At exit the interpreter's last garbage collection walks every object the command made (the
        # imported libraries' among them): 0.2 s of a 0.6 s `status`, more after a backtest. Their
        # memory goes back to the system with the process, so the collector is told to skip them.
        gc.freeze()
