"""The update engine and its journal against an in-memory Discord: what is out of step, an update made
exactly once across a crash before or after every Discord call, later edits, threads off, concurrency.

Releases are made by the real release engine first (`Publisher`), then the story is re-imported edited
(`tests.helpers.edited_thread`: chapter 1 shorter, chapter 2 longer)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.chapters.edit_plan import MOVED_UP
from bot.chapters.edit_sync import EditSyncer
from bot.chapters.plan import stored_plan
from bot.chapters.publishing import MessageGone, Publisher
from bot.config import SHIPPED_THREAD
from bot.storage import chapter_edits, release_log
from bot.storage.sql import fetch_value
from bot.story.importer import import_file
from tests.helpers import CUT, FILLER, edited_thread
from tests.unit.test_chapters_publishing import Crash, MemoryDiscord, MemorySender

pytestmark = pytest.mark.both_backends

GUILD, CHANNEL = 7, 70
SEED = SHIPPED_THREAD.read_text(encoding="utf-8")


class EditingSender(MemorySender):
    """The release stand-in, with message edits (counted as operations, so a crash can hit them)."""

    edits = 0

    async def edit(self, channel_id: int, message_id: int, payload: dict[str, Any]) -> None:
        d = self.d
        d._tick("before")
        found = [m for m in d.history(channel_id) if m["id"] == message_id]
        if not found:
            raise MessageGone("404 Unknown Message")
        found[0]["payload"] = payload
        EditingSender.edits += 1
        d._tick("after")
        d.ops += 1


@pytest.fixture
async def conn(db):
    await import_file(db, SHIPPED_THREAD)
    return db


async def release(conn, d: MemoryDiscord, chapters: int = 2, *, threads: bool = True) -> None:
    publisher = Publisher(conn, EditingSender(d))
    for _ in range(chapters):
        assert (await publisher.release_next(GUILD, CHANNEL, threads=threads)).status == "released"


async def reimport(conn, tmp_path: Path, text: str) -> None:
    path = tmp_path / f"export-{abs(hash(text))}.txt"
    path.write_text(text, encoding="utf-8")
    await import_file(conn, path)


async def reading(conn, d: MemoryDiscord, number: int) -> list[dict[str, Any]]:
    """The chapter's text as a reader finds it: its posted messages, then the extra parts in its thread."""
    row = await release_log.get_release(conn, GUILD, number)
    assert row is not None
    parts = await release_log.parts(conn, GUILD, number)
    ids = {p.message_id for p in parts.values()}
    shown = [m["payload"] for m in d.history(CHANNEL) if m["id"] in ids]
    thread = d.history(row.thread_id) if row.thread_id else []
    return shown + [m["payload"] for m in thread]


async def test_only_edited_chapters_are_stale_and_an_update_makes_them_read_as_the_new_text(conn, tmp_path):
    d = MemoryDiscord()
    await release(conn, d, 3)
    syncer = EditSyncer(conn, EditingSender(d))
    assert await syncer.stale_chapters(GUILD) == []
    await reimport(conn, tmp_path, edited_thread(SEED))
    assert await syncer.stale_chapters(GUILD) == [1, 2]  # chapter 3 unchanged; 4..6 not released here

    channel_before = len(d.history(CHANNEL))
    longer = await syncer.update(GUILD, 2)
    assert (longer.status, longer.edited, longer.moved_up, longer.posted) == ("updated", 1, 0, 2)
    thread = d.history(longer.discussion_id or 0)
    assert "continues here" in thread[0]["payload"]["content"] and len(thread) == 3
    assert FILLER[:50] in str(thread[1:])

    shorter = await syncer.update(GUILD, 1)
    assert (shorter.status, shorter.edited, shorter.moved_up, shorter.posted) == ("updated", 1, 2, 0)
    chapter_1 = await reading(conn, d, 1)
    assert CUT in str(chapter_1[0]) and [p["content"] for p in chapter_1[1:]] == [MOVED_UP, MOVED_UP]
    assert len(d.history(CHANNEL)) == channel_before, "nothing new between the chapters"
    assert await syncer.stale_chapters(GUILD) == []
    assert (await syncer.update(GUILD, 2)).status == "in_step"
    assert (await syncer.update(GUILD, 5)).status == "not_released"


