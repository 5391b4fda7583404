"""The author's edits end to end (issue 14): a re-import changes chapters the server has released, and the
real bot brings their posted messages in step through the fake Discord.

The files are the shipped thread with chapter 1 cut short (three messages' worth to one: the spare two
become "(moved up)") and chapter 2 made longer (two messages to four: the extra parts go into its
discussion thread after a note).  Every test runs the bot on SQLite and on PostgreSQL.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from bot.chapters.edit_plan import MOVED_UP
from bot.chapters.plan import release_plan
from bot.chapters.render import render_chapter
from bot.config import SHIPPED_THREAD, Settings
from bot.storage import chapter_edits, release_log
from bot.storage.connection import open_storage
from bot.storage.likes import emoji_tally
from bot.storage.sql import fetch_all
from bot.storage.story import load_chapter
from bot.story.importer import import_file
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup, Upload
from tests.fakediscord.models import MANAGE_WEBHOOKS
from tests.helpers import (
    FILLER,
    SEED_CHAPTERS,
    edited_thread,
    final_answer,
    release_chapters,
    schedules_checked,
)

pytestmark = [pytest.mark.timeout(90), pytest.mark.both_backends]

SEED = SHIPPED_THREAD.read_text(encoding="utf-8")
EDITED = edited_thread(SEED)


@pytest.fixture
async def bot(seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup):
    """The bot with chapters 1 and 2 released in #story (three and two messages, threads on)."""
    started = await bot_factory()
    await release_chapters(fake_discord, guild_setup, 2)
    return started


def buttons(message: dict[str, Any]) -> dict[str, str]:
    return {c["label"]: c["custom_id"] for row in message.get("components") or []
            for c in row.get("components") or []}


async def import_in_discord(fake: FakeDiscord, setup: GuildSetup, text: str) -> dict[str, Any]:
    """`/aar import file:` and Confirm, as the moderator; the confirmation message, once final."""
    record = await fake.invoke("aar import", guild=setup.guild, channel=setup.general, member=setup.moderator,
                               options={"file": Upload("aar-thread.txt", text.encode())})
    preview = await final_answer(record)
    click = await fake.click(preview, buttons(preview)["Confirm import"], member=setup.moderator)
    await click.wait_response(10)
    await fake.wait_for(lambda: "Importing" not in click.message["content"], timeout=20)
    return click.message


async def press_update(fake: FakeDiscord, message: dict[str, Any], number: int, member) -> str:
    click = await fake.click(message, buttons(message)[f"Update the posted chapter {number}"], member=member)
    answer = await final_answer(click)
    assert answer["flags"] & EPHEMERAL
    return str(answer["content"])


async def expected(bot, number: int) -> list[dict[str, Any]]:
    """What chapter `number`'s messages should read now: its release plan of the current text."""
    chapter = await load_chapter(bot.db, number)
    assert chapter is not None
    rendered = render_chapter(chapter, number=number, total=SEED_CHAPTERS)
    return release_plan(copy.deepcopy(rendered), number=number)


def shows(message: dict[str, Any]) -> tuple[str, list[str | None]]:
    return message["content"], [e.get("description") for e in message["embeds"]]


async def posted(bot, setup: GuildSetup, number: int) -> tuple[list[int], int]:
    """The release's message ids in order, and its discussion thread."""
    release = await release_log.get_release(bot.db, setup.guild.id, number)
    assert release is not None and release.thread_id is not None
    parts = await release_log.parts(bot.db, setup.guild.id, number)
    return [p.message_id for _, p in sorted(parts.items()) if p.message_id], release.thread_id


def thread_posts(fake: FakeDiscord, thread_id: int) -> list[dict[str, Any]]:
    """The bot's messages in a discussion thread, oldest first."""
    return sorted((m for m in fake.history(thread_id) if m["author"]["id"] == str(fake.bot_user.id)),
                  key=lambda m: int(m["id"]))


