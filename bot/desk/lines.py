"""Build ``ProposalLine`` views from verdicts in memory or from stored rows."""

from __future__ import annotations

from decimal import Decimal

from bot.desk.results import ProposalLine
from broker.models import Order
from risk.models import Hit, RiskVerdict, TradeProposal
from storage.store import Store
from storage.tables import ProposalRow, RiskHitRow, VerdictRow


def clamp_text(weight_before: float | None, weight_after: float | None, quantity_after: Decimal | None) -> str | None:
    """'asked 32.0%, the limit allows 25.0% (40 shares)'."""
    if weight_before is None or weight_after is None:
        return None
    shares = f" ({quantity_after.normalize():f} shares)" if quantity_after is not None else ""
    return f"asked {weight_before:.1%}, the limits allow {weight_after:.1%}{shares}"


def line_from_verdict(proposal: TradeProposal, verdict: RiskVerdict, row: ProposalRow, order: Order | None, *,
                      currency: str | None, weight_before: float, thesis: str) -> ProposalLine:
    """A line for a proposal classified in this process."""
    clamp = verdict.clamp
    return ProposalLine(
        id=proposal.id, symbol=proposal.symbol, side=str(proposal.side), quantity=proposal.quantity,
        price=proposal.price, currency=currency, notional_base=proposal.notional_base.quantize(Decimal("0.01")),
        weight_before=weight_before, target_weight=proposal.target_weight, confidence=proposal.confidence,
        level=str(verdict.level), codes=verdict.codes, hits=[_describe(h) for h in verdict.hits], status=row.status,
        clamp=clamp_text(clamp.weight_before, clamp.weight_after, clamp.quantity_after) if clamp else None,
        fill_quantity=order.filled_quantity if order else None, fill_price=order.filled_avg_price if order else None,
        expires_at=row.expires_at, thesis=thesis, note=_last_note(row),
    )


def line_from_row(store: Store, row: ProposalRow) -> ProposalLine:
    """A line for a stored proposal (its latest verdict, order and last transition note)."""
    verdicts = store.verdicts(row.id)
    verdict, hits = verdicts[-1] if verdicts else (None, [])
    order = store.order_for(row.id)
    notes = [t.note for t in store.transitions(row.id) if t.note]
    price_base = row.price * row.fx_rate if row.price is not None and row.fx_rate is not None else Decimal(0)
    return ProposalLine(
        id=row.id, symbol=row.symbol, side=row.side, quantity=row.quantity, price=row.price, currency=row.currency,
        notional_base=(row.quantity * price_base).quantize(Decimal("0.01")), weight_before=row.weight_before,
        target_weight=row.target_weight, confidence=row.confidence, level=verdict.level if verdict else None,
        codes=[h.code for h in hits], hits=[_describe_row(h) for h in hits], status=row.status,
        clamp=_clamp_from_row(verdict), fill_quantity=order.filled_quantity if order else None,
        fill_price=order.filled_avg_price if order else None, expires_at=row.expires_at, thesis=row.thesis,
        note=notes[-1] if notes else None,
    )


def _clamp_from_row(verdict: VerdictRow | None) -> str | None:
    if verdict is None:
        return None
    return clamp_text(verdict.weight_before, verdict.weight_after, verdict.quantity_after)


def _describe(hit: Hit) -> str:
    return hit.describe()


def _describe_row(hit: RiskHitRow) -> str:
    detail = hit.detail or {}
    return hit.code + (": " + ", ".join(f"{k}={v}" for k, v in detail.items()) if detail else "")


def _last_note(row: ProposalRow) -> str | None:
    return row.decision_reason
