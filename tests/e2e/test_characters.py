"""`/character` and `/characters` end to end: the real bot and discord.py against the fake Discord.

Look-ups by exact name, alias, misspelling and accent-free spelling; the same query in a guild that
released one chapter and one that released all six; autocomplete limits; no answer, suggestion or
roster page that leaks an unreleased chapter; awkward input answered politely without pings.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

from typing import Any

import pytest

from bot.characters.index import story_fingerprint
from bot.characters.schema import load_cast
from bot.config import Settings
from bot.storage import characters as store
from bot.storage import transaction
from bot.storage.releases import jump_url, released_chapters
from bot.storage.sql import fetch_all
from bot.storage.story import chapter_texts
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.helpers import SEED_CHAPTERS, mark_released

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

NO_PINGS = {"parse": []}
NOT_FOUND = "No character by that name in the chapters released so far"
CAST = load_cast()
# Who each seed chapter names first (from the pinned index; checked in tests/unit/test_characters_lookup.py).
FIRST_IN_CHAPTER_1 = {"Joseph Stalin", "Konstantin Rokossovsky", "Mikhail Tukhachevsky", "Leon Trotsky",
                      "Manuel Azaña", "Niceto Alcalá-Zamora", "José Díaz", "Francisco Franco",
                      "José Sanjurjo", "Miguel Primo de Rivera", "Alfonso XIII", "Benito Mussolini"}



@pytest.fixture
async def bot(seeded: Settings, bot_factory, guild_setup: GuildSetup):
    return await bot_factory()


@pytest.fixture
async def two_guilds(bot, fake_discord: FakeDiscord,
                     guild_setup: GuildSetup) -> tuple[GuildSetup, GuildSetup]:
    """`guild_setup` has released chapter 1; another guild has released all six."""
    other = await fake_discord.add_standard_guild("All caught up")
    await mark_released(bot.db, guild_setup.guild.id, 1)
    await mark_released(bot.db, other.guild.id, SEED_CHAPTERS)
    return guild_setup, other


async def ask(fake: FakeDiscord, setup: GuildSetup, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`/character name:` as the guild's reader: (callback data, the message as posted)."""
    record = await fake.invoke("character", guild=setup.guild, member=setup.member, options={"name": name})
    response = await record.wait_response()
    return response["data"], await record.wait_message()


async def suggest(fake: FakeDiscord, setup: GuildSetup, typed: str) -> list[dict[str, Any]]:
    return await fake.autocomplete("character", focused="name", options={"name": typed}, guild=setup.guild,
                                   member=setup.member)


def field(embed: dict[str, Any], prefix: str) -> dict[str, Any]:
    for f in embed["fields"]:
        if f["name"].startswith(prefix):
            return f
    raise AssertionError(f"no field {prefix!r} in {embed['fields']}")