async def test_an_edit_updates_the_posted_chapters_in_place_and_keeps_the_likes(
        fake_discord: FakeDiscord, guild_setup: GuildSetup, bot):
    setup = guild_setup
    first_ids, _ = await posted(bot, setup, 1)
    second_ids, second_thread = await posted(bot, setup, 2)
    assert (len(first_ids), len(second_ids)) == (3, 2)
    await fake_discord.add_reaction(setup.member, first_ids[0], "👍")
    await fake_discord.add_reaction(setup.moderator, second_ids[1], "👍")
    await settle(bot, 2)
    likes_before = {n: await emoji_tally(bot.db, setup.guild.id, n) for n in (1, 2)}
    assert likes_before == {1: {"👍": 1}, 2: {"👍": 1}}
    read = await fake_discord.click(first_ids[-1], "aar:readmark:1", member=setup.member)
    await read.wait_response(10)
    kept_before = await member_rows(bot)
    assert kept_before["reading_progress"], "the member's progress through chapter 1"
    story_before = [m["id"] for m in fake_discord.history(setup.story)]

    confirmation = await import_in_discord(fake_discord, setup, EDITED)
    assert "The author's edits reached chapters posted here (1, 2)" in confirmation["content"]
    assert set(buttons(confirmation)) == {"Update the posted chapter 1", "Update the posted chapter 2"}

    # A plain member cannot press it: checked when pressed.
    click = await fake_discord.click(confirmation, buttons(confirmation)["Update the posted chapter 2"],
                                     member=setup.member)
    refused = await final_answer(click)
    assert "Only moderators" in refused["content"]

    text = await press_update(fake_discord, confirmation, 2, setup.moderator)
    assert text.startswith("Chapter 2 is updated: 1 message(s) edited in place, 2 extra part(s) posted"), text
    want = await expected(bot, 2)
    assert len(want) == 4
    assert [shows(fake_discord.messages[i]) for i in second_ids] == [shows(_full(p)) for p in want[:2]]
    in_thread = thread_posts(fake_discord, second_thread)
    assert "continues here" in in_thread[-3]["content"]
    assert [shows(m) for m in in_thread[-2:]] == [shows(_full(p)) for p in want[2:]]
    assert FILLER[:60] in str(in_thread[-1]) or FILLER[:60] in str(in_thread[-2])

    text = await press_update(fake_discord, confirmation, 1, setup.moderator)
    assert "1 message(s) edited in place, 2 now say “(moved up)”" in text, text
    [short] = await expected(bot, 1)
    assert shows(fake_discord.messages[first_ids[0]]) == shows(_full(short))
    assert [fake_discord.messages[i]["content"] for i in first_ids[1:]] == [MOVED_UP, MOVED_UP]

    # Nothing new in the story channel, nothing deleted; the reactions are still on the edited messages
    # and still count as the chapters' likes, also one given after the edit.
    assert [m["id"] for m in fake_discord.history(setup.story)] == story_before
    assert fake_discord.reactions(first_ids[0], "👍") == [setup.member.id]
    assert {n: await emoji_tally(bot.db, setup.guild.id, n) for n in (1, 2)} == likes_before
    assert await member_rows(bot) == kept_before  # likes, reading progress, quiz history: untouched
    # The ✅ Read button moved with the text: now under chapter 1's one message, and it still works.
    read = await fake_discord.click(first_ids[0], "aar:readmark:1", member=setup.moderator)
    await read.wait_response(10)
    await fake_discord.add_reaction(setup.member, second_ids[0], "👍")
    await settle(bot, 3)
    assert await emoji_tally(bot.db, setup.guild.id, 2) == {"👍": 2}

    listing = await final_answer(await fake_discord.invoke("aar edits", guild=setup.guild,
                                                           channel=setup.general, member=setup.moderator))
    assert "nothing to update" in listing["content"]


async def test_aar_edits_lists_out_of_step_chapters_and_its_button_works_after_a_restart(
        fake_discord: FakeDiscord, guild_setup: GuildSetup, bot, bot_factory):
    setup = guild_setup
    await import_in_discord(fake_discord, setup, EDITED)
    listing = await final_answer(await fake_discord.invoke("aar edits", guild=setup.guild,
                                                           channel=setup.general, member=setup.moderator))
    assert "Chapter 1:" in listing["content"] and "Chapter 2:" in listing["content"]
    await bot.close()
    restarted = await bot_factory()
    text = await press_update(fake_discord, listing, 2, setup.moderator)
    assert text.startswith("Chapter 2 is updated"), text
    assert await restarted.edit_syncer.stale_chapters(setup.guild.id) == [1]


