"""The story library (V14): a second story imported beside the first is its own, and the first is left
exactly as it was — what servers read (story 1) can't see the other's chapters, text or search hits."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SHIPPED_THREAD
from bot.search.query import parse
from bot.storage import search, stories
from bot.storage.database import Database
from bot.storage.releases import release_state
from bot.storage.sql import fetch_all
from bot.storage.story import chapter_count, chapter_titles, list_chapters, load_chapter, story_texts
from bot.story.importer import StoryImportError, import_file
from tests.helpers import SEED_CHAPTERS, table_names

pytestmark = pytest.mark.both_backends

OTHER_WORD = "Zanzibarque"  # in the second story only


def other_story(tmp_path: Path) -> Path:
    """The shipped thread with a name the first story never uses, and one chapter fewer."""
    text = SHIPPED_THREAD.read_text(encoding="utf-8-sig").replace("Rokossovsky", OTHER_WORD)
    path = tmp_path / "other.txt"
    path.write_text(text, encoding="utf-8")
    return path


async def story_one_rows(conn: Database) -> list[str]:
    """Every row of the first story (and everything else), as text: what must not change."""
    lines = []
    for table in await table_names(conn):
        if table in ("stories", "story_search") or table.startswith("story_search_"):
            continue
        rows = await fetch_all(conn, f"SELECT * FROM {table}")
        lines.extend(f"{table}: {tuple(r)}" for r in rows if "story_id" not in r.keys() or r["story_id"] == 1)
    return sorted(lines)


async def test_a_second_story_is_its_own_and_leaves_the_first_as_it_was(db: Database, tmp_path: Path) -> None:
    await import_file(db, SHIPPED_THREAD)
    before = await story_one_rows(db)
    red = await stories.create_story(db, "red-star", "Red Star")
    summary = await import_file(db, other_story(tmp_path), story_id=red.id)
    assert summary.chapters_added == SEED_CHAPTERS and summary.chapters_total == SEED_CHAPTERS
    assert await story_one_rows(db) == before  # story 1: not a row changed, none added

    assert [s.slug for s in await stories.list_stories(db)] == ["default", "red-star"]
    assert [(s.slug, s.chapters) for s in await stories.list_stories(db)][1] == ("red-star", SEED_CHAPTERS)
    assert await chapter_count(db) == await chapter_count(db, red.id) == SEED_CHAPTERS
    assert (await release_state(db, 7)).chapters == SEED_CHAPTERS  # a server of story 1 counts its own
    assert [c.number for c in await list_chapters(db, red.id)] == list(range(1, SEED_CHAPTERS + 1))
    assert await chapter_titles(db) == await chapter_titles(db, story=red.id)
    first, other = await load_chapter(db, 1), await load_chapter(db, 1, red.id)
    assert first is not None and other is not None and first.title == other.title
    texts_one, texts_red = await story_texts(db, SEED_CHAPTERS), await story_texts(db, SEED_CHAPTERS, red.id)
    assert not any(OTHER_WORD in t for ts in texts_one.values() for t in ts)
    assert any(OTHER_WORD in t for ts in texts_red.values() for t in ts)

    # Search: each story's index is its own key range.
    expression = parse(OTHER_WORD).expression
    assert await search.match(db, expression, through=SEED_CHAPTERS, limit=5) == []
    assert await search.match_count(db, expression, through=SEED_CHAPTERS) == 0
    hits = await search.match(db, expression, through=SEED_CHAPTERS, limit=5, story=red.id)
    assert hits and all(OTHER_WORD in hit.text for hit in hits)
    assert await search.match_count(db, parse("Rokossovsky").expression, through=SEED_CHAPTERS,
                                    story=red.id) == 0
    assert await search.index_in_step(db)


async def test_importing_into_a_story_again_updates_only_it(db: Database, tmp_path: Path) -> None:
    await import_file(db, SHIPPED_THREAD)
    red = await stories.create_story(db, "red-star", "Red Star")
    path = other_story(tmp_path)
    await import_file(db, path, story_id=red.id)
    again = await import_file(db, path, story_id=red.id)
    assert (again.chapters_added, again.chapters_updated, again.comments_added) == (0, 0, 0)


async def test_slugs_are_checked_and_a_failed_import_leaves_no_story(db: Database, tmp_path: Path) -> None:
    for bad in ("", "Red Star", "-red", "red-", "x" * 41, "red_star"):
        with pytest.raises(stories.BadSlug):
            stories.check_slug(bad)
    assert stories.check_slug("red-star-2") == "red-star-2"
    empty = await stories.create_story(db, "empty", "Empty")
    broken = tmp_path / "broken.txt"
    broken.write_text("no chapters here\n", encoding="utf-8")
    with pytest.raises(StoryImportError):
        await import_file(db, broken, story_id=empty.id)
    await stories.forget_empty_story(db, empty.id)
    assert [s.slug for s in await stories.list_stories(db)] == ["default"]
    await stories.forget_empty_story(db, stories.DEFAULT_STORY_ID)  # never the first
    assert await stories.story_by_slug(db, "default") is not None
    assert await stories.guild_story_id(db, 5) == stories.DEFAULT_STORY_ID
