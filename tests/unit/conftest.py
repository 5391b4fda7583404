"""Fixtures of the unit tests: a fresh, migrated database per test.

`db` is a SQLite file by default.  A test module that tests a storage contract marks itself
`pytestmark = pytest.mark.both_backends`: each of its tests that uses `db` then runs twice, on SQLite and on
a PostgreSQL database of the session's throwaway server (`tests/postgres.py`; skipped, saying why, on a
machine without one), so both implementations keep one contract.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import open_database
from bot.storage.connection import open_postgres_database
from bot.storage.database import Database
from tests.postgres import PostgresServer

BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_backends: run the module's `db` tests on SQLite and PostgreSQL")
    config.addinivalue_line("markers", "sqlite_only(why): tests what only SQLite has")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if ("db" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_backends")
            and not metafunc.definition.get_closest_marker("sqlite_only")):
        metafunc.parametrize("db", BACKENDS, indirect=True)


@pytest.fixture
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database (every migration applied), closed afterwards: SQLite in the test's own folder,
    or (when parametrized "postgresql") a fresh PostgreSQL database, dropped afterwards."""
    if getattr(request, "param", "sqlite") == "sqlite":
        conn: Database = await open_database(tmp_path / "aar.db")
        try:
            yield conn
        finally:
            await conn.close()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = await server.new_migrated_database()
    conn = await open_postgres_database(url)
    try:
        yield conn
    finally:
        await conn.close()
        await server.drop_database(url)
