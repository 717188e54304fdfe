"""The notifier API's OpenAPI links: from each list to one of its items (for clients, the docs and the
stateful phase of schemathesis)."""

from __future__ import annotations

from typing import Any

from codegen_api.schema import add_link

_FIRST = "$response.body#/results/0/id"


def notifier_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: links from the lists to their first item; a replay names its messages or says all
    (OpenAPI 3.0 has no if/then, so as ``anyOf``)."""
    for path, name, operation_id in [
        ("/api/v1/notifications/", "GetFirstNotification", "v1_notifications_retrieve"),
        ("/api/v1/deliveries/", "GetFirstDelivery", "v1_deliveries_retrieve"),
        ("/api/v1/held/", "GetFirstHeldMessage", "v1_held_retrieve"),
        ("/api/v1/deliveries/", "GetFirstDeliveryAttempts", "v1_deliveries_attempts_list"),
        ("/api/v1/webhook-endpoints/", "GetFirstEndpoint", "v1_webhook_endpoints_retrieve"),
    ]:
        add_link(result, path=path, method="get", status="200", name=name, operation_id=operation_id,
                 parameters={"id": _FIRST})  # fmt: skip
    result["components"]["schemas"]["HeldReplayRequest"]["anyOf"] = [
        {"required": ["ids"], "properties": {"ids": {"minItems": 1}}},
        {"required": ["all"], "properties": {"all": {"enum": [True]}}},
    ]
    return result
