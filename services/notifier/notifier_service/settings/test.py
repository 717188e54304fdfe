"""Test settings: PostgreSQL or SQLite from DATABASE_URL, SMTP and webhooks to loopback sinks."""

from codegen_config import env_bool, env_str
from codegen_config.signing import DEV_MASTER_KEY
from notifier_service.settings.base import *  # noqa: F403
from notifier_service.settings.base import NOTIFIER, database_settings

SECRET_KEY = "notifier-test-key"
# PostgreSQL started by the test suite (its fixtures fill in host and port), unless given.
DATABASES = {"default": database_settings(env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:1/notifier"))}
NOTIFIER["WEBHOOK_MASTER_KEY"] = NOTIFIER["WEBHOOK_MASTER_KEY"] or DEV_MASTER_KEY
NOTIFIER["WEBHOOK_ALLOW_LOOPBACK"] = env_bool("WEBHOOK_ALLOW_LOOPBACK", True)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
