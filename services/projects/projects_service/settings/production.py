"""Production settings: every secret from the environment, HTTPS assumed, `check --deploy` clean."""

from codegen_config import env_bool, env_int, env_str
from codegen_config.production import STATIC_STORAGES, allowed_hosts_named, with_static_files
from codegen_config.signing import env_master_key
from projects_service.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
DEV_USER_ALLOWED = False
PROJECTS["WEBHOOK_MASTER_KEY"] = env_master_key("WEBHOOK_MASTER_KEY")  # noqa: F405

from projects_service.settings.base import database_from_url  # noqa: E402

DATABASES = {"default": database_from_url(env_str("DATABASE_URL"))}

MIDDLEWARE = with_static_files(MIDDLEWARE)  # noqa: F405
STORAGES = STATIC_STORAGES
ALLOWED_HOSTS = allowed_hosts_named(ALLOWED_HOSTS)  # noqa: F405