async def test_a_later_edit_edits_the_extra_parts_instead_of_posting_them_again(conn, tmp_path):
    d = MemoryDiscord()
    await release(conn, d, 2)
    syncer = EditSyncer(conn, EditingSender(d))
    await reimport(conn, tmp_path, edited_thread(SEED, longer=8))
    first = await syncer.update(GUILD, 2)
    thread = first.discussion_id or 0
    assert len(d.history(thread)) == 3

    await reimport(conn, tmp_path, edited_thread(SEED, longer=14))  # longer still: one more part
    again = await syncer.update(GUILD, 2)
    assert (again.status, again.posted) == ("updated", 1)
    assert len(d.history(thread)) == 4 and sum("continues here" in m["payload"]["content"]
                                                for m in d.history(thread)) == 1

    await reimport(conn, tmp_path, SEED)  # the author took it all back: the extras are moved up
    back = await syncer.update(GUILD, 2)
    assert (back.status, back.posted, back.moved_up) == ("updated", 0, 3)
    assert [m["payload"]["content"] for m in d.history(thread)[1:]] == [MOVED_UP] * 3
    assert await syncer.stale_chapters(GUILD) == []


async def test_with_threads_off_extra_parts_go_into_a_thread_opened_for_them(conn, tmp_path):
    d = MemoryDiscord()
    await release(conn, d, 2, threads=False)
    assert not d.threads
    await reimport(conn, tmp_path, edited_thread(SEED))
    outcome = await EditSyncer(conn, EditingSender(d)).update(GUILD, 2)
    parts = await release_log.parts(conn, GUILD, 2)
    assert outcome.discussion_id == parts[0].message_id and d.threads[parts[0].message_id]
    assert len(d.history(outcome.discussion_id or 0)) == 3


@pytest.mark.parametrize("phase", ["before", "after"])
async def test_a_crash_at_any_step_resumes_with_nothing_doubled(conn, tmp_path, phase):
    """Killed before or after each Discord call of the update in turn: a fresh engine finishes it, and the
    chapter reads exactly as an uninterrupted update leaves it."""
    reference = MemoryDiscord()
    await release(conn, reference, 2)
    await reimport(conn, tmp_path, edited_thread(SEED))
    base = reference.ops
    outcome = await EditSyncer(conn, EditingSender(reference)).update(GUILD, 2)
    steps = reference.ops - base
    want = await reading(conn, reference, 2)
    assert steps == 4 and outcome.status == "updated"  # one edit, the note, two extra parts

    for step in range(steps):
        await _reset(conn)
        d = MemoryDiscord()
        await reimport(conn, tmp_path, SEED)
        await release(conn, d, 2)
        await reimport(conn, tmp_path, edited_thread(SEED))
        d.crash_at = (d.ops + step, phase)
        with pytest.raises(Crash):
            await EditSyncer(conn, EditingSender(d)).update(GUILD, 2)
        [resumed] = await EditSyncer(conn, EditingSender(d)).resume(GUILD)
        assert resumed.status == "updated" and resumed.resumed, (step, resumed)
        assert await reading(conn, d, 2) == want, (phase, step)
        assert await chapter_edits.unfinished_syncs(conn) == []


async def test_one_update_at_a_time_per_chapter(conn, tmp_path):
    d = MemoryDiscord()
    await release(conn, d, 2)
    await reimport(conn, tmp_path, edited_thread(SEED))
    syncer = EditSyncer(conn, EditingSender(d))
    outcomes = await asyncio.gather(syncer.update(GUILD, 2), syncer.update(GUILD, 2))
    assert sorted(o.status for o in outcomes) == ["in_step", "updated"]
    assert len(d.history(outcomes[0].discussion_id or outcomes[1].discussion_id or 0)) == 3
    # The journal refuses a second running update of a chapter outright.
    row = await release_log.get_release(conn, GUILD, 2)
    assert row is not None
    target = stored_plan(row.plan, number=2)
    kwargs: dict[str, Any] = {"guild_id": GUILD, "chapter": 2, "rendered": target, "renderer_version": 1,
                              "alert_role_id": None, "started_at": "2026-01-01T00:00:00.000Z", "ops": []}
    assert await chapter_edits.start_sync(conn, **kwargs) is not None
    assert await chapter_edits.start_sync(conn, **kwargs) is None


async def test_the_render_an_update_refers_to_outlives_the_collection_of_renders(conn, tmp_path):
    d = MemoryDiscord()
    await release(conn, d, 2)
    await reimport(conn, tmp_path, edited_thread(SEED))
    await EditSyncer(conn, EditingSender(d)).update(GUILD, 2)
    await release(conn, d, 1)  # a claim collects renders no one refers to
    last = await chapter_edits.latest_done_sync(conn, GUILD, 2)
    assert last is not None
    kept = await fetch_value(conn, "SELECT COUNT(*) FROM rendered_chapters WHERE id = ?", (last.rendered_id,))
    assert kept == 1


async def _reset(conn) -> None:
    """Forget every release and update (the story stays), for the next crash of a parametrized loop."""
    for table in ("chapter_edit_ops", "chapter_edit_syncs", "release_parts", "releases", "rendered_chapters"):
        await conn.execute(f"DELETE FROM {table}")
