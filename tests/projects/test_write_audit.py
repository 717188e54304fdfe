"""Guarantee 1, audited at the SQL level: every status write to an evented table shares its
PostgreSQL transaction with an outbox INSERT. A new write path that forgets the outbox fails here."""

from __future__ import annotations

import io
import re
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.db import connection

from tests.projects.conftest import client_for
from tests.projects.factories import ProjectFactory

EVENTED_WRITE = re.compile(
    r'^(INSERT INTO|UPDATE) "(projects_generatedproject|projects_repositoryexport)"(?P<rest>.*)$', re.S
)


class TransactionAudit:
    """Records, per PostgreSQL transaction id, the evented status writes and the outbox inserts."""

    def __init__(self) -> None:
        self.evented: dict[int, list[str]] = defaultdict(list)
        self.outbox: dict[int, int] = defaultdict(int)

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        match = EVENTED_WRITE.match(sql)
        is_outbox = re.search(r'INSERT INTO "?outbox_event"? ', sql) is not None
        if (match and '"status"' in match["rest"]) or is_outbox:
            # a separate raw cursor: the caller may still fetch RETURNING rows from its own
            txid = context["connection"].connection.execute("SELECT txid_current()").fetchone()[0]
            if is_outbox:
                self.outbox[txid] += 1
            else:
                self.evented[txid].append(sql[:60])
        return result


@pytest.mark.django_db(transaction=True)
def test_every_status_write_shares_a_transaction_with_an_outbox_insert():
    project = ProjectFactory()
    api = client_for(project.owner)
    audit = TransactionAudit()
    with connection.execute_wrapper(audit):
        gp = api.post("/api/v1/generated-projects/", {"project": project.pk}, format="json").json()["id"]
        api.patch(f"/api/v1/generated-projects/{gp}/", {"status": "generating"}, format="json")
        api.post(f"/api/v1/generated-projects/{gp}/files/", [{"path": "a", "file_size": 1}], format="json")
        call_command("generated_project_transition", gp, "completed", stdout=io.StringIO())
        export = api.post(
            "/api/v1/exports/", {"generated_project": gp, "repository_url": "https://g.example/r.git"}, format="json"
        )
        api.patch(f"/api/v1/exports/{export.json()['id']}/", {"status": "failed", "error": "boom"}, format="json")
        api.patch(f"/api/v1/generated-projects/{gp}/", {"status": "archived"}, format="json")
    assert len(audit.evented) == 6
    for txid, statements in audit.evented.items():
        assert audit.outbox.get(txid, 0) >= 1, f"{statements} committed without an outbox row"
