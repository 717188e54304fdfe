"""E-mail: one SMTP conversation per attempt; 5xx replies and refused addresses are final, the rest retried."""

from __future__ import annotations

import smtplib

from django.core.mail import EmailMessage

from codegen_contracts.targets import email_address_problem
from notifications.delivery.outcomes import SendResult, Verdict
from notifications.models import Delivery


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
