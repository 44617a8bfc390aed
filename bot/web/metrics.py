"""The desk as Prometheus metrics: a collector that reads the store at scrape time, nothing kept in memory.

Policy: every scrape builds a fresh registry around ``DeskCollector``, which asks the database for
counts and sums (``storage/metrics_store.py``: a handful of rows whatever the history) and the
trading state; equity, drawdown and cash weight come from the newest stored equity snapshot, so a
scrape never calls the broker or the network. Counters are totals of stored rows (they only fall if
the database is replaced); gauges are the state now, "now" being the desk's clock. Every label
value a dashboard filters on (verdicts, statuses, outcomes, trading states) is emitted even at zero.

Failure contract: database errors propagate to the caller (the route answers 500 and Prometheus
records the scrape as failed); nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.desk.desk import Desk
from risk.lifecycle import ProposalStatus
from risk.models import TradingState
from storage.metrics_store import MetricsStore

S = ProposalStatus
VERDICTS = ("SAFE", "BORDERLINE", "UNSAFE")
CYCLE_OUTCOMES = ("completed", "abstained", "running", "interrupted")
APPROVAL_OUTCOMES = {str(S.APPROVED): "approved", str(S.REJECTED_BY_HUMAN): "rejected",
                     str(S.REJECTED_AT_APPROVAL): "rejected", str(S.EXPIRED): "expired"}
LATENCY_BOUNDS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 43200.0, 86400.0)
SIDES = ("buy", "sell")


def exposition(desk: Desk, *, next_runs: Mapping[str, datetime | None] | None = None) -> tuple[bytes, str]:
    """(body, content type) of the Prometheus text exposition of the desk now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeskCollector(desk, next_runs or {}))
    return generate_latest(registry), CONTENT_TYPE_PLAIN_0_0_4  # the text format every Prometheus reads


