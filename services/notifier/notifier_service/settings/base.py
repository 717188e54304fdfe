"""Settings shared by every environment of the notifier; every value can come from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import environ

env = environ.Env()

#: The services/notifier directory.
BASE_DIR = Path(__file__).resolve().parent.parent.parent
#: The repository root (var/ holds the development database).
REPO_DIR = BASE_DIR.parent.parent

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
DEBUG = False
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "notifications.apps.NotificationsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
    """DATABASES["default"] for ``url``, tuned for the engine it names."""
    config: dict[str, Any] = environ.Env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
        return config
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    # Server-side binding, and statements prepared after 5 uses: the intake statement is parsed and
    # planned once per connection (0.3 ms instead of 0.8 ms here). Poolers in transaction mode
    # without prepared-statement support need DATABASE_PREPARED_STATEMENTS=false.
    prepared = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
    config["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5 if prepared else None}
    # No per-message health-check query: a connection a restart killed is found by the statement
    # that meets it, which runs again on a new connection (notifications.db), not failing its message.
    return config


DATABASES = {
    "default": database_settings(env.str("DATABASE_URL", default=f"sqlite:///{REPO_DIR / 'var' / 'notifier.sqlite3'}"))
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = env.str("DJANGO_STATIC_ROOT", default=str(REPO_DIR / "var" / "notifier-static"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}

#: The Redis of the Dramatiq queues.
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6390/0")

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="notifications@codegen.example")

#: Knobs of the notifier.
NOTIFIER = {
    #: Standard Webhooks signing secret: "whsec_<base64>" or plain text, at least 24 bytes.
    "WEBHOOK_SECRET": env.str("WEBHOOK_SECRET", default=""),
    #: Seconds to connect and to read a webhook response.
    "WEBHOOK_TIMEOUT": env.float("WEBHOOK_TIMEOUT", default=5.0),
    #: Tries of one send (timeouts, 5xx, 408 and 429 are retried; other 4xx are final).
    "SEND_ATTEMPTS": env.int("NOTIFIER_SEND_ATTEMPTS", default=4),
    #: Longest wait between tries of one send, in seconds.
    "SEND_MAX_WAIT": env.float("NOTIFIER_SEND_MAX_WAIT", default=5.0),
    #: Allow webhooks to loopback addresses (development and tests only).
    "WEBHOOK_ALLOW_LOOPBACK": False,
    #: Dramatiq retries of a message whose processing failed (then it is dead-lettered).
    "MESSAGE_MAX_RETRIES": env.int("NOTIFIER_MESSAGE_MAX_RETRIES", default=5),
    #: Seconds a message waits for a database connection lost mid-message (a restart) to come back.
    "DB_RECONNECT_SECONDS": env.float("NOTIFIER_DB_RECONNECT_SECONDS", default=10.0),
    #: Dramatiq's first retry backoff, in milliseconds.
    "MESSAGE_MIN_BACKOFF_MS": env.int("NOTIFIER_MESSAGE_MIN_BACKOFF_MS", default=1000),
    #: Milliseconds a dead worker's unacked messages wait before redelivery (Dramatiq heartbeat).
    "HEARTBEAT_TIMEOUT_MS": env.int("NOTIFIER_HEARTBEAT_TIMEOUT_MS", default=60_000),
    #: Chance, in 1/100,000 per Redis command, that a worker runs Dramatiq's maintenance (requeue).
    "MAINTENANCE_CHANCE": env.int("NOTIFIER_MAINTENANCE_CHANCE", default=1000),
    #: Longest idle sleep between fetches of an empty queue, in milliseconds (Dramatiq's is 1,000).
    "IDLE_POLL_MS": env.int("NOTIFIER_IDLE_POLL_MS", default=10),
    #: Most events a worker process takes in per transaction (group commit; 1 turns batching off).
    "INTAKE_BATCH_MAX": env.int("NOTIFIER_INTAKE_BATCH_MAX", default=64),
    #: Days inbox rows are kept (the deduplication horizon).
    "INBOX_RETENTION_DAYS": env.int("NOTIFIER_INBOX_RETENTION_DAYS", default=30),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
