"""The spoiler promise, swept across every feature: nothing the bot says in a server gives away a chapter
that server has not released.

One bot, three servers.  "Two" released chapters 1–2 with the real `/chapter next`; "Six" released all
six; "None yet" released nothing.  In each, a plain member runs every command and types into every
autocomplete the bot registered with Discord (the list comes from what the bot synced, so a command added
later must get a sweep entry or this test fails), clicks the buttons those answers carry, and a
moderator does the little set-up the features need.  Every piece of text the bot then sent into the
server — interaction responses, follow-ups, edits, channel messages, autocomplete choices — is searched
for "spoiler markers": the titles of the unreleased chapters, and words and names that they use but the
released ones never do (computed from the imported story and the character index, not picked by hand).
In "Two" and "None yet" there must be none; in "Six" the same sweep must find plenty, which shows the
sweep can see a leak.  On the way, every message the bot sent is checked to ping no one.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import re
import tomllib
import zoneinfo
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import bot as bot_package
import cogs as cogs_package
from bot.config import SHIPPED_QUIZ, SHIPPED_THREAD, Settings
from bot.storage.database import Database
from bot.storage.releases import released_through
from bot.storage.story import load_chapter
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup, RecordedRequest, Upload
from tests.fakediscord.models import Member
from tests.helpers import SEED_CHAPTERS, final_answer, release_chapters
from tests.quiz_support import FiredTimer

pytestmark = pytest.mark.timeout(60)

RELEASED = 2
LIKE = "👍"
QUIZ_QUESTIONS = 20
WORD = re.compile(r"\b[A-Z][^\W\d_]{6,}\b")  # a capitalised word of at least 7 letters
GENERIC_THREADMARK = re.compile(r"(?i)^chapter \d+$")  # "Chapter 2" is how the bot numbers chapters too


# --- spoiler markers ---------------------------------------------------------------------------------------

def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d_]+", text))


def _bot_vocabulary(released: int) -> set[str]:
    """Words the bot may say without telling the story: a word in these is no spoiler marker.

    Its own source (fixed texts), the IANA time-zone names it suggests, and the invented wrong options of
    the curated quiz questions on released chapters ("British marines" is not in the story at all; names
    in them are checked by the bank's own tests and stay markers here, as cast spellings).
    """
    words: set[str] = set()
    for package in (bot_package, cogs_package):
        for path in Path(package.__file__).parent.rglob("*.py"):
            words |= {w.casefold() for w in _words(path.read_text(encoding="utf-8"))}
    words |= {w.casefold() for zone in zoneinfo.available_timezones() for w in _words(zone)}
    bank = tomllib.loads(SHIPPED_QUIZ.read_text(encoding="utf-8"))
    for question in bank["question"]:
        if question["chapter"] <= released:
            words |= {w.casefold() for option in question["options"] if option != question["answer"]
                      for w in _words(option)}
    return words


async def spoiler_markers(conn: Database, released: int) -> dict[str, str]:
    """Marker → why it gives away a later chapter, for a server that has released chapters 1..released.

    - the titles (and distinctive threadmarks) of the later chapters;
    - capitalised words of 7+ letters in the later chapters' text and captions that the released chapters
      never use (in any case), the story never writes in lower case (so: names, not ordinary words) and
      the bot's own texts do not contain;
    - the names and spellings of characters the index first finds after the released chapters, when the
      released chapters do not use that word.
    """
    early: set[str] = set()
    later_text: dict[int, str] = {}
    lower_anywhere: set[str] = set()
    markers: dict[str, str] = {}
    for number in range(1, SEED_CHAPTERS + 1):
        chapter = await load_chapter(conn, number)
        assert chapter is not None
        text = "\n".join([chapter.title, chapter.threadmark, *(b.text or "" for b in chapter.blocks)])
        lower_anywhere |= {w for w in _words(text) if w.islower()}
        if number <= released:
            early |= {w.casefold() for w in _words(text)}
        else:
            later_text[number] = text
            markers[chapter.title.rstrip(". ")] = f"title of chapter {number}"
            if not GENERIC_THREADMARK.match(chapter.threadmark):
                markers[chapter.threadmark.rstrip(". ")] = f"threadmark of chapter {number}"
    vocabulary = _bot_vocabulary(released)
    for number, text in later_text.items():
        for word in WORD.findall(text):
            folded = word.casefold()
            if folded not in early and folded not in lower_anywhere and folded not in vocabulary:
                markers.setdefault(word, f"a word first used in chapter {number}")
    async with conn.raw.execute(
            "SELECT a.text, m.first FROM character_aliases a"
            " JOIN (SELECT character_key, MIN(chapter_number) AS first"
            " FROM character_mentions GROUP BY character_key) m ON m.character_key = a.character_key"
            " WHERE m.first > ?", (released,)) as cursor:
        for text, first in await cursor.fetchall():
            words = {w.casefold() for w in _words(text)}
            if len(text) >= 4 and words - early:
                markers.setdefault(text, f"a character first named in chapter {first}")
    return markers


def find_markers(text: str, markers: dict[str, str]) -> list[str]:
    return [m for m in markers if re.search(rf"(?<!\w){re.escape(m)}(?!\w)", text)]


# --- what the bot sent into a server ---------------------------------------------------------------------

def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _request_guild(fake: FakeDiscord, path: str) -> int | None:
    """Which guild a request of the bot's speaks into (None: not a guild's, e.g. the command sync)."""
    if match := re.match(r"^/interactions/(\d+)/", path):
        record = fake.interactions.get(int(match[1]))
        return int(record.payload["guild_id"]) if record else None
    if match := re.match(r"^/webhooks/\d+/([^/]+)", path):
        record = next((r for r in fake.interactions.values() if r.token == match[1]), None)
        return int(record.payload["guild_id"]) if record else None
    if match := re.match(r"^/channels/(\d+)", path):
        channel = fake.channels.get(int(match[1]))
        return channel.guild.id if channel is not None and channel.guild is not None else None
    return None


def bot_requests(fake: FakeDiscord, guild_id: int, since: int) -> Iterator[RecordedRequest]:
    """The bot's POST and PATCH requests into the guild from request number `since` on."""
    for request in fake.requests[since:]:
        if request.method in ("POST", "PATCH") and _request_guild(fake, request.path) == guild_id:
            yield request