def every_text(message: dict[str, Any]) -> str:
    """All text a member can read in a message: content and every embed part."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds", []):
        parts += [embed.get("title", ""), embed.get("description", ""),
                  embed.get("footer", {}).get("text", "")]
        parts += [f["name"] + "\n" + f["value"] for f in embed.get("fields", [])]
    for row in message.get("components") or []:
        parts += [c.get("label", "") for c in row["components"]]
    return "\n".join(parts)


async def test_look_up_by_exact_name_alias_misspelling_and_accent_free_spelling(
        bot, fake_discord: FakeDiscord, two_guilds) -> None:
    _, caught_up = two_guilds
    for typed, expected in [("Konstantin Rokossovsky", "Konstantin Rokossovsky"), ("Kleber", "Manfred Stern"),
                            ("Walter", "Karol Świerczewski"), ("Rokosovsky", "Konstantin Rokossovsky"),
                            ("Mussolinni", "Benito Mussolini"), ("Swierczewski", "Karol Świerczewski"),
                            ("azana", "Manuel Azaña"), ("ALCALA ZAMORA", "Niceto Alcalá-Zamora"),
                            ("Khrushchyov", "Nikita Khrushchev"), ("the Caudillo", "Francisco Franco"),
                            ("tukhachevsky", "Mikhail Tukhachevsky"), ("Ginesta", "Marina Ginestà")]:
        data, message = await ask(fake_discord, caught_up, typed)
        assert data["allowed_mentions"] == NO_PINGS
        assert not message["flags"] & EPHEMERAL, typed  # an answer the channel can see and discuss
        assert [e["title"] for e in message["embeds"]] == [expected], typed

    _, message = await ask(fake_discord, caught_up, "Kleber")
    embed = message["embeds"][0]
    posted = {r.number: r for r in await released_chapters(bot.db, caught_up.guild.id)}
    link = jump_url(caught_up.guild.id, posted[2].channel_id, posted[2].first_message_id)
    assert field(embed, "Side")["value"] == "Soviet Union"
    assert field(embed, "Also called")["value"] == "Kleber, Emilio Kleber"  # "Stern" is already in the name
    assert field(embed, "First appearance")["value"] == \
        f"[Chapter 2 — Spanish Civil War: Madrid shall be Fascism's grave.]({link})"
    assert field(embed, "Mentioned 2 times")["value"] == f"[Ch. 2]({link}) ×2"
    assert embed["description"].startswith("**Chapter 2.** A Soviet officer going by the alias Kleber")


async def test_the_same_query_in_a_guild_at_chapter_1_and_one_at_chapter_6(
        bot, fake_discord: FakeDiscord, two_guilds) -> None:
    early, caught_up = two_guilds
    _, message = await ask(fake_discord, early, "Franco")
    embed = message["embeds"][0]
    assert embed["title"] == "Francisco Franco"
    assert field(embed, "Mentioned")["name"] == "Mentioned 5 times"
    assert field(embed, "Also called")["value"] == "—"  # Caudillo and Generalísimo come in chapter 2
    assert embed["description"].count("**Chapter") == 1 and "Caudillo" not in every_text(message)
    assert embed["footer"]["text"].startswith("Only what chapter 1 tell")

    _, message = await ask(fake_discord, caught_up, "Franco")
    embed = message["embeds"][0]
    assert field(embed, "Mentioned")["name"] == "Mentioned 19 times"
    assert "Caudillo" in field(embed, "Also called")["value"]
    assert [line.split(".**")[0] for line in embed["description"].splitlines()] == \
        ["**Chapter 1", "**Chapter 2", "**Chapter 4", "**Chapter 6"]
    assert "capitulates" in embed["description"]

    # Zhukov is first met in chapter 5: at chapter 1 he is as unknown as a name nobody has
    answers = {}
    for guild, typed in [(early, "Zhukov"), (early, "Qwxzyv Plon"), (caught_up, "Zhukov")]:
        data, message = await ask(fake_discord, guild, typed)
        answers[(guild.guild.id, typed)] = message
        assert data["allowed_mentions"] == NO_PINGS
    for typed in ("Zhukov", "Qwxzyv Plon"):
        message = answers[(early.guild.id, typed)]
        assert message["flags"] & EPHEMERAL and not message["embeds"]
        assert message["content"].startswith(NOT_FOUND + ".")
        assert "Zhukov" not in message["content"]
    assert answers[(caught_up.guild.id, "Zhukov")]["embeds"][0]["title"] == "Georgy Zhukov"


async def test_autocomplete_is_capped_best_first_and_only_released(bot, fake_discord: FakeDiscord,
                                                                   two_guilds) -> None:
    early, caught_up = two_guilds
    choices = await suggest(fake_discord, caught_up, "")
    assert len(choices) == 25 and len({c["value"] for c in choices}) == 25
    assert choices[0]["value"] == "Joseph Stalin"  # most mentioned first when nothing is typed
    assert all(1 <= len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)
    assert [c["value"] for c in (await suggest(fake_discord, caught_up, "vasily"))[:2]] == \
        ["Vasily Blyukher", "Vasily Kuznetsov"]
    assert (await suggest(fake_discord, caught_up, "kleb"))[0]["name"] == "Manfred Stern (Kleber)"
    assert (await suggest(fake_discord, caught_up, "roko"))[0]["value"] == "Konstantin Rokossovsky"

    assert {c["value"] for c in await suggest(fake_discord, early, "")} == FIRST_IN_CHAPTER_1
    for typed in ("zhu", "Kleber", "Walter", "Hitler", "Caudillo", "Khrushchev", "Mao", "a", "e", "vasily"):
        values = {c["value"] for c in await suggest(fake_discord, early, typed)}
        assert values <= FIRST_IN_CHAPTER_1, typed
    assert await suggest(fake_discord, early, "x" * 1000) == []


async def test_no_answer_or_suggestion_leaks_an_unreleased_chapter(bot, fake_discord: FakeDiscord,
                                                                   guild_setup: GuildSetup) -> None:
    await mark_released(bot.db, guild_setup.guild.id, 2)
    cur_rows = await fetch_all(bot.db, "SELECT character_key FROM character_mentions GROUP BY character_key"
                              " HAVING MIN(chapter_number) > 2")
    later = {row[0] for row in cur_rows}
    unreleased = [m for m in CAST.members if m.key in later]
    assert len(unreleased) >= 20
    secrets = {a.text for m in unreleased for a in m.spellings} | {"gravedigger"}  # Stalin's, from chapter 6
    for member in unreleased:
        for spelling in member.spellings:
            _, message = await ask(fake_discord, guild_setup, spelling.text)
            assert message["content"].startswith(NOT_FOUND) and not message["embeds"], spelling.text
            assert not any(s in every_text(message) for s in secrets), spelling.text
            choices = await suggest(fake_discord, guild_setup, spelling.text)
            assert not {c["value"] for c in choices} & {m.name for m in unreleased}, spelling.text
            assert not any(s in c["name"] for c in choices for s in secrets), (spelling.text, choices)
    # what chapter 2 does tell is there, and only that
    _, message = await ask(fake_discord, guild_setup, "Rokossovsky")
    embed = message["embeds"][0]
    assert field(embed, "Mentioned")["name"] == "Mentioned 14 times"
    assert "Leningrad" not in every_text(message) and "Valladolid" not in every_text(message)


async def test_awkward_input_is_answered_politely_and_never_pings(bot, fake_discord: FakeDiscord,
                                                                   two_guilds) -> None:
    _, caught_up = two_guilds
    for typed, expected in [("   ", "Please type a name"), ("x" * 1000, "That is 1,000 characters long"),
                            ("<@123456789012345678> @everyone @here", NOT_FOUND),
                            ("**<@&123456789012345678>** ||spoiler|| `code` [link](https://example.com)",
                             NOT_FOUND)]:
        data, message = await ask(fake_discord, caught_up, typed)
        assert data["allowed_mentions"] == NO_PINGS
        assert message["flags"] & EPHEMERAL and message["content"].startswith(expected), typed
        assert ((not typed.strip() or typed.strip() not in message["content"])
                and "@everyone" not in message["content"])
        assert not message["mentions"] and not message["mention_roles"] and not message["mention_everyone"]
        assert len(message["content"]) <= 2000
    # markdown around a real name still finds it, and the answer escapes nothing it should not
    data, message = await ask(fake_discord, caught_up, "**__Stalin__**")
    assert data["allowed_mentions"] == NO_PINGS and message["embeds"][0]["title"] == "Joseph Stalin"


async def test_characters_lists_the_released_cast_by_side_with_page_buttons(bot, fake_discord: FakeDiscord,
                                                                           two_guilds) -> None:
    early, caught_up = two_guilds
    record = await fake_discord.invoke("characters", guild=early.guild, member=early.member)
    message = await record.wait_message()
    assert message["flags"] & EPHEMERAL and not message["components"]  # one page, no buttons
    listed = {line.split("**")[1] for f in message["embeds"][0]["fields"] for line in f["value"].splitlines()}
    assert listed == FIRST_IN_CHAPTER_1

    record = await fake_discord.invoke("characters", guild=caught_up.guild, member=caught_up.member)
    message = await record.wait_message()
    sides, names, pages = [], [], 0
    while True:
        pages += 1
        embed = message["embeds"][0]
        assert embed["footer"]["text"] == f"Page {pages} of 4 · {len(CAST.members)} characters"
        for f in embed["fields"]:
            side = f["name"].removesuffix(" (continued)")
            if not sides or sides[-1] != side:
                sides.append(side)
            names += [line.split("**")[1] for line in f["value"].splitlines()]
        buttons = {c["label"]: c for row in message["components"] for c in row["components"]}
        assert buttons["Previous"]["disabled"] is (pages == 1) and buttons["Next"]["disabled"] is (pages == 4)
        if pages == 4:
            break
        click = await fake_discord.click(message, buttons["Next"]["custom_id"], member=caught_up.member)
        assert (await click.wait_response())["data"]["allowed_mentions"] == NO_PINGS
        message = record.message
    assert sorted(names) == sorted(m.name for m in CAST.members) and len(names) == len(set(names))
    assert sides == [s for s in CAST.sides if any(m.side == s for m in CAST.members)]
    click = await fake_discord.click(message, "aar:characters:prev:2", member=caught_up.member)
    await click.wait_response()
    assert record.message["embeds"][0]["footer"]["text"].startswith("Page 3 of 4")


async def test_page_buttons_answer_from_the_releases_at_click_time(bot, fake_discord: FakeDiscord,
                                                                   guild_setup: GuildSetup) -> None:
    record = await fake_discord.invoke("characters", guild=guild_setup.guild, member=guild_setup.member)
    message = await record.wait_message()
    assert "No chapter has been released here yet" in message["embeds"][0]["description"]
    await mark_released(bot.db, guild_setup.guild.id, 3)
    record = await fake_discord.invoke("characters", guild=guild_setup.guild, member=guild_setup.member)
    message = await record.wait_message()
    assert message["embeds"][0]["footer"]["text"] == "Page 1 of 3 · 30 characters"
    await mark_released(bot.db, guild_setup.guild.id, SEED_CHAPTERS)  # the story moves on meanwhile
    click = await fake_discord.click(message, "aar:characters:next:1", member=guild_setup.member)
    await click.wait_response()
    assert record.message["embeds"][0]["footer"]["text"] == f"Page 2 of 4 · {len(CAST.members)} characters"


async def test_a_story_without_a_cast_says_so_instead_of_no_character(bot, fake_discord: FakeDiscord,
                                                                      two_guilds) -> None:
    """A database with the story but an empty cast (a story imported with none): every look-up says the story
    has no cast yet and how one is added, privately; nothing suggests a name nobody can look up."""
    _, caught_up = two_guilds
    chapters = await chapter_texts(bot.db)
    async with transaction(bot.db):
        await store.replace_index(bot.db, characters=[], aliases=[], notes=[], mentions=[],
                                  cast_sha256="", story_sha256=story_fingerprint(chapters))
    for typed in ("Stalin", "Qwxzyv Plon", "   "):
        data, message = await ask(fake_discord, caught_up, typed)
        assert data["allowed_mentions"] == NO_PINGS
        assert message["flags"] & EPHEMERAL and not message["embeds"], typed
        assert message["content"].startswith("This story has no cast yet"), typed
        assert "`aar-bot cast draft`" in message["content"] and NOT_FOUND not in message["content"]
    assert await suggest(fake_discord, caught_up, "Sta") == []
    record = await fake_discord.invoke("characters", guild=caught_up.guild, member=caught_up.member)
    message = await record.wait_message()
    assert message["flags"] & EPHEMERAL and not message["components"]
    assert message["embeds"][0]["description"].startswith("This story has no cast yet")
