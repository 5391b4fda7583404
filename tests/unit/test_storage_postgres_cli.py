"""The command line and PostgreSQL: with `AAR_DATABASE_URL` set, commands say PostgreSQL storage isn't
available yet (not half-used); `migrate-to-postgres` copies a SQLite database into an empty PostgreSQL one,
every row (compared table by table), all or nothing, and refuses a target holding data."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.__main__ import EXIT_ERROR, EXIT_USAGE, main
from bot.config import SHIPPED_THREAD
from bot.storage import open_database
from bot.storage.migrations import discover_migrations
from bot.storage.postgres import copy
from bot.storage.postgres.connection import open_postgres
from bot.story.importer import import_file


@pytest.mark.parametrize("argv", [["run"], ["chapters"], ["import", "thread.txt"]])
def test_commands_use_postgres_when_asked_and_say_so_in_one_line_when_it_is_down(argv, monkeypatch, tmp_path,
                                                                                capsys):
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("AAR_DATABASE_URL", "postgresql://aar:hunter2@127.0.0.1:1/aar")
    monkeypatch.setenv("AAR_DB_PATH", str(tmp_path / "aar.db"))
    monkeypatch.setenv("DISCORD_TOKEN", "token")
    assert main(argv) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("aar-bot: postgresql://aar@127.0.0.1:1/aar: ")
    assert "hunter2" not in err
    assert not (tmp_path / "aar.db").exists()  # nothing was written to SQLite instead


@pytest.mark.parametrize("argv", [["chapters", "--db", "x.db"], ["backup", "copy.db"]])
def test_what_only_a_sqlite_file_has_is_refused_on_postgres(argv, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AAR_DATABASE_URL", "postgresql://aar:hunter2@127.0.0.1:1/aar")
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "AAR_DATABASE_URL" in err and "hunter2" not in err


def test_a_url_of_another_database_is_a_configuration_error(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AAR_DATABASE_URL", "sqlite:///data/aar.db")
    assert main(["chapters"]) == EXIT_USAGE
    assert "configuration error: AAR_DATABASE_URL must be a postgresql://" in capsys.readouterr().err


# --- aar-bot migrate-to-postgres (main() runs its own event loop: in a thread, beside the test's) --

GUILD, MEMBER = 1_100_000_000_000_000_001, 1_200_000_000_000_000_002  # Discord ids: more than 32 bits
T0 = "'2026-05-01T00:00:00.000Z'"
SEED = [
    f"INSERT INTO guild_settings(guild_id, story_channel_id, alert_role_id) VALUES ({GUILD}, {GUILD + 1}, 5)",
    "INSERT INTO rendered_chapters(chapter_number, renderer_version, content_hash, payloads)"
    " VALUES (1, 3, 'abc', '[{}]')",
    "INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total, started_at,"
    f" rendered_id) VALUES ({GUILD}, 1, {GUILD + 1}, 'done', 1, {T0}, 1)",
    "INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce, message_id, channel_id,"
    f" sent_at) VALUES ({GUILD}, 1, 0, 'n', {GUILD + 9}, {GUILD + 1}, {T0})",
    "INSERT INTO schedules(guild_id, spec, timezone, next_run_at, created_by, created_at) VALUES"
    f" ({GUILD}, 'every monday 18:00', 'UTC', {T0}, {MEMBER}, {T0})",
    "INSERT INTO quiz_games(guild_id, channel_id, starter_id, mode, status, question_count, chapters,"
    f" started_at) VALUES ({GUILD}, {GUILD + 1}, {MEMBER}, 'solo', 'finished', 1, '1', {T0})",
    "INSERT INTO quiz_questions(game_id, position, question_key, chapter, right_option)"
    " VALUES (1, 0, 'q', 1, 2)",
    "INSERT INTO quiz_answers(game_id, position, user_id, guild_id, option, correct, points, answered_at)"
    f" VALUES (1, 0, {MEMBER}, {GUILD}, 2, 1, 3, {T0})",
    "INSERT INTO reactions(guild_id, chapter_number, emoji, user_id, message_id)"
    f" VALUES ({GUILD}, 1, '👍', {MEMBER}, {GUILD + 9})",
    "INSERT INTO reading_progress(guild_id, user_id, chapter_number, pages_seen, finished, updated_at)"
    f" VALUES ({GUILD}, {MEMBER}, 1, 2, 1, {T0})",
    f"INSERT INTO alert_dms VALUES ({GUILD}, {MEMBER}, 1, {T0})",
    f"INSERT INTO search_queries VALUES (7, {GUILD}, 'tukhachevsky', {T0})",
    f"INSERT INTO guild_departures VALUES (42, {T0})",
    "INSERT INTO chapter_edit_syncs(guild_id, chapter_number, rendered_id, status, started_at)"
    f" VALUES ({GUILD}, 1, 1, 'in_progress', {T0})",
    "INSERT INTO chapter_edit_ops(sync_id, op_index, guild_id, chapter_number, kind, slot, channel_id,"
    f" message_id, state) VALUES (1, 0, {GUILD}, 1, 'edit', 0, {GUILD + 1}, {GUILD + 9}, 'pending')",
]


async def migrate(source, url: str) -> int:
    return await asyncio.to_thread(main, ["migrate-to-postgres", "--from", str(source), "--to", url])


@pytest.fixture
async def sqlite_db(tmp_path):
    """A SQLite database with the shipped story imported and a row or more in most tables."""
    path = tmp_path / "aar.db"
    conn = await open_database(path)
    try:
        await import_file(conn, SHIPPED_THREAD)
        for statement in SEED:
            await conn.raw.execute(statement)
    finally:
        await conn.close()
    return path


async def _sqlite_rows(path, table: str, columns: list[str]) -> list[tuple]:
    conn = await open_database(path, readonly=True)
    try:
        async with conn.raw.execute(f"SELECT {', '.join(columns)} FROM {table}") as cursor:
            return sorted(tuple(row) for row in await cursor.fetchall())
    finally:
        await conn.close()


async def test_migrate_to_postgres_copies_every_row(sqlite_db, postgres_url, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(copy, "BATCH", 100)  # many batches per table: none lost, none read twice
    assert await migrate(sqlite_db, postgres_url) == 0
    out = capsys.readouterr().out
    assert "the counts match on both sides" in out

    conn = await asyncpg.connect(postgres_url)
    try:
        tables = [row[0] for row in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename NOT IN ('schema_migrations', 'story_search')")]
        assert len(tables) == 30
        empty = []
        for table in tables:
            columns = [row[0] for row in await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'"
                " AND table_name = $1 ORDER BY ordinal_position", table)]
            rows = await conn.fetch(f"SELECT {', '.join(columns)} FROM {table}")
            copied = sorted(tuple(row) for row in rows)
            assert copied == await _sqlite_rows(sqlite_db, table, columns), table
            assert f"  {table}\n" in out
            if not copied:
                empty.append(table)
        assert sorted(empty) == ["hall_of_fame_posts", "likes_reconcile_cursor", "reaction_emojis"]
        # The copied answer did not score a second time; the search index was rebuilt from the blocks.
        assert tuple(await conn.fetchrow("SELECT score, answers, games FROM quiz_scores")) == (3, 1, 1)
        assert await conn.fetchval("SELECT COUNT(*) FROM story_search") == \
            await conn.fetchval("SELECT COUNT(*) FROM blocks")
        assert await conn.fetchval("SELECT COUNT(*) FROM story_search"
                                   " WHERE text @@ to_tsquery('aar_story', 'tukhachevsky')") > 0
        # Self-numbered ids continue after the copied ones; the triggers work again.
        new_id = await conn.fetchval("INSERT INTO schedules(guild_id, spec, timezone, created_at)"
                                     " VALUES (1, 's', 'UTC', 'now') RETURNING id")
        assert new_id == 2
        await conn.execute(f"INSERT INTO quiz_answers VALUES (1, 0, 5, {GUILD}, 0, 0, 0, 'now')")
        assert await conn.fetchval("SELECT games FROM quiz_scores WHERE user_id = 5") == 1
    finally:
        await conn.close()


async def test_migrate_to_postgres_refuses_a_target_with_data(sqlite_db, postgres_url, monkeypatch, tmp_path,
                                                             capsys):
    monkeypatch.chdir(tmp_path)
    conn = await open_postgres(postgres_url)
    try:
        await conn.execute("INSERT INTO guild_departures VALUES (1, 'x')")
    finally:
        await conn.close()
    monkeypatch.setenv("AAR_DATABASE_URL", postgres_url)  # --to defaults to it
    assert await asyncio.to_thread(main, ["migrate-to-postgres", "--from", str(sqlite_db)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "already holds data (table guild_departures)" in err and err.count("\n") == 1
    conn = await asyncpg.connect(postgres_url)
    try:
        assert await conn.fetchval("SELECT COUNT(*) FROM chapters") == 0
        assert await conn.fetchval("SELECT COUNT(*) FROM guild_departures") == 1
    finally:
        await conn.close()


async def test_a_failed_copy_leaves_the_target_empty(sqlite_db, postgres_url, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    conn = await open_database(sqlite_db)
    try:  # SQLite keeps text in an INTEGER column; PostgreSQL won't take it, late in the copy
        await conn.raw.execute("INSERT INTO reading_progress(guild_id, user_id, chapter_number, pages_seen,"
                               f" finished, updated_at) VALUES ({GUILD}, 9, 2, 'many', 0, 'x')")
    finally:
        await conn.close()
    assert await migrate(sqlite_db, postgres_url) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "table reading_progress holds a value" in err and "nothing was kept" in err
    assert err.count("\n") == 1
    conn = await asyncpg.connect(postgres_url)
    try:
        for table in ("chapters", "blocks", "story_search", "guild_settings", "reading_progress"):
            assert await conn.fetchval(f"SELECT COUNT(*) FROM {table}") == 0, table
        assert await conn.fetchval("SELECT COUNT(*) FROM schema_migrations") == len(discover_migrations())
    finally:
        await conn.close()


def test_migrate_to_postgres_needs_a_postgresql_url(sqlite_db, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["migrate-to-postgres", "--from", str(sqlite_db), "--to", "data/other.db"]) == EXIT_ERROR
    assert "--to must be a postgresql://" in capsys.readouterr().err
