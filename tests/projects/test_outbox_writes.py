"""Guarantees 1 and 5: a model change and its outbox row commit together, on every path."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client

from codegen_contracts import envelope_from_builtins
from outbox.errors import EventedBulkWriteRefused, OutboxWriteOutsideTransaction
from outbox.models import OutboxEvent, OutboxState
from outbox.writer import outbox_event_write
from projects.errors import InvalidTransition, NotWritable
from projects.models import GeneratedProject, RepositoryExport
from tests.projects.factories import GeneratedProjectFactory, ProjectFactory


def events_of(obj: Any) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(aggregate_id=str(obj.pk)).order_by("sequence"))


def types_of(obj: Any) -> list[str]:
    return [e.event_type for e in events_of(obj)]


def break_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every outbox write fail after the model row was written."""

    def boom(**kwargs: Any) -> None:
        raise RuntimeError("outbox write failed")

    monkeypatch.setattr("projects.lifecycle.outbox_event_write", boom)


@pytest.mark.django_db
def test_creation_emits_generation_started_with_a_full_envelope(project):
    generated_project = GeneratedProjectFactory(project=project)
    [event] = events_of(generated_project)
    assert event.event_type == "generation.started"
    assert event.state == OutboxState.PENDING and event.attempts == 0
    assert event.sequence == 1 and event.schema_version == 1
    assert event.aggregate_type == "generated_project"
    assert event.payload == {
        "project_id": project.pk,
        "project_name": project.name,
        "owner_id": project.owner_id,
        "notification_email": "team@example.com",
        "webhook_url": "https://hooks.example.com/codegen",
        "generated_project_id": generated_project.pk,
        "from_status": None,
        "to_status": "pending",
        "total_files": 0,
        "total_size": 0,
    }


@pytest.mark.django_db
def test_plain_save_that_changes_status_emits_its_event(generated_project):
    generated_project.status = "generating"
    generated_project.save()  # no update_fields: the specification's receivers missed this
    assert types_of(generated_project) == ["generation.started", "generation.running"]
    assert [e.sequence for e in events_of(generated_project)] == [1, 2]


@pytest.mark.django_db
def test_save_that_changes_nothing_about_status_emits_nothing(generated_project):
    generated_project.save()
    generated_project.save(update_fields=["updated_at"])
    assert types_of(generated_project) == ["generation.started"]


@pytest.mark.django_db
def test_every_status_change_has_its_own_event(generated_project):
    for status in ["generating", "completed", "archived"]:
        generated_project.status = status
        generated_project.save(update_fields=["status"])
    assert types_of(generated_project) == [
        "generation.started",
        "generation.running",
        "generation.completed",
        "generation.archived",
    ]
    payloads = [(e.payload["from_status"], e.payload["to_status"]) for e in events_of(generated_project)]
    assert payloads == [
        (None, "pending"),
        ("pending", "generating"),
        ("generating", "completed"),
        ("completed", "archived"),
    ]


@pytest.mark.django_db
def test_invalid_transition_changes_nothing_and_emits_nothing(generated_project):
    generated_project.status = "completed"
    with pytest.raises(InvalidTransition, match="'pending' to 'completed'"):
        generated_project.save()
    generated_project.refresh_from_db()
    assert generated_project.status == "pending"
    assert types_of(generated_project) == ["generation.started"]


@pytest.mark.django_db
def test_creating_in_a_later_status_is_refused(project):
    with pytest.raises(InvalidTransition):
        GeneratedProject.objects.create(project=project, status="completed")
    assert not GeneratedProject.objects.exists()
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_stale_full_save_never_overwrites_totals(generated_project):
    stale = GeneratedProject.objects.get(pk=generated_project.pk)
    generated_project.files.create(path="a.txt", file_size=10)
    stale.save()  # loaded before the file was added
    generated_project.refresh_from_db()
    assert (generated_project.total_files, generated_project.total_size) == (1, 10)


@pytest.mark.django_db
def test_stale_full_save_cannot_revert_a_status(generated_project):
    stale = GeneratedProject.objects.get(pk=generated_project.pk)
    generated_project.status = "generating"
    generated_project.save()
    with pytest.raises(InvalidTransition, match="'generating' to 'pending'"):
        stale.save()
    assert GeneratedProject.objects.get(pk=generated_project.pk).event_sequence == 2


