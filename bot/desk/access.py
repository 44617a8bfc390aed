"""Who may use the desk from outside the terminal: the Telegram user-id lists, one reading for every transport.

Policy: ids in ``PAPERDESK_TELEGRAM_ALLOWED_USERS`` are approvers (read and act), ids in
``PAPERDESK_TELEGRAM_VIEWERS`` may only read, anyone else is a stranger. Telegram's gate
(``bot.telegram_ui.auth``) and the dashboard (``bot.web.roles``) both ask ``Roles.of``; this module
imports no transport's SDK. An unparsable id list is a ``SettingsError`` naming the variable.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.settings import Settings, parse_ids


class Role(StrEnum):
    """What a user may do."""

    APPROVER = "approver"
    VIEWER = "viewer"
    STRANGER = "stranger"


@dataclass(frozen=True)
class Roles:
    """Who may act and who may read."""

    approvers: frozenset[int]
    viewers: frozenset[int]

    @classmethod
    def from_settings(cls, settings: Settings) -> Roles:
        """Read both id lists."""
        return cls(frozenset(parse_ids(settings.telegram_allowed_users, "PAPERDESK_TELEGRAM_ALLOWED_USERS")),
                   frozenset(parse_ids(settings.telegram_viewers, "PAPERDESK_TELEGRAM_VIEWERS")))

    def of(self, user_id: int | None) -> Role:
        """The role of one user."""
        if user_id is not None and user_id in self.approvers:
            return Role.APPROVER
        if user_id is not None and user_id in self.viewers:
            return Role.VIEWER
        return Role.STRANGER
