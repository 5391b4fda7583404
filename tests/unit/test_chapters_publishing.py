"""The release engine against an in-memory Discord stand-in: order, exactly-once across crashes at every
step (before and after Discord accepted it), 403s, exhaustion, concurrency, guild independence."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from typing import Any

import pytest

from bot.chapters.plan import role_mention, stored_plan
from bot.chapters.publishing import (
    CREATE_PUBLIC_THREADS,
    EMBED_LINKS,
    SEND_MESSAGES,
    ChannelGone,
    ChannelInfo,
    Publisher,
    PublishError,
    ReleaseForbidden,
    part_nonce,
    thread_name,
)
from bot.chapters.render import render_chapter
from bot.config import SHIPPED_THREAD
from bot.storage import open_database, release_log
from bot.storage.releases import released_chapters, released_through
from bot.storage.sql import execute, fetch_all
from bot.storage.story import load_chapter
from bot.story.importer import import_file
from bot.story.model import Chapter

pytestmark = pytest.mark.both_backends


class Crash(BaseException):
    """The process dies: nothing in the engine may catch this."""


class MemoryDiscord:
    """Channels, threads and Discord's nonce memory; operations can be made to crash or fail."""

    ids = itertools.count(1000)  # snowflakes are unique across every "Discord" a test makes

    def __init__(self, *, nonce_memory: bool = True) -> None:
        self.channels: dict[int, list[dict[str, Any]]] = {}
        self.threads: dict[int, dict[str, Any]] = {}
        self.nonce_memory = nonce_memory
        self.nonces: dict[tuple[int, str], int] = {}
        self.ops = 0
        self.crash_at: tuple[int, str] | None = None  # (operation number, "before" | "after")
        self.forbidden: dict[int, str] = {}  # channel → permission refused on the next matching operation
        self.forbid_threads = False
        self.missing: list[str] = []
        self.sends = 0
        self.deleted: set[int] = set()  # channels a moderator deleted: Discord answers Unknown Channel

    def _tick(self, phase: str) -> None:
        if self.crash_at == (self.ops, phase):
            self.crash_at = None
            raise Crash(f"killed {phase} operation {self.ops}")

    def history(self, channel_id: int) -> list[dict[str, Any]]:
        return self.channels.get(channel_id, [])

    def view(self, channel_id: int) -> list[tuple[str, int, str | None]]:
        """What members see: each message's content, embed count and the thread opened from it."""
        return [(m["payload"]["content"], len(m["payload"].get("embeds", [])),
                 self.threads.get(m["id"], {}).get("name")) for m in self.history(channel_id)]


class MemorySender:
    def __init__(self, discord: MemoryDiscord) -> None:
        self.d = discord

    async def channel_info(self, channel_id: int) -> ChannelInfo:
        return ChannelInfo("text")

    async def missing_permissions(self, channel_id: int, *, thread: bool) -> list[str]:
        return [p for p in self.d.missing if thread or p != CREATE_PUBLIC_THREADS]

    async def send(self, channel_id: int, payload: dict[str, Any], *, nonce: str) -> int:
        d = self.d
        d._tick("before")
        if channel_id in d.deleted:
            raise ChannelGone("404 Unknown Channel")
        if d.forbidden.get(channel_id):
            raise ReleaseForbidden(d.forbidden[channel_id])
        known = d.nonces.get((channel_id, nonce)) if d.nonce_memory else None
        if known is None:
            known = next(d.ids)
            d.channels.setdefault(channel_id, []).append({"id": known, "payload": payload, "nonce": nonce})
            d.nonces[(channel_id, nonce)] = known
            d.sends += 1
        d._tick("after")
        d.ops += 1
        return known

    async def find_sent(self, channel_id: int, payload: dict[str, Any], *, nonce: str,
                        after: int | None) -> int | None:
        if channel_id in self.d.deleted:
            raise ChannelGone("404 Unknown Channel")
        for message in reversed(self.d.history(channel_id)[-25:]):
            if after is not None and message["id"] <= after:
                break
            if message["nonce"] == nonce:
                return message["id"]
        return None

    async def open_thread(self, channel_id: int, message_id: int, name: str) -> int:
        d = self.d
        d._tick("before")
        if d.forbid_threads:
            raise ReleaseForbidden(CREATE_PUBLIC_THREADS)
        d.threads.setdefault(message_id, {"name": name, "channel": channel_id})  # Discord: one per message
        d._tick("after")
        d.ops += 1
        return message_id


