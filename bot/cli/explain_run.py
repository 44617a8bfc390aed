"""The work of ``paperdesk explain`` (``bot.cli.explain``): build the desk, tell the story, print it.

It is an audit: every text (prompt, answer, thesis, reasons, notes) is printed in full. Data is
only ever printed through ``bot.cli.render.line`` (a ``Text``: never parsed as markup or emoji codes,
control characters shown escaped), so a thesis holding ``[/]`` or ``[link=…]`` prints as written.
The story is redacted with the configured secrets before either the terminal or ``--json`` sees it.

Failure contract: an unknown id, bad settings or an unusable database print one line and exit 1.
"""

from __future__ import annotations

import json
from datetime import datetime

from rich.console import Console

from bot.cli import render
from bot.cli.app import _app
from bot.desk import formats
from bot.desk.explain import explain as explain_story
from bot.desk.explain_stories import hit_text
from bot.desk.explain_views import CycleHeader, CycleStory, LlmCallStory, ProposalStory
from bot.logging import settings_secrets

out = render.make_console()


def run_command(item_id: str, as_of: str | None, as_json: bool) -> None:
    """``paperdesk explain`` once its options are checked: the story of ``item_id`` on the desk of ``as_of``.

    The desk is built by the CLI's one builder (``bot.cli.app._app``): its one-line errors and notes."""
    with _app(as_of) as built:
        story = explain_story(built.desk, item_id, settings_secrets(built.settings))
    if as_json:
        print(json.dumps(story.model_dump(mode="json"), indent=2))  # noqa: T201
    elif isinstance(story, ProposalStory):
        render_proposal(out, story)
    else:
        render_cycle(out, story)


def _say(console: Console, *parts: render.Part) -> None:
    """One line, wrapped between words at the console's width: (text, style) pairs are styled, nothing is markup."""
    console.print(render.line(*parts))


def _verbatim(console: Console, text: str) -> None:
    """A prompt or an answer exactly as sent: never re-wrapped by us (the terminal folds long lines)."""
    console.print(render.line(text), soft_wrap=True)


def _title(console: Console, title: str) -> None:
    console.print(render.plain(f"── {title} ──", "bold cyan"))


def _t(value: datetime | None) -> str:
    return "—" if value is None else f"{value:%Y-%m-%d %H:%M:%S} UTC"


def _pct(value: float | None, sign: bool = False) -> str:
    return "—" if value is None else f"{value:+.2%}" if sign else f"{value:.2%}"


def _loss(value: float | None) -> str:
    """A stated worst-case loss (stored as a positive fraction) shown as the fall it is."""
    return _pct(-value if value is not None else None, True)


def render_cycle(console: Console, story: CycleStory) -> None:
    """A cycle: header, LLM calls, one line per proposal."""
    _header(console, story.cycle)
    _calls(console, story.cycle.policy, story.llm_calls)
    _title(console, f"proposals ({len(story.proposals)})")
    for p in story.proposals:
        _say(console, p.id, "  ", (f"{p.side.upper()} ", "bold"), p.symbol, "  verdict ", p.level or "—",
             "  status ", (p.status, "bold"))
    if story.proposals:
        _say(console, ("the whole story of one: ", "dim"), f"paperdesk explain {story.proposals[0].id}")


def render_proposal(console: Console, story: ProposalStory) -> None:
    """A proposal from its cycle to its outcome."""
    s = story.sizing
    _say(console, ("proposal ", "bold"), story.id, "  ", (f"{s.side.upper()} ", "bold"), story.symbol,
         "  status ", (story.status, "bold"))
    _header(console, story.cycle)
    _calls(console, story.cycle.policy, story.llm_calls)
    _reasoning(console, story)
    _title(console, "sizing")
    _say(console, f"weight {s.weight_before:.2%} → target {s.target_weight:.2%}: {s.side.upper()} ",
         formats.quantity(s.quantity), f" @ {formats.amount(s.price, 6)} ", s.currency or "",
         f" · FX {s.fx_rate if s.fx_rate is not None else '—'} · ≈ {formats.amount(s.notional_base)} ", s.base_currency)
    _verdicts(console, story)
    _title(console, "lifecycle")
    for t in story.transitions:
        _say(console, _t(t.at), "  ", (t.actor, "bold"), f"  {t.from_status or '—'} → {t.to_status}",
             *(("  ", t.note) if t.note else ()))
    _title(console, "the human")
    if story.decided_by:
        _say(console, "decided by ", (story.decided_by, "bold"), *((": ", story.decision_reason)
                                                                 if story.decision_reason else (" (no reason given)",)))
    else:
        _say(console, "no human decision", *((" · recorded reason: ", story.decision_reason)
                                             if story.decision_reason else ()))
    _orders(console, story)
    _outcome(console, story)


