"""PostgreSQL storage's ground: the migrations (same versions and names as SQLite's, the same tables and
columns once applied, the triggers doing what SQLite's do), the runner's rules (once, refusing a newer
schema, one migrator at a time), and opening a database by URL.  Against the throwaway server of
`tests/postgres.py`; skipped, saying why, on a machine without PostgreSQL."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import pytest

from bot.storage import open_database
from bot.storage.connection import open_postgres_database
from bot.storage.errors import NewerSchema
from bot.storage.migrations import POSTGRES_MIGRATIONS, discover_migrations, newest_version
from bot.storage.postgres.connection import open_postgres
from bot.storage.postgres.migrations import apply_migrations, newest_postgres_version, schema_version
from bot.storage.postgres.url import describe, is_postgres_url
from bot.storage.sqlite_database import SqliteDatabase
from bot.timestamps import format_timestamp, parse_timestamp

SNOWFLAKE = 1_234_567_890_123_456_789  # a Discord id: more than 32 bits
# SQLite's FTS5 keeps its index in shadow tables of the virtual table; PostgreSQL has one plain table.
FTS5_SHADOWS = {"story_search_data", "story_search_idx", "story_search_docsize", "story_search_config"}


def test_same_versions_and_names_as_sqlite():
    sqlite = [(m.version, m.name) for m in discover_migrations()]
    postgres = [(m.version, m.name) for m in discover_migrations(POSTGRES_MIGRATIONS)]
    assert postgres == sqlite
    assert newest_postgres_version() == newest_version()


def test_postgres_migrations_never_drop_data():
    for migration in discover_migrations(POSTGRES_MIGRATIONS):
        outside_functions = re.sub(r"\$\$.*?\$\$", "", migration.sql, flags=re.DOTALL).upper()
        for dropping in ("DROP TABLE", "DROP COLUMN", "DELETE FROM"):
            assert dropping not in outside_functions, migration.name


async def _sqlite_schema(conn: SqliteDatabase) -> dict[str, object]:
    async with conn.raw.execute("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE"
                                " 'sqlite_%'"
                            " AND (type != 'index' OR sql IS NOT NULL)") as cur:
        objects = [tuple(row) for row in await cur.fetchall()]
    columns = {}
    for kind, name, _ in objects:
        if kind == "table" and name not in FTS5_SHADOWS:
            async with conn.raw.execute(f"PRAGMA table_info({name})") as cur:
                columns[name] = [row[1] for row in await cur.fetchall()]
    return {"columns": columns,
            "indexes": {name for kind, name, _ in objects if kind == "index"},
            "triggers": {(name, table) for kind, name, table in objects if kind == "trigger"}}


async def _postgres_schema(conn: asyncpg.Connection) -> dict[str, object]:
    columns: dict[str, list[str]] = {}
    for row in await conn.fetch("SELECT table_name, column_name FROM information_schema.columns"
                                " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"):
        columns.setdefault(row["table_name"], []).append(row["column_name"])
    # Indexes a migration created, not those PostgreSQL makes for a primary key or a UNIQUE constraint.
    indexes = {row[0] for row in await conn.fetch(
        "SELECT indexname FROM pg_indexes i WHERE schemaname = 'public'"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)")}
    triggers = {(row[0], row[1]) for row in await conn.fetch(
        "SELECT trigger_name, event_object_table FROM information_schema.triggers"
        " WHERE trigger_schema = 'public'")}
    return {"columns": columns, "indexes": indexes, "triggers": triggers}


async def test_schema_parity_with_sqlite(postgres_url, tmp_path):
    sqlite = await open_database(tmp_path / "aar.db")
    try:
        expected = await _sqlite_schema(sqlite)
    finally:
        await sqlite.close()
    conn = await open_postgres(postgres_url)
    try:
        found = await _postgres_schema(conn)
    finally:
        await conn.close()

    # The documented differences of V9: the search table's key is a column (SQLite's rowid is implicit),
    # and its words have a GIN index (FTS5's index is the virtual table itself).
    assert found["columns"].pop("story_search") == ["rowid", "text"]
    assert expected["columns"].pop("story_search") == ["text"]
    assert found["indexes"] - expected["indexes"] == {"story_search_words"}
    assert found["columns"] == expected["columns"]
    assert len(found["columns"]) == 31
    assert found["indexes"] - {"story_search_words"} == expected["indexes"]
    assert found["triggers"] == expected["triggers"]


async def test_discord_ids_are_64_bit(postgres_url):
    conn = await open_postgres(postgres_url)
    try:
        narrow = await conn.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public' AND (column_name LIKE '%\\_id' OR column_name LIKE '%\\_by')"
            " AND data_type != 'bigint'")
        assert [tuple(row) for row in narrow] == []
        await conn.execute("INSERT INTO guild_settings(guild_id, story_channel_id) VALUES ($1, $2)",
                           SNOWFLAKE, SNOWFLAKE + 1)
        row = await conn.fetchrow("SELECT guild_id, story_channel_id, timezone, like_emoji"
                                  " FROM guild_settings")
        assert tuple(row) == (SNOWFLAKE, SNOWFLAKE + 1, "UTC", "👍")
    finally:
        await conn.close()


async def test_defaults_write_the_timestamp_format_and_ids_number_themselves(postgres_url):
    conn = await open_postgres(postgres_url)
    try:
        await conn.execute("INSERT INTO imports(source, sha256, chapters_added, pictures_added,"
                           " comments_added) VALUES ('a.txt', 'x', 1, 0, 0), ('b.txt', 'y', 2, 0, 0)")
        rows = await conn.fetch("SELECT id, imported_at FROM imports ORDER BY id")
        assert [row["id"] for row in rows] == [1, 2]
        for row in rows:
            assert format_timestamp(parse_timestamp(row["imported_at"])) == row["imported_at"]
        applied = await conn.fetchval("SELECT applied_at FROM schema_migrations WHERE version = 1")
        assert format_timestamp(parse_timestamp(applied)) == applied
    finally:
        await conn.close()


QUIZ_GAME = ("INSERT INTO quiz_games(id, guild_id, channel_id, starter_id, mode, status, question_count,"
             " chapters, started_at) VALUES ({}, 1, 2, 3, 'channel', 'running', 2, '1', 'now')")
QUIZ_ANSWER = ("INSERT INTO quiz_answers(game_id, position, user_id, guild_id, option, correct, points,"
               " answered_at) VALUES ({}, {}, {}, 1, 0, {}, {}, 'now')")
ANSWERS = [(1, 0, 10, 1, 3), (1, 1, 10, 0, 0), (1, 0, 11, 1, 2), (2, 0, 10, 1, 1)]  # game, pos, user, ok, pts


async def test_quiz_score_trigger_scores_as_sqlite_does(postgres_url, tmp_path):
    statements = [QUIZ_GAME.format(1), QUIZ_GAME.format(2).replace("'channel'", "'solo'"),
                  *(QUIZ_ANSWER.format(*answer) for answer in ANSWERS)]
    query = "SELECT guild_id, user_id, score, answers, correct, games FROM quiz_scores ORDER BY user_id"
    sqlite = await open_database(tmp_path / "aar.db")
    try:
        for statement in statements:
            await sqlite.raw.execute(statement)
        async with sqlite.raw.execute(query) as cur:
            expected = [tuple(row) for row in await cur.fetchall()]
    finally:
        await sqlite.close()
    conn = await open_postgres(postgres_url)
    try:
        for statement in statements:
            await conn.execute(statement)
        found = [tuple(row) for row in await conn.fetch(query)]
    finally:
        await conn.close()
    assert expected == [(1, 10, 4, 3, 2, 2), (1, 11, 2, 1, 1, 1)]
    assert found == expected


async def _search(conn: asyncpg.Connection, query: str) -> list[int]:
    rows = await conn.fetch("SELECT rowid FROM story_search WHERE text @@ to_tsquery('aar_story', $1)"
                            " ORDER BY rowid", query)
    return [row[0] for row in rows]


async def test_search_index_follows_blocks(postgres_url):
    conn = await open_postgres(postgres_url)
    try:
        await conn.execute("INSERT INTO chapters(number, threadmark, title, content_hash)"
                           " VALUES (3, 't', 'T', 'h')")
        await conn.execute("INSERT INTO blocks(chapter_number, position, kind, text) VALUES"
                           " (3, 0, 'paragraph', 'Bukhárin spoke of revolution.'),"
                           " (3, 1, 'paragraph', 'Nothing here.')")
        key = 3 * 2**32
        assert await _search(conn, "bukharin") == [key]  # diacritics folded, case too
        assert await _search(conn, "rev:*") == [key]  # a prefix, as FTS5's "rev*"
        await conn.execute("UPDATE blocks SET text = 'A revolution again.' WHERE position = 1")
        assert await _search(conn, "revolution") == [key, key + 1]
        await conn.execute("DELETE FROM blocks WHERE position = 0")
        assert await _search(conn, "revolution") == [key + 1]
        assert await _search(conn, "bukharin") == []
        assert await conn.fetchval("SELECT COUNT(*) FROM story_search") == 1
    finally:
        await conn.close()


async def test_runner_applies_once_and_stops_where_asked(postgres_url):
    conn = await asyncpg.connect(postgres_url)
    try:
        assert await schema_version(conn) == 0
        assert await apply_migrations(conn, through=5) == [1, 2, 3, 4, 5]
        assert await schema_version(conn) == 5
        assert await conn.fetchval("SELECT to_regclass('story_search')") is None
        await conn.execute("INSERT INTO guild_settings(guild_id) VALUES (7)")
        versions = [m.version for m in discover_migrations(POSTGRES_MIGRATIONS)]
        assert await apply_migrations(conn) == versions[5:]
        assert await apply_migrations(conn) == []
        names = [row[0] for row in await conn.fetch("SELECT name FROM schema_migrations ORDER BY version")]
        assert names == [m.name for m in discover_migrations(POSTGRES_MIGRATIONS)]
        assert await conn.fetchval("SELECT alert_role_id IS NULL AND author_webhook = 0 FROM guild_settings"
                                   " WHERE guild_id = 7")
    finally:
        await conn.close()


async def test_two_processes_migrating_at_once_apply_each_migration_once(postgres_url):
    first, second = await asyncpg.connect(postgres_url), await asyncpg.connect(postgres_url)
    try:
        results = await asyncio.gather(apply_migrations(first), apply_migrations(second))
        assert sorted(results, key=len) == [[], [m.version for m in discover_migrations(POSTGRES_MIGRATIONS)]]
        assert await first.fetchval("SELECT COUNT(*) FROM schema_migrations") == len(discover_migrations())
    finally:
        await first.close()
        await second.close()


async def test_a_newer_schema_is_refused_untouched(postgres_url):
    conn = await open_postgres(postgres_url)
    try:
        await conn.execute("INSERT INTO schema_migrations(version, name) VALUES (99, 'from_the_future')")
        await conn.execute("INSERT INTO guild_settings(guild_id) VALUES (7)")
    finally:
        await conn.close()
    url = postgres_url.replace("aar@", "aar:secret@")  # trust auth ignores the password; messages must not
    for migrate in (True, False):
        with pytest.raises(NewerSchema) as refused:
            await open_postgres_database(url, migrate=migrate)
        assert (refused.value.found, refused.value.newest) == (99, newest_version())
        assert "secret" not in str(refused.value) and describe(url) in str(refused.value)
    conn = await asyncpg.connect(postgres_url)
    try:
        assert await conn.fetchval("SELECT COUNT(*) FROM schema_migrations") == len(discover_migrations()) + 1
        assert await conn.fetchval("SELECT COUNT(*) FROM guild_settings") == 1
    finally:
        await conn.close()


def test_urls():
    assert is_postgres_url("postgresql://u:p@db:5432/aar") and is_postgres_url("postgres://db/aar")
    assert not is_postgres_url("sqlite:///data/aar.db") and not is_postgres_url("data/aar.db")
    assert describe("postgresql://u:p%40ss@db:5432/aar?sslmode=require") == \
        "postgresql://u@db:5432/aar?sslmode=require"
    assert describe("postgresql://db/aar") == "postgresql://db/aar"


async def test_a_failing_migration_leaves_the_version_before_it(postgres_url, monkeypatch):
    from bot.storage.migrations import Migration
    from bot.storage.postgres import migrations as runner

    shipped = discover_migrations(POSTGRES_MIGRATIONS)
    broken = Migration(newest_version() + 1, "broken", "CREATE TABLE half_done (x INTEGER);\nSELECT 1 / 0;")
    monkeypatch.setattr(runner, "discover_migrations", lambda folder: [*shipped, broken])
    monkeypatch.setattr(runner, "newest_postgres_version", lambda: newest_version() + 1)
    conn = await asyncpg.connect(postgres_url)
    try:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await apply_migrations(conn)
        assert await schema_version(conn) == newest_version()
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
    finally:
        await conn.close()
