"""Fakes of what lies outside the project, on loopback: a webhook receiver (devinfra's) and an SMTP server."""

from __future__ import annotations

from devinfra.smtp_sink import SmtpSink
from devinfra.webhook_receiver import WebhookReceiver

__all__ = ["SmtpSink", "WebhookReceiver"]
