"""Opening the database: pragmas and migrations, what V7 does to a database of the release before, and
the upgrade from every released schema version (`tests/fixtures/schemas/`) to the newest."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.config import SHIPPED_THREAD
from bot.storage import open_database
from bot.storage.database import Database
from bot.storage.errors import NewerSchema
from bot.storage.guilds import get_guild_settings
from bot.storage.migrations import (
    BrokenReferences,
    Migration,
    apply_migration,
    apply_migrations,
    discover_migrations,
    newest_version,
    schema_version,
)
from bot.storage.release_log import get_delivery, parts, pending_publishes, slot_claimed
from bot.storage.schedules import due_schedules, get_schedule
from bot.storage.sql import execute, fetch_all, fetch_value
from bot.storage.sqlite_database import SqliteDatabase
from bot.story.importer import import_file
from bot.timestamps import format_timestamp, parse_timestamp
from tests.fixtures.schemas import generate
from tests.helpers import SEED_CHAPTERS, import_into_old_schema


async def test_pragmas_and_migrations(tmp_path):
    conn = await open_database(tmp_path / "aar.db")
    try:
        async with conn.raw.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"
        async with conn.raw.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1
        async with conn.raw.execute("SELECT version FROM schema_migrations ORDER BY version") as cur:
            versions = [r[0] for r in await cur.fetchall()]
        assert versions == [m.version for m in discover_migrations()]
        assert versions[:2] == [1, 2]
        assert await apply_migrations(conn) == []  # a second run applies nothing
    finally:
        await conn.close()


def test_migrations_never_drop_data():
    """No migration deletes rows or columns; one that rebuilds a table drops the old table only after
    copying every row of it into its replacement, which takes its name."""
    for migration in discover_migrations():
        sql = migration.sql.upper()
        for dropping in ("DROP COLUMN", "DELETE FROM"):
            assert dropping not in sql, migration.name
        dropped = re.findall(r"DROP TABLE (\w+)", sql)
        assert not dropped or migration.rebuilds_tables, migration.name
        for table in dropped:
            copy = re.search(rf"INSERT INTO NEW_{table}\([^)]*\)\s+SELECT [^;]*? FROM {table};", sql)
            assert copy and "WHERE" not in copy.group(0), (migration.name, table)  # every row copied
            assert f"ALTER TABLE NEW_{table} RENAME TO {table};" in sql, (migration.name, table)


async def test_reopening_keeps_data(tmp_path):
    path = tmp_path / "aar.db"
    conn = await open_database(path)
    await conn.raw.execute("INSERT INTO guild_settings(guild_id) VALUES (7)")
    await conn.close()
    conn = await open_database(path)
    try:
        async with conn.raw.execute("SELECT guild_id FROM guild_settings") as cur:
            assert [r[0] for r in await cur.fetchall()] == [7]
    finally:
        await conn.close()


def test_statements_split_where_sqlite_says():
    from bot.storage.migrations import _split_statements

    sql = ("-- head\nCREATE TABLE a (x TEXT DEFAULT ';'); -- trailing\n"
           "CREATE TABLE b (\n  y INT -- why\n);\n-- end\n")
    statements = _split_statements(sql)
    assert len(statements) == 2
    assert statements[0].startswith("-- head\nCREATE TABLE a") and statements[1].startswith("CREATE TABLE b")


# --- V7: every stored instant in the one format of bot.timestamps ------------------------------------

# (table, column, value as a release before V7 wrote it, the value after V7): one old form per column at
# least, each form the old writers used (publishing: microseconds + Z; schedules: seconds + Z; quiz:
# milliseconds + offset; hall of fame: isoformat + offset), plus a foreign offset and unreadable text.
OLD_TIMESTAMPS = [
    ("chapters", "imported_at", "2026-01-01T09:00:00.000Z", "2026-01-01T09:00:00.000Z"),  # always canonical
    ("imports", "imported_at", "2026-01-01T09:00:00Z", "2026-01-01T09:00:00.000Z"),
    ("releases", "started_at", "2026-03-01T18:00:00.123456Z", "2026-03-01T18:00:00.123Z"),
    ("releases", "completed_at", "2026-03-01T18:00:05.654321Z", "2026-03-01T18:00:05.654Z"),
    ("releases", "schedule_slot", "2026-03-01T18:00:00Z", "2026-03-01T18:00:00.000Z"),
    ("release_parts", "sent_at", "2026-03-01T18:00:01.100200Z", "2026-03-01T18:00:01.100Z"),
    ("schedules", "next_run_at", "2026-03-08T18:00:00Z", "2026-03-08T18:00:00.000Z"),
    ("schedules", "created_at", "2026-02-28T12:00:00Z", "2026-02-28T12:00:00.000Z"),
    ("schedules", "cancelled_at", "2026-03-02T11:30:00+02:00", "2026-03-02T09:30:00.000Z"),
    ("schedules", "last_run_at", "2026-03-01T18:00:00Z", "2026-03-01T18:00:00.000Z"),
    ("character_index_state", "built_at", "2026-01-01T09:00:00.5Z", "2026-01-01T09:00:00.500Z"),
    ("quiz_games", "started_at", "2026-03-03T20:00:00.250+00:00", "2026-03-03T20:00:00.250Z"),
    ("quiz_games", "ended_at", "2026-03-03T20:05:00.750+00:00", "2026-03-03T20:05:00.750Z"),
    ("quiz_answers", "answered_at", "2026-03-03T20:00:10.500+00:00", "2026-03-03T20:00:10.500Z"),
    ("hall_of_fame_posts", "posted_at", "2026-03-04T10:00:00.123456+00:00", "2026-03-04T10:00:00.123Z"),
    ("hall_of_fame_posts", "updated_at", "2026-03-04T11:00:00+00:00", "2026-03-04T11:00:00.000Z"),
]


async def _v6_database(path: Path) -> Database:
    """A database as the release before V7 left it, holding rows in each old timestamp form."""
    conn = await open_database(path, migrate=False)
    assert await apply_migrations(conn, through=6) == [1, 2, 3, 4, 5, 6]
    old = {(table, column): value for table, column, value, _ in OLD_TIMESTAMPS}
    statements = [
        ("INSERT INTO chapters(number, threadmark, title, content_hash, imported_at)"
         " VALUES (1, 'T', 'One', 'h', ?)", (old["chapters", "imported_at"],)),
        ("INSERT INTO imports(source, sha256, chapters_added, pictures_added, comments_added, imported_at)"
         " VALUES ('seed.txt', 's', 1, 0, 0, ?)", (old["imports", "imported_at"],)),
        ("INSERT INTO schedules(id, guild_id, spec, timezone, next_run_at, created_by, created_at,"
         " channel_id, last_run_at) VALUES (1, 5, 'daily 18:00', 'UTC', ?, 9, ?, 10, ?)",
         (old["schedules", "next_run_at"], old["schedules", "created_at"], old["schedules", "last_run_at"])),
        ("INSERT INTO schedules(id, guild_id, spec, timezone, next_run_at, created_at, cancelled_at)"
         " VALUES (2, 5, '2026-03-05 18:00', 'UTC', '2026-03-05T18:00:00Z', '2026-02-28T12:00:00Z', ?)",
         (old["schedules", "cancelled_at"],)),
        ("INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total, started_at,"
         " completed_at, payloads, schedule_id, schedule_slot)"
         " VALUES (5, 1, 10, 'done', 1, ?, ?, '[]', 1, ?)",
         (old["releases", "started_at"], old["releases", "completed_at"], old["releases", "schedule_slot"])),
        ("INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce, message_id, channel_id,"
         " sent_at) VALUES (5, 1, 0, 'n', 900, 10, ?)", (old["release_parts", "sent_at"],)),
        ("INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total, started_at)"
         " VALUES (6, 1, 11, 'in_progress', 1, 'not a time')", ()),  # unreadable: kept as it is
        ("INSERT INTO character_index_state(id, cast_sha256, story_sha256, built_at) VALUES (1, 'c', 's', ?)",
         (old["character_index_state", "built_at"],)),
        ("INSERT INTO quiz_games(id, guild_id, channel_id, starter_id, mode, status, question_count,"
         " chapters, started_at, ended_at) VALUES (1, 5, 10, 9, 'channel', 'finished', 1, '1', ?, ?)",
         (old["quiz_games", "started_at"], old["quiz_games", "ended_at"])),
        ("INSERT INTO quiz_answers(game_id, position, user_id, guild_id, option, correct, points,"
         " answered_at) VALUES (1, 0, 9, 5, 2, 1, 950, ?)", (old["quiz_answers", "answered_at"],)),
        ("INSERT INTO hall_of_fame_posts(guild_id, chapter_number, channel_id, message_id, shown_total,"
         " shown_discord, posted_at, updated_at) VALUES (5, 1, 12, 901, 10, 4, ?, ?)",
         (old["hall_of_fame_posts", "posted_at"], old["hall_of_fame_posts", "updated_at"])),
    ]
    for sql, params in statements:
        await conn.raw.execute(sql, params)
    return conn


async def _tables(conn: Database) -> dict[str, list[dict[str, object]]]:
    """Every row of every table (schema_migrations aside), in a stable order."""
    async with conn.raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                            " AND name NOT IN ('schema_migrations') AND name NOT LIKE 'sqlite_%'") as cur:
        names = [r[0] for r in await cur.fetchall()]
    tables = {}
    for name in names:
        async with conn.raw.execute(f"SELECT * FROM {name} ORDER BY 1, 2") as cur:
            tables[name] = [dict(r) for r in await cur.fetchall()]
    return tables


async def test_v7_rewrites_every_stored_timestamp_and_keeps_everything_else(tmp_path):
    conn = await _v6_database(tmp_path / "aar.db")
    try:
        before = await _tables(conn)
        assert await apply_migrations(conn, through=7) == [7]  # V8 and later are not about timestamps
        after = await _tables(conn)
    finally:
        await conn.close()
    new = {(table, column, value): canonical for table, column, value, canonical in OLD_TIMESTAMPS}
    new |= {("schedules", "next_run_at", "2026-03-05T18:00:00Z"): "2026-03-05T18:00:00.000Z",
            ("schedules", "created_at", "2026-02-28T12:00:00Z"): "2026-02-28T12:00:00.000Z"}
    expected = {
        table: [{column: new.get((table, column, value), value) for column, value in row.items()}
                for row in rows]
        for table, rows in before.items()
    }
    assert after == expected  # the old forms became the new one, and nothing else changed
    for table, column, _, canonical in OLD_TIMESTAMPS:  # each form was really there, and was rewritten
        assert canonical in [row[column] for row in after[table]], (table, column)
    releases = {r["guild_id"]: r for r in after["releases"]}
    assert releases[6]["started_at"] == "not a time" and releases[5]["thread_id"] is None


async def test_after_v7_a_slot_claimed_before_the_upgrade_is_recognised_and_due_times_compare(tmp_path):
    conn = await _v6_database(tmp_path / "aar.db")
    try:
        slot = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
        assert not await slot_claimed(conn, 1, format_timestamp(slot))  # the old text: no match before V7
        await apply_migrations(conn)
        assert await slot_claimed(conn, 1, format_timestamp(slot))  # so it is not released a second time
        next_run = datetime(2026, 3, 8, 18, 0, tzinfo=UTC)
        assert await due_schedules(conn, next_run - timedelta(milliseconds=1)) == []
        assert [row.id for row in await due_schedules(conn, next_run)] == [1]
        assert (await get_schedule(conn, 5, 1)).next_run_at == next_run
    finally:
        await conn.close()


# --- Every released schema version, upgraded to the newest ------------------------------------------


def _load(dump: Path, db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.executescript(dump.read_text(encoding="utf-8"))
    finally:
        conn.close()


def _rows_by_key(db: Path) -> dict[str, dict[tuple[object, ...], dict[str, object]]]:
    """Every row of every table, by primary key: what "no row lost, no key changed" is checked on."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                             " AND name NOT LIKE 'sqlite_%'")]
        found = {}
        for table in tables:
            info = conn.execute(f"SELECT name, pk FROM pragma_table_info('{table}')").fetchall()
            # V14 put every row in story 1 and the story into the keys: compared without it (and checked)
            key = [name for name, pk in sorted(info, key=lambda column: column[1])
                   if pk and (name != "story_id" or sum(1 for _, k in info if k) == 1)]
            rows = conn.execute(f"SELECT * FROM {table}")
            found[table] = {tuple(row[k] for k in key): dict(row) for row in rows}
        return found
    finally:
        conn.close()


