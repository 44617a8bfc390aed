"""``/explain ID``: a condensed story of a proposal or a cycle in Telegram HTML (read-only, viewers too).

Policy: the desk's ``explain`` tells the story; this only condenses and renders it. Long texts
(the prompt, the model's answer, the thesis, the market view) are folded to one line and cut to
a few hundred characters, with a pointer to ``paperdesk explain ID`` for the full audit. Every
value from data is escaped with ``html.escape`` after it is cut (a cut never splits an entity),
and every tag opens and closes on the same line, so ``render.split`` can cut between any lines.
The story is redacted with the configured secrets (``settings_secrets``) before it is rendered.
A ``DeskError`` (usage, unknown id) reaches the one error handler in app.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from html import escape

from telegram import Update
from telegram.ext import ContextTypes

from bot.desk import formats
from bot.desk.desk import Desk
from bot.desk.explain import explain
from bot.desk.explain_stories import hit_text
from bot.desk.explain_views import CycleHeader, CycleStory, LlmCallStory, ProposalStory
from bot.desk.results import DeskError
from bot.logging import settings_secrets
from bot.settings import Settings
from bot.telegram_ui.handlers import reply

Ctx = ContextTypes.DEFAULT_TYPE
PROMPT_CHARS, ANSWER_CHARS, TEXT_CHARS, NOTE_CHARS = 300, 500, 600, 200


def short(text: str | None, limit: int) -> str:
    """One line of at most ``limit`` characters (plus an ellipsis), escaped for HTML."""
    flat = " ".join((text or "").split())
    return escape(flat if len(flat) <= limit else flat[:limit].rstrip() + "…")


def _t(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"


def _pct(value: float | None, sign: bool = False) -> str:
    return "—" if value is None else f"{value:+.2%}" if sign else f"{value:.2%}"


def _header(c: CycleHeader) -> list[str]:
    synthetic = " · <b>SYNTHETIC DATA</b>" if c.synthetic else ""
    return [f"<b>Cycle</b> <code>{escape(c.id)}</code> as of {c.as_of or '—'}{synthetic}",
            f"data {escape(c.data_source)} · policy {escape(c.policy)} · regime {escape(c.regime or '—')} · "
            f"{escape(c.status)}",
            f"View: <i>{short(c.market_view, TEXT_CHARS) or '—'}</i>"]


def _calls(calls: Sequence[LlmCallStory], item_id: str) -> list[str]:
    lines: list[str] = []
    for k, call in enumerate(calls, 1):
        lines.append(f"<b>LLM call {k}/{len(calls)}</b> {escape(call.model)} · {escape(call.outcome)} · "
                     f"{call.prompt_tokens}/{call.completion_tokens} tokens · ${call.cost_usd} · "
                     f"{call.latency_ms:.0f} ms" + (" · replayed" if call.from_cache else ""))
        lines += [f"<b>{escape(str(m.get('role', '?')))}</b> ({len(str(m.get('content', ''))):,} chars): "
                  f"{short(str(m.get('content', '')), PROMPT_CHARS)}" for m in call.messages]
        lines.append(f"<b>answer</b>: {short(call.raw_answer, ANSWER_CHARS) or '—'}")
        lines += [f"⚠️ {short(e, NOTE_CHARS)}" for e in [*([call.error] if call.error else []),
                                                         *call.validation_errors[:3]]]
    if calls:
        lines.append(f"<i>Shortened here; the full prompt and answer:</i> <code>paperdesk explain "
                     f"{escape(item_id)}</code>")
    return lines


def cycle_story(story: CycleStory) -> str:
    """/explain on a cycle id."""
    lines = [*_header(story.cycle), *_calls(story.llm_calls, story.cycle.id), "<b>Proposals</b>"]
    lines += [f"<code>{escape(p.id)}</code> {escape(p.side.upper())} {escape(p.symbol)} · "
              f"{escape(p.level or '—')} · <b>{escape(p.status)}</b>" for p in story.proposals] or ["none"]
    if story.proposals:
        lines.append("<i>/explain ID tells one proposal's story.</i>")
    return "\n".join(lines)


def proposal_story(story: ProposalStory) -> str:
    """/explain on a proposal id."""
    r, s = story.reasoning, story.sizing
    lines = [f"<b>{escape(s.side.upper())} {escape(story.symbol)}</b> · <code>{escape(story.id)}</code> · "
             f"<b>{escape(story.status)}</b>", *_header(story.cycle), *_calls(story.llm_calls, story.id),
             f"<b>Why</b>: {short(r.thesis, TEXT_CHARS) or '—'}",
             f"Confidence {formats.confidence(r.confidence)} · upside {_pct(r.expected_upside_pct, True)} · worst case "
             f"{_pct(-r.worst_case_loss_pct if r.worst_case_loss_pct is not None else None, True)} · horizon "
             f"{r.time_horizon_days or '—'} d · stop-loss {_pct(r.stop_loss_pct)}",
             f"<b>Sizing</b>: weight {s.weight_before:.1%} → {s.target_weight:.1%} · {formats.quantity(s.quantity)} @ "
             f"{formats.amount(s.price, 4)} {escape(s.currency or '')} (≈ {formats.amount(s.notional_base)} "
             f"{escape(s.base_currency)})"]
    for v in story.verdicts:
        hits = "; ".join(short(hit_text(h), NOTE_CHARS) for h in v.hits) or "no rule hit"
        lines.append(f"<b>Risk ({escape(v.stage)})</b>: {escape(v.level)} — {hits}")
        if v.clamp is not None and v.clamp.text:
            lines.append(f"Clamp: {escape(v.clamp.text)}")
    lines.append("<b>Lifecycle</b>")
    lines += [f"{t.at:%m-%d %H:%M} {escape(t.actor)} → {escape(t.to_status)}"
              + (f" · {short(t.note, NOTE_CHARS)}" if t.note else "") for t in story.transitions]
    if story.decided_by:
        why = f": “{short(story.decision_reason, TEXT_CHARS)}”" if story.decision_reason else " (no reason given)"
        lines.append(f"<b>Human</b>: {escape(story.decided_by)}{why}")
    lines += _orders(story)
    lines.append(f"<b>Outcome</b>: {escape(story.outcome.note)}")
    return "\n".join(lines)


def _orders(story: ProposalStory) -> list[str]:
    lines = []
    for o in story.orders:
        lines.append(f"<b>Order</b> {escape(o.id)} {escape(o.status)} · {formats.quantity(o.filled_quantity)} @ "
                     f"{formats.amount(o.filled_avg_price, 4)}"
                     + (f" · {short(o.reject_reason, NOTE_CHARS)}" if o.reject_reason else ""))
        lines += [f"fill {_t(f.at)} · {formats.quantity(f.quantity)} @ {formats.amount(f.price, 4)} "
                  f"{escape(f.currency)} · commission {formats.amount(f.commission_base)} "
                  f"{escape(story.sizing.base_currency)}" for f in o.fills]
    return lines or ["No order was placed."]


class ExplainHandlers:
    """/explain ID."""

    def __init__(self, desk: Desk, settings: Settings) -> None:
        self.desk = desk
        self.secrets = settings_secrets(settings)

    async def explain(self, update: Update, context: Ctx) -> None:
        """/explain ID: the whole story of a proposal or a cycle, condensed."""
        args = context.args or []
        if len(args) != 1:
            raise DeskError("usage: /explain ID (a proposal id from /pending or /history, or a cycle id)")
        story = await asyncio.to_thread(explain, self.desk, args[0], self.secrets)  # the outcome may load prices
        await reply(update, proposal_story(story) if isinstance(story, ProposalStory) else cycle_story(story))
