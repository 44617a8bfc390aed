"""Who may use the dashboard: the Telegram roles (``bot.desk.access``: approvers act, viewers read), nobody else.

A login link names its holder: ``tg:<user id>`` (from ``/web`` in Telegram) or ``os:<user>`` (from
``paperdesk web login``) and the role it grants, approver or viewer. A Telegram holder's role is
read again from the settings on every request, so removing an id from
``PAPERDESK_TELEGRAM_ALLOWED_USERS`` takes effect at once; the terminal user is an approver (they
can already run ``paperdesk approve``). A stranger is never granted anything.
"""

from __future__ import annotations

from bot.desk.access import Role, Roles

__all__ = ["GRANTABLE", "Role", "Roles", "actor", "role_now"]

GRANTABLE = (Role.VIEWER, Role.APPROVER)  # from least to most


def role_now(roles: Roles, holder: str, granted: str) -> Role | None:
    """The role ``holder`` has now: never more than ``granted``, and none once a Telegram id is removed."""
    if granted not in GRANTABLE:
        return None
    given = Role(granted)
    kind, _, name = holder.partition(":")
    if kind == "os" and name:
        return given
    if kind == "tg" and name.isdigit():
        now = roles.of(int(name))
        return None if now not in GRANTABLE else min(now, given, key=GRANTABLE.index)
    return None


def actor(holder: str) -> str:
    """The lifecycle actor of a web decision: ``web:<telegram user id>`` or ``web:<os user>``."""
    return "web:" + holder.partition(":")[2]
