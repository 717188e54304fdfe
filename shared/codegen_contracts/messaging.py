"""Where events travel: the Dramatiq queue and actor name both services agree on.

A published event is a standard Dramatiq message on ``EVENTS_QUEUE`` for the actor
``EVENTS_ACTOR``, whose only argument is the envelope as JSON-compatible data and whose message
id is the event id. A consumer declares an actor with these names; nothing else is shared.
"""

from __future__ import annotations

from typing import Any

import msgspec

from codegen_contracts.envelope import Envelope

#: Dramatiq queue name of every domain event.
EVENTS_QUEUE = "codegen-events"
#: Dramatiq actor name that consumes ``EVENTS_QUEUE``.
EVENTS_ACTOR = "codegen_event"


def envelope_to_builtins(envelope: Envelope) -> dict[str, Any]:
    """Return the envelope as JSON-compatible data (the actor's single argument)."""
    data: dict[str, Any] = msgspec.to_builtins(envelope)
    return data