class DeskCollector(Collector):
    """Reads the desk's store on every ``collect``."""

    def __init__(self, desk: Desk, next_runs: Mapping[str, datetime | None]) -> None:
        self.desk = desk
        self.next_runs = next_runs
        self.store = MetricsStore(desk.store.session)

    def collect(self) -> Iterator[Metric]:
        """Every metric family, read now."""
        yield from self._cycles()
        yield from self._proposals()
        yield from self._approvals()
        yield from self._execution()
        yield from self._portfolio()
        yield from self._llm()
        yield from self._outbox()
        yield self._scheduler()

    def _cycles(self) -> Iterator[Metric]:
        counts = self.store.cycle_counts()
        cycles = CounterMetricFamily("paperdesk_cycles", "Decision cycles stored, by outcome (the cycle's status).",
                                     labels=["outcome"])
        for outcome in sorted(set(CYCLE_OUTCOMES) | set(counts)):
            cycles.add_metric([outcome], counts.get(outcome, 0))
        yield cycles
        done, first = self.store.last_cycle_times()
        last = GaugeMetricFamily("paperdesk_last_successful_cycle_timestamp_seconds",
                                 "Unix time the last completed cycle finished (absent before the first).")
        since = GaugeMetricFamily("paperdesk_seconds_since_last_successful_cycle",
                                  "Seconds since the last completed cycle finished; since the first cycle started "
                                  "when none has completed yet; absent before any cycle.")
        if done is not None:
            last.add_metric([], done.timestamp())
        origin = done or first
        if origin is not None:
            since.add_metric([], max((self.desk.clock() - origin).total_seconds(), 0.0))
        yield last
        yield since

    def _proposals(self) -> Iterator[Metric]:
        verdicts = dict.fromkeys(VERDICTS, 0)
        statuses = dict.fromkeys((str(st) for st in S), 0)
        for level, status, n in self.store.proposal_counts():
            if level is not None:
                verdicts[level] = verdicts.get(level, 0) + n
            statuses[status] = statuses.get(status, 0) + n
        by_verdict = CounterMetricFamily("paperdesk_proposals", "Trade proposals stored, by risk verdict at the cycle.",
                                         labels=["verdict"])
        for level, n in verdicts.items():
            by_verdict.add_metric([level], n)
        by_status = GaugeMetricFamily("paperdesk_proposals_in_status", "Trade proposals now in each lifecycle status.",
                                      labels=["status"])
        for status, n in statuses.items():
            by_status.add_metric([status], n)
        yield by_verdict
        yield by_status

    def _approvals(self) -> Iterator[Metric]:
        merged: dict[str, tuple[int, float, list[int]]] = {
            outcome: (0, 0.0, [0] * len(LATENCY_BOUNDS)) for outcome in APPROVAL_OUTCOMES.values()}
        for row in self.store.approval_latencies(LATENCY_BOUNDS):
            outcome = APPROVAL_OUTCOMES.get(row.status)
            if outcome is None:
                continue
            count, total, buckets = merged[outcome]
            merged[outcome] = (count + row.count, total + row.seconds_sum,
                               [a + b for a, b in zip(buckets, row.cumulative, strict=True)])
        approvals = CounterMetricFamily(
            "paperdesk_approvals", "Decisions on proposals awaiting approval, by outcome (rejected: by the human or "
            "by the re-check at approval; expired: past the TTL or superseded by a newer cycle).", labels=["outcome"])
        latency = HistogramMetricFamily(
            "paperdesk_approval_latency_seconds", "Seconds from a proposal's creation to the decision on its approval.",
            labels=["outcome"], unit="seconds")
        for outcome, (count, total, buckets) in merged.items():
            approvals.add_metric([outcome], count)
            edges = [(_le(bound), n) for bound, n in zip(LATENCY_BOUNDS, buckets, strict=True)]
            latency.add_metric([outcome], [*edges, ("+Inf", count)], total)
        yield approvals
        yield latency

    def _execution(self) -> Iterator[Metric]:
        sides, open_orders = self.store.order_counts()
        fills = self.store.fill_counts()
        orders = CounterMetricFamily("paperdesk_orders", "Broker orders submitted, by side.", labels=["side"])
        executions = CounterMetricFamily("paperdesk_fills", "Executions recorded, by side.", labels=["side"])
        for side in SIDES:
            orders.add_metric([side], sides.get(side, 0))
            executions.add_metric([side], fills.get(side, 0))
        yield orders
        yield executions
        yield GaugeMetricFamily("paperdesk_orders_open", "Orders still open at the broker (new, accepted or "
                                "partially filled).", value=open_orders)

    def _portfolio(self) -> Iterator[Metric]:
        snapshot, peak = self.store.latest_equity()
        equity = GaugeMetricFamily("paperdesk_equity", "Account equity in the base currency at the newest equity "
                                   "snapshot.", labels=["currency"])
        top = GaugeMetricFamily("paperdesk_equity_peak", "Highest equity ever recorded, base currency.",
                                labels=["currency"])
        drawdown = GaugeMetricFamily("paperdesk_drawdown", "Fall of equity from its peak, as a fraction (0.1 = 10%).")
        cash = GaugeMetricFamily("paperdesk_cash_weight", "Cash as a fraction of equity at the newest snapshot.")
        taken = GaugeMetricFamily("paperdesk_equity_snapshot_timestamp_seconds",
                                  "Unix time of the newest equity snapshot.")
        if snapshot is not None:
            value = float(snapshot.equity)
            equity.add_metric([snapshot.base_currency], value)
            taken.add_metric([], snapshot.at.timestamp())
            cash.add_metric([], float(snapshot.cash / snapshot.equity) if snapshot.equity > 0 else 0.0)
            if peak is not None:
                top.add_metric([snapshot.base_currency], peak)
                drawdown.add_metric([], max(1 - value / peak, 0.0) if peak > 0 else 0.0)
        current = self.desk.store.trading_state().state
        state = GaugeMetricFamily("paperdesk_trading_state", "The trading state in force: 1 for the current state, "
                                  "0 for the others.", labels=["state"])
        for name in TradingState:
            state.add_metric([str(name)], 1 if str(name) == current else 0)
        yield from (equity, top, drawdown, cash, taken, state)

    def _llm(self) -> Iterator[Metric]:
        calls = CounterMetricFamily("paperdesk_llm_calls", "LLM calls in the audit trail (llm_call), by model, "
                                    "outcome and source (api, or cache for a replayed answer).",
                                    labels=["model", "outcome", "source"])
        tokens = CounterMetricFamily("paperdesk_llm_tokens", "LLM tokens, in (prompt) and out (completion), by model "
                                     "and source.", labels=["model", "direction", "source"])
        cost = CounterMetricFamily("paperdesk_llm_cost_usd", "LLM spend in US dollars, by model (replays cost 0).",
                                   labels=["model"])
        token_sums: dict[tuple[str, str, str], int] = {}
        cost_sums: dict[str, float] = {}
        for row in self.store.llm_usage():
            source = "cache" if row.from_cache else "api"
            calls.add_metric([row.model, row.outcome, source], row.calls)
            for direction, n in (("in", row.prompt_tokens), ("out", row.completion_tokens)):
                key = (row.model, direction, source)
                token_sums[key] = token_sums.get(key, 0) + n
            cost_sums[row.model] = cost_sums.get(row.model, 0.0) + float(row.cost_usd)
        for key, n in sorted(token_sums.items()):
            tokens.add_metric(list(key), n)
        for model, usd in sorted(cost_sums.items()):
            cost.add_metric([model], usd)
        yield from (calls, tokens, cost)

    def _outbox(self) -> Iterator[Metric]:
        outbox = self.store.outbox()
        age = 0.0 if outbox.oldest is None else max((self.desk.clock() - outbox.oldest).total_seconds(), 0.0)
        yield GaugeMetricFamily("paperdesk_outbox_backlog", "Notifications not delivered yet and still retried.",
                                value=outbox.backlog)
        yield GaugeMetricFamily("paperdesk_outbox_oldest_age_seconds", "Age of the oldest notification not "
                                "delivered yet (0 when none waits).", value=age)
        yield CounterMetricFamily("paperdesk_outbox_abandoned", "Notifications given up on (the chat refused them "
                                  "for good).", value=outbox.abandoned)

    def _scheduler(self) -> Metric:
        family = GaugeMetricFamily("paperdesk_scheduler_next_run_timestamp_seconds", "Unix time of each scheduled "
                                   "job's next run (absent when it is not scheduled).", labels=["job"])
        for job, when in sorted(self.next_runs.items()):
            if when is not None:
                family.add_metric([job], when.timestamp())
        return family


def _le(bound: float) -> str:
    """A bucket bound as Prometheus writes it (60.0)."""
    return repr(float(bound))
