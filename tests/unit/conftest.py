"""Fixtures of the unit tests: a fresh, migrated database file per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot.storage import open_database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """An empty database (every migration applied) in the test's own folder, closed afterwards."""
    conn = await open_database(tmp_path / "aar.db")
    try:
        yield conn
    finally:
        await conn.close()