def message_body(request: RecordedRequest) -> dict[str, Any] | None:
    """The message a request creates or edits (an interaction callback's `data`), if it is one."""
    body = request.json if isinstance(request.json, dict) else None
    if body is not None and request.path.endswith("/callback"):
        body = body.get("data") if body.get("type") in (4, 7) else None
    if body is None or not (body.get("content") or body.get("embeds")):
        return None
    return body


def sent_into(fake: FakeDiscord, guild_id: int, since: int) -> list[tuple[str, str]]:
    """(request, text) for everything the bot sent into the guild from request number `since` on."""
    out = []
    for request in bot_requests(fake, guild_id, since):
        text = "\n".join(_strings(request.json))
        text += "\n".join(f["filename"] or "" for f in request.files)
        if text.strip():
            out.append((f"{request.method} {request.path}", text))
    return out


# --- the sweep ---------------------------------------------------------------------------------------------

@dataclass
class Sweep:
    """One server's sweep: who runs it, and every command / autocomplete that ran (for the coverage check)."""

    fake: FakeDiscord
    bot: Any
    setup: GuildSetup
    timer: FiredTimer
    ran: set[str] = field(default_factory=set)
    typed: set[tuple[str, str]] = field(default_factory=set)

    @property
    def member(self) -> Member:
        return self.setup.member

    async def run(self, command: str, *, member: Member | None = None, bypass: bool = False,
                  **options: Any) -> dict[str, Any]:
        """Invoke, wait for the answer's message (after a defer too), return it."""
        self.ran.add(command)
        record = await self.fake.invoke(command, guild=self.setup.guild, channel=self.setup.general,
                                        member=member or self.member, options=options,
                                        bypass_permissions=bypass)
        return await final_answer(record, timeout=5)

    async def type(self, command: str, option: str, text: str, **others: Any) -> list[dict[str, Any]]:
        self.typed.add((command, option))
        return await self.fake.autocomplete(command, focused=option, options={**others, option: text},
                                            guild=self.setup.guild, channel=self.setup.general,
                                            member=self.member)

    async def click_through(self, message: dict[str, Any], label: str) -> int:
        """Click the button labelled `label` on `message` until it is disabled; how many clicks it took."""
        clicks = 0
        while True:
            message = self.fake.messages[int(message["id"])]
            button = next((b for row in message.get("components") or [] for b in row.get("components", [])
                           if b.get("label") == label), None)
            if button is None or button.get("disabled"):
                return clicks
            record = await self.fake.click(message, button["custom_id"], member=self.member)
            await record.wait_response()
            clicks += 1
            assert clicks < 200, f"{label!r} never got disabled"