@pytest.mark.django_db
def test_export_events_carry_repository_and_error(generated_project):
    generated_project.status = "generating"
    generated_project.save()
    generated_project.status = "completed"
    generated_project.save()
    export = RepositoryExport.objects.create(
        generated_project=generated_project, repository_url="https://git.example.com/x.git"
    )
    export.status = "failed"
    export.error = "push rejected"
    export.save()
    events = events_of(export)
    assert [e.event_type for e in events] == ["export.requested", "export.failed"]
    assert events[1].payload["error"] == "push rejected"
    assert events[1].payload["repository_url"] == "https://git.example.com/x.git"
    assert events[1].aggregate_type == "repository_export"


@pytest.mark.django_db
def test_export_of_an_unfinished_generation_is_refused(generated_project):
    with pytest.raises(NotWritable, match="completed"):
        RepositoryExport.objects.create(generated_project=generated_project, repository_url="https://x.example/r.git")
    assert not RepositoryExport.objects.exists()


@pytest.mark.django_db
def test_stored_outbox_rows_are_valid_envelopes(generated_project):
    [row] = events_of(generated_project)
    envelope = envelope_from_builtins(
        {
            "event_id": str(row.event_id),
            "event_type": row.event_type,
            "schema_version": row.schema_version,
            "occurred_at": row.created_at.isoformat(),
            "aggregate_type": row.aggregate_type,
            "aggregate_id": row.aggregate_id,
            "sequence": row.sequence,
            "payload": row.payload,
        }
    )
    assert envelope.event_id == row.event_id


@pytest.mark.django_db
def test_invalid_payload_fails_the_business_write(project, monkeypatch):
    monkeypatch.setattr("projects.events.project_facts", lambda p: {"project_id": -5})
    with pytest.raises(ValueError, match="payload"):
        GeneratedProjectFactory(project=project)
    assert not GeneratedProject.objects.exists()


@pytest.mark.django_db
def test_outbox_insert_is_prepared_once_per_connection(project):
    # given a connection that has written more events than the prepare threshold
    for _ in range(12):
        GeneratedProjectFactory(project=project)
    # then the INSERT is one prepared statement on it, reused by the later writes
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["%outbox_event%"])
        prepared = [row[0] for row in cursor.fetchall()]
    assert len(prepared) == 1 and "INSERT INTO outbox_event" in prepared[0], prepared
    assert OutboxEvent.objects.count() == 12


@pytest.mark.django_db
def test_failed_outbox_insert_is_a_django_error_and_keeps_nothing(project, monkeypatch):
    # given a first event, and an event id that is then drawn again
    first = GeneratedProjectFactory(project=project)
    taken = events_of(first)[0].event_id
    monkeypatch.setattr("outbox.writer.uuid.uuid4", lambda: taken)
    # when the next change's INSERT violates the unique event id, then Django's error surfaces
    with pytest.raises(IntegrityError):
        GeneratedProjectFactory(project=project)
    # and neither the change nor its event is stored
    assert list(GeneratedProject.objects.values_list("pk", flat=True)) == [first.pk]
    assert OutboxEvent.objects.count() == 1


# --- Guarantee 1 on paths outside a test transaction (autocommit, as in production) ---------


@pytest.mark.django_db(transaction=True)
def test_bare_save_in_autocommit_rolls_back_with_a_failed_outbox_write(monkeypatch):
    generated_project = GeneratedProjectFactory()
    assert transaction.get_autocommit()
    break_outbox(monkeypatch)
    generated_project.status = "generating"
    with pytest.raises(RuntimeError, match="outbox write failed"):
        generated_project.save()  # as in `manage.py shell`: no transaction opened by the caller
    assert GeneratedProject.objects.get(pk=generated_project.pk).status == "pending"


@pytest.mark.django_db(transaction=True)
def test_rollback_emits_no_event(project):
    with pytest.raises(RuntimeError), transaction.atomic():
        generated_project = GeneratedProjectFactory(project=project)
        generated_project.status = "generating"
        generated_project.save()
        raise RuntimeError("the business transaction fails later on")
    assert not GeneratedProject.objects.exists()
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_outbox_writer_refuses_to_run_outside_a_transaction():
    with pytest.raises(OutboxWriteOutsideTransaction):
        outbox_event_write(event_type="generation.started", aggregate_id=1, sequence=1, payload={})
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_rest_path_is_atomic(monkeypatch):
    from tests.projects.conftest import client_for

    generated_project = GeneratedProjectFactory()
    client = client_for(generated_project.project.owner)
    client.raise_request_exception = False
    break_outbox(monkeypatch)
    response = client.patch(
        f"/api/v1/generated-projects/{generated_project.pk}/", {"status": "generating"}, format="json"
    )
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert GeneratedProject.objects.get(pk=generated_project.pk).status == "pending"