@pytest.fixture
async def conn(db):
    await import_file(db, SHIPPED_THREAD)
    return db


def publisher(conn, discord: MemoryDiscord) -> Publisher:
    return Publisher(conn, MemorySender(discord))


def sent_plan(release: release_log.ReleaseRow | None) -> list[dict[str, Any]]:
    """The messages a stored release sends (its shared render with its frozen plan inputs)."""
    assert release is not None
    return stored_plan(release.plan, number=release.chapter_number)


async def test_release_posts_parts_in_order_then_records_everything(conn) -> None:
    d = MemoryDiscord()
    outcome = await publisher(conn, d).release_next(1, 10)
    chapter = await load_chapter(conn, 1)
    assert chapter is not None
    from bot.chapters.render import render_chapter
    expected = render_chapter(chapter, number=1, total=6)
    assert outcome.status == "released" and outcome.chapter == 1 and outcome.parts == len(expected) >= 2
    assert [m["payload"]["content"] for m in d.history(10)] == [p["content"] for p in expected]
    assert [m["payload"].get("embeds", []) for m in d.history(10)] == [p.get("embeds", []) for p in expected]
    first = d.history(10)[0]["id"]
    assert d.threads == {first: {"name": chapter.title, "channel": 10}}
    assert (outcome.first_message_id, outcome.thread_id) == (first, first)
    assert await released_through(conn, 1) == 1
    [released] = await released_chapters(conn, 1)
    assert (released.channel_id, released.first_message_id, released.thread_id) == (10, first, first)
    recorded = await release_log.parts(conn, 1, 1)
    assert [p.message_id for p in recorded.values()] == [m["id"] for m in d.history(10)]
    assert len({p.nonce for p in recorded.values()}) == len(expected)


async def test_thread_opens_after_the_first_message_and_can_be_turned_off(conn) -> None:
    order: list[str] = []
    d = MemoryDiscord()
    sender = MemorySender(d)
    send, open_thread = sender.send, sender.open_thread

    async def traced_send(*a, **kw):
        order.append("send")
        return await send(*a, **kw)

    async def traced_thread(*a, **kw):
        order.append("thread")
        return await open_thread(*a, **kw)

    sender.send, sender.open_thread = traced_send, traced_thread  # type: ignore[method-assign]
    pub = Publisher(conn, sender)
    outcome = await pub.release_next(1, 10)
    assert order == ["send", "thread"] + ["send"] * (outcome.parts - 1)
    order.clear()
    outcome = await pub.release_next(1, 10, threads=False)
    assert order == ["send"] * outcome.parts and outcome.thread_id is None


async def test_all_out_posts_nothing_and_guilds_are_independent(conn) -> None:
    d = MemoryDiscord()
    pub = publisher(conn, d)
    numbers = [(await pub.release_next(1, 10)).chapter for _ in range(6)]
    assert numbers == [1, 2, 3, 4, 5, 6]
    posted = len(d.history(10))
    outcome = await pub.release_next(1, 10)
    assert (outcome.status, outcome.total) == ("all_out", 6)
    assert len(d.history(10)) == posted
    other = await pub.release_next(2, 20)
    assert (other.status, other.chapter) == ("released", 1)
    assert (await released_through(conn, 1), await released_through(conn, 2)) == (6, 1)


async def test_no_story_imported() -> None:
    empty = await open_database(":memory:")
    try:
        outcome = await publisher(empty, MemoryDiscord()).release_next(1, 10)
        assert outcome.status == "no_story"
    finally:
        await empty.close()


async def test_concurrent_releases_in_one_guild_never_double(conn) -> None:
    d = MemoryDiscord()
    pub = publisher(conn, d)
    outcomes = await asyncio.gather(*(pub.release_next(1, 10) for _ in range(4)))
    assert sorted(o.chapter for o in outcomes) == [1, 2, 3, 4]
    # Each chapter's messages are contiguous and in chapter order.
    firsts = [m["payload"]["content"].split("\n")[1] for m in d.history(10) if m["id"] in d.threads]
    assert [f.rsplit("Chapter ", 1)[1] for f in firsts] == ["1 of 6", "2 of 6", "3 of 6", "4 of 6"]


async def uninterrupted_view(conn, chapter_count: int) -> list:
    d = MemoryDiscord()
    pub = publisher(conn, d)
    for _ in range(chapter_count):
        await pub.release_next(999, 9990)
    return d.view(9990)