async def sweep_chapters(s: Sweep, characters: list[str]) -> None:
    await s.run("chapter next")  # a plain member: refused
    for number in (1, 2, 3, 6):
        message = await s.run("chapter read", number=number)
        if message.get("components"):
            await s.click_through(message, "Next")
    for typed in ("", "1", "3", "6", "Spanish", "Chapter", "War", "the"):
        await s.type("chapter read", "number", typed)
    await s.run("chapter list")
    # Pick up where you stopped: the next unread chapter, ✅ Read under each release, then all read.
    for _ in range(2):
        await s.run("chapter read")
        message = await s.run("chapter continue")
        if message.get("components"):
            await s.click_through(message, "Next")
    for message in s.fake.history(s.setup.story):
        for row in message.get("components") or []:
            for item in row.get("components", []):
                if item.get("custom_id", "").startswith("aar:readmark:"):
                    await (await s.fake.click(message, item["custom_id"], member=s.member)).wait_response()
    await s.run("chapter continue")
    await s.run("chapter read")
    await s.run("chapter list")


async def sweep_characters(s: Sweep, characters: list[str]) -> None:
    for name in characters:  # every spelling the cast knows, later chapters' ones first
        await s.run("character", name=name)
        for typed in {name, name[:2], name[:4], name.split()[-1][:5]}:
            await s.type("character", "name", typed)
    for typed in ("", "a", "e", "ch", "Kh", "Bly", "Hit", "Gud", "Chen", "Zhu", "Mao", "Len", "Cham"):
        await s.type("character", "name", typed)
    message = await s.run("characters")
    if message.get("components"):
        assert await s.click_through(message, "Next") >= 1
        await s.click_through(message, "Previous")


async def sweep_quiz(s: Sweep, characters: list[str]) -> None:
    # Beyond what is out: refused in "Two".
    await s.run("quiz start", questions=5, mode="solo", chapters="3-6")
    await s.run("quiz stop")  # stops it where chapters 3-6 are out; "no quiz running" elsewhere
    await asyncio.wait_for(asyncio.gather(*s.bot.get_cog("Quiz").runners.values()), 5)  # until it has ended
    message = await s.run("quiz start", questions=QUIZ_QUESTIONS, mode="solo")
    assert message["flags"] & EPHEMERAL
    shown = 0 if message["embeds"] else QUIZ_QUESTIONS  # no embed: refused (nothing is out yet)

    def next_question() -> dict[str, Any] | None:
        current = s.fake.messages[int(message["id"])]
        pattern = re.compile(rf"aarquiz:\d+:{shown}:\d")
        return next((b for row in current.get("components") or [] for b in row.get("components", [])
                     if pattern.fullmatch(b.get("custom_id", "")) and not b.get("disabled")), None)

    while shown < QUIZ_QUESTIONS:  # answer every question, so every question is shown
        button = await s.fake.wait_for(next_question)
        record = await s.fake.click(message, button["custom_id"], member=s.member)
        await record.wait_response()
        shown += 1
    if message["embeds"]:
        await s.fake.wait_for(lambda: s.fake.messages[int(message["id"])]["embeds"][0]["title"]
                              .startswith("Quiz over"))
    await s.run("quiz leaderboard")
    await s.run("quiz stats", member=s.member)


async def sweep_likes(s: Sweep, characters: list[str]) -> None:
    for number in range(1, SEED_CHAPTERS + 1):
        await s.run("likes chapter", chapter=number)
    for typed in ("", "1", "3", "6", "Spanish", "War", "the"):
        await s.type("likes chapter", "chapter", typed)
    await s.run("likes top")
    await s.run("likes readers")


