"""The dashboard's roles are Telegram's (bot.desk.access): never more than a link grants, nothing for a stranger."""

from __future__ import annotations

from bot.desk.access import Role, Roles
from bot.web.roles import role_now

ROLES = Roles(approvers=frozenset({11}), viewers=frozenset({22}))


def test_a_link_never_grants_more_than_the_holder_has_now() -> None:
    assert role_now(ROLES, "tg:11", "approver") is Role.APPROVER
    assert role_now(ROLES, "tg:11", "viewer") is Role.VIEWER  # an approver's viewer link stays a viewer's
    assert role_now(ROLES, "tg:22", "approver") is Role.VIEWER  # a viewer's id cannot be promoted by a link
    assert role_now(ROLES, "tg:33", "viewer") is None  # a stranger (or a removed id)
    assert role_now(ROLES, "os:alice", "approver") is Role.APPROVER


def test_nothing_is_granted_to_a_stranger_or_an_unknown_holder() -> None:
    assert role_now(ROLES, "os:alice", "stranger") is None
    assert role_now(ROLES, "os:alice", "root") is None
    assert role_now(ROLES, "os:", "approver") is None
    assert role_now(ROLES, "tg:eleven", "approver") is None
    assert role_now(ROLES, "mail:bob", "approver") is None
