"""One-time login links, made without the web server's libraries (the CLI and Telegram hand them out).

A link is ``{public URL}/login?token=…``: a signed token (``bot.web.tokens``) naming the holder
(``tg:<telegram user id>`` or ``os:<user>``) and the role granted, valid ``LINK_TTL``, with a
nonce the server remembers so that it opens one session only.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.settings import Settings
from bot.web import tokens
from bot.web.keys import public_url, session_key

LINK_TTL = timedelta(minutes=10)


def login_token(key: bytes, holder: str, role: str, now: datetime) -> str:
    """A one-time login token for ``holder`` with ``role``."""
    return tokens.sign(key, "login", {"h": holder, "r": role, "n": secrets.token_urlsafe(12)}, now + LINK_TTL)


def login_link(settings: Settings, holder: str, role: str, clock: Clock) -> str:
    """The link that logs ``holder`` in once, with ``role``."""
    return f"{public_url(settings)}/login?token={login_token(session_key(settings), holder, role, clock())}"
