"""The webhook master key both services read: ``WEBHOOK_MASTER_KEY`` (codegen_contracts.signing derives each
project's key from it)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from codegen_config.env import env_str
from codegen_contracts.signing import signing_key_parse

#: The master key of development and test settings (both services'), never of production.
DEV_MASTER_KEY = "dev-webhook-master-key-0123456789abcdef"


def env_master_key(name: str = "WEBHOOK_MASTER_KEY", default: str | None = None) -> str:
    """The variable ``name`` as a signing key (``whsec_<base64>`` or at least 24 bytes of text); without a
    default it is required. ImproperlyConfigured naming the variable and the reason otherwise."""
    value = env_str(name, default)
    try:
        signing_key_parse(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None
    return value
