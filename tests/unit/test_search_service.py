"""`bot.search.service` on the shipped AAR: only released chapters are searched, pages and keys, the index
kept in step with imports, jump links to the part that shows the passage."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.chapters.render import render_chapter
from bot.config import SHIPPED_THREAD
from bot.errors import UserError
from bot.search import locate
from bot.search.service import GONE, NOTHING_RELEASED, PER_PAGE, SearchService
from bot.storage import search as store
from bot.storage.database import Database
from bot.storage.sql import execute, fetch_value
from bot.storage.story import load_chapter
from bot.story.importer import import_file, import_story, parse_export
from tests.helpers import SEED_CHAPTERS, mark_released

pytestmark = pytest.mark.both_backends

GUILD, OTHER = 11, 22
WORD = re.compile(r"[^\W\d_]{5,}")


@pytest.fixture
async def story(db: Database) -> Database:
    await import_file(db, SHIPPED_THREAD)
    return db


async def only_in(conn: Database, number: int) -> str:
    """A word of chapter `number` that no other chapter has (in any case)."""
    words: dict[int, set[str]] = {}
    for n in range(1, SEED_CHAPTERS + 1):
        chapter = await load_chapter(conn, n)
        assert chapter is not None
        words[n] = {w.casefold() for b in chapter.blocks for w in WORD.findall(b.text)}
    others = set().union(*(w for n, w in words.items() if n != number))
    return sorted(words[number] - others)[0]


async def test_only_released_chapters_are_searched(story: Database) -> None:
    service = SearchService(story)
    late = await only_in(story, 5)
    with pytest.raises(UserError, match=NOTHING_RELEASED):
        await service.search(GUILD, late)
    await mark_released(story, GUILD, 2)
    with pytest.raises(UserError, match=f"No passage in the chapters released here matches “{late}”"):
        await service.search(GUILD, late)
    await mark_released(story, OTHER, SEED_CHAPTERS)
    found = await service.search(OTHER, late)
    assert "Chapter 5" in found.embed["description"] and f"**{late}" in found.embed["description"].casefold()


async def test_results_are_from_chapters_released_only_best_first_in_pages(
        story: Database) -> None:
    await mark_released(story, GUILD, 2)
    service = SearchService(story)
    first = await service.search(GUILD, "Madrid")
    assert first.pages > 1 and first.page == 0
    headings = re.findall(r"^\*\*Chapter (\d+) ·", first.embed["description"], re.MULTILINE)
    assert len(headings) == PER_PAGE and set(headings) <= {"1", "2"}
    last = await service.page(GUILD, first.key, 99)  # clamped
    assert last.page == first.pages - 1
    assert set(re.findall(r"^\*\*Chapter (\d+) ·", last.embed["description"], re.MULTILINE)) <= {"1", "2"}
    with pytest.raises(UserError, match=re.escape(GONE)):
        await service.page(OTHER, first.key, 1)  # another server's key
    assert (await service.search(GUILD, "madrid")).key != first.key
    assert (await service.search(GUILD, "Madrid")).key == first.key  # the same query reuses its key


async def test_query_keys_ring_and_expire(db: Database) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)

    async def remember(query: str, at: datetime) -> int:
        return await store.remember_query(db, GUILD, query, now=at.isoformat(),
                                          expire_before=(at - timedelta(days=30)).isoformat())

    assert await remember("a", now) == 1
    assert await remember("b", now + timedelta(seconds=1)) == 2
    assert await remember("a", now + timedelta(seconds=2)) == 1  # searched again: same key, fresh again
    assert await remember("c", now + timedelta(seconds=3)) == 3  # not a key in use
    await execute(db, "UPDATE search_queries SET id = 999999 WHERE id = 3")
    assert await remember("d", now + timedelta(seconds=4)) == 2  # all keys taken: the least recent goes
    assert await store.recall_query(db, GUILD, 2) == "d"
    assert [await store.recall_query(db, GUILD, k) for k in (1, 999999)] == ["a", "c"]
    assert await remember("e", now + timedelta(days=40)) == 1  # everything else expired
    assert await store.recall_query(db, GUILD, 999999) is None


async def test_the_index_follows_every_import_and_is_rebuilt_when_out_of_step(
        story: Database) -> None:
    await mark_released(story, GUILD, SEED_CHAPTERS)
    service = SearchService(story)
    assert await service.ensure_index() is None
    text = SHIPPED_THREAD.read_text(encoding="utf-8-sig")
    late = await only_in(story, 5)
    changed = parse_export(text.replace(late, "Zanzibarque"), "changed")
    await import_story(story, changed, source="changed", sha256="x")
    assert await store.index_in_step(story)
    assert "Zanzibarque" in (await service.search(GUILD, "zanzibarque")).embed["description"]
    with pytest.raises(UserError, match="No passage"):
        await service.search(GUILD, late)
    lose_index = ("INSERT INTO story_search(story_search) VALUES ('delete-all')" if story.backend == "sqlite"
                  else "DELETE FROM story_search")
    await execute(story, lose_index)
    assert not await store.index_in_step(story)
    blocks = await fetch_value(story, "SELECT COUNT(*) FROM blocks")
    assert await service.ensure_index() == blocks
    assert await store.index_in_step(story)
    assert "Zanzibarque" in (await service.search(GUILD, "zanzib")).embed["description"]


async def test_every_block_is_found_in_the_part_that_shows_it(story: Database) -> None:
    for number in range(1, SEED_CHAPTERS + 1):
        chapter = await load_chapter(story, number)
        assert chapter is not None
        payloads = render_chapter(chapter, number=number, total=SEED_CHAPTERS)
        parts = [store.payload_text(p) for p in payloads]
        found = locate.block_parts(chapter, parts)
        posted = locate.ChapterParts(chapter, parts, found, 1, {})
        for position, block in enumerate(chapter.blocks):
            words = WORD.findall(block.text)
            if not words:
                continue
            part = found[position]
            assert words[0] in parts[part], (number, position)
            last = locate.passage_part(posted, position, words[-1])
            assert last >= part and words[-1] in parts[last], (number, position)
