"""``paperdesk status`` from the stored valuation, without market data, when the day's prices cannot differ.

``status`` values the portfolio on its date. On the simulated broker that takes the day's prices,
so the market data and pandas: most of a second of start-up. The portfolio's latest cycle stored
that same valuation, and ``bot.desk.views.stored_status`` reads it while the book it valued is
unchanged. This module decides when the stored prices are the prices the whole desk would load,
and otherwise returns None so the command builds the whole desk (``bot.wiring.build_app``):
- the simulated broker (Alpaca reports its own account);
- data other than a CSV directory: the files' last day can move the portfolio's date, and only
  reading them tells; the stored cycle must also be synthetic exactly when the data is;
- no ``--as-of`` (the caller's part) and no sleeves (their budgets come from the sleeve plan);
- an existing database whose schema is current (the whole desk creates, migrates or refuses the
  others), holding no cycle dated after today (the whole desk says what to do about it), and a
  ledger in the universe's base currency (the whole desk refuses another).
The policy's settings are checked as the whole desk checks them; the memory's are not read.
"""

from __future__ import annotations

from agent.universe import load_universe
from bot.clock import Clock, system_clock
from bot.desk.results import StatusView
from bot.desk.views import stored_status
from bot.preflight import check_policy, choose_clock, future_cycle
from bot.settings import Settings
from storage.engine import make_engine, normalize_url, sqlite_file
from storage.migrate import is_current
from storage.portfolio import SqlLedgerStore
from storage.store import Store


def status_from_store(settings: Settings, wall: Clock = system_clock) -> StatusView | None:
    """The status as stored by the latest cycle, or None when the whole desk must value it."""
    policy = settings.effective_policy
    if settings.broker != "sim" or settings.data.startswith("csv:") or policy == "sleeves":
        return None
    check_policy(policy, settings)
    url = settings.effective_database_url
    file = sqlite_file(url)
    if normalize_url(url).startswith("sqlite") and (file is None or not file.is_file()):
        return None  # nothing stored yet (the whole desk creates the file) or nothing that outlives the process
    engine = make_engine(url)
    try:
        if not is_current(engine):
            return None
        today = wall().date()
        reader = Store(engine, wall)
        if future_cycle(reader, today) is not None:
            return None
        clock = choose_clock(reader, wall, None, None, "view", [])  # the clock the whole desk would read
        store = Store(engine, clock)
        ledger = SqlLedgerStore(store.session, clock).load()
        if ledger is None or ledger.base_currency != load_universe(settings.universe).base_currency:
            return None
        return stored_status(store, ledger, today, synthetic=settings.data == "synthetic")
    finally:
        engine.dispose()
