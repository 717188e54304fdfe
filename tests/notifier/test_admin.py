"""The notifier's admin as an operator uses it: titled for its service, every list searchable and filtered,
records read-only, and actions that ask a reason, are recorded, and report refusals as warnings."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.messages import constants

from notifications.intake.inbox import inbox_take
from notifications.models import Delivery, DeliveryRetry, ProjectAccess, Redrive
from tests.notifier.conftest import envelope, generation_payload
from tests.notifier.test_api import hold_one_of_each
from tests.notifier.test_contract_evolution import message, poisoned_by_the_previous_release

pytestmark = pytest.mark.django_db(transaction=True)

#: What an operator may add or change by hand: grants only; everything else is a record.
EDITABLE = {ProjectAccess}


@pytest.fixture
def staff(client):
    client.force_login(get_user_model().objects.create_superuser("oncall", password="pw"))
    return client


def notices(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in response.context["messages"]]


def notifier_admins() -> list[tuple[type, admin.ModelAdmin]]:
    return [(model, model_admin) for model, model_admin in admin.site._registry.items()
            if model._meta.app_label == "notifications"]  # fmt: skip


def test_the_admin_is_titled_for_its_service_and_names_its_tables_right(staff):
    index = staff.get("/admin/").content.decode()
    assert "Notifier administration" in index and "Django administration" not in index
    assert "Deliveries" in index and "Deliverys" not in index and "Delivery retries" in index


def test_every_list_is_searchable_and_filtered(staff):
    hold_one_of_each()
    inbox_take(envelope())
    for model, model_admin in notifier_admins():
        assert model_admin.search_fields and model_admin.list_filter, model.__name__
        url = f"/admin/notifications/{model._meta.model_name}/"
        assert staff.get(url, {"q": "generation"}).status_code == 200, url


def test_records_are_read_only(staff, rf):
    request = rf.get("/admin/")
    request.user = get_user_model().objects.get(username="oncall")
    for model, model_admin in notifier_admins():
        if model in EDITABLE:
            continue
        assert staff.get(f"/admin/notifications/{model._meta.model_name}/add/").status_code == 403, model.__name__
        assert not model_admin.has_change_permission(request), model.__name__
        assert not model_admin.has_delete_permission(request), model.__name__


def test_a_retry_in_the_admin_asks_why_records_it_and_warns_about_what_it_left(staff):
    # given a failed e-mail and a delivered one, both selected
    [failed] = inbox_take(envelope(payload=generation_payload(webhook_url=None))).delivery_ids
    [delivered] = inbox_take(envelope(payload=generation_payload(webhook_url=None))).delivery_ids
    Delivery.objects.filter(pk=failed).update(status="failed", last_error="smtp down")
    Delivery.objects.filter(pk=delivered).update(status="delivered")
    url = "/admin/notifications/delivery/"
    selected = {"action": "retry", "_selected_action": [failed, delivered]}
    # when the operator asks, then answers without a reason, then with one
    asked = staff.post(url, selected)
    assert asked.status_code == 200 and b"action-form" in asked.content
    assert staff.post(url, {**selected, "apply": "1", "reason": ""}).status_code == 200
    assert not DeliveryRetry.objects.exists()
    done = staff.post(url, {**selected, "apply": "1", "reason": "smtp is back"}, follow=True)
    # then the failed one is due, the delivered one left alone, and the warning says so
    [(level, text)] = notices(done)
    assert level == constants.WARNING and "1 made due again" in text and "1 selected delivery left alone" in text
    assert Delivery.objects.get(pk=failed).status == "pending"
    record = DeliveryRetry.objects.get()
    assert (record.actor, record.source, record.delivery_ids) == ("oncall", "admin", [failed])
    # and selecting only what cannot be retried is refused, as a warning, with nothing recorded
    refused = staff.post(url, {"action": "retry", "_selected_action": [delivered], "apply": "1", "reason": "x"},
                         follow=True)  # fmt: skip
    [(level, text)] = notices(refused)
    assert level == constants.WARNING and "nothing made due" in text and DeliveryRetry.objects.count() == 1


def test_a_refused_replay_is_a_warning_not_a_success(staff):
    poisoned_by_the_previous_release({"event_id": "garbage"}, "m-bad")
    poisoned_by_the_previous_release(message(), "m-good")
    listed = staff.get("/admin/notifications/poisonmessage/").content.decode()
    assert "generation.completed" in listed  # the event type column, read from the body
    done = staff.post(
        "/admin/notifications/poisonmessage/",
        {"action": "replay_selected", "_selected_action": [p.pk for p in _poison()], "apply": "1", "reason": "fix"},
        follow=True,
    )
    levels = dict((text.split(":")[0], level) for level, text in notices(done))
    assert levels["message m-bad"] == constants.WARNING and levels["message m-good"] == constants.INFO
    summary = [text for level, text in notices(done) if "redrive" in text]
    assert summary == [f"1 taken in, 0 still held, 1 refused (redrive {Redrive.objects.get().pk})."]
    assert (constants.WARNING, summary[0]) in notices(done)


def _poison():
    from notifications.models import PoisonMessage

    return PoisonMessage.objects.order_by("id")
