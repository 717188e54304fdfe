"""Operations tests use the projects fixtures and, end to end, the relay fixtures."""

from tests.projects.conftest import user  # noqa: F401
from tests.relay.conftest import database_url, processes, redis_url  # noqa: F401
