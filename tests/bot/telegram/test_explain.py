"""/explain ID over real HTTP: a condensed story, valid HTML in every part, the prompt cut with a pointer to the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from html import escape

import pytest

from bot.desk import approvals
from bot.telegram_ui import render
from bot.telegram_ui.explain import PROMPT_CHARS
from storage.llm_store import LlmStore
from storage.tables_llm import LlmCallRow
from tests.bot.telegram.conftest import APPROVER, VIEWER, DaemonFactory, until
from tests.fakes.llm_answers import decision, idea
from tests.fakes.openai_server import FakeOpenAI, answer
from tests.fakes.telegram_html import shown
from tests.fakes.telegram_server import FakeTelegram

pytestmark = pytest.mark.asyncio
QUIET = {"cycle": "off", "approval": "off", "fill": "off", "alert": "off"}


def assert_telegram_html(text: str) -> None:
    """Telegram would accept this part: at most 4,096 characters of its HTML (``shown`` raises otherwise)."""
    assert len(text) <= render.LIMIT
    shown(text)


def story_parts(tg: FakeTelegram, marker: str) -> list[str]:
    return [m.text for m in tg.sent() if marker in m.text]


@pytest.fixture
def openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


async def test_a_viewer_reads_the_whole_story_of_a_decision(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    daemon, app = await make_daemon(notify=QUIET)
    report = await daemon.runner.cycle()
    filled = next(p for p in report.proposals if p.status == "FILLED")
    waiting = next(p for p in report.proposals if p.status == "AWAITING_APPROVAL")
    approvals.reject(app.desk, waiting.id, f"human:{APPROVER}", "earnings next week <b>& no edge</b>")
    tg.send_command(VIEWER, f"/explain {filled.id}")
    [text] = await until(lambda: story_parts(tg, "<b>Lifecycle</b>"))
    assert_telegram_html(text)
    for expected in (f"<code>{filled.id}</code>", "<b>FILLED</b>", "<b>SYNTHETIC DATA</b>", "policy rules",
                     "<b>Risk (cycle)</b>: SAFE — no rule hit", "system → SUBMITTING", "broker → FILLED",
                     "<b>Order</b>", "commission", "<b>Outcome</b>: not due yet"):
        assert expected in text, expected
    assert "view-only" not in " ".join(m.text for m in tg.sent())
    tg.send_command(VIEWER, f"/explain {waiting.id}")
    [text] = await until(lambda: story_parts(tg, "<b>Human</b>"))
    assert_telegram_html(text)
    assert f"<b>Human</b>: human:{APPROVER}: “earnings next week &lt;b&gt;&amp; no edge&lt;/b&gt;”" in text
    assert "LOW_CONFIDENCE: confidence=" in text and "No order was placed." in text


async def test_a_cycle_its_proposals_and_bad_ids(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    daemon, app = await make_daemon(notify=QUIET, OPENAI_API_KEY="hunter2-configured", policy="rules")
    report = await daemon.runner.cycle()
    LlmStore(app.store.session).add(LlmCallRow(  # stored before redaction existed
        at=app.desk.clock(), cycle_id=report.cycle_id, model="gpt-4o-mini", cache_key="0" * 64, outcome="failed",
        endpoint_host="desk:pa55word@proxy.example:8443", messages=[{"role": "user", "content": "decide"}],
        error="Invalid API key provided: sk-proj-abcdefghijklmnop1234 (hunter2-configured)"))
    tg.send_command(APPROVER, f"/explain {report.cycle_id}")
    [text] = await until(lambda: story_parts(tg, "<b>Proposals</b>"))
    assert_telegram_html(text)
    assert all(f"<code>{p.id}</code> BUY {p.symbol} · {p.level} · <b>{p.status}</b>" in text
               for p in report.proposals)
    assert "Invalid API key provided: ***" in text and "proxy.example" not in text  # the host is not shown here
    assert "abcdefghijklmnop1234" not in text and "hunter2-configured" not in text and "pa55word" not in text
    tg.send_command(APPROVER, "/explain pnope")
    await until(lambda: story_parts(tg, escape("no proposal or cycle 'pnope'")))
    tg.send_command(VIEWER, "/explain")
    await until(lambda: story_parts(tg, "usage: /explain ID"))
    names = {c["command"] for c in await until(lambda: tg.commands)}
    assert "explain" in names and "/explain ID — the whole story of a proposal or cycle" in render.HELP


async def test_an_llm_story_is_condensed_and_points_to_the_cli(make_daemon: DaemonFactory, tg: FakeTelegram,
                                                               openai: FakeOpenAI) -> None:
    thesis = "<script>alert(1)</script> & " + "the trend holds; " * 200
    openai.default = answer(decision(idea("SPY", 0.10, thesis=thesis), view="<i>calm</i> " + "quiet tape " * 300))
    daemon, _ = await make_daemon(notify=QUIET, policy="llm", OPENAI_API_KEY="test-key", OPENAI_BASE_URL=openai.url)
    report = await daemon.runner.cycle()
    [line] = report.proposals
    tg.send_command(VIEWER, f"/explain {line.id}")
    [text] = await until(lambda: story_parts(tg, "<b>Lifecycle</b>"))
    assert_telegram_html(text)
    user = openai.requests[0]["messages"][1]["content"]
    assert len(user) > PROMPT_CHARS and user not in text and f"({len(user):,} chars)" in text
    assert "…" in text and f"<code>paperdesk explain {line.id}</code>" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; the trend holds;" in text and "<script>" not in text
    assert "&lt;i&gt;calm&lt;/i&gt;" in text and "<b>LLM call 1/1</b> gpt-4o-mini · ok · 1200/300 tokens" in text
