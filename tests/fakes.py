"""Fakes of what lies outside the project, on loopback: a webhook receiver (devinfra's) and an SMTP server."""

from __future__ import annotations

from typing import Any

from devinfra.webhook_receiver import WebhookReceiver

__all__ = ["SmtpSink", "WebhookReceiver"]


class SmtpSink:
    """An SMTP server on loopback (aiosmtpd) that keeps every message it is given."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                import email

                sink.messages.append(email.message_from_bytes(envelope.content))
                return "250 OK"

        from devinfra.ports import free_port

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()