# Columns a migration renamed: V14 keyed the character index's one row (id 1) by its story (story 1).
RENAMED = {("character_index_state", "id"): "story_id"}


def _moved(table: str, column: str, before: object, row_after: dict[str, object],
           after: dict[str, dict[tuple[object, ...], dict[str, object]]]) -> bool:
    """V12 moved a release's stored plan into the shared `rendered_chapters`: there it must be, whole."""
    if (table, column) != ("releases", "payloads") or row_after[column] is not None:
        return False
    render = after["rendered_chapters"].get((row_after["rendered_id"],))
    return render is not None and render["payloads"] == before and render["planned"] == 1


def _schema(db: Path) -> set[tuple[str, str, str, str]]:
    conn = sqlite3.connect(db)
    try:
        return set(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"
                                " WHERE name NOT LIKE 'sqlite_%'"))
    finally:
        conn.close()


def _same_value(before: object, after: object) -> bool:
    """Kept, or (V7) a stored instant rewritten in the one format: the same millisecond."""
    if before == after:
        return True
    if not (isinstance(before, str) and isinstance(after, str)):
        return False
    try:
        return abs(parse_timestamp(before) - parse_timestamp(after)) < timedelta(milliseconds=1)
    except ValueError:
        return False


@pytest.mark.parametrize("version", generate.RELEASED)
async def test_a_database_of_every_released_version_upgrades_keeping_every_row(tmp_path, version):
    old = tmp_path / "old.db"
    _load(generate.fixture_path(version), old)
    before = _rows_by_key(old)
    assert max(key[0] for key in before["schema_migrations"]) == version
    assert all(before.values()), [table for table, rows in before.items() if not rows]  # data everywhere

    conn = await open_database(old)
    try:
        assert await schema_version(conn) == newest_version()
    finally:
        await conn.close()

    after = _rows_by_key(old)
    assert {v for (v,) in after.pop("schema_migrations")} == {m.version for m in discover_migrations()}
    before.pop("schema_migrations")
    for table, rows in before.items():
        assert after[table].keys() == rows.keys(), table  # every row, by its key: none lost, none added
        assert all(row.get("story_id", 1) == 1 for row in after[table].values()), table  # V14: story 1
        for key, row in rows.items():
            row = {RENAMED.get((table, column), column): value for column, value in row.items()}
            changed = {column: (value, after[table][key][column]) for column, value in row.items()
                       if not _same_value(value, after[table][key][column])
                       and not _moved(table, column, value, after[table][key], after)}
            assert changed == {}, (table, key)

    fresh = tmp_path / "fresh.db"
    await (await open_database(fresh)).close()
    assert _schema(old) == _schema(fresh)


