"""Development settings: SQLite in var/, e-mail to the console, webhooks may go to loopback."""

from codegen_config import env_str
from codegen_config.signing import DEV_MASTER_KEY
from codegen_telemetry import logging_config
from notifier_service.settings.base import *  # noqa: F403
from notifier_service.settings.base import NOTIFIER, REPO_DIR

DEBUG = True
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "notifier-dev-insecure-key")
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
NOTIFIER["WEBHOOK_MASTER_KEY"] = NOTIFIER["WEBHOOK_MASTER_KEY"] or DEV_MASTER_KEY
NOTIFIER["WEBHOOK_ALLOW_LOOPBACK"] = True
(REPO_DIR / "var").mkdir(exist_ok=True)
#: Lets `manage.py ensure_dev_user` create a development user and print its token.
DEV_USER_ALLOWED = True

# Plain lines for a terminal (`make run`); LOG_FORMAT=json gives what production writes.
LOGGING = logging_config(default_format="plain")
