import pytest

from outbox.models import OutboxEvent

pytestmark = pytest.mark.django_db


def test_walkthrough(api, project):
    r = api.post("/api/v1/generated-projects/", {"project": project.pk}, format="json")
    assert r.status_code == 201, r.json()
    gp = r.json()["id"]
    r = api.patch(f"/api/v1/generated-projects/{gp}/", {"status": "generating"}, format="json")
    assert r.status_code == 200, r.json()
    assert OutboxEvent.objects.count() == 2