@pytest.mark.parametrize("version", generate.RELEASED)
def test_the_schema_fixtures_are_what_the_generator_writes(version):
    """The committed dumps are built from the shipped migrations: a released migration must not change."""
    assert generate.render(version) == generate.fixture_path(version).read_text(encoding="utf-8")


async def test_a_database_newer_than_the_code_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "aar.db"
    conn = await open_database(path)
    newer = newest_version() + 1
    await conn.raw.execute("INSERT INTO schema_migrations(version, name) VALUES (?,"
                           " 'from_the_future')", (newer,))
    await conn.close()
    written = path.read_bytes()
    for readonly in (False, True):
        with pytest.raises(NewerSchema) as refused:
            await open_database(path, readonly=readonly)
        assert (refused.value.found, refused.value.newest) == (newer, newest_version())
        assert str(path) in str(refused.value) and "newer AAR Bot" in str(refused.value)
    assert path.read_bytes() == written


# --- V12: renders stored once, releases refer to them ---------------------------------------------------

async def test_v12_moves_every_stored_plan_to_the_shared_table_and_a_half_sent_release_resumes_the_same(
        tmp_path):
    from bot.chapters.plan import release_plan
    from bot.chapters.publishing import Publisher, part_nonce
    from bot.chapters.render import render_chapter
    from bot.storage.story import chapter_count, load_chapter
    from tests.unit.test_chapters_publishing import MemoryDiscord, MemorySender

    path = tmp_path / "aar.db"
    conn = await open_database(path, migrate=False)
    await apply_migrations(conn, through=10)
    await import_into_old_schema(conn)
    scratch = await open_database(":memory:")  # today's reads need today's schema: the same story, read there
    try:
        await import_file(scratch, SHIPPED_THREAD)
        chapter, total = await load_chapter(scratch, 1), await chapter_count(scratch)
    finally:
        await scratch.close()
    assert chapter is not None
    rendered = render_chapter(chapter, number=1, total=total)
    plain, with_role = release_plan(rendered, number=1), release_plan(rendered, number=1, alert_role_id=555)
    assert len(with_role) >= 3
    started = "2026-03-01T18:00:00.000Z"
    releases = [  # (guild, status, stored plan): as the releases before V12 wrote them
        (1, "done", json.dumps(plain, ensure_ascii=False)),
        (2, "done", json.dumps(plain, ensure_ascii=False)),            # the same plan: stored once
        (3, "in_progress", json.dumps(with_role, ensure_ascii=False)),  # half sent, see below
        (4, "done", None),                                              # from before V6: no plan kept
    ]
    for guild, status, payloads in releases:
        parts = len(plain) if payloads is None else len(json.loads(payloads))
        await conn.raw.execute(
            "INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total, started_at,"
            " completed_at, payloads) VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
            (guild, guild * 10, status, parts, started, started if status == "done" else None, payloads))
        for index in range(parts if status == "done" else 0):
            await conn.raw.execute(
                "INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce, message_id,"
                " channel_id, sent_at) VALUES (?, 1, ?, ?, ?, ?, ?)",
                (guild, index, f"n{guild}-{index}", guild * 10**9 + index, guild * 10, started))
    # Guild 3 stopped mid-way: part 0 sent and recorded, part 1 accepted by Discord but not recorded.
    discord = MemoryDiscord()
    nonces = [part_nonce(3, 1, index, started) for index in range(2)]
    discord.channels[30] = [{"id": 3 * 10**9 + index, "payload": with_role[index], "nonce": nonces[index]}
                            for index in range(2)]
    await conn.raw.execute("INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce,"
                           " message_id,"
                       " channel_id, sent_at) VALUES (3, 1, 0, ?, 3000000000, 30, ?)", (nonces[0], started))
    await conn.raw.execute("INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce,"
                           " channel_id)"
                       " VALUES (3, 1, 1, ?, 30)", (nonces[1],))
    await conn.raw.commit()
    await conn.close()

    conn = await open_database(path)
    try:
        async with conn.raw.execute("SELECT id, chapter_number, renderer_version, planned, payloads"
                                " FROM rendered_chapters ORDER BY id") as cur:
            renders = [tuple(r) for r in await cur.fetchall()]
        assert sorted(r[4] for r in renders) == sorted([releases[0][2], releases[2][2]])
        assert all(r[1:4] == (1, 0, 1) for r in renders)
        by_text = {r[4]: r[0] for r in renders}
        async with conn.raw.execute("SELECT guild_id, rendered_id, payloads, status FROM releases"
                                " ORDER BY guild_id") as cur:
            assert [tuple(r) for r in await cur.fetchall()] == [
                (1, by_text[releases[0][2]], None, "done"), (2, by_text[releases[0][2]], None, "done"),
                (3, by_text[releases[2][2]], None, "in_progress"), (4, None, None, "done")]

        # A changed renderer and a changed alert role since: the resumed release still sends its plan.
        await conn.raw.execute("INSERT INTO guild_settings(guild_id, alert_role_id) VALUES (3, 777)")

        def other_renderer(chapter: object, *, number: int, total: int) -> list[dict[str, object]]:
            return [{"content": "something else entirely"}]

        outcomes = await Publisher(conn, MemorySender(discord), render=other_renderer).resume()
        assert [(o.guild_id, o.status) for o in outcomes] == [(3, "released")]
        sent = [m["payload"] for m in discord.history(30)]
        assert discord.sends == len(with_role) - 2  # parts 0 and 1 were not sent again
        assert json.dumps(sent, ensure_ascii=False) == releases[2][2]  # byte for byte what it planned
    finally:
        await conn.close()


