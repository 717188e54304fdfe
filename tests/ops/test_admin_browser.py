"""The admin replay flow in a real headless browser (Debian's chromium, driven by Playwright):
log in as staff, filter dead rows, replay with a reason, see the audit record."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from outbox.models import OutboxEvent, OutboxReplay
from tests.projects.factories import GeneratedProjectFactory
from tests.support import CHROMIUM_ARGS, chromium_path

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_staff_replays_dead_rows_from_the_admin(live_server):
    from playwright.sync_api import sync_playwright

    get_user_model().objects.create_superuser("oncall", "oncall@example.com", "correct horse battery")
    GeneratedProjectFactory()
    GeneratedProjectFactory()
    dead, alive = OutboxEvent.objects.order_by("id")
    OutboxEvent.objects.filter(pk=dead.pk).update(state="dead", attempts=10, last_error="redis said no")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/admin/login/?next=/admin/outbox/outboxevent/")
            page.fill("#id_username", "oncall")
            page.fill("#id_password", "correct horse battery")
            page.click("input[type=submit]")
            page.wait_for_selector("#outbox-summary")
            assert page.inner_text("#count-dead") == "1"

            page.click("#changelist-filter a[href*='state__exact=dead']")
            page.wait_for_url("**state__exact=dead**")
            assert str(dead.event_id) in page.content() and str(alive.event_id) not in page.content()

            page.check("input[name=_selected_action]")
            page.select_option("select[name=action]", "replay_selected")
            page.click("button[name=index]")
            page.wait_for_selector("#replay-form")
            page.fill("#id_reason", "redis is back after the outage")
            page.click("#replay-submit")
            page.wait_for_selector(".messagelist")
            assert "Replayed 1 row (" in page.inner_text(".messagelist")

            page.goto(f"{live_server.url}/admin/outbox/outboxreplay/")
            page.click("#result_list tbody tr th a")
            page.wait_for_url("**/outboxreplay/*/change/")
            page.wait_for_selector("#outboxreplay_form")
            log = page.content()
            assert "redis is back after the outage" in log and str(dead.event_id) in log and "oncall" in log
        finally:
            browser.close()

    assert OutboxEvent.objects.get(pk=dead.pk).state == "pending"
    assert OutboxReplay.objects.get().source == "admin"
