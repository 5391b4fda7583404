"""The import preview: the diff against the stored story (and that it predicts what the import does), the
state a confirmation is checked against, its wording, the upload's limits, and who may answer it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import SHIPPED_THREAD
from bot.storage import imports
from bot.story.importer import StoryChanged, StoryImportError, import_story, parse_export
from bot.story.model import Block, Chapter, Story
from bot.story.pending import (
    EXPIRED,
    GONE,
    LIFETIME,
    NOT_YOURS,
    SETTLED,
    PendingImport,
    PendingImports,
    PreviewRefused,
)
from bot.story.preview import ChapterRef, ImportPreview, StoryDiff, diff_story, preview_import
from bot.story.upload import (
    MAX_UPLOAD_BYTES,
    check_upload_size,
    imported_text,
    parse_upload,
    preview_text,
)
from tests.helpers import FakeClock

pytestmark = pytest.mark.both_backends  # the preview's reads and the state check, on either backend

SEED = SHIPPED_THREAD.read_text(encoding="utf-8")
EPILOGUE = ("\n\u00a0\nEpilogue\nThe Epilogue: After the Storm.\n\n" + "A long paragraph of story. " * 40
            + "\n\u00a0\n  • 2Like\nReactions:\nWhat an ending!\n")
ADDED = SEED.rstrip("\n") + EPILOGUE
EDITED = SEED.replace("Marianne is that you?", "Marianne, is that really you?", 1)
TRUNCATED = SEED[:SEED.index("Chapter 3\nChapter 3: The Gravedigger")]  # the sixth chapter is missing


def story(text: str) -> Story:
    return parse_export(text, "test.txt")


async def seed(db) -> None:
    await import_story(db, story(SEED), source="seed", sha256="0" * 64)


# --- the diff ------------------------------------------------------------------------------------------


def test_against_no_story_every_chapter_is_new_and_numbered_in_order():
    diff = diff_story(story(SEED), {})
    assert [ref.number for ref in diff.added] == [1, 2, 3, 4, 5, 6]
    assert diff.added[0] == ChapterRef(1, "Spanish Civil War 1.", "The Spanish Civil War: Further Beyond.")
    assert (diff.edited, diff.missing, diff.unchanged, diff.new_comments) == ([], [], 0, 14)
    assert diff.changes


async def test_the_same_file_again_changes_nothing(db):
    await seed(db)
    preview = await preview_import(db, story(SEED))
    assert preview.diff == StoryDiff([], [], [], 6, 0) and not preview.diff.changes
    assert (preview.chapters, preview.pictures, preview.forum_likes, preview.comments) == (6, 79, 5, 14)
    assert preview.stored_chapters == 6


async def test_a_new_chapter_an_edited_one_and_a_missing_one(db):
    await seed(db)
    added = (await preview_import(db, story(ADDED))).diff
    assert added.added == [ChapterRef(7, "Epilogue", "The Epilogue: After the Storm.")]
    assert (added.edited, added.missing, added.unchanged, added.new_comments) == ([], [], 6, 1)

    edited = (await preview_import(db, story(EDITED))).diff
    assert edited.edited == [ChapterRef(1, "Spanish Civil War 1.", "The Spanish Civil War: Further Beyond.")]
    assert (edited.added, edited.unchanged, edited.new_comments) == ([], 5, 0)

    truncated = (await preview_import(db, story(TRUNCATED))).diff
    assert truncated.missing == [ChapterRef(6, "Chapter 3", "Chapter 3: The Gravedigger of the Revolution.")]
    assert not truncated.changes  # a missing chapter is kept: the import would write nothing


def test_a_chapter_twice_in_one_file_is_one_new_chapter():
    chapter = Chapter("Interlude", "Interlude: Madrid Burns.", [Block("paragraph", "x" * 500)])
    twice = Chapter("Interlude", "Interlude: Madrid Burns.", [Block("paragraph", "y" * 500)])
    diff = diff_story(Story([chapter, twice], []), {})
    assert [ref.number for ref in diff.added] == [1] and diff.edited == []


@pytest.mark.parametrize("text", [ADDED, EDITED, TRUNCATED, ADDED.replace("Marianne is", "Marianne was", 1)])
async def test_the_diff_predicts_what_the_import_does(db, text):
    await seed(db)
    parsed = story(text)
    diff = (await preview_import(db, parsed)).diff
    summary = await import_story(db, parsed, source="variant", sha256="1" * 64)
    assert (summary.chapters_added, summary.chapters_updated, summary.comments_added) == (
        len(diff.added), len(diff.edited), diff.new_comments)
    stored = await imports.stored_chapters(db)
    numbers = {stored[(ref.threadmark, ref.title)][0] for ref in diff.added}
    assert numbers == {ref.number for ref in diff.added}


# --- the state a confirmation is checked against --------------------------------------------------------


async def test_the_state_changes_with_every_import_that_changed_the_story(db):
    await seed(db)
    state = await imports.story_state(db)
    await import_story(db, story(SEED), source="again", sha256="0" * 64)  # writes nothing
    assert await imports.story_state(db) == state
    await import_story(db, story(EDITED), source="edited", sha256="2" * 64)
    assert await imports.story_state(db) != state


async def test_an_import_against_a_changed_story_is_refused_and_writes_nothing(db):
    await seed(db)
    preview = await preview_import(db, story(ADDED))
    await import_story(db, story(EDITED), source="edited", sha256="2" * 64)
    changed = await imports.story_state(db)
    with pytest.raises(StoryChanged):
        await import_story(db, story(ADDED), source="added", sha256="3" * 64, expected_state=preview.state)
    assert await imports.story_state(db) == changed
    fresh = await preview_import(db, story(ADDED))
    summary = await import_story(db, story(ADDED), source="added", sha256="3" * 64,
                                 expected_state=fresh.state)
    assert summary.chapters_added == 1


# --- wording --------------------------------------------------------------------------------------------


def preview_of(diff: StoryDiff, stored: int = 6) -> ImportPreview:
    return ImportPreview(chapters=7, pictures=79, forum_likes=7, comments=15, stored_chapters=stored,
                         diff=diff, state="s")


def test_a_stored_chapter_is_named_only_once_released_here():
    missing = [ChapterRef(5, "Border War", "The Border War."), ChapterRef(6, "Chapter 3", "The Gravedigger")]
    text = preview_text(preview_of(StoryDiff([], [], missing, 4, 0)), released_through=5)
    assert "5. The Border War." in text
    assert "6. (not released in this server)" in text and "Gravedigger" not in text
    assert "keep 2 chapters the file does not have (they are not deleted)" in text
    edited = [ChapterRef(1, "Spanish Civil War 1.", "Further Beyond."), ChapterRef(4, "SCW 3", "Workers")]
    new = [ChapterRef(7, "Epilogue", "After the Storm.")]
    text = preview_text(preview_of(StoryDiff(new, edited, [], 4, 0)), released_through=2)
    assert "1. Further Beyond." in text and "4. (not released in this server)" in text
    assert "Workers" not in text and "7. After the Storm." in text


def test_titles_are_escaped_and_long_lists_are_cut():
    added = [ChapterRef(n, f"T{n}", f"*Bold* chapter {n}") for n in range(7, 40)]
    text = preview_text(preview_of(StoryDiff(added, [], [], 6, 0)), released_through=6)
    assert "7. \\*Bold\\* chapter 7" in text and "…and 23 more" in text and "chapter 17" not in text
    assert "add 33 new chapters:" in text


def test_a_new_story_says_everything_is_new():
    text = preview_text(preview_of(StoryDiff([ChapterRef(1, "a", "b")], [], [], 0, 3), stored=0),
                        released_through=0)
    assert "The database holds no story yet" in text


def test_imported_text():
    from bot.story.importer import ImportSummary
    text = imported_text("a*b.txt", ImportSummary(1, 2, 0, 3, 7))
    assert text.startswith("Imported a\\*b.txt: 1 new chapter, 2 chapters updated, 3 new comments.")
    assert "`/chapter next`" in text


# --- the upload's limits ---------------------------------------------------------------------------------


def test_the_size_limit_is_checked_from_the_size_alone():
    check_upload_size("a.txt", MAX_UPLOAD_BYTES)
    with pytest.raises(StoryImportError, match=r"a\.txt is 8\.0 MiB, larger than"):
        check_upload_size("a.txt", MAX_UPLOAD_BYTES + 1)


@pytest.mark.parametrize(("data", "problem"), [
    ("Azaña".encode("latin-1") + b"x" * 50, "not UTF-8 text"),
    (b"\x00" * 10, "binary file"),
    ("Just talk\n\u00a0\nMore talk\n".encode(), "no chapters found"),
])
def test_bad_uploads_are_one_line(data, problem):
    with pytest.raises(StoryImportError) as excinfo:
        parse_upload(data, "my\nfile_.txt")
    message = str(excinfo.value)
    assert problem in message and "\n" not in message and message.startswith("my file\\_.txt")


# --- who may answer --------------------------------------------------------------------------------------


def pending(registry: PendingImports, clock: FakeClock, preview_id: int = 1, user: int = 10,
            guild: int = 100) -> PendingImport:
    item = PendingImport(preview_id, guild, user, "a.txt", "0" * 64, Story([], []),
                         preview_of(StoryDiff([], [], [], 0, 1)), clock())
    registry.add(item)
    return item


def test_only_the_asker_answers_and_only_once():
    clock = FakeClock(datetime(2026, 5, 1, tzinfo=UTC))
    registry = PendingImports(clock)
    pending(registry, clock)
    with pytest.raises(PreviewRefused, match=NOT_YOURS):
        registry.answer(1, 11, "confirm")
    assert registry.answer(1, 10, "confirm").state == "confirmed"
    with pytest.raises(PreviewRefused, match=SETTLED["confirmed"]):
        registry.answer(1, 10, "confirm")
    with pytest.raises(PreviewRefused, match=SETTLED["confirmed"]):
        registry.answer(1, 10, "cancel")
    with pytest.raises(PreviewRefused) as gone:
        registry.answer(2, 10, "confirm")
    assert gone.value.message == GONE


def test_a_confirmed_import_that_failed_says_so_to_a_late_press():
    clock = FakeClock(datetime(2026, 5, 1, tzinfo=UTC))
    registry = PendingImports(clock)
    item = pending(registry, clock)
    registry.answer(1, 10, "confirm")
    registry.release(item, failed=True)
    with pytest.raises(PreviewRefused, match="did not go through"):
        registry.answer(1, 10, "confirm")


def test_a_preview_expires_and_a_newer_one_replaces_it():
    clock = FakeClock(datetime(2026, 5, 1, tzinfo=UTC))
    registry = PendingImports(clock)
    pending(registry, clock, preview_id=1)
    clock.advance(seconds=LIFETIME.total_seconds() + 1)
    with pytest.raises(PreviewRefused) as expired:
        registry.answer(1, 10, "confirm")
    assert expired.value.message == EXPIRED
    pending(registry, clock, preview_id=2)
    pending(registry, clock, preview_id=3)  # the same moderator in the same server
    pending(registry, clock, preview_id=4, guild=101)  # another server: both stay open
    with pytest.raises(PreviewRefused, match="replaced"):
        registry.answer(2, 10, "confirm")
    assert registry.answer(3, 10, "cancel").state == "cancelled"
    assert registry.answer(4, 10, "confirm").state == "confirmed"
    clock.advance(seconds=(2 * LIFETIME + timedelta(seconds=1)).total_seconds())
    pending(registry, clock, preview_id=5)  # adding forgets the old ones
    assert len(registry) == 1
