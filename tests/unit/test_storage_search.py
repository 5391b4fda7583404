"""`bot.storage.search` and migration V9: a database that already held a story is indexed by the
migration; the triggers keep the index in step with every write to `blocks`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.search.query import parse
from bot.storage import open_database
from bot.storage import search as store
from bot.storage.migrations import apply_migrations
from bot.storage.sql import execute, execute_many
from tests.helpers import import_into_old_schema

pytestmark = pytest.mark.both_backends

CHAPTER = "INSERT INTO chapters(number, threadmark, title, content_hash) VALUES (?, ?, ?, 'h')"
BLOCK = "INSERT INTO blocks(chapter_number, position, kind, text) VALUES (?, ?, 'paragraph', ?)"


async def test_the_migration_indexes_a_story_imported_before_it(tmp_path: Path) -> None:
    path = tmp_path / "aar.db"
    conn = await open_database(path, migrate=False)
    try:
        await apply_migrations(conn, through=8)
        await import_into_old_schema(conn)  # written by a release without search
        assert await apply_migrations(conn) and await store.index_in_step(conn)
        hits = await store.match(conn, parse("Rokossovsky").expression, through=6, limit=3)
        assert hits and all("Rokossovsky" in hit.text for hit in hits)
        assert await store.match_count(conn, parse('"shall not pass"').expression, through=6) >= 1
    finally:
        await conn.close()


async def test_the_index_follows_inserts_updates_and_deletes_of_blocks(db) -> None:
    await execute(db, CHAPTER, (1, "t", "T"))
    await execute(db, BLOCK, (1, 0, "The Bukhárin faction"))
    assert [h.position for h in await store.match(db, '"bukharin"', through=1, limit=5)] == [0]
    assert await store.match(db, '"bukharin"', through=0, limit=5) == []  # nothing released, nothing read
    await execute(db, "UPDATE blocks SET text = 'The Zinoviev faction' WHERE chapter_number = 1")
    assert await store.match_count(db, '"bukharin"', through=1) == 0
    assert await store.match_count(db, '"zinoviev"', through=1) == 1
    await execute(db, "DELETE FROM blocks")
    assert await store.match_count(db, '"zinoviev"', through=1) == 0 and await store.index_in_step(db)


async def test_story_order_when_not_ranked(db) -> None:
    await execute_many(db, CHAPTER, [(1, "t", "T"), (2, "u", "U")])
    await execute_many(db, BLOCK, [(1, 0, "war"), (1, 1, "war war war war"), (2, 0, "war and peace")])
    ranked = await store.match(db, '"war"', through=2, limit=5)
    assert (ranked[0].chapter, ranked[0].position) == (1, 1)  # bm25 or ts_rank: the densest first
    ordered = await store.match(db, '"war"', through=2, limit=5, ranked=False)
    assert [(h.chapter, h.position) for h in ordered] == [(1, 0), (1, 1), (2, 0)]
    assert [(h.chapter, h.position) for h in await store.match(db, '"war"', through=1, limit=5,
                                                                 ranked=False)] == [(1, 0), (1, 1)]
