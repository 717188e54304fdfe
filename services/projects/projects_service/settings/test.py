"""Test settings: PostgreSQL started by the test suite (its fixtures fill in host and port)."""

from codegen_config import env_bool, env_str
from codegen_config.signing import DEV_MASTER_KEY
from projects_service.settings.base import *  # noqa: F403
from projects_service.settings.base import database_from_url

SECRET_KEY = "test-key-not-secret"
DEBUG = False
DATABASES = {"default": database_from_url(env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:1/projects"))}
PROJECTS["WEBHOOK_ALLOW_LOOPBACK"] = env_bool("WEBHOOK_ALLOW_LOOPBACK", True)  # noqa: F405 - as the notifier's
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PROJECTS["WEBHOOK_MASTER_KEY"] = PROJECTS["WEBHOOK_MASTER_KEY"] or DEV_MASTER_KEY  # noqa: F405 - as the notifier's
