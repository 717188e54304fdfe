"""The notifier's knobs, read once from ``settings.NOTIFIER`` into one typed object (each documented in
notifier_service/settings/base.py, and the variables behind them in docs/configuration.md)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver


@dataclass(frozen=True)
class NotifierConfig:
    """The notifier's configuration; see ``NOTIFIER`` in notifier_service/settings/base.py."""

    webhook_master_key: str
    webhook_secret: str
    webhook_timeout: float
    retry_schedule: tuple[float, ...]
    retry_after_max: float
    endpoint_concurrency: int
    breaker_failures: int
    disable_after: float
    delivery_threads: int
    delivery_poll: float
    webhook_allow_loopback: bool
    message_max_retries: int
    db_reconnect_seconds: float
    message_min_backoff_ms: int
    heartbeat_timeout_ms: int
    maintenance_chance: int
    redis_timeout: float
    intake_batch_max: int
    inbox_retention_days: int
    ordering: bool
    order_wait: float
    gap_alert_after: float

    @classmethod
    def from_settings(cls) -> NotifierConfig:
        """Build from ``settings.NOTIFIER`` (upper-case keys); ImproperlyConfigured for unknown or bad values."""
        raw: dict[str, Any] = {key.lower(): value for key, value in settings.NOTIFIER.items()}
        known = {f.name for f in fields(cls)}
        unknown, missing = sorted(set(raw) - known), sorted(known - set(raw))
        if unknown or missing:
            raise ImproperlyConfigured(f"NOTIFIER settings: unknown {unknown}, missing {missing}")
        raw["retry_schedule"] = tuple(float(wait) for wait in raw["retry_schedule"])
        config = cls(**raw)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ImproperlyConfigured for values no notifier can run with."""
        at_least_one = {
            "NOTIFIER_WEBHOOK_ENDPOINT_CONCURRENCY": self.endpoint_concurrency,
            "NOTIFIER_WEBHOOK_BREAKER_FAILURES": self.breaker_failures,
            "NOTIFIER_DELIVERY_THREADS": self.delivery_threads,
            "NOTIFIER_INTAKE_BATCH_MAX": self.intake_batch_max,
            "NOTIFIER_INBOX_RETENTION_DAYS": self.inbox_retention_days,
        }
        for name, value in at_least_one.items():
            if value < 1:
                raise ImproperlyConfigured(f"{name}: at least 1; got {value}")
        if not self.retry_schedule:
            raise ImproperlyConfigured("NOTIFIER_WEBHOOK_RETRY_SCHEDULE: at least one wait")
        if self.webhook_timeout <= 0 or self.delivery_poll <= 0:
            raise ImproperlyConfigured("WEBHOOK_TIMEOUT and NOTIFIER_DELIVERY_POLL: more than 0")


@functools.cache
def notifier_config() -> NotifierConfig:
    """The process's NotifierConfig, read from settings once (again only when a test changes NOTIFIER)."""
    return NotifierConfig.from_settings()


@receiver(setting_changed, dispatch_uid="notifications.config.setting_changed")
def _notifier_settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "NOTIFIER":
        notifier_config.cache_clear()