async def sweep_admin(s: Sweep, characters: list[str]) -> None:
    await s.run("aar status")
    await s.run("aar help")
    await s.run("aar help", member=s.setup.moderator)
    await s.run("aar setup", like_emoji=LIKE)  # a plain member: refused
    await s.type("aar setup", "timezone", "Eur")
    await s.run("aar forget-me")  # asks first: nothing is deleted, the prompt only counts what is stored
    for command, options in (("schedule add", {"when": "2099-01-01 12:00"}), ("schedule list", {}),
                             ("schedule cancel", {"id": 1}), ("schedule pause", {}), ("schedule resume", {})):
        # The client hides them from a plain member; the bot refuses.
        await s.run(command, bypass=True, **options)
    await s.type("schedule add", "timezone", "Asia")
    moderator = s.setup.moderator
    await s.run("schedule add", member=moderator, when="2099-01-01 12:00", timezone="UTC")
    await s.run("schedule list", member=moderator)
    await s.run("schedule pause", member=moderator)
    await s.run("schedule resume", member=moderator)
    await s.run("schedule cancel", member=moderator, id=1)


async def sweep_alerts(s: Sweep, characters: list[str]) -> None:
    await s.run("alerts on")  # no alert role yet: says so
    await s.run("aar setup", member=s.setup.moderator, alert_role=s.setup.moderator_role)
    for command in ("alerts on", "alerts on", "alerts off", "alerts off", "alerts dm", "alerts dm",
                    "alerts off"):
        await s.run(command)
    for message in s.fake.history(s.setup.story)[:1]:  # 🔔 under a release: the alert role, not a story
        for row in message.get("components") or []:
            for item in row.get("components", []):
                if item.get("custom_id") == "aar:alerts:toggle":
                    await (await s.fake.click(message, item["custom_id"], member=s.member)).wait_response()


async def sweep_search(s: Sweep, characters: list[str]) -> None:
    # Every spelling the cast knows, later chapters' ones first, typed in lower case: the search ignores
    # case, and "no passage ... matches “khrushchev”" echoes the member's words, which is no leak, while a
    # found passage would show the story's own "Khrushchev", which the markers catch.
    for name in characters:
        await s.run("search", query=name.lower())
    for typed in ("Madrid", "Spain", "war", "army", "Rev", "Chapter", '"Red Army"', "the", '"red', "NEAR(*"):
        message = await s.run("search", query=typed)
        if message.get("components"):
            await s.click_through(message, "Next")


async def sweep_import(s: Sweep, characters: list[str]) -> None:
    """Import previews name the stored chapters they would edit or keep only once released here."""
    seed = SHIPPED_THREAD.read_text(encoding="utf-8")
    first_two = seed[:seed.index("Chapter 2\nChapter 2: Abolish")]  # the file lacks chapters 3-6
    edited = seed.replace("Border War\nThe Border War.\n", "Border War\nThe Border War.\n\n"
                          "A paragraph the author added to the fifth chapter long after it was posted.\n", 1)
    await s.run("aar import", file=Upload("thread.txt", seed.encode()))  # a plain member: refused
    moderator = s.setup.moderator
    await s.run("aar import", member=moderator, file=Upload("first-two.txt", first_two.encode()))
    preview = await s.run("aar import", member=moderator, file=Upload("edited.txt", edited.encode()))
    described = preview["embeds"][0]["description"]
    released = await released_through(s.bot.db, s.setup.guild.id)
    assert ("5. The Border War." if released >= 5 else "5. (not released in this server)") in described
    for row in preview.get("components") or []:
        for item in row.get("components", []):
            if item.get("label") == "Cancel":  # the sweep must not change the story
                await (await s.fake.click(preview, item["custom_id"], member=moderator)).wait_response()


async def sweep_edits(s: Sweep, characters: list[str]) -> None:
    """`/aar edits`, and the import confirmation's offer, name only chapters released here: chapters 1 and
    5 are edited, listed, and the story is put back (the sweep must leave the story as it found it)."""
    seed = SHIPPED_THREAD.read_text(encoding="utf-8")
    edited = seed.replace("Marianne is that you?", "Marianne, is that really you?", 1).replace(
        "Border War\nThe Border War.\n", "Border War\nThe Border War.\n\n"
        "A paragraph the author added to the fifth chapter long after it was posted.\n", 1)
    await s.run("aar edits")  # a plain member: refused
    released = await released_through(s.bot.db, s.setup.guild.id)
    confirmed = await confirm_import(s, edited)
    stale = [n for n in (1, 5) if n <= released]
    offered = f"posted here ({', '.join(map(str, stale))})"
    assert (offered in confirmed) if stale else "posted here" not in confirmed, confirmed
    listing = (await s.run("aar edits", member=s.setup.moderator))["content"]
    assert [n for n in (1, 5) if f"Chapter {n}:" in listing] == stale, listing
    await confirm_import(s, seed)
    assert "nothing to update" in (await s.run("aar edits", member=s.setup.moderator))["content"]


