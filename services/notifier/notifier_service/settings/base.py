"""Settings shared by every environment of the notifier; every value can come from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import codegen_config
from codegen_api.settings import rest_framework, spectacular
from codegen_config import env_bool, env_duration, env_durations, env_float, env_int, env_list, env_str, redis_target
from codegen_telemetry import logging_config
from notifications.delivery.schedule import DEFAULT_SCHEDULE

#: The services/notifier directory.
BASE_DIR = Path(__file__).resolve().parent.parent.parent
#: The repository root (var/ holds the development database).
REPO_DIR = BASE_DIR.parent.parent

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_prometheus",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "notifications.apps.NotificationsConfig",
]

MIDDLEWARE = [
    # requests by view, method and status, and their latency (django-prometheus; README, Operations, Metrics)
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "codegen_telemetry.web.CorrelationIdMiddleware",
    "codegen_api.errors.ApiJsonErrorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "notifier_service.urls"
WSGI_APPLICATION = "notifier_service.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def database_settings(url: str) -> dict[str, Any]:
    """This service's database from ``url``: every statement bound on the server (the intake statement
    is then parsed and planned once per connection: 0.3 ms instead of 0.8 ms), no health-check query
    per message (a connection a restart killed is replaced by ``notifications.reconnect``)."""
    return codegen_config.database_settings(url, server_side_binding=True, health_checks=False)


DATABASES = {
    "default": database_settings(env_str("DATABASE_URL", f"sqlite:///{REPO_DIR / 'var' / 'notifier.sqlite3'}"))
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = env_str("DJANGO_STATIC_ROOT", str(REPO_DIR / "var" / "notifier-static"))

#: Largest request body the API parses, in bytes (its bodies are small: a reason and a few flags).
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES

REST_FRAMEWORK = rest_framework()

#: Page size when the client does not ask, and the largest it may ask for with ?page_size=.
API_PAGE_SIZE = env_int("API_PAGE_SIZE", 50)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 200)

SPECTACULAR_SETTINGS = spectacular(
    title="Notifier API",
    description="Notifications and deliveries (by project for non-staff accounts); held messages and "
    "sequence gaps for operators.",
    hooks=["notifications.api.schema.notifier_schema", "codegen_telemetry.web.document_correlation_id"],
    ENUM_NAME_OVERRIDES={
        "ChannelEnum": "notifications.api.serializers.CHANNELS",
        "SendChannelEnum": "notifications.api.operations.SEND_CHANNELS",
        "RetryStatusEnum": "notifications.delivery.retries.RETRY_STATUSES",
    },
)

#: The Redis of the Dramatiq queues.
#: The Redis of the Dramatiq queues: REDIS_URL, or REDIS_SENTINELS and REDIS_SENTINEL_MASTER (codegen_config.redis).
REDIS = redis_target("redis://127.0.0.1:6390/0")

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "notifications@codegen.example")

#: Knobs of the notifier.
NOTIFIER = {
    #: The key each project's webhook key is derived from (the projects service holds the same one):
    #: "whsec_<base64>" or plain text, at least 24 bytes.
    "WEBHOOK_MASTER_KEY": env_str("WEBHOOK_MASTER_KEY", ""),
    #: The one secret that signed every project's webhooks before each project had its own: while set, webhooks
    #: carry its signature too, so that receivers can move to their project's secret; unset it once they have.
    "WEBHOOK_SECRET": env_str("WEBHOOK_SECRET", ""),
    #: Seconds to connect and to read a webhook response.
    "WEBHOOK_TIMEOUT": env_float("WEBHOOK_TIMEOUT", 5.0),
    #: Waits between a delivery's attempts, after the first (which is immediate); it fails after the last.
    "RETRY_SCHEDULE": env_durations("NOTIFIER_WEBHOOK_RETRY_SCHEDULE", DEFAULT_SCHEDULE),
    #: The longest Retry-After (429, 503) a receiver is granted, in seconds.
    "RETRY_AFTER_MAX": env_duration("NOTIFIER_WEBHOOK_RETRY_AFTER_MAX", "1h"),
    #: Sends to one webhook endpoint in flight at once, across every delivery worker.
    "ENDPOINT_CONCURRENCY": env_int("NOTIFIER_WEBHOOK_ENDPOINT_CONCURRENCY", 16),
    #: Failed attempts in a row after which an endpoint's breaker opens (one probe at a time, on schedule).
    "BREAKER_FAILURES": env_int("NOTIFIER_WEBHOOK_BREAKER_FAILURES", 5),
    #: How long an endpoint may fail without a success before it is disabled, in seconds.
    "DISABLE_AFTER": env_duration("NOTIFIER_WEBHOOK_DISABLE_AFTER", "5d"),
    #: Sends one delivery worker makes at once (its threads).
    "DELIVERY_THREADS": env_int("NOTIFIER_DELIVERY_THREADS", 32),
    #: Longest wait of an idle delivery worker before it looks for due deliveries, in seconds (PostgreSQL
    #: wakes it at once when intake commits a delivery).
    "DELIVERY_POLL": env_duration("NOTIFIER_DELIVERY_POLL", "1s"),
    #: Allow webhooks to loopback addresses (development and tests only).
    "WEBHOOK_ALLOW_LOOPBACK": False,
    #: Dramatiq retries of a message whose processing failed (then it is dead-lettered).
    "MESSAGE_MAX_RETRIES": env_int("NOTIFIER_MESSAGE_MAX_RETRIES", 5),
    #: Seconds a message waits for a database connection lost mid-message (a restart) to come back.
    "DB_RECONNECT_SECONDS": env_float("NOTIFIER_DB_RECONNECT_SECONDS", 10.0),
    #: Dramatiq's first retry backoff, in milliseconds.
    "MESSAGE_MIN_BACKOFF_MS": env_int("NOTIFIER_MESSAGE_MIN_BACKOFF_MS", 1000),
    #: Milliseconds a dead worker's unacked messages wait before redelivery (Dramatiq heartbeat).
    "HEARTBEAT_TIMEOUT_MS": env_int("NOTIFIER_HEARTBEAT_TIMEOUT_MS", 60_000),
    #: Chance, in 1/100,000 per Redis command, that a worker runs Dramatiq's maintenance (requeue).
    "MAINTENANCE_CHANCE": env_int("NOTIFIER_MAINTENANCE_CHANCE", 1000),
    #: Seconds a Redis command may take before the connection counts as broken (and is made again, to the
    #: current primary when Sentinels are configured).
    "REDIS_TIMEOUT": env_float("NOTIFIER_REDIS_TIMEOUT", 10.0),
    #: Most events a worker process takes in per transaction (group commit; 1 turns batching off).
    "INTAKE_BATCH_MAX": env_int("NOTIFIER_INTAKE_BATCH_MAX", 64),
    #: Days inbox rows are kept (the deduplication horizon).
    "INBOX_RETENTION_DAYS": env_int("NOTIFIER_INBOX_RETENTION_DAYS", 30),
    #: Apply each aggregate's events in sequence order (false: in arrival order, no gap detection).
    "ORDERING": env_bool("NOTIFIER_ORDERING", True),
    #: Seconds an event that arrived ahead of an earlier sequence waits for it before taking effect anyway.
    "ORDER_WAIT": env_float("NOTIFIER_ORDER_WAIT", 5.0),
    #: Seconds a gap may stay open before it is reported (command exit status, API, metric).
    "GAP_ALERT_AFTER": env_float("NOTIFIER_GAP_ALERT_AFTER", 300.0),
}

LOGGING = logging_config()  # JSON lines at LOG_LEVEL; LOG_FORMAT=plain for a terminal
# a consumer's lost Redis connection is one warning line (it reconnects by itself), not a CRITICAL traceback
LOGGING["filters"]["consumer_outage"] = {"()": "notifications.dramatiq_logs.ConsumerOutageFilter"}
LOGGING["handlers"]["console"]["filters"].append("consumer_outage")
