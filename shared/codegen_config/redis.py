"""Which Redis the services talk to: one server by URL, or the primary that Redis Sentinel names.

- ``REDIS_URL``: one server (``redis://[:password@]host:port/db``), as before.
- ``REDIS_SENTINELS`` (``host:port,host:port,...``) with ``REDIS_SENTINEL_MASTER`` (the name the
  Sentinels monitor, default ``mymaster``): the client asks the Sentinels for the current primary
  on every new connection, so after a failover it reconnects to the promoted replica without a
  restart. ``REDIS_PASSWORD`` is the primary's and replicas' password, ``REDIS_SENTINEL_PASSWORD``
  the Sentinels' own (both optional); ``REDIS_DB`` the database number (default 0). With
  ``REDIS_SENTINELS`` set, ``REDIS_URL`` is not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from codegen_config.env import env_int, env_list, env_str


@dataclass(frozen=True)
class RedisTarget:
    """One Redis server by URL, or a Sentinel-supervised primary."""

    url: str = "redis://127.0.0.1:6390/0"
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = "mymaster"
    password: str | None = None
    sentinel_password: str | None = None
    db: int = 0

    def client(self, *, timeout: float, **options: Any) -> Any:
        """A redis-py client (``socket_timeout`` and ``socket_connect_timeout`` of ``timeout`` seconds); with
        Sentinels, one whose connections always go to the current primary."""
        import redis
        from redis.sentinel import Sentinel

        if not self.sentinels:
            pool = redis.ConnectionPool.from_url(
                self.url, socket_timeout=timeout, socket_connect_timeout=timeout, **options
            )
            return redis.Redis(connection_pool=pool)
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(self.sentinels),
            sentinel_kwargs={"password": self.sentinel_password, "socket_timeout": timeout,
                             "socket_connect_timeout": timeout},
        )  # fmt: skip
        return sentinel.master_for(  # type: ignore[no-untyped-call]
            self.master, db=self.db, password=self.password, socket_timeout=timeout,
            socket_connect_timeout=timeout, **options,
        )  # fmt: skip

    def describe(self) -> str:
        """Where it points, without passwords (for logs)."""
        if self.sentinels:
            return f"sentinel:{self.master}@" + ",".join(f"{host}:{port}" for host, port in self.sentinels)
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


def _address(item: str) -> tuple[str, int]:
    host, _, port = item.rpartition(":")
    if not host or not port.isdigit():
        raise ImproperlyConfigured(f"REDIS_SENTINELS must be host:port entries separated by commas, got {item!r}")
    return host.strip("[]"), int(port)


def redis_target(default_url: str = "redis://127.0.0.1:6390/0") -> RedisTarget:
    """The Redis of this process, from ``REDIS_URL`` or the ``REDIS_SENTINEL*`` variables (see the module)."""
    sentinels = tuple(_address(item) for item in env_list("REDIS_SENTINELS", []))
    return RedisTarget(
        url=env_str("REDIS_URL", default_url),
        sentinels=sentinels,
        master=env_str("REDIS_SENTINEL_MASTER", "mymaster"),
        password=env_str("REDIS_PASSWORD", "") or None,
        sentinel_password=env_str("REDIS_SENTINEL_PASSWORD", "") or None,
        db=env_int("REDIS_DB", 0),
    )
