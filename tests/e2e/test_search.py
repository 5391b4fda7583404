"""`/search query:` end to end: a plain member in a server that released 2 of the 6 chapters (with the real
`/chapter next`) finds passages of chapters 1-2 only, privately, with the story's markdown escaped, pages
that turn (also after a restart) and jump links to the release message that shows the passage."""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.search.query import fold
from bot.storage.sql import fetch_all
from bot.storage.story import load_chapter
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.helpers import SEED_CHAPTERS, release_chapters

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

RELEASED = 2
LINK = re.compile(r"\[Jump to the passage\]\(https://discord\.com/channels/(\d+)/(\d+)/(\d+)\)")
RESULT_CHAPTER = re.compile(r"^\*\*Chapter (\d+) ·", re.MULTILINE)
WORD = re.compile(r"[^\W\d_]{5,}")


async def search(fake: FakeDiscord, setup: GuildSetup, query: str) -> dict[str, Any]:
    record = await fake.invoke("search", guild=setup.guild, channel=setup.general, member=setup.member,
                               options={"query": query})
    message = await record.wait_message()
    assert message["flags"] & EPHEMERAL
    return message


def description(message: dict[str, Any]) -> str:
    return str(message["embeds"][0]["description"]) if message.get("embeds") else ""


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    return next(c for row in message["components"] for c in row["components"]
                if c.get("label", "").startswith(label))


def visible_text(message: dict[str, Any]) -> str:
    return "\n".join([message["content"], *(e.get("description", "") for e in message["embeds"])])


async def only_in(conn, number: int) -> str:
    words: dict[int, set[str]] = {}
    for n in range(1, SEED_CHAPTERS + 1):
        chapter = await load_chapter(conn, n)
        assert chapter is not None
        words[n] = {fold(w) for b in chapter.blocks for w in WORD.findall(b.text)}
    return sorted(words[number] - set().union(*(w for n, w in words.items() if n != number)))[0]


@pytest.fixture
async def bot(seeded, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup):
    started = await bot_factory()
    await release_chapters(fake_discord, guild_setup, RELEASED)
    return started


async def test_a_member_finds_passages_of_released_chapters_only(bot, fake_discord: FakeDiscord,
                                                                 guild_setup: GuildSetup) -> None:
    message = await search(fake_discord, guild_setup, "Madrid")
    assert set(RESULT_CHAPTER.findall(description(message))) <= {"1", "2"}
    assert "**Madrid**" in description(message)
    assert re.search(r"^\*\*Chapter \d+ · [^*\n]+\*\* › \S", description(message), re.MULTILINE)  # section
    assert LINK.search(description(message))
    late = await only_in(bot.db, 5)
    nothing = await search(fake_discord, guild_setup, late)
    assert nothing["content"] == f"No passage in the chapters released here matches “{late}”."
    assert not nothing.get("embeds")


async def test_jump_links_open_the_release_message_that_shows_the_passage(
        bot, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    posted = {int(m["id"]): m for m in fake_discord.history(guild_setup.story)}
    assert len(posted) > RELEASED  # the chapters went out in several parts each
    linked: set[int] = set()
    for query in ("Madrid", "Rokossovsky", "hostilities", "Republicans", "Franco"):
        message = await search(fake_discord, guild_setup, query)
        for guild_id, channel_id, message_id in LINK.findall(description(message)):
            assert (int(guild_id), int(channel_id)) == (guild_setup.guild.id, guild_setup.story.id)
            assert int(message_id) in posted, message_id
            assert query.casefold() in visible_text(posted[int(message_id)]).casefold()
            linked.add(int(message_id))
    cursor_rows = await fetch_all(bot.db, "SELECT message_id FROM release_parts WHERE part_index = 0")
    firsts = {row[0] for row in cursor_rows}
    assert linked - firsts, "no passage after a chapter's first message was linked to its own part"


async def test_the_story_markdown_is_shown_as_written(bot, fake_discord: FakeDiscord,
                                                      guild_setup: GuildSetup) -> None:
    # Chapter 1: "...(thousands had died during the two days).*" — the footnote star is the author's.
    message = await search(fake_discord, guild_setup, "hostilities")
    assert "resume the **hostilities** (thousands had died during the two days).\\*" in description(message)


@pytest.mark.parametrize("typed, answer", [
    ("the and of", "only common words (the, and, of)"),
    ('"red army', "opens a quote it does not close"),
    ("* : - ^", "Type a word or a phrase"),
])
async def test_bad_input_gets_a_clear_answer(bot, fake_discord: FakeDiscord, guild_setup: GuildSetup,
                                             typed: str, answer: str) -> None:
    message = await search(fake_discord, guild_setup, typed)
    assert answer in message["content"]


async def test_fts5_syntax_is_searched_as_text(bot, fake_discord: FakeDiscord,
                                               guild_setup: GuildSetup) -> None:
    message = await search(fake_discord, guild_setup, "Madrid AND (Franco:* -^")
    assert set(RESULT_CHAPTER.findall(description(message))) <= {"1", "2"}
    assert "**Madrid**" in description(message) and "**Franco**" in description(message)


async def test_pages_turn_also_after_a_restart(bot, bot_factory, fake_discord: FakeDiscord,
                                               guild_setup: GuildSetup) -> None:
    message = await search(fake_discord, guild_setup, "Spain")
    first = description(message)
    pages = int(re.fullmatch(r"Page 1 of (\d+)", button(message, "Page")["label"])[1])
    assert pages >= 3
    click = await fake_discord.click(message, button(message, "Next")["custom_id"], member=guild_setup.member)
    await click.wait_response()
    message = fake_discord.messages[int(message["id"])]
    assert button(message, "Page")["label"] == f"Page 2 of {pages}"
    second = description(message)
    assert second != first

    await bot.close()
    restarted = await bot_factory()  # a new process: only the database remembers the query
    click = await fake_discord.click(message, button(message, "Next")["custom_id"], member=guild_setup.member)
    await click.wait_response()
    message = fake_discord.messages[int(message["id"])]
    assert button(message, "Page")["label"] == f"Page 3 of {pages}"
    assert description(message) not in (first, second)
    assert set(RESULT_CHAPTER.findall(description(message))) <= {"1", "2"}
    assert restarted.is_ready()
