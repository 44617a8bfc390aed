"""The dashboard in Chromium: log in by link, a drawn equity chart, an approval filled, a viewer who cannot act."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Dashboard

PAGES = ("overview", "positions", "pending", "decisions", "risk", "sleeves", "llm", "backtests")
INKED = """(selector) => {
  let inked = 0;
  for (const canvas of document.querySelectorAll(selector + ' canvas')) {
    if (!canvas.width || !canvas.height) continue;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
  }
  return inked;
}"""


def inked(page: Any, selector: str, least: int = 500) -> int:
    """The chart's painted pixels, once at least ``least`` (polled: the page's CSP forbids eval'd predicates)."""
    for _ in range(100):
        count = int(page.evaluate(INKED, selector))
        if count >= least:
            return count
        page.wait_for_timeout(100)
    raise AssertionError(f"{selector} stayed blank ({count} painted pixels)")


def log_in(page: Any, dashboard: Dashboard, holder: str, role: str) -> None:
    page.goto(dashboard.link(holder, role))
    page.wait_for_selector("#who:has-text('web:')")


def test_a_login_link_opens_the_dashboard_and_the_equity_chart_is_drawn(page: Any, dashboard: Dashboard) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, dashboard, "tg:11", "approver")
    assert page.url.rstrip("/") == dashboard.url
    assert page.text_content("#who") == "web:11 · approver"
    page.wait_for_selector("#equity-chart canvas")
    assert inked(page, "#equity-chart") >= 500  # a curve, not a blank canvas
    assert "SPY buy-and-hold" in page.text_content("main")
    for name in PAGES:
        page.goto(f"{dashboard.url}/{'' if name == 'overview' else name}")
        page.wait_for_selector("main section")
        dashboard.shot(page, name)
    page.goto(f"{dashboard.url}/decisions")
    page.click("tbody tr")
    page.wait_for_selector("#story")
    story = page.text_content("#story")
    assert "Transitions" in story and "cycle: BORDERLINE" in story and "[object" not in story
    dashboard.shot(page, "decision-story")
    page.click("#theme")
    page.goto(dashboard.url)
    assert inked(page, "#equity-chart") >= 500
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    dashboard.shot(page, "overview-dark")
    assert errors == []


def test_an_approver_approves_a_pending_proposal_and_sees_it_filled(page: Any, dashboard: Dashboard) -> None:
    log_in(page, dashboard, "os:alice", "approver")
    page.goto(f"{dashboard.url}/pending")
    box = page.wait_for_selector(".proposal")
    proposal_id = box.get_attribute("data-id")
    box.query_selector("button.approve").click()
    message = page.wait_for_selector(f".proposal[data-id='{proposal_id}'] .message")
    assert "filled at" in message.text_content() and "web:alice" in message.text_content()
    dashboard.shot(page, "pending-approved")
    row = dashboard.app.store.get_proposal(proposal_id)
    assert (row.status, row.decided_by) == ("FILLED", "web:alice")
    page.goto(f"{dashboard.url}/decisions?actor=web:")
    page.wait_for_selector("tbody tr")
    assert proposal_id in page.text_content("tbody") and "FILLED" in page.text_content("tbody")


def test_a_viewer_sees_no_approve_button_and_a_forged_post_is_refused(page: Any, dashboard: Dashboard) -> None:
    log_in(page, dashboard, "tg:22", "viewer")
    page.goto(f"{dashboard.url}/pending")
    box = page.wait_for_selector(".proposal")
    proposal_id = box.get_attribute("data-id")
    assert page.query_selector("button.approve") is None and page.query_selector("button.reject") is None
    assert "View-only" in page.text_content("main")
    dashboard.shot(page, "pending-viewer")
    forged = """async (id) => {
      const send = (headers) => fetch('/api/proposals/' + id + '/approve', {method: 'POST', headers})
        .then((r) => r.status);
      const session = await (await fetch('/api/session')).json();
      return [await send({}), await send({'X-CSRF-Token': 'forged'}), await send({'X-CSRF-Token': session.csrf})];
    }"""
    assert page.evaluate(forged, proposal_id) == [403, 403, 403]  # no token, a wrong one, and the viewer's own
    assert dashboard.app.store.get_proposal(proposal_id).status == "AWAITING_APPROVAL"


def test_the_sleeves_page_shows_each_sleeve_and_draws_the_stacked_budgets(page: Any,
                                                                          sleeved_dashboard: Dashboard) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, sleeved_dashboard, "tg:22", "viewer")
    page.goto(f"{sleeved_dashboard.url}/sleeves")
    page.wait_for_selector("#sleeves-chart canvas")
    assert inked(page, "#sleeves-chart") >= 500
    table = page.text_content("main table")
    assert all(name in table for name in ("us_equity", "commodities", "paris")) and "equal_weight" in table
    assert "allocated on 2026-11-12" in page.text_content("main h2")
    sleeved_dashboard.shot(page, "sleeves")
    assert errors == []
