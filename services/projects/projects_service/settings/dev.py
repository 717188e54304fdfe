"""Development settings: debug on, SQLite by default, an insecure key that never leaves a laptop."""

from codegen_config import env_str
from codegen_config.signing import DEV_MASTER_KEY
from codegen_telemetry import logging_config
from projects_service.settings.base import *  # noqa: F403

DEBUG = True
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-insecure-key-do-not-use-in-production")
#: Lets `manage.py ensure_dev_user` create a development user and print its token.
DEV_USER_ALLOWED = True
PROJECTS["WEBHOOK_ALLOW_LOOPBACK"] = True  # noqa: F405 - as the notifier's development settings

# The embedded default database lives in var/ at the repository root.
(REPO_DIR / "var").mkdir(exist_ok=True)  # noqa: F405

# Plain lines for a terminal (`make run`); LOG_FORMAT=json gives what production writes.
LOGGING = logging_config(default_format="plain")
PROJECTS["WEBHOOK_MASTER_KEY"] = PROJECTS["WEBHOOK_MASTER_KEY"] or DEV_MASTER_KEY  # noqa: F405 - as the notifier's