@pytest.mark.parametrize("nonce_memory", [True, False], ids=["discord-remembers-nonce", "nonce-expired"])
async def test_killed_at_every_step_resumes_to_the_uninterrupted_history(conn, nonce_memory: bool) -> None:
    """Kill the process before and after each Discord call of a release; a fresh engine finishes it."""
    reference = await uninterrupted_view(conn, 1)
    steps = len(reference) + 1  # every part and the thread
    guild = 100
    for step, phase in itertools.product(range(steps), ("before", "after")):
        guild += 1
        channel = guild * 10
        d = MemoryDiscord(nonce_memory=nonce_memory)
        d.crash_at = (step, phase)
        with pytest.raises(Crash):
            await publisher(conn, d).release_next(guild, channel)
        assert await released_through(conn, guild) == 0  # not out until every part is
        # A new process: a new engine over the same database and Discord.
        resumed = await publisher(conn, d).resume()
        assert [(o.status, o.chapter, o.resumed) for o in resumed] == [("released", 1, True)], (step, phase)
        assert d.view(channel) == reference, (step, phase)
        assert d.sends == len(reference), (step, phase)
        assert await released_through(conn, guild) == 1


async def test_interrupted_release_is_finished_before_the_next_chapter(conn) -> None:
    d = MemoryDiscord()
    d.crash_at = (1, "after")
    with pytest.raises(Crash):
        await publisher(conn, d).release_next(1, 10)
    pub = publisher(conn, d)
    finished = await pub.release_next(1, 10)
    assert (finished.status, finished.chapter, finished.resumed) == ("released", 1, True)
    also_next = await pub.release_next(1, 10)
    assert also_next.chapter == 2
    assert d.view(10) == await uninterrupted_view(conn, 2)


async def test_forbidden_before_anything_went_out_leaves_the_chapter_unreleased(conn) -> None:
    d = MemoryDiscord()
    d.forbidden[10] = SEND_MESSAGES
    pub = publisher(conn, d)
    outcome = await pub.release_next(1, 10)
    assert (outcome.status, outcome.missing_permission, outcome.chapter) == ("forbidden", SEND_MESSAGES, 1)
    assert d.history(10) == []
    assert await released_through(conn, 1) == 0
    assert await release_log.unfinished_releases(conn, 1) == []  # nothing half-done: a clean retry
    del d.forbidden[10]
    retried = await pub.release_next(1, 11)  # e.g. after /aar setup chose another channel
    assert (retried.status, retried.chapter, retried.channel_id) == ("released", 1, 11)


async def test_precheck_names_the_missing_permission_and_records_nothing(conn) -> None:
    d = MemoryDiscord()
    d.missing = [EMBED_LINKS]
    outcome = await publisher(conn, d).release_next(1, 10)
    assert (outcome.status, outcome.missing_permission) == ("forbidden", EMBED_LINKS)
    d.missing = [CREATE_PUBLIC_THREADS]
    assert (await publisher(conn, d).release_next(1, 10)).missing_permission == CREATE_PUBLIC_THREADS
    assert (await publisher(conn, d).release_next(1, 10, threads=False)).status == "released"
    assert d.sends > 0 and not d.threads


async def test_forbidden_midway_stays_resumable(conn) -> None:
    d = MemoryDiscord()
    d.forbid_threads = True
    pub = publisher(conn, d)
    outcome = await pub.release_next(1, 10)
    assert (outcome.status, outcome.missing_permission) == ("forbidden", CREATE_PUBLIC_THREADS)
    assert len(d.history(10)) == 1 and await released_through(conn, 1) == 0
    d.forbid_threads = False
    [done] = await pub.resume(1)
    assert done.status == "released"
    assert d.view(10) == await uninterrupted_view(conn, 1)


async def test_every_started_release_tells_how_it_ended_and_only_a_finished_one_is_released(conn) -> None:
    d = MemoryDiscord()
    d.forbid_threads = True
    pub = publisher(conn, d)
    finished: list[tuple[str, bool]] = []
    released: list[int | None] = []
    pub.on_finished.append(lambda o: finished.append((o.status, o.resumed)))
    pub.on_released.append(lambda o: released.append(o.chapter))
    pub.on_finished.append(lambda o: 1 / 0)  # a broken listener changes nothing
    await pub.release_next(1, 10)
    d.forbid_threads = False
    await pub.resume(1)
    assert (await pub.release_next(1, 10)).status == "released"
    assert finished == [("forbidden", False), ("released", True), ("released", False)]
    assert released == [1, 2]


