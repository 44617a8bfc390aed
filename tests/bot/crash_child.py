"""Test helper process: what `paperdesk cycle` does, SIGKILL-ing itself at the Nth database operation.

Usage: ``python -m tests.bot.crash_child`` reads lines ``DB_URL HOME KILL_AT`` on stdin; for each it
forks a fresh process (the imports are paid once) that builds the app from scratch and runs one
cycle, which reconciles first. Every SQL statement and every COMMIT counts as one operation and the
process kills itself with SIGKILL just before operation KILL_AT (0: never), so a kill lands between
any two writes, inside a transaction, or between a broker call and its record. For each line it
answers one JSON line: ``killed``, the exit code, and (when not killed) how many operations ran,
how many had run when the first order went to the broker and when the broker answered. The forked
process logs to HOME/child.log.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.clock import FixedClock
from bot.desk.cycle import run_cycle
from bot.settings import Settings
from bot.wiring import App, build_app
from broker.models import Order, OrderRequest
from tests.bot.conftest import FRIDAY_CLOSE


def settings(url: str, home: str) -> Settings:
    """The desk the crash test runs: the make_app scenario (SAFE fills and BORDERLINE proposals)."""
    return Settings(home=home, database_url=url, policy="rules", risk={"min_confidence": 0.75})


def _arm(app: App, kill_at: int) -> dict[str, int]:
    counts = {"operations": 0, "first_submit": 0, "first_submitted": 0}

    def tick(*_: Any) -> None:
        counts["operations"] += 1
        if counts["operations"] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(app.engine, "before_cursor_execute", tick)
    event.listen(app.engine, "commit", tick)
    broker = app.desk.broker
    submit = broker.submit

    async def counted(request: OrderRequest) -> Order:
        counts["first_submit"] = counts["first_submit"] or counts["operations"]
        order = await submit(request)
        counts["first_submitted"] = counts["first_submitted"] or counts["operations"]
        return order

    broker.submit = counted  # type: ignore[method-assign]
    return counts


def _run_once(url: str, home: str, kill_at: int) -> dict[str, Any]:
    """Build the app as a fresh process would and run one cycle (reconciling first)."""
    app = build_app(settings(url, home), clock=FixedClock(FRIDAY_CLOSE))
    counts = _arm(app, kill_at)
    report = asyncio.run(run_cycle(app.desk))
    app.close()
    return {**counts, "status": report.status}


def _child(url: str, home: str, kill_at: int) -> None:
    Path(home).mkdir(parents=True, exist_ok=True)
    log = os.open(Path(home) / "child.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    code = 1
    try:
        result = _run_once(url, home, kill_at)
        (Path(home) / "result.json").write_text(json.dumps(result))
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    """Serve kill requests from stdin, one forked process each."""
    for line in sys.stdin:
        url, home, kill_at = line.split()
        result = Path(home) / "result.json"
        result.unlink(missing_ok=True)
        pid = os.fork()
        if pid == 0:
            _child(url, home, int(kill_at))
        _, status = os.waitpid(pid, 0)
        answer: dict[str, Any] = {"killed": os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL,
                                  "exit": os.waitstatus_to_exitcode(status)}
        if result.exists():
            answer.update(json.loads(result.read_text()))
        print(json.dumps(answer), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
