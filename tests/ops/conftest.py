"""Operations tests use the projects fixtures and, end to end, the relay and notifier fixtures."""

from tests.e2e.conftest import database_url, notifier_db, processes, redis_url  # noqa: F401
from tests.projects.conftest import user  # noqa: F401
