"""Login links, sessions and the gate every route passes (FastAPI dependencies).

Policy: a one-time login link (valid ``LINK_TTL``, redeemable once per server: its nonce is
remembered until it expires) opens a session: a signed cookie (HttpOnly, SameSite=Strict,
``SESSION_TTL``) naming the holder, the role granted and a CSRF token. Every request re-reads the
holder's role (``bot.web.roles``); anyone without a valid session gets 401 and nothing. Every
POST needs the approver role and the session's CSRF token in the ``X-CSRF-Token`` header (403
otherwise). Nonces live in memory: after a restart a link not yet expired could be redeemed again
within its few minutes, which the short TTL bounds.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from fastapi import HTTPException, Request

from bot.clock import Clock
from bot.web import tokens
from bot.web.links import login_token
from bot.web.roles import Role, Roles, role_now

log = structlog.get_logger("paperdesk.web.auth")
COOKIE = "paperdesk_session"
SESSION_TTL = timedelta(hours=12)
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Session:
    """A logged-in browser."""

    holder: str
    role: Role
    csrf: str
    expires: datetime


@dataclass
class Auth:
    """Issues and checks links and sessions with one key."""

    key: bytes
    roles: Roles
    clock: Clock
    _used: dict[str, int] = field(default_factory=dict)

    def login_token(self, holder: str, role: Role) -> str:
        """A one-time login token for ``holder`` with ``role`` (``bot.web.links``)."""
        return login_token(self.key, holder, str(role), self.clock())

    def redeem(self, token: str) -> tuple[Session, str] | None:
        """A new session and its cookie value for an unused, valid link; None otherwise."""
        now = self.clock()
        payload = tokens.verify(self.key, "login", token, now)
        if payload is None or not isinstance(payload.get("n"), str):
            return None
        self._used = {n: e for n, e in self._used.items() if e > now.timestamp()}
        if payload["n"] in self._used:
            log.warning("web_login_link_reused", holder=payload.get("h"))
            return None
        self._used[payload["n"]] = payload["e"]
        session = self._check(str(payload.get("h")), str(payload.get("r")), secrets.token_urlsafe(24),
                              now + SESSION_TTL)
        if session is None:
            return None
        cookie = tokens.sign(self.key, "session", {"h": session.holder, "r": str(session.role), "c": session.csrf},
                             session.expires)
        log.info("web_login", holder=session.holder, role=str(session.role))
        return session, cookie

    def session(self, cookie: str | None) -> Session | None:
        """The session a cookie carries, with the holder's role now; None when invalid, expired or revoked."""
        if not cookie:
            return None
        payload = tokens.verify(self.key, "session", cookie, self.clock())
        if payload is None:
            return None
        expires = datetime.fromtimestamp(payload["e"], tz=self.clock().tzinfo)
        return self._check(str(payload.get("h")), str(payload.get("r")), str(payload.get("c")), expires)

    def _check(self, holder: str, granted: str, csrf: str, expires: datetime) -> Session | None:
        role = role_now(self.roles, holder, granted)
        return None if role is None else Session(holder=holder, role=role, csrf=csrf, expires=expires)


def current(request: Request) -> Session:
    """Dependency: the request's session, or 401."""
    auth: Auth = request.app.state.auth
    session = auth.session(request.cookies.get(COOKIE))
    if session is None:
        raise HTTPException(status_code=401, detail="log in with a one-time link: /web in Telegram or "
                                                    "`paperdesk web login`")
    return session


def reader(request: Request) -> Session:
    """Dependency: any logged-in role."""
    return current(request)


def actor_session(request: Request) -> Session:
    """Dependency for actions: an approver whose request carries the session's CSRF token."""
    session = current(request)
    if session.role is not Role.APPROVER:
        raise HTTPException(status_code=403, detail="view-only: you can read, not act")
    check_csrf(request, session)
    return session


def check_csrf(request: Request, session: Session) -> None:
    """403 unless the request carries the session's CSRF token in ``X-CSRF-Token``."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        log.warning("web_csrf_refused", holder=session.holder)
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token: reload the page")
