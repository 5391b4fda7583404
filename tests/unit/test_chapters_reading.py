"""Catch-up reading's suggestions: one rule for every option that names a released chapter."""

from __future__ import annotations

import pytest

from bot.chapters.reading import released_choices
from bot.storage.database import Database
from bot.storage.sql import execute
from tests.helpers import mark_released

pytestmark = pytest.mark.both_backends

GUILD = 7


@pytest.fixture
async def story_of_40(db: Database) -> Database:
    """A story of 40 chapters (titles only), 30 of them released in GUILD."""
    conn = db
    for number in range(1, 41):
        await execute(conn, "INSERT INTO chapters(number, threadmark, title, content_hash)"
                           " VALUES (?, ?, ?, ?)",
                           (number, f"Part {number}", f"Title {'Madrid' if number % 10 == 3 else 'War'}",
                            f"hash-{number}"))
    await mark_released(conn, GUILD, 30)
    return conn


async def test_past_25_the_newest_released_chapters_are_offered_in_chapter_order(story_of_40) -> None:
    choices = await released_choices(story_of_40, GUILD, "")
    assert [number for _, number in choices] == list(range(6, 31))  # newest 25 of 30, never 31-40


async def test_what_was_typed_comes_first(story_of_40) -> None:
    assert [n for _, n in await released_choices(story_of_40, GUILD, "madrid")] == [3, 13, 23]
    assert [n for _, n in await released_choices(story_of_40, GUILD, "2")] == [2, 12, *range(20, 30)]
    # the exact number is offered even when 25 newer chapters match the typed text
    assert 1 in [n for _, n in await released_choices(story_of_40, GUILD, "1")]
    assert 33 not in [n for _, n in await released_choices(story_of_40, GUILD, "3")]
