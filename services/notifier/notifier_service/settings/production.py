"""Production settings: secrets and the database from the environment; `check --deploy` clean."""

from notifier_service.settings.base import *  # noqa: F403
from notifier_service.settings.base import NOTIFIER, database_settings, env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
DATABASES = {"default": database_settings(env.str("DATABASE_URL"))}
NOTIFIER["WEBHOOK_SECRET"] = env.str("WEBHOOK_SECRET")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
DEV_USER_ALLOWED = False