async def confirm_import(s: Sweep, text: str) -> str:
    """Import `text` as the moderator (preview, Confirm); what the confirmation says."""
    moderator = s.setup.moderator
    preview = await s.run("aar import", member=moderator, file=Upload("edits.txt", text.encode()))
    confirm = next(b["custom_id"] for row in preview.get("components") or [] for b in row["components"]
                   if b.get("label") == "Confirm import")
    click = await s.fake.click(preview, confirm, member=moderator)
    await click.wait_response()
    await s.fake.wait_for(lambda: "Importing" not in click.message["content"], timeout=20)
    return str(click.message["content"])


SweepStep = Callable[[Sweep, list[str]], Awaitable[None]]
SWEEPS: dict[str, SweepStep] = {
    "chapter next": sweep_chapters, "chapter read": sweep_chapters, "chapter list": sweep_chapters,
    "chapter continue": sweep_chapters,
    "alerts on": sweep_alerts, "alerts off": sweep_alerts, "alerts dm": sweep_alerts,
    "character": sweep_characters, "characters": sweep_characters,
    "quiz start": sweep_quiz, "quiz stop": sweep_quiz, "quiz leaderboard": sweep_quiz,
    "quiz stats": sweep_quiz,
    "likes chapter": sweep_likes, "likes top": sweep_likes, "likes readers": sweep_likes,
    "aar status": sweep_admin, "aar setup": sweep_admin, "aar forget-me": sweep_admin,
    "aar help": sweep_admin, "aar import": sweep_import, "aar edits": sweep_edits,
    "schedule add": sweep_admin, "schedule list": sweep_admin, "schedule cancel": sweep_admin,
    "schedule pause": sweep_admin, "schedule resume": sweep_admin,
    "search": sweep_search,
}


def registered(fake: FakeDiscord, guild_id: int) -> tuple[set[str], set[tuple[str, str]]]:
    """Every slash command (by its full name) and every autocomplete option the bot registered."""
    commands, autocompletes = set(), set()

    def walk(prefix: str, options: list[dict[str, Any]]) -> None:
        subs = [o for o in options if o["type"] in (1, 2)]
        if not subs:
            commands.add(prefix)
            autocompletes.update((prefix, o["name"]) for o in options if o.get("autocomplete"))
        for sub in subs:
            walk(f"{prefix} {sub['name']}", sub.get("options") or [])

    for command in fake.global_commands + fake.guild_commands.get(guild_id, []):
        if command.get("type", 1) == 1:
            walk(command["name"], command.get("options") or [])
    return commands, autocompletes


async def sweep(fake: FakeDiscord, bot, setup: GuildSetup, timer: FiredTimer, characters: list[str]) -> Sweep:
    s = Sweep(fake, bot, setup, timer)
    commands, autocompletes = registered(fake, setup.guild.id)
    missing = commands - set(SWEEPS)
    assert not missing, f"registered commands without a spoiler-sweep entry: {sorted(missing)}"
    for step in dict.fromkeys(SWEEPS.values()):
        await step(s, characters)
    assert s.ran >= commands, f"swept entries that ran no command: {sorted(commands - s.ran)}"
    assert s.typed >= autocompletes, f"autocompletes never typed into: {sorted(autocompletes - s.typed)}"
    return s


# --- the servers -------------------------------------------------------------------------------------------

async def prepare(fake: FakeDiscord, bot, setup: GuildSetup, reactions: list[int]) -> None:
    """A hall of fame from 1 like, and members' likes on each released chapter's first part."""
    hall = await fake.add_channel(setup.guild, "hall-of-fame")
    record = await fake.invoke("aar setup", guild=setup.guild, channel=setup.general, member=setup.moderator,
                               options={"hall_of_fame_channel": hall, "hall_of_fame_threshold": 1})
    await record.wait_message()
    likes = bot.get_cog("Likes")
    async with bot.db.raw.execute("SELECT message_id FROM release_parts WHERE guild_id = ? AND part_index = 0"
                              " ORDER BY chapter_number", (setup.guild.id,)) as cursor:
        firsts = [row[0] for row in await cursor.fetchall()]
    for message_id in firsts:
        for member in (setup.member, setup.moderator):
            await fake.add_reaction(member, message_id, LIKE)
            reactions[0] += 1
    await asyncio.wait_for(likes.settle(reactions[0]), 5)


