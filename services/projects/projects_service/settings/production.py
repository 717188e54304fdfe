"""Production settings: every secret from the environment, HTTPS assumed, `check --deploy` clean."""

from codegen_config import env_bool, env_int, env_str
from django.core.exceptions import ImproperlyConfigured

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

from projects_service.settings.base import database_from_url  # noqa: E402

DATABASES = {"default": database_from_url(env_str("DATABASE_URL"))}

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
