"""End-to-end tests share the relay tests' fixtures: real Redis, relays and workers as processes."""

from tests.relay.conftest import database_url, processes, redis_url  # noqa: F401
