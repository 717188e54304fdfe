"""What both services' production settings add to their base settings: static files and host checks."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

#: Static files (the admin's, the API docs'): collected into STATIC_ROOT by `manage.py collectstatic` (the
#: Dockerfiles run it) with content-hashed names (cached for ever) and gzip-compressed copies.
STATIC_STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def with_static_files(middleware: list[str]) -> list[str]:
    """``middleware`` with WhiteNoise right after the security middleware, so that the app itself serves the
    collected static files (in development runserver serves them)."""
    security = "django.middleware.security.SecurityMiddleware"
    if security not in middleware:
        raise ImproperlyConfigured("the security middleware is missing, and WhiteNoise must follow it")
    after = middleware.index(security) + 1
    return [*middleware[:after], "whitenoise.middleware.WhiteNoiseMiddleware", *middleware[after:]]


def allowed_hosts_named(hosts: list[str]) -> list[str]:
    """``hosts`` (DJANGO_ALLOWED_HOSTS), refused when it lets any host through."""
    if "*" in hosts:
        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS must list this service's host names; '*' is refused in production"
        )
    return hosts