def _header(console: Console, c: CycleHeader) -> None:
    _title(console, f"cycle {c.id}")
    flag: render.Part = ("  SYNTHETIC DATA — not real prices", "bold magenta")
    synthetic = (flag,) if c.synthetic else ()
    _say(console, f"as of {c.as_of or '—'} · data ", c.data_source, *synthetic)
    _say(console, "policy ", c.policy, " · regime ", c.regime or "—", " · status ", c.status,
         f" · started {_t(c.started_at)} · equity {formats.amount(c.equity_before)} → "
         f"{formats.amount(c.equity_after)}")
    if c.error:
        _say(console, ("error: ", "red"), c.error)
    _say(console, ("market view: ", "bold"), c.market_view or "—")


def _calls(console: Console, policy: str, calls: list[LlmCallStory]) -> None:
    if not calls:
        if policy == "llm":
            _say(console, "no LLM call is recorded for this cycle")
        return
    for k, call in enumerate(calls, 1):
        _title(console, f"LLM call {k} of {len(calls)}")
        _say(console, f"{_t(call.at)} · model ", call.model, " @ ", call.endpoint_host, " · outcome ",
             (call.outcome, "bold"), f" · tokens {call.prompt_tokens}/{call.completion_tokens} · "
             f"${call.cost_usd} · {call.latency_ms:.0f} ms", " · replayed from the cache" if call.from_cache else "",
             *((" · finish ", call.finish_reason) if call.finish_reason else ()))
        if call.error:
            _say(console, ("error: ", "red"), call.error)
        for message in call.messages:
            _say(console, (f"[{message.get('role', '?')}]", "bold yellow"))
            _verbatim(console, str(message.get("content", "")))
        _say(console, ("[answer]", "bold green"))
        _verbatim(console, call.raw_answer if call.raw_answer is not None else "— (no answer)")
        if call.parsed is not None and not _same_json(call.raw_answer, call.parsed):
            _say(console, ("[parsed]", "bold green"))
            _say(console, json.dumps(call.parsed, indent=2, ensure_ascii=False))
        for error in call.validation_errors:
            _say(console, ("validation error: ", "red"), error)


def _same_json(raw: str | None, parsed: dict[str, object]) -> bool:
    try:
        return raw is not None and json.loads(raw) == parsed
    except ValueError:
        return False


def _reasoning(console: Console, story: ProposalStory) -> None:
    r = story.reasoning
    _title(console, "thesis" if story.cycle.policy == "llm" else "the rules policy's reasons")
    _say(console, ("thesis: ", "bold"), r.thesis or "—")
    _say(console, f"action {r.action or '—'} · confidence {formats.confidence(r.confidence)} · expected upside "
         f"{_pct(r.expected_upside_pct, True)} · worst case {_loss(r.worst_case_loss_pct)} · horizon "
         f"{r.time_horizon_days or '—'} days · stop-loss {_pct(r.stop_loss_pct)}")
    for label, items in (("risk factors", r.risk_factors), ("catalysts", r.catalysts),
                         ("exit triggers", r.exit_triggers)):
        _say(console, (f"{label}: ", "bold"), "; ".join(items) or "—")


def _verdicts(console: Console, story: ProposalStory) -> None:
    _title(console, "risk")
    for v in story.verdicts:
        _say(console, (f"{v.stage} verdict ", "bold"), (v.level, "bold"), f" at {_t(v.at)}",
             "" if v.hits else " · no rule hit")
        for hit in v.hits:
            _say(console, f"  {hit.level:<10} ", hit_text(hit))
        if v.clamp is not None:
            c = v.clamp
            _say(console, ("  clamp: ", "bold"), c.text or "", f" · quantity {formats.quantity(c.quantity_before)}"
                 f" → {formats.quantity(c.quantity_after)} · weight {_pct(c.weight_before)} → {_pct(c.weight_after)}")


def _orders(console: Console, story: ProposalStory) -> None:
    _title(console, "orders and fills")
    if not story.orders:
        _say(console, "no order was placed")
    for o in story.orders:
        _say(console, "order ", o.id, " at ", o.broker, f" · {o.side.upper()} {formats.quantity(o.quantity)} · ",
             (o.status, "bold"), f" · executed {formats.quantity(o.filled_quantity)} @ "
             f"{formats.amount(o.filled_avg_price, 6)} · submitted {_t(o.submitted_at)}",
             *((" · rejected: ", o.reject_reason) if o.reject_reason else ()))
        for f in o.fills:
            _say(console, f"  fill {_t(f.at)} · {formats.quantity(f.quantity)} @ {formats.amount(f.price, 6)} ",
                 f.currency, f" · FX {f.fx_rate} · commission {formats.amount(f.commission_base)} ",
                 story.sizing.base_currency)


def _outcome(console: Console, story: ProposalStory) -> None:
    o = story.outcome
    _title(console, "outcome against the thesis")
    if o.due:
        _say(console, f"realised {_pct(o.realised_return, True)} over {o.horizon_days} days (to {o.due_on}) · "
             f"expected upside {_pct(o.expected_upside_pct, True)} · worst case {_loss(o.worst_case_loss_pct)}")
    _say(console, o.note)
