"""Redaction: the one function that removes secrets from text before it is stored, logged or printed.

Policy: ``Redactor(secrets).text`` first replaces the configured secret values (API keys, the bot
token, Alpaca keys, passwords inside URLs; the composition root passes them), then key-shaped
patterns that need no configuration: Telegram bot tokens (``bot<id>:<token>``), passwords in URLs
(``user:password@``), key-like query parameters, bearer and basic credentials, ``api_key: …`` /
``password=…`` assignments (``Invalid API key provided: …``, as proxies answer), ``sk-`` /
``sk-proj-`` keys, Alpaca key ids (``PK…``, ``AK…``) and long mixed-case secrets. Each becomes ``***``.

Untrusted text is redacted where it enters (the LLM client's errors, its endpoint host) and again at
the sinks (log lines, alerts, stored reports, JSON and terminal output). It lives in ``broker/``
because every package may import from here (DESIGN.md's import table), and broker errors also carry
text from outside. Ordinary text (symbols, ids, numbers, hex digests) is left as it is.

Failure contract: pure; never raises.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["HIDDEN", "Redactor", "host_of", "url_credentials", "url_password"]

HIDDEN = "***"
_PATTERNS = (
    (re.compile(r"bot\d+:[A-Za-z0-9_-]+"), "bot" + HIDDEN),
    (re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b"), HIDDEN),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*):[^/\s@]+@", re.IGNORECASE), r"\1:" + HIDDEN + "@"),
    (re.compile(r"([?&](?:api[_-]?key|apikey|key|token|secret|password|access_token)=)[^&\s#]+", re.IGNORECASE),
     r"\1" + HIDDEN),
    (re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE), r"\1" + HIDDEN),
    (re.compile(r"(\bBasic\s+)(?=[A-Za-z+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}"), r"\1" + HIDDEN),
    (re.compile(r"(\b(?:api[ _-]?key|apikey|secret[ _-]?key|client[_-]?secret|password|passwd|access[_-]?token|"
                r"auth[_-]?token)(?:\s+provided)?[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&}]{4,}", re.IGNORECASE),
     r"\1" + HIDDEN),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), "sk-" + HIDDEN),
    (re.compile(r"\b(?:PK|AK|CK)[A-Z0-9]{16,}\b"), HIDDEN),
    (re.compile(r"\b(?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])(?=[A-Za-z0-9]*[0-9])[A-Za-z0-9]{32,}\b"), HIDDEN),
)


class Redactor:
    """Removes the configured secrets and key-shaped text from strings and from nested values."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        forms = {form for s in secrets if s for form in (s, unquote(s))}
        self.secrets = sorted((s for s in forms if len(s) >= 4), key=len, reverse=True)

    def text(self, value: str) -> str:
        """The text with every secret replaced by ``***``."""
        for secret in self.secrets:
            value = value.replace(secret, HIDDEN)
        for pattern, replacement in _PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def value(self, value: Any) -> Any:
        """Strings redacted; lists, tuples and dict values walked; exceptions rendered then redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, BaseException):
            return self.text(repr(value))
        return value


def url_password(url: str | None) -> str | None:
    """The password inside a URL (``scheme://user:password@host``), if any."""
    if not url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:  # an unparsable URL is refused by its own validation
        return None


def url_credentials(url: str | None) -> list[str]:
    """The password inside a URL and the Basic credential a client derives from it (base64 of user:password)."""
    password = url_password(url)
    if not password or not url:
        return []
    user = unquote(urlsplit(url).username or "")
    basic = base64.b64encode(f"{user}:{unquote(password)}".encode()).decode()
    return [password, basic]


def host_of(url: str) -> str:
    """``host[:port]`` of a URL without any user or password (the text itself when it has no host)."""
    try:
        parts = urlsplit(url if "://" in url else f"//{url}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return Redactor().text(url)
    if not host:
        return Redactor().text(url)
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port is not None else shown