async def test_other_failures_stay_resumable(conn) -> None:
    d = MemoryDiscord()
    sender = MemorySender(d)
    real_send = sender.send
    calls = 0

    async def flaky(*a, **kw):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise PublishError("503 after retries")
        return await real_send(*a, **kw)

    sender.send = flaky  # type: ignore[method-assign]
    pub = Publisher(conn, sender)
    outcome = await pub.release_next(1, 10)
    assert outcome.status == "failed" and "503" in (outcome.error or "")
    assert (await pub.release_next(1, 10)).status == "released"
    assert d.view(10) == await uninterrupted_view(conn, 1)


async def test_stored_plan_survives_a_changed_renderer(conn) -> None:
    """A release resumed after a deploy sends the parts it planned, not a re-render."""
    d = MemoryDiscord()
    d.crash_at = (0, "after")
    with pytest.raises(Crash):
        await publisher(conn, d).release_next(1, 10)

    def other_renderer(chapter: Chapter, *, number: int, total: int) -> list[dict[str, Any]]:
        return [{"content": "something else entirely"}]

    await Publisher(conn, MemorySender(d), render=other_renderer).resume()
    assert d.view(10) == await uninterrupted_view(conn, 1)


async def test_a_chapter_is_rendered_once_for_every_guild_releasing_it(conn) -> None:
    """A thousand servers releasing chapter 1 cost one rendering, not a thousand; each posts all of it."""
    d = MemoryDiscord()
    rendered: list[int] = []

    def counting(chapter: Chapter, *, number: int, total: int) -> list[dict[str, Any]]:
        rendered.append(number)
        return render_chapter(chapter, number=number, total=total)

    pub = Publisher(conn, MemorySender(d), render=counting)
    for guild in (1, 2, 3):
        assert (await pub.release_next(guild, guild * 10)).status == "released"
    assert rendered == [1]
    assert d.view(10) == d.view(20) == d.view(30) == await uninterrupted_view(conn, 1)
    assert (await pub.release_next(1, 10)).status == "released"
    assert rendered == [1, 2]


async def test_a_changed_chapter_is_rendered_afresh(conn) -> None:
    """A re-import that changed a chapter is never released from the old rendering."""
    chapter = await load_chapter(conn, 1)
    assert chapter is not None
    pub = publisher(conn, MemoryDiscord())
    before, _parts = pub._render(chapter, 1, 6, None)
    after, _parts = pub._render(dataclasses.replace(chapter, title="A title from the re-import"), 1, 6, None)
    assert "A title from the re-import" in str(after) and "A title from the re-import" not in str(before)
    assert pub._render(await load_chapter(conn, 1), 1, 6, None)[0] == before  # type: ignore[arg-type]
    before[0]["content"] = "changed by one release's plan"
    assert pub._render(chapter, 1, 6, None)[0][0]["content"] != before[0]["content"]


def test_nonce_is_deterministic_short_and_distinct() -> None:
    a = part_nonce(1, 2, 3, "2026-01-01T00:00:00.000000Z")
    assert a == part_nonce(1, 2, 3, "2026-01-01T00:00:00.000000Z") and len(a) == 25
    assert len({a, part_nonce(1, 2, 4, "2026-01-01T00:00:00.000000Z"), part_nonce(2, 2, 3, "x"),
                part_nonce(1, 2, 3, "2026-01-01T00:00:00.000001Z")}) == 4


def test_thread_name_fits_discord() -> None:
    assert thread_name(Chapter("TM", "A " * 80)) == ("A " * 50)[:99].rstrip() + "…"
    assert len(thread_name(Chapter("TM", "x" * 300))) == 100
    assert thread_name(Chapter("TM", "")) == "TM"


async def test_a_release_whose_channel_was_deleted_goes_out_whole_in_the_new_channel(conn) -> None:
    """A crash mid-release, then the channel is deleted: the release is forgotten, not stuck for ever."""
    d = MemoryDiscord()
    d.crash_at = (0, "after")  # part 0 is posted in channel 10, then the process dies
    with pytest.raises(Crash):
        await publisher(conn, d).release_next(1, 10)
    d.deleted.add(10)
    d.channels.pop(10)

    pub = publisher(conn, d)
    gone = await pub.release_next(1, 10)  # the guild's story channel still points at the deleted one
    assert gone.status == "channel_gone" and gone.chapter == 1
    assert await released_through(conn, 1) == 0 and await release_log.unfinished_releases(conn, 1) == []

    outcome = await pub.release_next(1, 11)  # after /aar setup chose another channel
    assert outcome.status == "released" and outcome.chapter == 1 and outcome.channel_id == 11
    assert [m["payload"] for m in d.history(11)] == sent_plan(await release_log.get_release(conn, 1, 1))
    assert await released_through(conn, 1) == 1


