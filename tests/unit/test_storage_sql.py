"""The statement helpers every storage module uses, and the rule that nothing sends SQL any other way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.storage.sql import execute, execute_many, fetch_all, fetch_one, fetch_row, fetch_value

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parents[2]
# The backends: the only modules that call aiosqlite (behind the transaction gate) or asyncpg (the pool, and
# the PostgreSQL package's migration runner and copy, whose SQLite reads go through bot.storage.sql).
GATE = {"bot/storage/sql.py", "bot/storage/transaction.py", "bot/storage/sqlite_database.py"}
POSTGRES = "bot/storage/postgres/"


async def test_writes_say_how_many_rows_they_changed(db):
    await execute_many(db, "INSERT INTO guild_settings(guild_id) VALUES (?)", [(1,), (2,), (3,)])
    assert await execute(db, "UPDATE guild_settings SET timezone = 'Europe/Paris' WHERE guild_id > 1") == 2
    assert await execute(db, "DELETE FROM guild_settings WHERE guild_id = 99") == 0


async def test_reads_return_rows_a_row_or_none_and_values(db):
    await execute_many(db, "INSERT INTO guild_settings(guild_id, timezone) VALUES (?, ?)",
                       [(1, "UTC"), (2, "X")])
    rows = await fetch_all(db, "SELECT guild_id, timezone FROM guild_settings ORDER BY guild_id")
    assert [tuple(r) for r in rows] == [(1, "UTC"), (2, "X")] and rows[0]["timezone"] == "UTC"
    assert await fetch_one(db, "SELECT guild_id FROM guild_settings WHERE guild_id = 3") is None
    assert tuple(await fetch_row(db, "SELECT COUNT(*), MAX(guild_id) FROM guild_settings")) == (2, 2)
    assert await fetch_value(db, "SELECT COUNT(*) FROM guild_settings") == 2
    new_id = await fetch_value(db, "INSERT INTO imports(source, sha256, chapters_added, pictures_added,"
                                   " comments_added) VALUES ('f', 's', 0, 0, 0) RETURNING id")
    assert await fetch_value(db, "SELECT MAX(id) FROM imports") == new_id


async def test_a_value_from_a_query_that_found_no_row_is_a_mistake_not_none(db):
    with pytest.raises(LookupError, match="expected one row"):
        await fetch_value(db, "SELECT guild_id FROM guild_settings WHERE guild_id = 3")


def test_no_code_sends_sql_except_through_bot_storage_sql():
    """The transaction gate only works if every statement passes it; and all SQL lives in bot/storage."""
    call = re.compile(r"\.(execute|executemany|executescript)\(")
    offenders = []
    for folder in ("bot", "cogs"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in GATE or name.startswith(POSTGRES):
                continue
            if call.search(path.read_text(encoding="utf-8")):
                offenders.append(name)
    assert offenders == []
