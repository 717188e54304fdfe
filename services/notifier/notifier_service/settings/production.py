"""Production settings: secrets and the database from the environment; `check --deploy` clean."""

from codegen_config import env_bool, env_int, env_str
from django.core.exceptions import ImproperlyConfigured
from notifications.webhooks import webhook_secret_bytes

from notifier_service.settings.base import *  # noqa: F403
from notifier_service.settings.base import NOTIFIER, database_settings

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
DATABASES = {"default": database_settings(env_str("DATABASE_URL"))}
NOTIFIER["WEBHOOK_SECRET"] = env_str("WEBHOOK_SECRET")
try:
    webhook_secret_bytes(NOTIFIER["WEBHOOK_SECRET"])
except ValueError as exc:
    raise ImproperlyConfigured(f"WEBHOOK_SECRET: {exc}") from None
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
DEV_USER_ALLOWED = False

# Static files (the admin's, the API docs'): collected into STATIC_ROOT by `manage.py collectstatic` (the
# Dockerfile runs it) with content-hashed names (cached for ever) and gzip-compressed copies, and served by
# the app itself: WhiteNoise, right after the security middleware. (Development: runserver serves them.)
MIDDLEWARE = [MIDDLEWARE[0], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]  # noqa: F405
assert MIDDLEWARE[0] == "django.middleware.security.SecurityMiddleware"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

if "*" in ALLOWED_HOSTS:  # noqa: F405
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list this service's host names; '*' is refused in production")