async def later_characters(conn: Database, released: int) -> list[str]:
    """Every name and spelling in the cast, those of people first named after chapter `released` first."""
    async with conn.raw.execute(
            "SELECT a.text FROM character_aliases a JOIN characters c ON c.key = a.character_key"
            " LEFT JOIN (SELECT character_key, MIN(chapter_number) AS first FROM character_mentions"
            " GROUP BY character_key) m ON m.character_key = c.key"
            " ORDER BY COALESCE(m.first, 99) <= ?, c.position, a.position", (released,)) as cursor:
        return list(dict.fromkeys(row[0] for row in await cursor.fetchall()))


def leaks_in(said: list[tuple[str, str]], markers: dict[str, str]) -> list[str]:
    return [f"{where}: {found} ({markers[found[0]]})"
            for where, text in said if (found := find_markers(text, markers))]


async def test_nothing_said_in_a_server_gives_away_a_chapter_it_has_not_released(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    two = guild_setup
    six = await fake_discord.add_standard_guild("Six")
    none = await fake_discord.add_standard_guild("None yet")
    bot = await bot_factory()
    quiz = bot.get_cog("Quiz")
    timer = FiredTimer()
    quiz.timer, quiz.reveal_seconds = timer, 0
    await asyncio.wait_for(bot.get_cog("Likes").reconciliations.wait_for(1), 5)

    await release_chapters(fake_discord, two, RELEASED)
    await release_chapters(fake_discord, six, SEED_CHAPTERS)
    markers = await spoiler_markers(bot.db, RELEASED)
    characters = await later_characters(bot.db, RELEASED)
    # The markers are what the story and the index say, and include what the brief expects them to.
    for expected in ("Abolish the Cult of the Individual", "The Gravedigger of the Revolution", "Khrushchev",
                     "Blyukher", "Guderian", "Hitler", "Chen Duxiu", "Rokossovky"):
        assert any(expected in m for m in markers), expected
    assert {"Rokossovsky", "Stalin", "Madrid", "Chapter"}.isdisjoint(markers)
    assert (characters.index("Vasily Blyukher") < characters.index("Joseph Stalin")
            < characters.index("Rokossovky"))
    since = len(fake_discord.requests)  # from here on, everything the bot sends is swept (per server)
    reactions = [0]
    for server in (two, six, none):
        await prepare(fake_discord, bot, server, reactions)
        await sweep(fake_discord, bot, server, timer, characters)
    two_said = sent_into(fake_discord, two.guild.id, since)
    six_said = sent_into(fake_discord, six.guild.id, since)
    none_said = sent_into(fake_discord, none.guild.id, since)
    assert any(path.startswith("POST /channels/") for path, _ in two_said)  # the hall of fame's post

    assert await released_through(bot.db, two.guild.id) == RELEASED  # the sweep released nothing
    assert await released_through(bot.db, none.guild.id) == 0
    assert len(two_said) > 200 and len(none_said) > 50
    leaks = leaks_in(two_said, markers)
    assert not leaks, "\n".join(leaks[:20])
    leaks = leaks_in(none_said, await spoiler_markers(bot.db, 0))
    assert not leaks, "\n".join(leaks[:20])

    # The same sweep where everything is out finds the later chapters' titles and people everywhere.
    seen = {m for _, text in six_said for m in find_markers(text, markers)}
    titles = {m for m, why in markers.items() if why.startswith("title")}
    assert titles <= seen, titles - seen
    assert {"Khrushchev", "Blyukher", "Guderian", "Hitler"} <= {w for m in seen for w in m.split()}
    assert len(seen) > 40, sorted(seen)

    # And nothing the bot said in any of them could ping anyone.
    messages = [(f"{r.method} {r.path}", body) for server in (two, six, none)
                for r in bot_requests(fake_discord, server.guild.id, since)
                if (body := message_body(r)) is not None]
    assert len(messages) > 300
    pinging = [where for where, body in messages if body.get("allowed_mentions") != {"parse": []}]
    assert not pinging, pinging[:10]
