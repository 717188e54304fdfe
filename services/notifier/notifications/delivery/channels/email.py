"""E-mail: one SMTP conversation per attempt; 5xx replies and refused addresses are final, the rest retried."""

from __future__ import annotations

import smtplib
from typing import TYPE_CHECKING, Any

from django.core.mail import EmailMessage

from codegen_contracts.targets import email_address_problem
from notifications.delivery.outcomes import SendResult, Verdict
from notifications.models import Channel, Delivery

if TYPE_CHECKING:
    from codegen_contracts import Envelope
    from notifications.intake.notice import Notice

NAME = Channel.EMAIL.value


def email_targets(payload: Any) -> list[str]:
    """The project's notification address, when it has one."""
    address = getattr(payload, "notification_email", None)
    return [address] if address else []


def email_body(notice: Notice, envelope: Envelope, late: bool) -> str:
    """The notice's text."""
    return notice.body


def email_send(delivery: Delivery) -> SendResult:
    """Send ``delivery`` by e-mail, ``X-Event-ID`` and ``Message-ID`` carrying its event id."""
    problem = email_address_problem(delivery.target)  # the projects API's rule, for addresses stored before it
    if problem:
        return SendResult(Verdict.FINAL, error=f"refused: {problem}")
    key = str(delivery.event.event_id) if delivery.event_id else f"delivery-{delivery.pk}"
    message = EmailMessage(
        subject=delivery.subject,
        body=delivery.body,
        to=[delivery.target],
        headers={"X-Event-ID": key, "Message-ID": f"<{key}@codegen>"},
    )
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPResponseException as exc:
        verdict = Verdict.FINAL if exc.smtp_code >= 500 else Verdict.RETRY
        return SendResult(verdict, status_code=exc.smtp_code, error=f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
    except (smtplib.SMTPException, OSError) as exc:
        return SendResult(Verdict.RETRY, error=f"SMTP: {exc}")
    return SendResult(Verdict.DELIVERED, status_code=250)
