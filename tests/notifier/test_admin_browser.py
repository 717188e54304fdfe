"""The notifier's admin in a real headless browser (Debian's chromium, driven by Playwright) at a normal window
size: lists one line per row, ids as they are, a retry that asks why and warns about what it left alone.

Each page checked is saved as a screenshot in ``var/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from notifications.intake.inbox import inbox_take
from notifications.models import Delivery, DeliveryRetry
from tests.notifier.conftest import envelope, generation_payload
from tests.notifier.test_api import hold_one_of_each
from tests.notifier.test_contract_evolution import message, poisoned_by_the_previous_release
from tests.support import CHROMIUM_ARGS, REPO, chromium_path

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

#: A laptop's window.
WINDOW = {"width": 1366, "height": 768}
#: The tallest a list row may be: one line of text (Django's admin rows are about 35 px).
ROW_HEIGHT_MAX = 40
SCREENSHOTS = REPO / "var" / "screenshots"


def every_column_shown(page) -> bool:
    """The list fits the window: no column hidden behind a horizontal scroll."""
    return bool(page.evaluate("() => { const r = document.querySelector('.results'); "
                              "return r.scrollWidth <= r.clientWidth; }"))  # fmt: skip


@pytest.fixture
def page(live_server, monkeypatch):
    """A browser page of a laptop's size, logged in to the notifier's admin as staff."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    get_user_model().objects.create_superuser("oncall", "oncall@example.com", "correct horse battery")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=WINDOW, base_url=live_server.url)
            page.goto("/admin/login/?next=/admin/")
            page.fill("#id_username", "oncall")
            page.fill("#id_password", "correct horse battery")
            page.click("input[type=submit]")
            page.wait_for_selector("#site-name")
            yield page
        finally:
            # with Playwright's loop running, the test's ORM calls had connections of their own: close them
            connections.close_all()
            browser.close()


def test_the_lists_show_every_column_on_one_line_per_row(page):
    for _ in range(100):
        inbox_take(envelope(payload=generation_payload(webhook_url=None)))
    hold_one_of_each()
    poisoned_by_the_previous_release(message(payload=generation_payload(build_host="ci-7")), str(uuid.uuid4()))

    page.goto("/admin/")
    assert page.inner_text("#site-name") == "Notifier administration"
    assert "Deliveries" in page.inner_text("#content-main")
    page.screenshot(path=SCREENSHOTS / "notifier-admin-index.png")

    # a page of 100 inbox rows: one line each, the event ids as stored (not capitalised)
    page.goto("/admin/notifications/inboxevent/")
    heights = page.eval_on_selector_all("#result_list tbody tr", "rows => rows.map(r => r.offsetHeight)")
    assert len(heights) == 100 and max(heights) <= ROW_HEIGHT_MAX, heights
    page.screenshot(path=SCREENSHOTS / "notifier-admin-inbox.png")
    assert every_column_shown(page)
    first_id = page.inner_text("#result_list tbody tr th a")
    assert first_id == first_id.lower()

    # held events, with why they are held
    page.goto("/admin/notifications/inboxevent/?held=yes")
    assert "schema version 2" in page.inner_text("#result_list") and every_column_shown(page)
    page.screenshot(path=SCREENSHOTS / "notifier-admin-held.png")

    # poison messages show their event type and a cut last error
    page.goto("/admin/notifications/poisonmessage/")
    page.screenshot(path=SCREENSHOTS / "notifier-admin-poison.png")
    assert "m-poison" in page.inner_text("#result_list") and every_column_shown(page)
    assert "generation.completed" in page.inner_text("#result_list")  # the event type, read from the body


def test_an_operator_finds_a_failed_delivery_and_retries_it(page):
    for _ in range(3):
        inbox_take(envelope(payload=generation_payload(webhook_url=None)))
    failed = Delivery.objects.order_by("id").first()
    Delivery.objects.filter(pk=failed.pk).update(status="failed", last_error="smtp: 451 try again later " * 20)

    page.goto("/admin/notifications/delivery/?status__exact=failed")
    row = page.locator("#result_list tbody tr")
    assert row.count() == 1 and row.evaluate("r => r.offsetHeight") <= ROW_HEIGHT_MAX
    assert every_column_shown(page) and "smtp: 451 try again later" in row.inner_text()
    page.screenshot(path=SCREENSHOTS / "notifier-admin-deliveries.png")
    page.check("input[name=_selected_action]")
    page.select_option("select[name=action]", "retry")
    page.click("button[name=index]")
    page.wait_for_selector("#action-form")
    page.fill("#id_reason", "the mail relay is back")
    page.screenshot(path=SCREENSHOTS / "notifier-admin-retry-confirm.png")
    page.click("#action-submit")
    page.wait_for_selector(".messagelist")
    assert "1 made due again" in page.inner_text(".messagelist .success")
    page.screenshot(path=SCREENSHOTS / "notifier-admin-retried.png")

    record = DeliveryRetry.objects.get()
    assert (record.actor, record.source, record.reason) == ("oncall", "admin", "the mail relay is back")
    assert Delivery.objects.get(pk=failed.pk).status == "pending"
