"""Who may use the dashboard: the Telegram roles (approvers act, viewers read), nobody else.

A login link names its holder: ``tg:<user id>`` (from ``/web`` in Telegram) or ``os:<user>`` (from
``paperdesk web login``). A Telegram holder's role is read again from the settings on every request,
so removing an id from ``PAPERDESK_TELEGRAM_ALLOWED_USERS`` takes effect at once; the terminal user
is an approver (they can already run ``paperdesk approve``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.settings import Settings, parse_ids


class Role(StrEnum):
    """What a web user may do."""

    APPROVER = "approver"
    VIEWER = "viewer"


RANK = {Role.VIEWER: 1, Role.APPROVER: 2}


@dataclass(frozen=True)
class WebRoles:
    """The Telegram id lists, read once."""

    approvers: frozenset[int]
    viewers: frozenset[int]

    @classmethod
    def from_settings(cls, settings: Settings) -> WebRoles:
        """Read both id lists (``SettingsError`` naming a bad one)."""
        return cls(frozenset(parse_ids(settings.telegram_allowed_users, "PAPERDESK_TELEGRAM_ALLOWED_USERS")),
                   frozenset(parse_ids(settings.telegram_viewers, "PAPERDESK_TELEGRAM_VIEWERS")))

    def of_telegram(self, user_id: int) -> Role | None:
        """The role of a Telegram user, None for a stranger."""
        if user_id in self.approvers:
            return Role.APPROVER
        if user_id in self.viewers:
            return Role.VIEWER
        return None

    def current(self, holder: str, granted: Role) -> Role | None:
        """The role ``holder`` has now: never more than ``granted``, and none once a Telegram id is removed."""
        kind, _, name = holder.partition(":")
        if kind == "os":
            return granted
        if kind == "tg" and name.isdigit():
            now = self.of_telegram(int(name))
            return None if now is None else min(now, granted, key=RANK.__getitem__)
        return None


def actor(holder: str) -> str:
    """The lifecycle actor of a web decision: ``web:<telegram user id>`` or ``web:<os user>``."""
    return "web:" + holder.partition(":")[2]