async def test_an_update_interrupted_mid_way_resumes_after_a_restart_with_nothing_doubled(
        fake_discord: FakeDiscord, guild_setup: GuildSetup, bot, bot_factory):
    setup = guild_setup
    second_ids, thread_id = await posted(bot, setup, 2)
    before = len(thread_posts(fake_discord, thread_id))
    confirmation = await import_in_discord(fake_discord, setup, EDITED)
    held = fake_discord.hold(method="POST", path=rf"/channels/{thread_id}/messages$")
    await fake_discord.click(confirmation, buttons(confirmation)["Update the posted chapter 2"],
                             member=setup.moderator)
    await fake_discord.wait_for(lambda: held.waiting, timeout=20)  # the note is on its way: the bot dies
    await bot.close()
    held.release()  # the POST lands after all (Discord accepted it; the bot never heard)
    restarted = await bot_factory()
    await schedules_checked(restarted)  # the first check after a start resumes what was left
    want = await expected(restarted, 2)
    await fake_discord.wait_for(lambda: len(thread_posts(fake_discord, thread_id)) >= before + 3, timeout=20)
    await restarted.edit_syncer.resume()  # waits for the resume the bot started, if it still runs
    assert await chapter_edits.unfinished_syncs(restarted.db) == []
    in_thread = thread_posts(fake_discord, thread_id)
    assert len(in_thread) == before + 3, [m["content"][:40] for m in in_thread]
    assert sum("continues here" in m["content"] for m in in_thread) == 1
    assert [shows(m) for m in in_thread[-2:]] == [shows(_full(p)) for p in want[2:]]
    assert [shows(fake_discord.messages[i]) for i in second_ids] == [shows(_full(p)) for p in want[:2]]
    assert await restarted.edit_syncer.stale_chapters(setup.guild.id) == [1]


async def test_follow_edits_updates_posted_chapters_after_an_import_by_itself(
        fake_discord: FakeDiscord, guild_setup: GuildSetup, bot):
    setup = guild_setup
    record = await fake_discord.invoke("aar setup", guild=setup.guild, channel=setup.general,
                                       member=setup.moderator, options={"follow_edits": True})
    assert (await record.wait_message())["embeds"]
    first_ids, _ = await posted(bot, setup, 1)
    confirmation = await import_in_discord(fake_discord, setup, EDITED)
    assert "follow_edits is on" in confirmation["content"] and not buttons(confirmation)
    await fake_discord.wait_for(lambda: [fake_discord.messages[i]["content"] for i in first_ids[1:]]
                                == [MOVED_UP, MOVED_UP], timeout=20)
    [short] = await expected(bot, 1)
    assert shows(fake_discord.messages[first_ids[0]]) == shows(_full(short))


async def test_follow_edits_picks_up_an_import_by_the_cli_at_the_next_schedule_check(
        fake_discord: FakeDiscord, guild_setup: GuildSetup, bot, tmp_path):
    setup = guild_setup
    await fake_discord.invoke("aar setup", guild=setup.guild, channel=setup.general, member=setup.moderator,
                              options={"follow_edits": True})
    await schedules_checked(bot)
    second_ids, _ = await posted(bot, setup, 2)
    conn = await open_storage(bot.settings.db_path, bot.settings.database_url)  # as `aar-bot import` does
    try:
        export = tmp_path / "edited.txt"
        export.write_text(EDITED, encoding="utf-8")
        await import_file(conn, export)
    finally:
        await conn.close()
    await schedules_checked(bot)
    want = await expected(bot, 2)
    await fake_discord.wait_for(lambda: shows(fake_discord.messages[second_ids[1]]) == shows(_full(want[1])),
                                timeout=20)


