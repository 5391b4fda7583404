"""What an import would change, worked out before anything changes: the preview `/aar import` shows.

The diff follows the importer's own rules (`bot.story.importer`): a chapter is known by its (threadmark,
title); a known chapter whose content hash differs is edited; an unknown one is new and gets the next
number; a stored chapter the file lacks is left alone (an import never deletes), which the preview says.
A comment is new when its fingerprint is not stored yet.

The preview also records the story's state when it was made (`imports.story_state`), so confirming it
after another import landed is refused instead of applying a diff nobody saw.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bot.storage import imports
from bot.storage.database import Database
from bot.story.importer import comment_fingerprints
from bot.story.model import Story

StoredChapters = Mapping[tuple[str, str], tuple[int, str]]  # (threadmark, title) → (number, content hash)


@dataclass(frozen=True)
class ChapterRef:
    """A chapter as the preview names it: the number it has (or would get) in the database."""

    number: int
    threadmark: str
    title: str


@dataclass(frozen=True)
class StoryDiff:
    """What importing a file would do to the stored story."""

    added: list[ChapterRef]
    edited: list[ChapterRef]
    missing: list[ChapterRef]  # stored, not in the file: kept as they are
    unchanged: int
    new_comments: int

    @property
    def changes(self) -> bool:
        """Would the import write anything (chapters or comments)?"""
        return bool(self.added or self.edited or self.new_comments)


@dataclass(frozen=True)
class ImportPreview:
    """A parsed file's contents, what importing it would change, and the stored state it was worked out on."""

    chapters: int
    pictures: int
    forum_likes: int
    comments: int
    stored_chapters: int  # 0: there is no story yet, everything is new
    diff: StoryDiff
    state: str  # `imports.story_state` when the preview was made


def diff_story(story: Story, stored: StoredChapters, known_comments: Collection[str] = ()) -> StoryDiff:
    """The diff of `story` against the stored chapters (and stored comment fingerprints), as the importer
    would apply it: new chapters numbered after the last stored one, in the file's order."""
    known = dict(stored)
    next_number = max((number for number, _ in known.values()), default=0) + 1
    added: list[ChapterRef] = []
    edited: dict[int, ChapterRef] = {}
    seen: set[tuple[str, str]] = set()
    for chapter in story.chapters:
        digest = chapter.content_hash()
        seen.add(chapter.key)
        if chapter.key in known:
            number, old_digest = known[chapter.key]
            if old_digest != digest and not any(ref.number == number for ref in added):
                edited[number] = ChapterRef(number, chapter.threadmark, chapter.title)
        else:
            known[chapter.key] = (next_number, digest)
            added.append(ChapterRef(next_number, chapter.threadmark, chapter.title))
            next_number += 1
    missing = sorted((ChapterRef(number, *key) for key, (number, _) in stored.items() if key not in seen),
                     key=lambda ref: ref.number)
    fresh = sum(1 for fingerprint in comment_fingerprints(story) if fingerprint not in known_comments)
    unchanged = len(seen & set(stored)) - len(edited)
    return StoryDiff(added, sorted(edited.values(), key=lambda ref: ref.number), missing, unchanged, fresh)


async def preview_import(conn: Database, story: Story) -> ImportPreview:
    """The preview of importing `story` into the database as it is now (reads only).

    The state is read first: an import landing between these reads leaves the preview with an older state
    than its diff, so confirming it is refused; never the other way round.
    """
    state = await imports.story_state(conn)
    stored = await imports.stored_chapters(conn)
    diff = diff_story(story, stored, await imports.known_fingerprints(conn))
    return ImportPreview(
        chapters=len(story.chapters),
        pictures=sum(len(chapter.pictures) for chapter in story.chapters),
        forum_likes=sum(chapter.forum_likes for chapter in story.chapters),
        comments=len(story.comments),
        stored_chapters=len(stored),
        diff=diff,
        state=state,
    )
