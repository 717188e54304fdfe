"""How both services read their configuration from the environment: one helper, one database-URL rule.

For Django settings modules only; the event contracts (``codegen_contracts``) never import it.
"""

from __future__ import annotations

from codegen_config.database import database_settings
from codegen_config.durations import duration_seconds, duration_text, env_duration, env_durations
from codegen_config.env import env_bool, env_float, env_int, env_list, env_str
from codegen_config.redis import RedisTarget, redis_target

__all__ = [
    "RedisTarget",
    "database_settings",
    "duration_seconds",
    "duration_text",
    "env_bool",
    "env_duration",
    "env_durations",
    "env_float",
    "env_int",
    "env_list",
    "env_str",
    "redis_target",
]
