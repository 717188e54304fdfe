"""Settings shared by every environment; each value can come from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codegen_api.settings import rest_framework, spectacular
from codegen_config import database_settings, env_duration, env_float, env_int, env_list, env_str, redis_target
from codegen_telemetry import logging_config

#: The services/projects directory.
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
    "outbox.apps.OutboxConfig",
    "projects.apps.ProjectsConfig",
]

MIDDLEWARE = [
    # requests by view, method and status, and their latency (django-prometheus; README, Operations, Metrics)
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "codegen_telemetry.web.CorrelationIdMiddleware",
    "outbox.traceparent.TraceparentMiddleware",
    "codegen_api.errors.ApiJsonErrorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "projects_service.urls"
WSGI_APPLICATION = "projects_service.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_from_url(url: str) -> dict[str, Any]:
    """This service's database from ``url``: client-side binding except the outbox INSERT's own
    server-binding cursor (prepared: 0.3 ms instead of 0.5 ms per evented write), and kept connections
    health-checked before each request."""
    return database_settings(url, server_side_binding=False, health_checks=True)


DATABASES = {
    "default": database_from_url(env_str("DATABASE_URL", f"sqlite:///{REPO_DIR / 'var' / 'projects.sqlite3'}"))
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_str("DJANGO_STATIC_ROOT", str(REPO_DIR / "var" / "static"))

#: Largest request body the API parses, in bytes (a bulk of 1,000 files fits well inside).
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 2 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES

REST_FRAMEWORK = rest_framework(
    EXCEPTION_HANDLER="projects.api.errors.api_exception_handler",
    UNAUTHENTICATED_USER=None,
)

SPECTACULAR_SETTINGS = spectacular(
    title="Projects API",
    description="Projects, generated projects, their files and repository exports.",
    hooks=[
        "projects.api.schema.projects_schema",
        "outbox.api_shapes.outbox_schema",
        "codegen_telemetry.web.document_correlation_id",
    ],
    ENUM_NAME_OVERRIDES={
        "GenerationStatusEnum": "projects.transitions.GENERATION_STATUS_CHOICES",
        "ExportStatusEnum": "projects.transitions.EXPORT_STATUS_CHOICES",
        "OutboxStateEnum": "outbox.api_shapes.STATES",
        "RelayStateEnum": "outbox.ops.RELAY_STATES",
    },
)

#: Knobs of the projects domain.
PROJECTS = {
    #: Largest accepted file size, in bytes (1 TiB); keeps total_size far from overflowing.
    "MAX_FILE_SIZE": env_int("PROJECTS_MAX_FILE_SIZE", 2**40),
    #: Most files accepted in one bulk request.
    "MAX_BULK_FILES": env_int("PROJECTS_MAX_BULK_FILES", 1000),
    #: Longest accepted file path, in UTF-8 bytes.
    "MAX_PATH_BYTES": env_int("PROJECTS_MAX_PATH_BYTES", 1024),
    #: Accept loopback webhook URLs (the notifier's rule, codegen_contracts.targets): development and tests.
    "WEBHOOK_ALLOW_LOOPBACK": False,
    #: The key each project's webhook secret is derived from (the notifier holds the same one).
    "WEBHOOK_MASTER_KEY": env_str("WEBHOOK_MASTER_KEY", ""),
    #: How long a rotated-out webhook secret still signs webhooks beside the new one, in seconds.
    "WEBHOOK_SECRET_ROTATION_GRACE": env_duration("WEBHOOK_SECRET_ROTATION_GRACE", "24h"),
}

#: The outbox relay. Every key can be set by the environment variable OUTBOX_<KEY>.
OUTBOX = {
    #: Redis that carries the Dramatiq queues: REDIS_URL, or REDIS_SENTINELS and REDIS_SENTINEL_MASTER
    #: (codegen_config.redis).
    "REDIS": redis_target("redis://127.0.0.1:6390/0"),
    #: Replicas that must have each published batch (Redis WAIT) before its rows are marked published;
    #: 0: the primary's acknowledgement is enough.
    "MIN_REPLICAS": env_int("OUTBOX_MIN_REPLICAS", 0),
    #: Seconds a batch waits for those replicas; short of them it counts as a failed publish.
    "REPLICA_TIMEOUT": env_float("OUTBOX_REPLICA_TIMEOUT", 1.0),
    #: Dramatiq's Redis key namespace (its default).
    "NAMESPACE": env_str("OUTBOX_NAMESPACE", "dramatiq"),
    #: Rows claimed and published per batch.
    "BATCH_SIZE": env_int("OUTBOX_BATCH_SIZE", 500),
    #: Seconds between polls when no wake-up arrives (polling alone guarantees progress).
    "POLL_INTERVAL": env_float("OUTBOX_POLL_INTERVAL", 1.0),
    #: Seconds a claimed row stays invisible to other relays; a crashed relay's rows return after it.
    "LEASE_SECONDS": env_float("OUTBOX_LEASE_SECONDS", 30.0),
    #: Publish attempts (batches that gave up) before a row is marked dead.
    "MAX_ATTEMPTS": env_int("OUTBOX_MAX_ATTEMPTS", 10),
    #: First backoff after a failed attempt, in seconds; doubles per attempt, with jitter.
    "BACKOFF_BASE": env_float("OUTBOX_BACKOFF_BASE", 2.0),
    #: Longest backoff, in seconds.
    "BACKOFF_MAX": env_float("OUTBOX_BACKOFF_MAX", 600.0),
    #: In-process tries of one batch publish (tenacity) before the batch goes back with backoff.
    "PUBLISH_RETRY_ATTEMPTS": env_int("OUTBOX_PUBLISH_RETRY_ATTEMPTS", 4),
    #: Longest wait between in-process tries, in seconds (exponential with jitter up to this).
    "PUBLISH_RETRY_MAX_WAIT": env_float("OUTBOX_PUBLISH_RETRY_MAX_WAIT", 2.0),
    #: Socket timeout of a Redis round trip, in seconds.
    "PUBLISH_TIMEOUT": env_float("OUTBOX_PUBLISH_TIMEOUT", 5.0),
    #: Seconds between claims that scan the whole pending index (the others start near its head).
    "SWEEP_INTERVAL": env_float("OUTBOX_SWEEP_INTERVAL", 10.0),
    #: Seconds behind the last claimed due time that a head-of-queue claim still looks.
    "SCAN_MARGIN": env_float("OUTBOX_SCAN_MARGIN", 1.0),
    #: Published rows older than this many seconds are deleted (never pending or dead rows).
    "RETENTION_SECONDS": env_float("OUTBOX_RETENTION_SECONDS", 24 * 3600.0),
    #: Rows deleted per retention statement.
    "RETENTION_BATCH": env_int("OUTBOX_RETENTION_BATCH", 5000),
    #: Seconds between retention runs of a relay.
    "RETENTION_INTERVAL": env_float("OUTBOX_RETENTION_INTERVAL", 60.0),
    #: Seconds between heartbeat writes of a relay.
    "HEARTBEAT_INTERVAL": env_float("OUTBOX_HEARTBEAT_INTERVAL", 5.0),
    #: How a commit wakes the relay: "notify" (PostgreSQL NOTIFY), "redis" (PUBLISH) or "none".
    "WAKEUP": env_str("OUTBOX_WAKEUP", "notify"),
    #: Port of the relay's Prometheus metrics (0 turns them off).
    "METRICS_PORT": env_int("OUTBOX_METRICS_PORT", 0),
    #: Address the metrics listen on.
    "METRICS_ADDR": env_str("OUTBOX_METRICS_ADDR", "127.0.0.1"),
}

#: Largest page size a client may ask for with ?page_size=.
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 200)
#: Page size when the client does not ask.
API_PAGE_SIZE = env_int("API_PAGE_SIZE", 50)

LOGGING = logging_config()  # JSON lines at LOG_LEVEL; LOG_FORMAT=plain for a terminal
