"""structlog configuration: readable console output in a terminal, JSON lines otherwise (and under systemd).

Logs go to stderr so that command output on stdout stays clean (and ``--json`` stays parseable).
Under systemd (``JOURNAL_STREAM`` or ``INVOCATION_ID`` set) the ``auto`` format is JSON, one
event per journal line. Secrets never reach a log line: every event (and every record of a
library using the standard ``logging`` module) passes through ``Redactor``, the structlog face of
``broker.redaction.Redactor`` (the one redaction function: configured secrets and key-shaped text).
A command that prints an outcome as its own line (``halt``, a refused ``approve``) names those events
as ``shown``: they are logged at INFO instead of WARNING, so the default level does not say it twice
(the database keeps the record either way; ``PAPERDESK_LOG_LEVEL=info`` shows the log line too).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

import structlog

from broker import redaction
from broker.redaction import HIDDEN, url_password

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["HIDDEN", "Redactor", "configure_logging", "settings_secrets", "use_json"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
SYSTEMD_VARIABLES = ("JOURNAL_STREAM", "INVOCATION_ID")


class Redactor(redaction.Redactor):
    """``broker.redaction.Redactor`` that is also a structlog processor."""

    def __call__(self, logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        """The structlog processor: every value of the event redacted."""
        return {key: self.value(item) for key, item in event.items()}


class _RedactingFilter(logging.Filter):
    """Redacts standard-library log records (httpx, telegram, apscheduler) before they are formatted."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redactor.text(record.getMessage()), None
        if record.exc_info:
            record.exc_text = self.redactor.text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at write time (test runners and daemons swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def settings_secrets(settings: Settings) -> list[str]:
    """The secret values among the settings: tokens, keys and the passwords inside configured URLs."""
    urls = (settings.database_url, settings.openai_base_url, settings.alpaca_url, settings.alpaca_data_url,
            settings.telegram_api_url, settings.web_public_url)
    values = [settings.telegram_bot_token, settings.openai_api_key, settings.alpaca_api_key,
              settings.alpaca_secret_key, settings.web_secret, settings.web_metrics_token,
              *(url_password(url) for url in urls)]
    return [v for v in values if v]


def use_json(fmt: str) -> bool:
    """JSON when asked, or under systemd or when stderr is not a terminal with the ``auto`` format."""
    if fmt != "auto":
        return fmt == "json"
    return any(os.environ.get(name) for name in SYSTEMD_VARIABLES) or not sys.stderr.isatty()


class _Shown:
    """Demotes the events the caller prints itself to INFO: dropped below that level, relabelled above it."""

    def __init__(self, events: Iterable[str], threshold: int) -> None:
        self.events, self.threshold = frozenset(events), threshold

    def __call__(self, logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        """The structlog processor (after ``add_log_level``)."""
        if event.get("event") not in self.events or event.get("level") not in {"warning", "error"}:
            return event
        if self.threshold > logging.INFO:
            raise structlog.DropEvent
        event["level"] = "info"
        return event


def configure_logging(level: str = "warning", fmt: str = "auto", secrets: Iterable[str | None] = (),
                      shown: Iterable[str] = ()) -> None:
    """Configure structlog (and the standard ``logging`` root) once for the process.

    ``shown``: events whose outcome the command prints as its own line; logged at INFO, not WARNING.
    """
    redactor = Redactor(secrets)
    threshold = _LEVELS.get(level, logging.WARNING)
    renderer: structlog.types.Processor = (structlog.processors.JSONRenderer() if use_json(fmt)
                                           else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _Shown(shown, threshold),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redactor,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    _configure_stdlib(max(threshold, logging.WARNING), redactor, renderer, shared)


def _configure_stdlib(level: int, redactor: Redactor, renderer: structlog.types.Processor,
                      shared: list[structlog.types.Processor]) -> None:
    """Library records through the same redaction and renderer, at WARNING or above (httpx logs URLs at INFO)."""
    handler = logging.StreamHandler(_CurrentStderr())
    handler.addFilter(_RedactingFilter(redactor))
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer], foreign_pre_chain=shared))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_paperdesk", False)]:
        root.removeHandler(old)
    handler._paperdesk = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
