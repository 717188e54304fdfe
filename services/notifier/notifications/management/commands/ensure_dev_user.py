from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Development only: make sure the operator user 'dev' exists and print its notifier API token."

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "DEV_USER_ALLOWED", False):
            raise CommandError("ensure_dev_user runs only with development settings")
        user, created = get_user_model().objects.get_or_create(
            username="dev", defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password("dev")
            user.save(update_fields=["password"])
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(f"notifier API token: {token.key}")