async def test_v11_upgrades_a_v10_database_keeping_releases_and_settings(tmp_path):
    """A V10 database with a guild's settings and a half-sent release: V11 adds the channel-kind settings
    (defaults) and the delivery/publish columns (NULL: a text-channel release, nothing to publish)."""
    path = tmp_path / "v10.db"
    conn = SqliteDatabase(await aiosqlite.connect(path))
    try:
        await apply_migrations(conn, through=10)
        for sql in (
            "INSERT INTO chapters(number, threadmark, title, content_hash) VALUES (1, 'P', 'T', 'h')",
            "INSERT INTO guild_settings(guild_id, story_channel_id, alert_role_id) VALUES (5, 10, 7)",
            "INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total, started_at,"
            " payloads) VALUES (5, 1, 10, 'in_progress', 2, '2026-01-01T00:00:00.000Z', '[]')",
            "INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce, message_id, channel_id)"
            " VALUES (5, 1, 0, 'n0', 99, 10)",
        ):
            await conn.raw.execute(sql)
        await conn.raw.commit()
    finally:
        await conn.close()
    conn = await open_database(path)
    try:
        assert await schema_version(conn) == newest_version()
        settings = await get_guild_settings(conn, 5)
        assert (settings.story_channel_id, settings.alert_role_id) == (10, 7)
        assert (settings.forum_tag, settings.author_webhook, settings.author_name) == (None, False, None)
        assert await get_delivery(conn, 5, 1) is None
        assert [p.message_id for p in (await parts(conn, 5, 1)).values()] == [99]
        assert await pending_publishes(conn) == []
    finally:
        await conn.close()


