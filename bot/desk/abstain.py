"""An abstention: the policy gave no decision, so the cycle is stored as ``abstained`` with an
alert ``no decision today: <reason>`` and a report without proposals.

Policy: nothing is sized, classified or submitted; pending approvals from earlier cycles stay
pending; the alert is shown in the cycle summary and kept with the cycle. The reason may quote an
endpoint's error text, so it is redacted (``broker.redaction``) before it is stored or shown.

Failure contract: database errors propagate (the CLI prints one line).
"""

from __future__ import annotations

import time

import structlog

from bot.desk.desk import Desk
from bot.desk.market import MarketSnapshot
from bot.desk.results import CycleReport, money
from broker.models import Account
from broker.redaction import Redactor
from risk.models import RiskContext
from storage.abstention import record_abstention
from storage.tables import AlertRow, CycleRow

log = structlog.get_logger("paperdesk.cycle")


def abstain(desk: Desk, cycle_id: str, snapshot: MarketSnapshot, account: Account, ctx: RiskContext,
            alerts: list[str], reason: str, started: float) -> CycleReport:
    """Record the abstention and return its report."""
    reason = Redactor().text(reason.replace("\x00", ""))
    message = f"no decision today: {reason}"
    now = desk.clock()
    cycle = CycleRow(id=cycle_id, started_at=now, finished_at=now, as_of=snapshot.as_of, policy=desk.policy.name,
                     data_source=snapshot.label, synthetic=snapshot.history.synthetic,
                     regime=str(snapshot.indicators.regime), market_view=message, status="abstained", error=reason,
                     equity_before=account.equity, equity_after=account.equity)
    alert = AlertRow(at=now, kind="abstention", severity="warning", message=message, cycle_id=cycle_id,
                     detail={"reason": reason})
    record_abstention(desk.store.session, cycle, alert)
    log.warning("cycle_abstained", reason=reason)
    report = CycleReport(
        cycle_id=cycle_id, status="abstained", as_of=snapshot.as_of, data_source=snapshot.label,
        synthetic=snapshot.history.synthetic, policy=desk.policy.name, regime=str(snapshot.indicators.regime),
        regime_inputs={k: round(float(v), 4) for k, v in snapshot.indicators.regime_inputs.items()},
        market_view=message, trading_state=str(ctx.trading_state), base_currency=desk.universe.base_currency,
        proposals=[], holds=[], skipped=[], alerts=[message, *alerts], equity_before=money(account.equity),
        equity_after=money(account.equity), cash_after=money(account.cash),
        elapsed_seconds=round(time.perf_counter() - started, 3))
    desk.store.update_cycle(cycle_id, report=report.model_dump(mode="json"))
    return report