async def test_a_forum_release_is_updated_inside_its_post(seeded: Settings, bot_factory,
                                                          fake_discord: FakeDiscord, guild_setup: GuildSetup):
    setup = guild_setup
    forum = await fake_discord.add_channel(setup.guild, "chapters", type=15)
    bot = await bot_factory()
    await final_answer(await fake_discord.invoke("aar setup", guild=setup.guild, channel=setup.general,
                                                 member=setup.moderator, options={"channel": forum}))
    for _ in (1, 2):
        await final_answer(await fake_discord.invoke("chapter next", guild=setup.guild, channel=setup.general,
                                                     member=setup.moderator))
    first, second = fake_discord.posts(forum)
    assert [len(fake_discord.history(p)) for p in (first, second)] == [3, 2]
    await import_in_discord(fake_discord, setup, EDITED)
    listing = await final_answer(await fake_discord.invoke("aar edits", guild=setup.guild,
                                                           channel=setup.general, member=setup.moderator))
    for number in (1, 2):
        text = await press_update(fake_discord, listing, number, setup.moderator)
        assert text.startswith(f"Chapter {number} is updated"), text
    assert fake_discord.posts(forum) == [first, second] and forum.messages == {}
    want_1, want_2 = await expected(bot, 1), await expected(bot, 2)
    in_first = sorted(fake_discord.history(first), key=lambda m: int(m["id"]))
    assert [shows(m) for m in in_first] == [shows(_full(want_1[0])), (MOVED_UP, []), (MOVED_UP, [])]
    in_second = sorted(fake_discord.history(second), key=lambda m: int(m["id"]))
    assert "continues here" in in_second[2]["content"]
    assert [shows(m) for m in in_second[:2] + in_second[3:]] == [shows(_full(p)) for p in want_2]


async def test_a_release_posted_as_the_author_is_edited_through_the_webhook(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup):
    setup = guild_setup
    setup.guild.role("AAR Bot").permissions |= MANAGE_WEBHOOKS
    bot = await bot_factory()
    await final_answer(await fake_discord.invoke(
        "aar setup", guild=setup.guild, channel=setup.general, member=setup.moderator,
        options={"channel": setup.story, "author_webhook": True, "author_name": "Kurt the Author"}))
    await release_chapters(fake_discord, setup, 2)
    first_ids, _ = await posted(bot, setup, 1)
    second_ids, thread_id = await posted(bot, setup, 2)
    assert all(fake_discord.messages[i].get("webhook_id") for i in first_ids + second_ids)
    await import_in_discord(fake_discord, setup, EDITED)
    listing = await final_answer(await fake_discord.invoke("aar edits", guild=setup.guild,
                                                           channel=setup.general, member=setup.moderator))
    for number in (1, 2):
        text = await press_update(fake_discord, listing, number, setup.moderator)
        assert text.startswith(f"Chapter {number} is updated"), text
    want_1, want_2 = await expected(bot, 1), await expected(bot, 2)
    assert [shows(fake_discord.messages[i]) for i in first_ids] == [shows(_full(want_1[0])), (MOVED_UP, []),
                                                                   (MOVED_UP, [])]
    assert [shows(fake_discord.messages[i]) for i in second_ids] == [shows(_full(p)) for p in want_2[:2]]
    extras = thread_posts(fake_discord, thread_id)[-2:]
    assert [shows(m) for m in extras] == [shows(_full(p)) for p in want_2[2:]]
    assert all(fake_discord.messages[i]["author"]["username"] == "Kurt the Author" for i in first_ids)


async def member_rows(bot) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of what members did with the chapters: reactions, reading progress, quiz answers."""
    rows = {}
    for table in ("reactions", "reading_progress", "quiz_answers", "quiz_scores"):
        rows[table] = sorted(tuple(r) for r in await fetch_all(bot.db, f"SELECT * FROM {table}"))
    return rows


def _full(payload: dict[str, Any]) -> dict[str, Any]:
    """A planned payload as the fake stores it (embeds typed "rich")."""
    return {"content": payload.get("content") or "",
            "embeds": [{"type": "rich"} | e for e in payload.get("embeds") or []]}


async def settle(bot, events: int) -> None:
    """Await the bot's having seen `events` reaction events in all, and written what they caused."""
    await asyncio.wait_for(bot.get_cog("Likes").settle(events), 10)