# --- migrations that rebuild tables (a new primary key: what SQLite's ALTER TABLE can't do) ----------

REBUILD_PARENT = """-- aar: rebuilds tables
CREATE TABLE new_chapters (
    story_id     INTEGER NOT NULL DEFAULT 1,
    number       INTEGER NOT NULL,
    threadmark   TEXT NOT NULL,
    title        TEXT NOT NULL,
    forum_likes  INTEGER NOT NULL DEFAULT 0,
    content_hash TEXT NOT NULL,
    imported_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (story_id, number),
    UNIQUE (number)
);
INSERT INTO new_chapters(story_id, number, threadmark, title, forum_likes, content_hash, imported_at)
    SELECT 1, number, threadmark, title, forum_likes, content_hash, imported_at FROM chapters {where};
DROP TABLE chapters;
ALTER TABLE new_chapters RENAME TO chapters;
"""


async def test_a_table_rebuild_keeps_every_row_and_reference(tmp_path: Path) -> None:
    conn = await open_database(tmp_path / "aar.db")
    try:
        await import_file(conn, SHIPPED_THREAD)
        blocks = await fetch_value(conn, "SELECT COUNT(*) FROM blocks")
        await apply_migration(conn, Migration(99, "rebuild", REBUILD_PARENT.format(where="")))
        assert await fetch_value(conn, "SELECT COUNT(*) FROM chapters WHERE story_id = 1") == SEED_CHAPTERS
        assert await fetch_value(conn, "SELECT COUNT(*) FROM blocks") == blocks  # the children stayed
        assert await fetch_value(conn, "PRAGMA foreign_keys") == 1  # enforcement is back on afterwards
        with pytest.raises(sqlite3.IntegrityError):  # and enforced: the children still point at chapters
            await execute(conn, "INSERT INTO blocks(chapter_number, position, kind) VALUES (99, 0, 'note')")
    finally:
        await conn.close()


async def test_a_rebuild_that_loses_a_referenced_row_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    conn = await open_database(tmp_path / "aar.db")
    try:
        await import_file(conn, SHIPPED_THREAD)
        before = await fetch_all(conn, "SELECT sql FROM sqlite_master ORDER BY name")
        lossy = Migration(99, "rebuild", REBUILD_PARENT.format(where="WHERE number != 3"))
        with pytest.raises(BrokenReferences, match="V99 .* broken references in .*blocks"):
            await apply_migration(conn, lossy)
        assert await fetch_all(conn, "SELECT sql FROM sqlite_master ORDER BY name") == before
        assert await fetch_value(conn, "SELECT COUNT(*) FROM chapters") == SEED_CHAPTERS
        assert await fetch_value(conn, "SELECT MAX(version) FROM schema_migrations") == newest_version()
        assert await fetch_value(conn, "PRAGMA foreign_keys") == 1
    finally:
        await conn.close()
