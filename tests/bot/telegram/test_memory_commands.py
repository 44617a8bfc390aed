"""/remember, /memory and /forget over real HTTP: approvers remember and forget, viewers list and search."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.bot.telegram.conftest import APPROVER, VIEWER, DaemonFactory, until
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram

pytestmark = pytest.mark.asyncio


@pytest.fixture
def embeddings() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def _texts(tg: FakeTelegram) -> list[str]:
    return [m.text for m in tg.sent()]


async def test_approvers_remember_and_forget_viewers_only_read(make_daemon: DaemonFactory, tg: FakeTelegram,
                                                               embeddings: FakeOpenAI) -> None:
    _, app = await make_daemon(memory="mem0", memory_embedder="openai", OPENAI_API_KEY="k",
                               OPENAI_BASE_URL=embeddings.url)
    tg.send_command(APPROVER, "/remember Avoid <b>French banks</b> before ECB meetings")
    await until(lambda: any(t.startswith("Remembered as") for t in _texts(tg)))
    [note] = app.desk.memory.list()
    assert note.text == "Avoid <b>French banks</b> before ECB meetings"
    assert note.metadata["actor"] == f"human:{APPROVER}"

    tg.send_command(VIEWER, "/memory ECB banks")
    shown = await until(lambda: next((t for t in _texts(tg) if "nearest to" in t), None))
    assert note.id in shown and "Avoid &lt;b&gt;French banks&lt;/b&gt;" in shown and " note: " in shown
    tg.send_command(VIEWER, f"/forget {note.id}")
    tg.send_command(VIEWER, "/remember viewers cannot add notes")
    await until(lambda: sum("view-only" in t for t in _texts(tg)) == 2)
    assert [r.id for r in app.desk.memory.list()] == [note.id]

    tg.send_command(APPROVER, "/forget 7b0c5d8e-2f1a-4c3b-9d4e-5f6a7b8c9d0e")
    await until(lambda: any("no memory" in t for t in _texts(tg)))
    tg.send_command(APPROVER, f"/forget {note.id}")
    await until(lambda: any("forgotten by" in t for t in _texts(tg)))
    assert app.desk.memory.list() == []


async def test_memory_commands_say_memory_is_off(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    await make_daemon()
    tg.send_command(APPROVER, "/memory")
    await until(lambda: any("memory is off" in t for t in _texts(tg)))
    tg.send_command(APPROVER, "/remember")
    await until(lambda: any("usage: /remember TEXT" in t for t in _texts(tg)))
    await asyncio.sleep(0)