async def test_an_interrupted_release_in_a_deleted_channel_is_finished_in_the_new_one(conn) -> None:
    d = MemoryDiscord()
    d.crash_at = (0, "after")
    with pytest.raises(Crash):
        await publisher(conn, d).release_next(1, 10)
    d.deleted.add(10)
    outcome = await publisher(conn, d).release_next(1, 11)
    assert outcome.status == "released" and outcome.chapter == 1 and outcome.channel_id == 11
    assert [m["payload"] for m in d.history(11)] == sent_plan(await release_log.get_release(conn, 1, 1))


# --- renders stored once (V12) ----------------------------------------------------------------------------

async def _rendered_rows(conn) -> list[tuple[int, int, int]]:
    """(id, chapter, planned) of every stored render."""
    cur_rows = await fetch_all(conn, "SELECT id, chapter_number, planned FROM rendered_chapters ORDER BY"
                                " id")
    return [tuple(r) for r in cur_rows]


async def test_servers_releasing_a_chapter_share_one_stored_render(conn) -> None:
    await execute(conn, "INSERT INTO guild_settings(guild_id, alert_role_id) VALUES (2, 555)")
    d = MemoryDiscord()
    pub = publisher(conn, d)
    for guild in (1, 2, 3):
        assert (await pub.release_next(guild, 10 + guild)).status == "released"
    rows = await _rendered_rows(conn)
    assert len(rows) == 1 and rows[0][1:] == (1, 0)
    cur_rows = await fetch_all(conn, "SELECT guild_id, rendered_id, alert_role_id, payloads FROM releases"
                            " ORDER BY guild_id")
    assert [tuple(r) for r in cur_rows] == [
        (1, rows[0][0], None, None), (2, rows[0][0], 555, None), (3, rows[0][0], None, None)]
    # What went out is each server's own plan: the alert role's mention only where one is set.
    assert d.history(11)[0]["payload"]["content"] == d.history(13)[0]["payload"]["content"]
    assert d.history(12)[0]["payload"]["content"].startswith(role_mention(555))
    for guild in (1, 2, 3):
        assert [m["payload"] for m in d.history(10 + guild)] == sent_plan(
            await release_log.get_release(conn, guild, 1))


async def test_a_resumed_release_keeps_the_alert_role_it_began_with(conn) -> None:
    await execute(conn, "INSERT INTO guild_settings(guild_id, alert_role_id) VALUES (1, 555)")
    d = MemoryDiscord()
    d.crash_at = (0, "after")
    with pytest.raises(Crash):
        await publisher(conn, d).release_next(1, 10)
    await execute(conn, "UPDATE guild_settings SET alert_role_id = 777 WHERE guild_id = 1")
    await publisher(conn, d).resume()
    sent = [m["payload"] for m in d.history(10)]
    assert sent[0]["content"].startswith(role_mention(555)) and "777" not in str(sent)
    assert sent == sent_plan(await release_log.get_release(conn, 1, 1))


async def test_a_changed_render_gets_its_own_row_and_an_unreferenced_one_is_deleted(conn) -> None:
    d = MemoryDiscord()
    d.crash_at = (0, "after")
    with pytest.raises(Crash):
        await publisher(conn, d).release_next(1, 10)  # guild 1: half sent with the shipped render

    def other_renderer(chapter: Chapter, *, number: int, total: int) -> list[dict[str, Any]]:
        return [{"content": f"re-imported chapter {number}"}]

    other = Publisher(conn, MemorySender(d), render=other_renderer)
    outcome = await other.release_next(2, 20)
    assert outcome.status == "released" and outcome.parts == 1
    assert len(await _rendered_rows(conn)) == 2  # guild 1's release keeps the render it began with
    await other.resume()
    assert d.view(10) == await uninterrupted_view(conn, 1)

    d.forbidden[30] = "Send Messages"  # refused before anything went out: abandoned, with its render

    def third_renderer(chapter: Chapter, *, number: int, total: int) -> list[dict[str, Any]]:
        return [{"content": "third"}]

    third = Publisher(conn, MemorySender(d), render=third_renderer)
    refused = await third.release_next(3, 30, precheck=False)
    assert refused.status == "forbidden"
    assert len(await _rendered_rows(conn)) == 2
