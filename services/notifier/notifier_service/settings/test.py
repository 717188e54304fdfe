"""Test settings: PostgreSQL or SQLite from DATABASE_URL, SMTP and webhooks to loopback sinks."""

from notifier_service.settings.base import *  # noqa: F403
from notifier_service.settings.base import NOTIFIER, env

SECRET_KEY = "notifier-test-key"
# PostgreSQL started by the test suite (its fixtures fill in host and port), unless given.
DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:1/notifier")}
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["OPTIONS"] = {"server_side_binding": True}
NOTIFIER["WEBHOOK_SECRET"] = NOTIFIER["WEBHOOK_SECRET"] or "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOTIFIER["WEBHOOK_ALLOW_LOOPBACK"] = env.bool("WEBHOOK_ALLOW_LOOPBACK", default=True)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
