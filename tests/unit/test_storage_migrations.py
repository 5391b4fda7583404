"""Opening the database: pragmas and migrations."""

from __future__ import annotations

from bot.storage import open_database
from bot.storage.migrations import apply_migrations, discover_migrations


async def test_pragmas_and_migrations(tmp_path):
    conn = await open_database(tmp_path / "aar.db")
    try:
        async with conn.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"
        async with conn.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1
        async with conn.execute("SELECT version FROM schema_migrations ORDER BY version") as cur:
            versions = [r[0] for r in await cur.fetchall()]
        assert versions == [m.version for m in discover_migrations()]
        assert versions[:2] == [1, 2]
        assert await apply_migrations(conn) == []  # a second run applies nothing
    finally:
        await conn.close()


def test_migrations_never_drop_data():
    for migration in discover_migrations():
        sql = migration.sql.upper()
        assert "DROP TABLE" not in sql and "DROP COLUMN" not in sql and "DELETE FROM" not in sql, migration.name


async def test_reopening_keeps_data(tmp_path):
    path = tmp_path / "aar.db"
    conn = await open_database(path)
    await conn.execute("INSERT INTO guild_settings(guild_id) VALUES (7)")
    await conn.close()
    conn = await open_database(path)
    try:
        async with conn.execute("SELECT guild_id FROM guild_settings") as cur:
            assert [r[0] for r in await cur.fetchall()] == [7]
    finally:
        await conn.close()


def test_statements_split_where_sqlite_says():
    from bot.storage.migrations import _split_statements

    sql = "-- head\nCREATE TABLE a (x TEXT DEFAULT ';'); -- trailing\nCREATE TABLE b (\n  y INT -- why\n);\n-- end\n"
    statements = _split_statements(sql)
    assert len(statements) == 2
    assert statements[0].startswith("-- head\nCREATE TABLE a") and statements[1].startswith("CREATE TABLE b")
