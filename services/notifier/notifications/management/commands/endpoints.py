"""``manage.py endpoints list|show|disable|enable|recover``: webhook endpoints, their state, and operators' actions."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from codegen_api.filters import date_time_parse
from codegen_config import duration_seconds
from codegen_config.commands import BadArgument, NothingMatched
from notifications.api.endpoints import WebhookEndpointSerializer
from notifications.delivery.recovery import endpoint_act
from notifications.models import DeliveryAttempt, EndpointState, WebhookEndpoint


def _since(value: str) -> datetime:
    """``--since``: an RFC 3339 date-time, or an age such as ``6h`` (that long ago)."""
    try:
        return timezone.now() - timezone.timedelta(seconds=duration_seconds(value))
    except ValueError:
        pass
    try:
        return date_time_parse(value)
    except ValueError:
        raise BadArgument(f"--since: an RFC 3339 date-time or an age such as 6h; got {value!r}") from None


def _as_dict(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """The endpoint as the API shows it."""
    return dict(WebhookEndpointSerializer(endpoint).data)


class Command(BaseCommand):
    help = (
        "Webhook endpoints: list them with their state, show one with its latest attempts, disable, enable, or "
        "recover (send again what failed since a time). Each action needs a reason and is recorded; exit 1 when "
        "the action cannot be done, 2 for a bad argument, 3 when the endpoint does not exist or recover matched "
        "nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="endpoints, failing ones first")
        listing.add_argument("--state", choices=[s.value for s in EndpointState])
        listing.add_argument("--project", type=int, help="only this project's")
        listing.add_argument("--json", action="store_true", help="one JSON object per line")
        show = actions.add_parser("show", help="one endpoint with its latest attempts")
        show.add_argument("id", type=int)
        show.add_argument("--json", action="store_true")
        for name in ("disable", "enable", "recover"):
            sub = actions.add_parser(name, help=f"{name} an endpoint (recorded)")
            sub.add_argument("id", type=int)
            sub.add_argument("--reason", required=True, help="why (recorded)")
            sub.add_argument("--actor", default=None, help="who (default: the OS user)")
            sub.add_argument("--dry-run", action="store_true", help="say what would happen; change nothing")
            sub.add_argument("--json", action="store_true", help="the recorded action as JSON")
        actions.choices["recover"].add_argument(
            "--since", required=True, help="what failed at or after this time: RFC 3339, or an age such as 6h"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            return self._list(options)
        try:
            endpoint = WebhookEndpoint.objects.get(pk=options["id"])
        except WebhookEndpoint.DoesNotExist:
            raise NothingMatched(f"no webhook endpoint {options['id']}") from None
        if action == "show":
            return self._show(endpoint, options)
        since = _since(options["since"]) if action == "recover" else None
        try:
            record = endpoint_act(
                endpoint, action=action, actor=options["actor"] or getpass.getuser(), reason=options["reason"],
                since=since, dry_run=options["dry_run"],
            )  # fmt: skip
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps({"id": record.pk, "action": action, "dry_run": record.dry_run,
                                         "matched": record.matched, "endpoint": endpoint.pk}))  # fmt: skip
        else:
            self.stdout.write(f"endpoint {endpoint.pk} ({endpoint.url}): {record.summary()}")
        if action == "recover" and not record.matched:
            raise NothingMatched(f"no delivery to endpoint {endpoint.pk} failed since {since:%Y-%m-%dT%H:%M:%SZ}")
        return None

    def _list(self, options: dict[str, Any]) -> None:
        endpoints = WebhookEndpoint.objects.order_by("-consecutive_failures", "project_id", "id")
        if options["state"]:
            endpoints = endpoints.filter(state=options["state"])
        if options["project"]:
            endpoints = endpoints.filter(project_id=options["project"])
        if options["json"]:
            for endpoint in endpoints:
                self.stdout.write(json.dumps(_as_dict(endpoint)))
            return
        self.stdout.write(f"{'id':>5} {'project':>8} {'state':9} {'failures':>8}  {'last success':17} url")
        for e in endpoints:
            success = f"{e.last_success_at:%Y-%m-%d %H:%M}" if e.last_success_at else "never"
            self.stdout.write(
                f"{e.pk:>5} {e.project_id:>8} {e.state:9} {e.consecutive_failures:>8}  {success:17} {e.url}"
            )

    def _show(self, endpoint: WebhookEndpoint, options: dict[str, Any]) -> None:
        attempts = DeliveryAttempt.objects.filter(delivery__endpoint=endpoint).order_by("-started_at", "-id")[:20]
        if options["json"]:
            self.stdout.write(json.dumps(_as_dict(endpoint)))
            return
        for key, value in _as_dict(endpoint).items():
            self.stdout.write(f"{key:22} {value}")
        self.stdout.write("latest attempts:")
        for a in attempts:
            answer = a.status_code if a.status_code is not None else "-"
            self.stdout.write(f"  {a.started_at:%Y-%m-%d %H:%M:%S} delivery {a.delivery_id} #{a.number} {answer} "
                              f"{a.duration_ms} ms {a.error[:80]}")  # fmt: skip
