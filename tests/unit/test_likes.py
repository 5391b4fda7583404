"""The likes core without Discord: ingest, tallies, rankings, hall-of-fame decisions, reconcile planning,
cards."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot import text
from bot.config import SHIPPED_THREAD
from bot.likes import chapter_likes, emoji, hall_of_fame, reconcile, render, tally
from bot.likes.coalesce import Coalescer
from bot.likes.ingest import IngestClosed, ReactionIngest, SnapshotData
from bot.likes.progress import Progress
from bot.storage import likes as store
from bot.storage import open_database
from bot.storage.guilds import update_guild_settings
from bot.storage.releases import ReleasePart
from bot.storage.sql import execute, fetch_all
from bot.story.importer import import_file
from tests.helpers import mark_released

pytestmark = pytest.mark.both_backends

G1, G2 = 111, 222
ALICE, BOB, CAROL = 1001, 1002, 1003
LIKE = "👍"
SEED_FORUM_LIKES = [0, 1, 1, 1, 1, 1]


@pytest.fixture
async def db(tmp_path):
    conn = await open_database(tmp_path / "aar.db")
    await import_file(conn, SHIPPED_THREAD)
    yield conn
    await conn.close()


@pytest.fixture
async def ingest(db):
    ing = await ReactionIngest.open(db)
    yield ing
    if not ing._closing:
        await ing.close()


async def parts(conn, guild_id: int, chapter: int) -> list[int]:
    cur_rows = await fetch_all(conn, "SELECT message_id FROM release_parts WHERE guild_id = ? AND"
                                " chapter_number = ?"
                            " ORDER BY part_index", (guild_id, chapter))
    return [r[0] for r in cur_rows]


async def add_part(conn, guild_id: int, chapter: int, index: int, message_id: int) -> None:
    await execute(conn, "INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce,"
                           " message_id,"
                       " channel_id) VALUES (?, ?, ?, ?, ?, 1000)",
                       (guild_id, chapter, index, f"n{message_id}", message_id))


async def release(conn, guild_id: int, through: int, extra_parts: int = 2) -> None:
    """Chapters 1..through released in the guild, each in 1 + extra_parts messages."""
    await mark_released(conn, guild_id, through)
    for chapter in range(1, through + 1):
        first = (await parts(conn, guild_id, chapter))[0]
        for index in range(1, extra_parts + 1):
            await add_part(conn, guild_id, chapter, index, first * 100 + index)


async def likes(conn, guild_id: int) -> dict[int, tuple[int, int]]:
    return {n: (c.forum, c.discord) for n, c in (await chapter_likes(conn, guild_id)).items()}


# --- emoji identity -----------------------------------------------------------------------------------

def test_emoji_keys_and_like_setting():
    assert emoji.emoji_key("👍", None) == "👍"
    assert emoji.emoji_key("party", 123456789012345678) == "custom:123456789012345678"
    for setting in ("<:party:123456789012345678>", "<a:party:123456789012345678>", "party:123456789012345678",
                    " 123456789012345678 "):
        assert emoji.parse_setting(setting) == "custom:123456789012345678", setting
    assert emoji.like_keys("❤️") == ("❤️", "❤")
    assert emoji.like_keys("❤") == ("❤", "❤️")
    assert emoji.like_keys("👍") == ("👍", "👍\ufe0f")
    with pytest.raises(ValueError):
        emoji.parse_setting("  ")
    assert emoji.display("custom:5", {"custom:5": ("wave", True)}) == "<a:wave:5>"
    assert emoji.display("custom:5") == "<:emoji:5>"


# --- ingest -----------------------------------------------------------------------------------------

async def test_member_on_several_parts_counts_once_per_emoji(db, ingest):
    await release(db, G1, 2)
    p1, p2, p3 = await parts(db, G1, 1)
    for message in (p1, p2, p3):
        ingest.add(message, ALICE, LIKE)
    ingest.add(p2, BOB, LIKE)
    ingest.add(p2, BOB, "😂")
    ingest.add(p3, ALICE, "😂")
    await ingest.flush()
    assert await likes(db, G1) == {1: (0, 2), 2: (1, 0)}
    # Alice takes her like off two parts: the third still counts; off the last one, it is gone.
    ingest.remove(p1, ALICE, LIKE)
    ingest.remove(p2, ALICE, LIKE)
    await ingest.flush()
    assert (await likes(db, G1))[1] == (0, 2)
    ingest.remove(p3, ALICE, LIKE)
    await ingest.flush()
    assert (await likes(db, G1))[1] == (0, 1)
    report = await tally.chapter_report(db, G1, 1)
    assert [(e.emoji, e.members) for e in report.others] == [("😂", 2)]


async def test_add_and_remove_in_one_batch_keep_the_last(db, ingest):
    await release(db, G1, 1)
    (p1, *_rest) = await parts(db, G1, 1)
    ingest.add(p1, ALICE, LIKE)
    ingest.remove(p1, ALICE, LIKE)
    ingest.add(p1, BOB, LIKE)
    ingest.remove(p1, BOB, LIKE)
    ingest.add(p1, BOB, LIKE)
    await ingest.flush()
    assert ingest.stats.batches == 1
    assert (await likes(db, G1))[1] == (0, 1)


async def test_mixed_batch_keeps_earlier_adds_and_counts_strays(db, ingest):
    await release(db, G1, 1)
    p1, p2, _ = await parts(db, G1, 1)
    ingest.add(p1, ALICE, LIKE)
    ingest.add(p2, BOB, LIKE)
    ingest.add(31337, BOB, LIKE)   # not a release message
    ingest.remove(p1, ALICE, LIKE)  # turns the segment into last-operation-wins
    ingest.add(p1, CAROL, LIKE)
    ingest.remove(31337, CAROL, LIKE)
    await ingest.flush()
    assert ingest.stats.batches == 1 and ingest.stats.ignored == 2
    assert await store.message_reactions(db, G1, 1, p1) == {(CAROL, LIKE)}
    assert await store.message_reactions(db, G1, 1, p2) == {(BOB, LIKE)}


async def test_a_batch_that_cannot_be_written_is_dropped_and_the_writer_goes_on(db, ingest, monkeypatch,
                                                                                 caplog):
    await release(db, G1, 1)
    p1 = (await parts(db, G1, 1))[0]
    real = store.insert_reactions
    calls = []

    async def broken_once(conn, rows):
        calls.append(len(rows))
        if len(calls) == 1:
            raise ValueError("a bug")
        await real(conn, rows)

    monkeypatch.setattr(store, "insert_reactions", broken_once)
    ingest.add(p1, ALICE, LIKE)
    await asyncio.wait_for(ingest.flush(), 5)  # never hangs
    assert ingest.stats.dropped == 1 and "dropping 1 reaction events" in caplog.text
    ingest.add(p1, BOB, LIKE)
    await asyncio.wait_for(ingest.flush(), 5)
    assert await store.message_reactions(db, G1, 1, p1) == {(BOB, LIKE)}


async def test_remove_all_and_remove_emoji_are_ordered_barriers(db, ingest):
    await release(db, G1, 1)
    p1, p2, _ = await parts(db, G1, 1)
    ingest.add(p1, ALICE, LIKE)
    ingest.add(p1, BOB, "🔥")
    ingest.add(p2, BOB, LIKE)
    ingest.clear(p1)            # Alice's like and Bob's fire on part 1 go; Bob's like on part 2 stays
    ingest.add(p1, CAROL, LIKE)  # after the clear: counts
    await ingest.flush()
    assert (await likes(db, G1))[1] == (0, 2)
    assert (await tally.chapter_report(db, G1, 1)).others == []
    ingest.add(p2, ALICE, "🔥")
    ingest.clear_emoji(p2, LIKE)
    await ingest.flush()
    assert (await likes(db, G1))[1] == (0, 1)  # Carol on part 1
    report = await tally.chapter_report(db, G1, 1)
    assert [(e.emoji, e.members) for e in report.others] == [("🔥", 1)]


async def test_other_messages_ignored_and_guilds_apart(db, ingest):
    await release(db, G1, 2)
    await release(db, G2, 1)
    g1_ch1 = (await parts(db, G1, 1))[0]
    g2_ch1 = (await parts(db, G2, 1))[0]
    ingest.add(424242, ALICE, LIKE)  # not a release message
    ingest.add(g1_ch1, ALICE, LIKE)
    ingest.add(g1_ch1, BOB, LIKE)
    ingest.add(g2_ch1, CAROL, LIKE)
    await ingest.flush()
    assert ingest.stats.ignored == 1
    assert await likes(db, G1) == {1: (0, 2), 2: (1, 0)}
    assert await likes(db, G2) == {1: (0, 1)}
    assert await likes(db, 333) == {}


async def test_a_release_posted_after_start_is_found(db, ingest):
    await release(db, G1, 1)
    ingest.add(900_002 + G1 % 1000 * 100, ALICE, LIKE)  # chapter 2's message, before it is recorded
    await ingest.flush()
    assert ingest.stats.ignored == 1
    await mark_released(db, G1, 2)
    ingest.add(900_002 + G1 % 1000 * 100, ALICE, LIKE)
    await ingest.flush()
    assert (await likes(db, G1))[2] == (1, 1)


async def test_close_flushes_everything_and_refuses_more(db, tmp_path):
    await release(db, G1, 1)
    p1 = (await parts(db, G1, 1))[0]
    ingest = await ReactionIngest.open(db, max_batch=7)
    for user in range(500):
        ingest.add(p1, user, LIKE)
    await ingest.close()  # no flush first
    assert ingest.stats.applied == 500 and ingest.stats.batches >= 500 // 7
    assert (await likes(db, G1))[1] == (0, 500)
    with pytest.raises(IngestClosed):
        ingest.add(p1, ALICE, LIKE)


async def test_change_listener_names_the_chapters(db):
    await release(db, G1, 2)
    seen: list[set[tuple[int, int]]] = []
    ingest = await ReactionIngest.open(db, on_change=seen.append)
    ingest.add((await parts(db, G1, 2))[1], ALICE, LIKE)
    ingest.add(777, ALICE, LIKE)
    await ingest.close()
    assert seen == [{(G1, 2)}]


async def test_in_memory_database_is_refused():
    conn = await open_database(":memory:")
    try:
        with pytest.raises(ValueError, match="database file"):
            await ReactionIngest.open(conn)
    finally:
        await conn.close()


async def test_custom_emoji_by_id_with_latest_name(db, ingest):
    await release(db, G1, 1)
    p1 = (await parts(db, G1, 1))[0]
    key = emoji.emoji_key("party", 123456789012345678)
    ingest.note_emoji_name(key, "party")
    ingest.add(p1, ALICE, key)
    ingest.note_emoji_name(key, "fiesta", animated=True)  # renamed: same emoji
    ingest.add(p1, BOB, key)
    await ingest.flush()
    report = await tally.chapter_report(db, G1, 1)
    assert [(e.shown, e.members) for e in report.others] == [("<a:fiesta:123456789012345678>", 2)]
    await update_guild_settings(db, G1, like_emoji="<:fiesta:123456789012345678>")
    assert (await likes(db, G1))[1] == (0, 2)
    assert (await tally.chapter_report(db, G1, 1)).like_emoji == "<a:fiesta:123456789012345678>"


# --- reconciliation snapshots -------------------------------------------------------------------------

async def test_snapshot_adds_missing_and_removes_stale(db, ingest):
    await release(db, G1, 1)
    p1, p2, _ = await parts(db, G1, 1)
    ingest.add(p1, ALICE, LIKE)   # removed while offline
    ingest.add(p2, ALICE, LIKE)   # other message: untouched by p1's snapshot
    await ingest.flush()

    async def fetch():
        return SnapshotData(frozenset({(BOB, LIKE), (CAROL, "🔥")}))

    assert await ingest.reconcile_message(p1, fetch)
    await ingest.flush()
    assert await store.message_reactions(db, G1, 1, p1) == {(BOB, LIKE), (CAROL, "🔥")}
    assert await store.message_reactions(db, G1, 1, p2) == {(ALICE, LIKE)}


async def test_live_events_during_a_snapshot_win(db, ingest):
    await release(db, G1, 1)
    p1 = (await parts(db, G1, 1))[0]
    ingest.add(p1, ALICE, LIKE)
    ingest.add(p1, CAROL, "🔥")
    await ingest.flush()
    gate, fetching = asyncio.Event(), asyncio.Event()

    async def fetch():
        fetching.set()
        await gate.wait()
        # Discord's view when the fetch started: Alice and Carol, no Bob
        return SnapshotData(frozenset({(ALICE, LIKE), (CAROL, "🔥")}))

    job = asyncio.create_task(ingest.reconcile_message(p1, fetch))
    await asyncio.wait_for(fetching.wait(), 5)
    await asyncio.wait_for(ingest.flush(), 5)  # the snapshot has begun
    ingest.remove(p1, ALICE, LIKE)  # live, after the fetch began
    ingest.add(p1, BOB, LIKE)
    ingest.clear_emoji(p1, "🔥")
    await ingest.flush()
    gate.set()
    await job
    await ingest.flush()
    assert await store.message_reactions(db, G1, 1, p1) == {(BOB, LIKE)}


async def test_remove_all_during_a_snapshot_cancels_it(db, ingest):
    await release(db, G1, 1)
    p1 = (await parts(db, G1, 1))[0]
    gate, fetching = asyncio.Event(), asyncio.Event()

    async def fetch():
        fetching.set()
        await gate.wait()
        return SnapshotData(frozenset({(ALICE, LIKE)}))

    job = asyncio.create_task(ingest.reconcile_message(p1, fetch))
    await asyncio.wait_for(fetching.wait(), 5)
    await asyncio.wait_for(ingest.flush(), 5)
    ingest.clear(p1)
    gate.set()
    await job
    await ingest.flush()
    assert await store.message_reactions(db, G1, 1, p1) == set()


async def test_partial_snapshot_never_deletes_that_emoji(db, ingest):
    await release(db, G1, 1)
    p1 = (await parts(db, G1, 1))[0]
    ingest.add(p1, ALICE, LIKE)
    ingest.add(p1, ALICE, "🔥")
    await ingest.flush()

    async def fetch():  # too many users of 👍 to read them all; 🔥 was read in full
        return SnapshotData(frozenset({(BOB, LIKE)}), partial=frozenset({LIKE}))

    await ingest.reconcile_message(p1, fetch)
    await ingest.flush()
    assert await store.message_reactions(db, G1, 1, p1) == {(ALICE, LIKE), (BOB, LIKE)}


async def test_failed_fetch_leaves_state(db, ingest):
    await release(db, G1, 1)
    p1 = (await parts(db, G1, 1))[0]
    ingest.add(p1, ALICE, LIKE)

    async def fetch():
        raise RuntimeError("403")

    with pytest.raises(RuntimeError):
        await ingest.reconcile_message(p1, fetch)
    await ingest.flush()
    assert await store.message_reactions(db, G1, 1, p1) == {(ALICE, LIKE)}
    assert ingest._snapshots == {}


# --- tallies and spoiler safety -----------------------------------------------------------------------

async def test_seed_forum_likes_rank_before_any_reaction(db):
    assert await tally.top_chapters(db, G1) == []
    await release(db, G1, 6, extra_parts=0)
    counts = await chapter_likes(db, G1)
    assert [counts[n].forum for n in range(1, 7)] == SEED_FORUM_LIKES
    ranked = await tally.top_chapters(db, G1)
    assert [(r.rank, r.number, r.likes.total) for r in ranked] == [
        (1, 2, 1), (1, 3, 1), (1, 4, 1), (1, 5, 1), (1, 6, 1), (6, 1, 0)]


async def test_only_released_chapters_are_counted_or_named(db, ingest):
    await release(db, G1, 3)
    await execute(db, "INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total,"
                     " started_at) VALUES (?, 4, 1000, 'in_progress', 2, '2026-01-01')", (G1,))
    await add_part(db, G1, 4, 0, 4_000_000)
    ingest.add(4_000_000, ALICE, LIKE)  # a reaction on a part of a release still being posted
    await ingest.flush()
    assert sorted(await chapter_likes(db, G1)) == [1, 2, 3]
    assert await tally.likes_of(db, G1, 4) is None
    for number in (4, 99):
        with pytest.raises(tally.NotReleased) as refused:
            await tally.chapter_report(db, G1, number)
        assert refused.value.number == number
    assert [r.number for r in await tally.top_chapters(db, G1)] == [2, 3, 1]
    assert await tally.top_readers(db, G1) == []  # Alice only reacted on the unreleased chapter
    await execute(db, "UPDATE releases SET status = 'done', completed_at = '2026-01-02'"
                     " WHERE chapter_number = 4")
    assert (await likes(db, G1))[4] == (1, 1)


async def test_top_readers(db, ingest):
    await release(db, G1, 3)
    p = {n: await parts(db, G1, n) for n in (1, 2, 3)}
    ingest.add(p[1][0], ALICE, LIKE)
    ingest.add(p[1][1], ALICE, LIKE)   # same chapter and emoji: one reaction
    ingest.add(p[2][0], ALICE, "🔥")
    ingest.add(p[3][0], BOB, LIKE)
    ingest.add(p[3][0], BOB, "🔥")
    ingest.add(p[3][0], BOB, "😂")
    await ingest.flush()
    readers = await tally.top_readers(db, G1)
    assert [(r.user_id, r.chapters, r.reactions) for r in readers] == [(ALICE, 2, 2), (BOB, 1, 3)]


# --- hall of fame -------------------------------------------------------------------------------------

def test_decide():
    decide = hall_of_fame.decide
    post = store.HallOfFamePost(G1, 1, 5, 77, 3, 2)
    lc = tally.LikeCount
    assert decide(threshold=3, channel_id=5, likes=lc(1, 1), post=None) is None
    assert decide(threshold=3, channel_id=5, likes=lc(1, 2), post=None) == "post"
    assert decide(threshold=None, channel_id=5, likes=lc(1, 9), post=None) is None
    assert decide(threshold=3, channel_id=None, likes=lc(1, 9), post=None) is None
    assert decide(threshold=3, channel_id=5, likes=None, post=None) is None
    assert decide(threshold=3, channel_id=5, likes=lc(1, 2), post=post) is None
    assert decide(threshold=3, channel_id=5, likes=lc(1, 1), post=post) == "edit"  # below again: still edited
    gone = store.HallOfFamePost(G1, 1, 5, None, 3, 2)
    assert decide(threshold=3, channel_id=5, likes=lc(1, 5), post=gone) is None


async def test_hall_of_fame_post_once_then_edit(db, ingest):
    await release(db, G1, 2, extra_parts=1)
    await update_guild_settings(db, G1, hall_of_fame_channel_id=555, hall_of_fame_threshold=3)
    p = await parts(db, G1, 2)
    ingest.add(p[0], ALICE, LIKE)
    await ingest.flush()
    assert await hall_of_fame.next_action(db, G1, 2) is None  # 1 + 1 < 3
    ingest.add(p[1], BOB, LIKE)
    await ingest.flush()
    action = await hall_of_fame.next_action(db, G1, 2)
    assert action is not None and action.kind == "post" and action.channel_id == 555
    assert action.likes.total == 3 and action.jump_url == f"https://discord.com/channels/{G1}/1000/{p[0]}"
    await hall_of_fame.record_shown(db, action, 9999, "t")
    assert await hall_of_fame.next_action(db, G1, 2) is None
    ingest.add(p[1], CAROL, LIKE)
    await ingest.flush()
    edit = await hall_of_fame.next_action(db, G1, 2)
    assert edit is not None and edit.kind == "edit" and edit.message_id == 9999 and edit.likes.total == 4
    await hall_of_fame.record_gone(db, edit, "t")
    ingest.add(p[1], 4242, LIKE)
    await ingest.flush()
    assert await hall_of_fame.next_action(db, G1, 2) is None


# --- reconcile planning -------------------------------------------------------------------------------

def test_reconcile_plan_newest_first_bounded_and_aged():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    recent, old = "2026-02-20T00:00:00Z", "2025-01-01T00:00:00+00:00"
    parts_ = [ReleasePart(G1, c, i, 1, c * 10 + i, old if c == 1 else recent)
              for c in (1, 2, 3) for i in (0, 1)]
    limits = reconcile.ReconcileLimits(max_age=timedelta(days=30), max_messages=3)
    chosen = reconcile.plan(parts_, now, limits)
    assert [(p.chapter_number, p.part_index) for p in chosen] == [(3, 0), (3, 1), (2, 0)]
    assert [p.chapter_number for p in reconcile.plan(parts_, now, limits, budget=10)] == [3, 3, 2, 2]
    assert reconcile.plan(parts_, now, limits, budget=0) == []
    assert reconcile.parse_time("not a time") is None


# --- cards --------------------------------------------------------------------------------------------

def test_cards_stay_within_discord_limits():
    many = [tally.EmojiCount(f"custom:{i}", f"<:emoji_with_a_long_name_{i}:{10**17 + i}>", i)
            for i in range(500)]
    report = tally.ChapterLikes(3, "*Bold* " * 100, LIKE, tally.LikeCount(1, 2), many)
    card = render.chapter_card(report, lambda s: s.replace("*", "\\*"))
    assert len(card.title) <= text.MAX_TITLE and card.title.startswith("Chapter 3: \\*Bold\\*")
    assert all(len(v) <= text.MAX_FIELD_VALUE for _, v, _ in card.fields)
    assert card.fields[-1][1].endswith("more") and card.size() <= text.MAX_EMBEDS_TOTAL
    ranked = [tally.RankedChapter(i, i, "x" * 300, tally.LikeCount(1, i)) for i in range(1, 60)]
    top = render.top_card(ranked, str)
    assert len(top.description) <= text.MAX_DESCRIPTION and top.size() <= text.MAX_EMBEDS_TOTAL
    readers = render.readers_card([store.ReaderRow(10**18, 2, 3)])
    assert "<@1000000000000000000> — reacted to 2 chapters (3 reactions)" in readers.description
    assert "not out yet" in render.not_released_text(5)


# --- small async tools --------------------------------------------------------------------------------

async def test_coalescer_handles_each_key_once_per_burst():
    seen: list[int] = []
    gate = asyncio.Event()
    started = asyncio.Event()

    async def handler(key: int) -> None:
        started.set()
        await gate.wait()
        seen.append(key)
        if key == 2:
            raise RuntimeError("logged, not fatal")

    c: Coalescer[int] = Coalescer(handler)
    c.mark([1, 2])
    c.mark([2, 3, 1])  # still waiting: coalesced
    await asyncio.wait_for(started.wait(), 5)
    c.mark([1])  # 1 is being handled: handled again afterwards
    gate.set()
    await asyncio.wait_for(c.drain(), 5)
    assert seen == [1, 2, 3, 1]
    c.mark([4])
    await asyncio.wait_for(c.close(), 5)
    c.mark([5])
    await asyncio.wait_for(c.drain(), 5)
    assert seen == [1, 2, 3, 1, 4]


async def test_progress_wakes_waiters():
    p = Progress()
    waiter = asyncio.create_task(p.wait_for(3))
    p.advance(2)
    assert not waiter.done()
    p.advance()
    await asyncio.wait_for(waiter, 5)
    await asyncio.wait_for(p.wait_for(1), 5)


# --- bounded growth: the ingest's message lookup, the reconciliation's round-robin ---------------------

async def test_the_ingest_looks_messages_up_through_a_bounded_cache(db):
    await release(db, G1, 6)
    await release(db, G2, 6)
    messages = [m for g in (G1, G2) for c in range(1, 7) for m in await parts(db, g, c)]
    ing = await ReactionIngest.open(db, cache_size=4)
    try:
        assert ing.cached_messages == 0  # nothing is loaded at start
        for message in messages:  # one batch on 36 messages, more than the cache holds
            ing.add(message, ALICE, LIKE)
        ing.add(31337, ALICE, LIKE)  # not a release message
        await ing.flush()
        assert ing.cached_messages == 4 and ing.stats.ignored == 1
        expected = {n: (SEED_FORUM_LIKES[n - 1], 1) for n in range(1, 7)}
        assert await likes(db, G1) == expected and await likes(db, G2) == expected
        for message in messages:  # one at a time, each a miss the cache evicts again soon
            ing.remove(message, ALICE, LIKE)
            await ing.flush()
        ing.add(messages[0], BOB, LIKE)
        ing.clear(messages[0])  # a barrier looks its message up on its own
        await ing.flush()
        assert await likes(db, G1) == {n: (SEED_FORUM_LIKES[n - 1], 0) for n in range(1, 7)}
        assert ing.cached_messages == 4
    finally:
        await ing.close()


@pytest.mark.sqlite_only
async def test_the_message_lookup_uses_the_index_on_message_id(db):
    cur_rows = await fetch_all(db, "EXPLAIN QUERY PLAN SELECT message_id, guild_id, chapter_number FROM"
                              " release_parts"
                          " WHERE message_id IN (?, ?, ?)", (1, 2, 3))
    steps = " ".join(str(r[3]) for r in cur_rows)
    assert "USING INDEX release_parts_by_message" in steps, steps


async def test_a_purged_servers_messages_are_forgotten_by_the_ingest(db, ingest):
    from bot import privacy

    await release(db, G1, 1)
    await release(db, G2, 1)
    (p1, *_), (q1, *_) = await parts(db, G1, 1), await parts(db, G2, 1)
    ingest.add(p1, ALICE, LIKE)
    ingest.add(q1, ALICE, LIKE)
    await ingest.flush()  # both messages are in the cache now
    left = datetime(2026, 3, 1, tzinfo=UTC)
    await privacy.guild_left(db, G1, left)
    purged = await privacy.purge_due(db, left + privacy.GRACE_PERIOD + timedelta(days=1))
    assert [gone.guild_id for gone in purged] == [G1]
    for gone in purged:  # what the Likes cog does on `departures_checked`
        ingest.forget_guild(gone.guild_id)
    ingest.add(p1, BOB, LIKE)
    ingest.add(q1, BOB, LIKE)
    await ingest.flush()
    cur_rows = await fetch_all(db, "SELECT guild_id, user_id FROM reactions ORDER BY guild_id, user_id")
    assert [tuple(r) for r in cur_rows] == [(G2, ALICE), (G2, BOB)]
    assert ingest.stats.ignored == 1


async def _starts(path, guilds: list[int], limits: reconcile.ReconcileLimits, cost: int,
                  rounds: int) -> tuple[list[list[int]], list[ReleasePart]]:
    """`rounds` starts, each opening the database afresh and running one round: what each covered."""
    covered, read_parts = [], []

    async def read(part: ReleasePart) -> int:
        read_parts.append(part)
        return cost

    for _ in range(rounds):
        conn = await open_database(path)
        try:
            result = await reconcile.run_round(conn, guilds, datetime(2026, 1, 2, tzinfo=UTC), limits, read)
        finally:
            await conn.close()
        assert result.messages <= limits.max_messages
        covered.append(result.covered)
    return covered, read_parts


async def test_reconciliation_covers_every_server_over_successive_starts(tmp_path):
    path = tmp_path / "aar.db"
    conn = await open_database(path)
    guilds = [100 + i for i in range(10)]
    try:
        await import_file(conn, SHIPPED_THREAD)
        for guild in guilds:
            await release(conn, guild, 3)  # chapters 1-3, three messages each
    finally:
        await conn.close()
    limits = reconcile.ReconcileLimits(max_messages=7, per_guild=2, max_requests=1000)
    covered, read_parts = await _starts(path, list(reversed(guilds)), limits, cost=1, rounds=4)
    # Three servers' turns (2 messages each) fit a round of 7; each start goes on where the last stopped.
    assert covered == [[100, 101, 102], [103, 104, 105], [106, 107, 108], [109, 100, 101]]
    assert {p.guild_id for p in read_parts} == set(guilds)
    assert {(p.chapter_number, p.part_index) for p in read_parts} == {(3, 0), (3, 1)}  # newest first


async def test_a_reconciliation_round_stops_within_its_request_budget(tmp_path):
    path = tmp_path / "aar.db"
    conn = await open_database(path)
    try:
        await import_file(conn, SHIPPED_THREAD)
        for guild in (1, 2, 3):
            await release(conn, guild, 2)
    finally:
        await conn.close()
    limits = reconcile.ReconcileLimits(max_messages=100, per_guild=2, max_requests=12)
    covered, read_parts = await _starts(path, [1, 2, 3], limits, cost=5, rounds=3)
    # Server 1's turn costs 10 requests; server 2's first read goes to 15 and ends the round before its
    # second: server 2's turn is taken whole by the next round (whose first server it is).
    assert covered == [[1], [2], [3]]
    assert [p.guild_id for p in read_parts] == [1, 1, 2, 2, 2, 3, 3, 3, 1]
