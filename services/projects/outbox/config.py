"""The relay's knobs, read once from ``settings.OUTBOX`` (each documented in base settings)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from codegen_config import RedisTarget

#: Wake-up mechanisms the writer and the relay understand.
WAKEUP_MODES = ("notify", "redis", "none")


@dataclass(frozen=True)
class OutboxConfig:
    """Relay configuration; see ``OUTBOX`` in projects_service/settings/base.py."""

    redis: RedisTarget
    namespace: str
    batch_size: int
    poll_interval: float
    lease_seconds: float
    max_attempts: int
    backoff_base: float
    backoff_max: float
    publish_retry_attempts: int
    publish_retry_max_wait: float
    publish_timeout: float
    sweep_interval: float
    scan_margin: float
    retention_seconds: float
    retention_batch: int
    retention_interval: float
    heartbeat_interval: float
    wakeup: str
    metrics_port: int
    metrics_addr: str
    min_replicas: int
    replica_timeout: float

    @classmethod
    def from_settings(cls, **overrides: Any) -> OutboxConfig:
        """Build from ``settings.OUTBOX`` (upper-case keys), with keyword overrides."""
        raw = {key.lower(): value for key, value in settings.OUTBOX.items()}
        raw.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ImproperlyConfigured(f"unknown OUTBOX settings: {', '.join(unknown)}")
        config = cls(**raw)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ImproperlyConfigured for values no relay can run with."""
        if self.batch_size < 1:
            raise ImproperlyConfigured("OUTBOX BATCH_SIZE must be at least 1")
        if self.max_attempts < 1:
            raise ImproperlyConfigured("OUTBOX MAX_ATTEMPTS must be at least 1")
        if self.poll_interval <= 0 or self.lease_seconds <= 0:
            raise ImproperlyConfigured("OUTBOX POLL_INTERVAL and LEASE_SECONDS must be positive")
        if self.publish_timeout >= self.lease_seconds:
            raise ImproperlyConfigured("OUTBOX PUBLISH_TIMEOUT must be shorter than LEASE_SECONDS")
        if self.min_replicas < 0:
            raise ImproperlyConfigured("OUTBOX MIN_REPLICAS must be 0 or more")
        if self.min_replicas and not 0 < self.replica_timeout < self.publish_timeout:
            raise ImproperlyConfigured("OUTBOX REPLICA_TIMEOUT must be positive and shorter than PUBLISH_TIMEOUT")
        if self.wakeup not in WAKEUP_MODES:
            raise ImproperlyConfigured(f"OUTBOX WAKEUP must be one of {', '.join(WAKEUP_MODES)}")


@functools.cache
def outbox_config() -> OutboxConfig:
    """The process's OutboxConfig, read from settings once (again only when a test changes OUTBOX)."""
    return OutboxConfig.from_settings()


@receiver(setting_changed, dispatch_uid="outbox.config.setting_changed")
def _outbox_settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "OUTBOX":
        outbox_config.cache_clear()
