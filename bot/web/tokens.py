"""Signed, expiring tokens: ``base64url(JSON payload) . base64url(HMAC-SHA256)``.

Policy: a token is accepted only when its MAC matches (compared in constant time), its kind is
the one expected and its expiry, read from the injected clock, is in the future. Anything else,
malformed input included, is None: the caller refuses without saying which check failed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, kind: str, payload: dict[str, Any], expires: datetime) -> str:
    """A token of ``kind`` carrying ``payload`` until ``expires``."""
    body = _b64(json.dumps({**payload, "k": kind, "e": int(expires.timestamp())}, separators=(",", ":")).encode())
    return body + "." + _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def verify(key: bytes, kind: str, token: str, now: datetime) -> dict[str, Any] | None:
    """The payload of a valid, unexpired token of ``kind``; None otherwise."""
    body, dot, mac = token.partition(".")
    if not dot or len(token) > 4096:
        return None
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("k") != kind or not isinstance(payload.get("e"), int):
        return None
    return payload if payload["e"] > now.timestamp() else None
