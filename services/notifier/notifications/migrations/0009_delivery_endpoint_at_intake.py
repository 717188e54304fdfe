"""Intake writes each webhook delivery with its endpoint from now on: the pending ones written before get theirs
here (made on first sight, as intake makes them), those to a disabled endpoint end with its reason, and the
index that found the unassigned goes."""

from django.db import migrations

#: Deliveries given their endpoint per round.
BATCH = 1000


def endpoints_assign(apps, schema_editor):
    Delivery = apps.get_model("notifications", "Delivery")
    WebhookEndpoint = apps.get_model("notifications", "WebhookEndpoint")
    unassigned = Delivery.objects.filter(channel="webhook", endpoint__isnull=True, status="pending").order_by("id")
    while rows := list(unassigned.values_list("id", "target", "event__raw")[:BATCH]):
        for delivery_id, url, raw in rows:
            payload = (raw or {}).get("payload") or {}
            endpoint, _ = WebhookEndpoint.objects.get_or_create(
                project_id=int(payload.get("project_id") or 0),
                url=url,
                defaults={
                    "owner_id": payload.get("owner_id"),
                    "notification_email": payload.get("notification_email") or "",
                },
            )
            change = {"endpoint_id": endpoint.pk}
            if endpoint.state == "disabled":
                change |= {"status": "failed", "last_error": f"endpoint disabled: {endpoint.state_reason}"[:2000]}
            Delivery.objects.filter(pk=delivery_id).update(**change)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0008_operator_audit"),
    ]

    operations = [
        migrations.RunPython(endpoints_assign, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="delivery",
            name="delivery_unassigned_idx",
        ),
    ]
