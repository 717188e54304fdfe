"""An SMTP server on loopback (aiosmtpd) that keeps every message it is given: the tests' fake mail server,
and `make production`'s, where each message is also written to a mailbox folder to read."""

from __future__ import annotations

import email
import email.message
from pathlib import Path
from typing import Any

from devinfra.ports import free_port


class SmtpSink:
    """Accepts every message on 127.0.0.1:``port``; ``messages`` holds them parsed, in order of arrival, and
    with a ``mailbox`` each is written there too, as ``<n>.eml``."""

    def __init__(self, port: int | None = None, *, mailbox: Path | None = None) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.Message] = []
        self.mailbox = mailbox
        if mailbox is not None:
            mailbox.mkdir(parents=True, exist_ok=True)
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.keep(envelope.content)
                return "250 OK"

        self.port = port or free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def keep(self, content: bytes) -> None:
        self.messages.append(email.message_from_bytes(content))
        if self.mailbox is not None:
            (self.mailbox / f"{len(self.messages)}.eml").write_bytes(content)

    def close(self) -> None:
        self.controller.stop()
