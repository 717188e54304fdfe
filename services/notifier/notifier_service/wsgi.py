"""WSGI entry point for gunicorn (and runserver): traced when OTEL_TRACES_EXPORTER says so."""

import os

from codegen_telemetry.web import wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifier_service.settings.production")

application = wsgi_application("notifier-api")