@pytest.mark.django_db(transaction=True)
def test_management_command_path_emits_and_is_atomic(monkeypatch):
    generated_project = GeneratedProjectFactory()
    call_command("generated_project_transition", generated_project.pk, "generating", stdout=io.StringIO())
    assert types_of(generated_project) == ["generation.started", "generation.running"]
    break_outbox(monkeypatch)
    with pytest.raises(RuntimeError):
        call_command("generated_project_transition", generated_project.pk, "completed", stdout=io.StringIO())
    assert GeneratedProject.objects.get(pk=generated_project.pk).status == "generating"


@pytest.mark.django_db(transaction=True)
def test_admin_path_obeys_the_machine_and_emits():
    admin_user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    generated_project = GeneratedProjectFactory()
    browser = Client()
    browser.force_login(admin_user)
    url = f"/admin/projects/generatedproject/{generated_project.pk}/change/"
    form = {"project": generated_project.project_id}

    response = browser.post(url, {**form, "status": "completed"})
    assert response.status_code == 200  # the form is shown again with the error
    assert "cannot go from" in response.content.decode()
    assert types_of(generated_project) == ["generation.started"]

    response = browser.post(url, {**form, "status": "generating"})
    assert response.status_code == 302
    assert GeneratedProject.objects.get(pk=generated_project.pk).status == "generating"
    assert types_of(generated_project) == ["generation.started", "generation.running"]


# --- Bulk paths that skip signals are refused, never silently skipped -----------------------


@pytest.mark.django_db
def test_queryset_update_of_status_is_refused(generated_project):
    with pytest.raises(EventedBulkWriteRefused, match="status"):
        GeneratedProject.objects.filter(pk=generated_project.pk).update(status="generating")
    assert GeneratedProject.objects.get(pk=generated_project.pk).status == "pending"


@pytest.mark.django_db
def test_bulk_create_of_evented_models_is_refused(project):
    with pytest.raises(EventedBulkWriteRefused, match="bulk_create"):
        GeneratedProject.objects.bulk_create([GeneratedProject(project=project)])
    with pytest.raises(EventedBulkWriteRefused, match="bulk_create"):
        RepositoryExport.objects.bulk_create([])
    assert not GeneratedProject.objects.exists()


@pytest.mark.django_db
def test_bulk_update_of_status_is_refused_and_other_fields_pass(generated_project):
    generated_project.status = "generating"
    with pytest.raises(EventedBulkWriteRefused):
        GeneratedProject.objects.bulk_update([generated_project], ["status"])
    project = ProjectFactory()
    generated_project.project = project
    GeneratedProject.objects.bulk_update([generated_project], ["project"])
    assert GeneratedProject.objects.get(pk=generated_project.pk).status == "pending"


@pytest.mark.django_db
def test_fixture_loading_writes_no_events(project, tmp_path):
    fixture = tmp_path / "gp.json"
    fields = {
        "project": project.pk,
        "status": "completed",
        "total_files": 0,
        "total_size": 0,
        "event_sequence": 3,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    fixture.write_text(json.dumps([{"model": "projects.generatedproject", "pk": 900, "fields": fields}]))
    call_command("loaddata", str(fixture), verbosity=0)
    assert GeneratedProject.objects.get(pk=900).status == "completed"
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_outbox_rows_are_visible_read_only_in_the_admin(generated_project):
    admin_user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    browser = Client()
    browser.force_login(admin_user)
    [event] = events_of(generated_project)
    listing = browser.get("/admin/outbox/outboxevent/?state=pending")
    assert listing.status_code == 200 and "generation.started" in listing.content.decode()
    detail = browser.get(f"/admin/outbox/outboxevent/{event.pk}/change/")
    assert detail.status_code == 200 and str(event.event_id) in detail.content.decode()
    assert browser.post(f"/admin/outbox/outboxevent/{event.pk}/delete/").status_code == 403
