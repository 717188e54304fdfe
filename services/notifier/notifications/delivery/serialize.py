"""The delivery side's records as plain data, for the command's JSON (the API's serializers say the same)."""

from __future__ import annotations

from typing import Any

from notifications.models import WebhookEndpoint


def endpoint_as_dict(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint and its state, JSON-ready."""

    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": endpoint.pk,
        "project_id": endpoint.project_id,
        "url": endpoint.url,
        "state": endpoint.state,
        "state_reason": endpoint.state_reason,
        "state_changed_at": when(endpoint.state_changed_at),
        "consecutive_failures": endpoint.consecutive_failures,
        "failing_since": when(endpoint.failing_since),
        "last_success_at": when(endpoint.last_success_at),
        "last_failure_at": when(endpoint.last_failure_at),
    }
