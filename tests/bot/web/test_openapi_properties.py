"""Property tests of the JSON API against its own OpenAPI document (schemathesis), over real HTTP.

Every generated request is sent as a logged-in approver (with the CSRF token) to uvicorn on
127.0.0.1; schemathesis checks that no request makes the server fail (5xx), that every answer
matches the documented status codes, content type and schema, and hypothesis varies ids, filters
and bodies. Approvals may really happen: each is one more proposal decided through the desk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from bot.web.app import create_app
from bot.web.auth import COOKIE, CSRF_HEADER
from bot.web.roles import Role
from tests.bot.conftest import AppFactory
from tests.bot.web.conftest import APPROVER, ROLES, awaiting, threaded


@dataclass
class Served:
    """A dashboard served from its own thread (schemathesis calls it synchronously)."""

    url: str
    headers: dict[str, str]
    cookies: dict[str, str]
    document: dict[str, object]


@pytest.fixture
def served(make_app: AppFactory) -> Iterator[Served]:
    """A desk with pending proposals, served on 127.0.0.1 by uvicorn in a thread, and an approver's session."""
    app = make_app(**ROLES)
    asyncio.run(awaiting(app))
    with threaded(app) as (url, auth), httpx.Client(base_url=url, follow_redirects=False) as client:
        client.get("/login", params={"token": auth.login_token(f"tg:{APPROVER}", Role.APPROVER)})
        cookie = client.cookies[COOKIE]
        csrf = client.get("/api/session").json()["csrf"]
        document = create_app(app.desk, app.settings).openapi()
        yield Served(url=url, headers={CSRF_HEADER: csrf}, cookies={COOKIE: cookie}, document=document)


def test_the_api_honours_its_own_openapi_document(served: Served) -> None:
    schema = schemathesis.openapi.from_dict(served.document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13  # every documented route is exercised

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def honours(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=served.url, headers=served.headers, cookies=served.cookies)

        honours()
