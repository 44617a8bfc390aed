"""Logs: secrets never reach a line (structlog events and standard-library records), JSON under systemd."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from bot.logging import Redactor, configure_logging, settings_secrets, use_json
from bot.settings import Settings

TOKEN = "7261834590:AAH3kd_9xQpLm2VbN8cR4tYz1WqE5uIoP0s"
SECRETS = {"telegram_bot_token": TOKEN, "openai_api_key": "sk-proj-abcdefghijklmnopqrstuvwx",
           "alpaca_secret_key": "alpaca-s3cret-value", "database_url": "postgresql+psycopg://desk:hunter%2322@db/desk"}


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_paperdesk", False)]:
        root.removeHandler(handler)


def test_a_token_never_reaches_a_log_line(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(**SECRETS)  # type: ignore[arg-type]
    configure_logging("info", "json", settings_secrets(settings))
    log = structlog.get_logger("test")
    log.info("telegram_request", url=f"https://api.telegram.org/bot{TOKEN}/getUpdates", token=TOKEN,
             nested={"headers": ["Authorization: Bearer sk-proj-abcdefghijklmnopqrstuvwx"]})
    log.error("alpaca_failed", error=ValueError("key alpaca-s3cret-value refused"),
              url="https://data.example/v2?apikey=ABCDEF123&symbols=SPY")
    try:
        raise RuntimeError(f"cannot reach postgresql+psycopg://desk:hunter#22@db/desk with {TOKEN}")
    except RuntimeError:
        log.exception("database_down")
    library = logging.getLogger("paperdesk_test.httpx")  # not "httpx": alembic's fileConfig disables it in the suite
    library.warning("HTTP Request: POST https://api.telegram.org/bot%s/sendMessage", TOKEN)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 4
    text = "\n".join(lines)
    for secret in (TOKEN, "AAH3kd_9xQpLm2VbN8cR4tYz1WqE5uIoP0s", "abcdefghijklmnopqrstuvwx", "alpaca-s3cret-value",
                   "hunter#22", "ABCDEF123"):
        assert secret not in text
    events = [json.loads(line) for line in lines]
    assert events[0]["url"] == "https://api.telegram.org/bot***/getUpdates" and events[0]["token"] == "***"
    assert events[1]["url"] == "https://data.example/v2?apikey=***&symbols=SPY"
    assert "database_down" in lines[2] and "RuntimeError" in lines[2]
    assert events[3]["event"] == "HTTP Request: POST https://api.telegram.org/bot***/sendMessage"


def test_redactor_keeps_ordinary_text() -> None:
    redactor = Redactor(["secret-value", None, "ab"])
    assert redactor.text("AAPL BUY 10 at 101.25, cycle c1234") == "AAPL BUY 10 at 101.25, cycle c1234"
    assert redactor.text("postgresql://desk:pw@host/db and secret-value") == "postgresql://desk:***@host/db and ***"


def test_auto_format_is_json_under_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    monkeypatch.delenv("INVOCATION_ID", raising=False)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert not use_json("auto") and use_json("json") and not use_json("console")
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    assert use_json("auto") and not use_json("console")


def test_the_web_secrets_are_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    secret, token = "w3b-s3cret-0123456789abcdef", "m3trics-t0ken-0123456789"
    settings = Settings(web_secret=secret, web_metrics_token=token)  # type: ignore[call-arg]
    configure_logging("info", "json", settings_secrets(settings))
    structlog.get_logger("test").info("web_started", secret=secret, header=f"Authorization: Bearer {token}")
    text = capsys.readouterr().err
    assert "web_started" in text and secret not in text and token not in text
