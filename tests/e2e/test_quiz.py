"""`/quiz` end to end: the real bot and discord.py against the fake Discord.

Time is the test's: the bot's clock is a `ManualClock`, and a question's time runs out only when the
test fires the cog's timer (`FiredTimer.expire()`), so "fast", "slow" and "late" are exact and nothing
sleeps.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import Settings
from bot.storage import quiz as store
from bot.text import escape_markdown
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.helpers import mark_released
from tests.quiz_support import FiredTimer, ManualClock, game_status

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

T0 = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
# A channel quiz edits its message through the channel (no 15-minute token limit), a solo one through
# the interaction: either way it is an edit of the quiz message.
QUIZ_EDIT = r"^/webhooks/\d+/[^/]+/messages/@original$|^/channels/\d+/messages/\d+$"
LATER_NAMES = ("Zhukov", "Blyukher", "Guderian", "Khrushchev", "Göring", "Chamberlain", "Voroshilov", "Kahlo")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


async def quiz_bot(bot_factory, clock: ManualClock) -> tuple[Any, FiredTimer]:
    bot = await bot_factory(clock=clock)
    cog = bot.get_cog("Quiz")
    timer = FiredTimer()
    cog.timer, cog.reveal_seconds, cog.question_seconds = timer, 0, 20
    return bot, timer


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message.get("components") or [] for c in row.get("components", [])]


def current_session(bot):
    (session,) = bot.get_cog("Quiz").service.sessions.values()
    return session


async def click(fake: FakeDiscord, message: dict[str, Any], position_option: tuple[int, int], member,
                game_id: int) -> dict[str, Any]:
    position, option = position_option
    record = await fake.click(message, f"aarquiz:{game_id}:{position}:{option}", member=member)
    return await record.wait_response()


def edits(fake: FakeDiscord) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests_to("PATCH", QUIZ_EDIT)]


async def test_a_channel_quiz_outlives_its_interaction_token(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        clock: ManualClock) -> None:
    """A channel quiz keeps its message up to date after the 15-minute interaction token expired."""
    bot, timer = await quiz_bot(bot_factory, clock)
    await mark_released(bot.db, guild_setup.guild.id, 2)
    start = await fake_discord.invoke("quiz start", member=guild_setup.member, channel=guild_setup.general,
                                      options={"questions": 2, "mode": "channel"})
    message = await start.wait_message()
    await timer.wait_question(1)
    fake_discord.followup_window = 0.0  # from now on the interaction token is expired
    timer.expire()
    await timer.wait_question(2)
    timer.expire()
    quiz_message = int(message["id"])
    await fake_discord.wait_for(lambda: "scoreboard" in json.dumps(fake_discord.messages[quiz_message]),
                                timeout=5)
    assert all(r.status < 400 for r in fake_discord.requests_to("PATCH", QUIZ_EDIT))


async def test_a_channel_quiz_with_three_members(seeded: Settings, bot_factory, fake_discord: FakeDiscord,
                                                 guild_setup: GuildSetup, clock: ManualClock) -> None:
    """Wrong, right and late answers, double clicks, early close when everyone answered, scores that add
    up."""
    bot, timer = await quiz_bot(bot_factory, clock)
    guild = guild_setup.guild
    await mark_released(bot.db, guild.id, 6)
    alice = guild_setup.member
    bob = fake_discord.add_member(guild, "bob")
    carol = fake_discord.add_member(guild, "carol")

    start = await fake_discord.invoke("quiz start", member=alice, channel=guild_setup.general,
                                      options={"questions": 2, "mode": "channel"})
    message = await start.wait_message()
    assert not message["flags"] & EPHEMERAL
    await timer.wait_question(1)
    session = current_session(bot)
    game = session.game_id
    right = session.question.answer
    wrong = (right + 1) % 4
    assert [b["custom_id"] for b in buttons(message)] == [f"aarquiz:{game}:0:{i}" for i in range(4)]
    embed = message["embeds"][0]
    assert "question 1 of 2" in embed["title"] and re.search(r"<t:\d+:R>", embed["description"])
    assert start.callback["data"]["allowed_mentions"] == {"parse": []}

    clock.advance(2)
    bob_reply = await click(fake_discord, message, (0, right), bob, game)
    assert bob_reply["data"]["flags"] & EPHEMERAL and "is in" in bob_reply["data"]["content"]
    clock.advance(1)
    await click(fake_discord, message, (0, wrong), alice, game)
    # Double clicks: the same button, or another one, never change an answer.
    again = await click(fake_discord, message, (0, wrong), bob, game)
    assert "already answered" in again["data"]["content"] and again["data"]["flags"] & EPHEMERAL
    changed = await click(fake_discord, message, (0, right), alice, game)
    assert "can't be changed" in changed["data"]["content"]
    # Carol answers after the deadline, before the bot got round to closing the question.
    clock.advance(30)
    late = await click(fake_discord, message, (0, right), carol, game)
    assert "Too late" in late["data"]["content"]
    timer.expire()

    # The reveal edits the same message; then question 2 replaces it there.
    await timer.wait_question(2)
    reveal = next(e for e in edits(fake_discord) if "· answer" in e["embeds"][0]["title"])
    field = reveal["embeds"][0]["fields"][0]
    assert field["name"] == "Right: 1 of 2 answers" and field["value"] == f"<@{bob.id}> +950"
    assert reveal["allowed_mentions"] == {"parse": []}
    assert all(b.get("disabled") for b in buttons(reveal))
    first = session.questions[0]
    assert escape_markdown(first.explanation) in reveal["embeds"][0]["description"]
    assert f"**Answer: {'ABCD'[first.answer]}. {escape_markdown(first.right_option)}**" in \
        reveal["embeds"][0]["description"]
    assert len(fake_discord.history(guild_setup.general)) == 1  # one message for the whole game

    # Question 2: both players answer, so it closes at once, without the timer.
    right2 = session.question.answer
    clock.advance(4)
    await click(fake_discord, message, (1, right2), alice, game)
    await click(fake_discord, message, (1, right2), bob, game)
    final = await fake_discord.wait_for(
        lambda: (m := fake_discord.messages[int(message["id"])])["embeds"][0]["title"]
        == "Quiz over · scoreboard" and m)
    assert timer.questions_waited == 2 and not buttons(final)
    board = final["embeds"][0]["description"]
    assert board.index(f"<@{bob.id}>") < board.index(f"<@{alice.id}>")  # 950 + 900 beats 0 + 900
    assert "1850 points (2/2 right)" in board and "900 points (1/2 right)" in board

    lb = await fake_discord.invoke("quiz leaderboard", member=carol)
    lb_embed = (await lb.wait_message())["embeds"][0]
    assert lb.ephemeral
    lines = lb_embed["description"].splitlines()
    assert lines == [f"**1.** <@{bob.id}> · 1850 points · 1 game · 100% right (2/2)",
                     f"**2.** <@{alice.id}> · 900 points · 1 game · 50% right (1/2)"]
    stats = await fake_discord.invoke("quiz stats", member=alice, options={"member": carol})
    assert "has not answered" in (await stats.wait_message())["embeds"][0]["description"]
    mine = await fake_discord.invoke("quiz stats", member=alice)
    fields = {f["name"]: f["value"] for f in (await mine.wait_message())["embeds"][0]["fields"]}
    assert fields == {"Score": "900", "Games": "1", "Accuracy": "50% (1 of 2)"}


async def test_a_stale_button_after_a_restart_says_the_quiz_ended(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        clock: ManualClock) -> None:
    bot, timer = await quiz_bot(bot_factory, clock)
    guild = guild_setup.guild
    await mark_released(bot.db, guild.id, 3)
    start = await fake_discord.invoke("quiz start", member=guild_setup.member, options={"questions": 5})
    message = await start.wait_message()
    await timer.wait_question(1)
    game = current_session(bot).game_id
    right = current_session(bot).question.answer
    await click(fake_discord, message, (0, right), guild_setup.moderator, game)

    await bot.close()  # the process dies mid-quiz
    restarted, _ = await quiz_bot(bot_factory, clock)
    assert await game_status(restarted.db, game) == "interrupted"
    stale = await click(fake_discord, message, (0, (right + 1) % 4), guild_setup.member, game)
    assert stale["data"]["content"].startswith("This quiz has ended") and stale["data"]["flags"] & EPHEMERAL
    rows = await store.leaderboard(restarted.db, guild.id)
    # Kept across the restart.
    assert [(r.user_id, r.score) for r in rows] == [(guild_setup.moderator.id, 1000)]
    # The channel is free again.
    again = await fake_discord.invoke("quiz start", member=guild_setup.member, options={"questions": 1})
    assert "question 1 of 1" in (await again.wait_message())["embeds"][0]["title"]


async def test_spoiler_gate_in_a_guild_with_two_chapters_released(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        clock: ManualClock) -> None:
    bot, timer = await quiz_bot(bot_factory, clock)
    guild = guild_setup.guild
    await mark_released(bot.db, guild.id, 2)
    other = await fake_discord.add_guild("Slow readers", channels=("general",))
    reader = fake_discord.add_member(other, "newcomer")

    nothing = await fake_discord.invoke("quiz start", guild=other, member=reader)
    reply = await nothing.wait_message()
    assert nothing.ephemeral and "nothing to quiz on yet" in reply["content"]
    beyond = await fake_discord.invoke("quiz start", member=guild_setup.member, options={"chapters": "2-3"})
    assert "Only chapters 1–2 are out" in (await beyond.wait_message())["content"] and beyond.ephemeral

    # A solo quiz of 20 questions, answered one by one: every screen it shows stays within chapters 1-2.
    start = await fake_discord.invoke("quiz start", member=guild_setup.member,
                                      options={"questions": 20, "mode": "solo"})
    message = await start.wait_message()
    assert start.ephemeral
    for position in range(20):
        await timer.wait_question(position + 1)
        session = current_session(bot)
        assert session.question.chapter in (1, 2)
        record = await fake_discord.click(message,
                                          f"aarquiz:{session.game_id}:{position}:{session.question.answer}",
                                          member=guild_setup.member)
        response = await record.wait_response()
        assert response["type"] == 6, response  # solo: the reveal on the quiz message answers
        message = fake_discord.messages[int(message["id"])]
    final = await fake_discord.wait_for(
        lambda: (m := fake_discord.messages[int(message["id"])])["embeds"][0]["title"].startswith("Quiz over")
        and m)
    assert "(20/20 right)" in final["embeds"][0]["description"]
    shown = json.dumps([start.callback] + edits(fake_discord), ensure_ascii=False)
    titles = re.findall(r"question \d+ of 20 · chapter (\d+)", shown)
    assert len(titles) >= 20 and set(titles) <= {"1", "2"}
    assert not any(name in shown for name in LATER_NAMES)


async def test_one_channel_quiz_at_a_time_and_who_may_stop_it(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        clock: ManualClock) -> None:
    bot, timer = await quiz_bot(bot_factory, clock)
    guild = guild_setup.guild
    await mark_released(bot.db, guild.id, 4)
    starter = guild_setup.member
    bystander = fake_discord.add_member(guild, "bystander")

    none = await fake_discord.invoke("quiz stop", member=starter)
    assert (await none.wait_message())["content"] == "No quiz is running in this channel."

    start = await fake_discord.invoke("quiz start", member=starter, options={"questions": 3})
    message = await start.wait_message()
    await timer.wait_question(1)
    second = await fake_discord.invoke("quiz start", member=bystander)
    assert "already running in this channel" in (await second.wait_message())["content"] and second.ephemeral
    solo = await fake_discord.invoke("quiz start", member=bystander, options={"mode": "solo", "questions": 1})
    assert (await solo.wait_message())["flags"] & EPHEMERAL  # a solo quiz is fine beside a channel quiz

    session = current_session_in(bot, "channel")
    await click(fake_discord, message, (0, session.question.answer), bystander, session.game_id)
    refused = await fake_discord.invoke("quiz stop", member=bystander)
    assert "or a moderator can stop it" in (await refused.wait_message())["content"]
    stop = await fake_discord.invoke("quiz stop", member=guild_setup.moderator)
    assert "points earned so far are kept" in (await stop.wait_message())["content"]
    final = await fake_discord.wait_for(
        lambda: (m := fake_discord.messages[int(message["id"])])["embeds"][0]["title"]
        == "Quiz stopped · scoreboard" and m)
    assert (f"Stopped by <@{guild_setup.moderator.id}> after 1 of 3 questions"
            in final["embeds"][0]["description"])
    assert await game_status(bot.db, session.game_id) == "stopped"
    assert [(r.user_id, r.score) for r in await store.leaderboard(bot.db, guild.id)] == [(bystander.id, 1000)]


def current_session_in(bot, mode: str):
    return next(s for s in bot.get_cog("Quiz").service.sessions.values() if s.mode == mode)


async def test_a_slow_plan_answers_thinking_first_and_refusals_stay_private(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        clock: ManualClock) -> None:
    bot, timer = await quiz_bot(bot_factory, clock)
    bot.get_cog("Quiz").plan_without_defer = 0  # every plan counts as slow
    await mark_released(bot.db, guild_setup.guild.id, 2)
    start = await fake_discord.invoke("quiz start", member=guild_setup.member, options={"questions": 1})
    message = await start.wait_message()
    assert start.acknowledged_with == 5 and "question 1 of 1" in message["embeds"][0]["title"]
    assert buttons(message) and not message["flags"] & EPHEMERAL
    await timer.wait_question(1)
    timer.expire()
    await fake_discord.wait_for(lambda: fake_discord.messages[int(message["id"])]["embeds"][0]["title"]
                                == "Quiz over · scoreboard")
    refused = await fake_discord.invoke("quiz start", member=guild_setup.member, options={"chapters": "5"})
    (note,) = await refused.wait_followups()
    assert note["flags"] & EPHEMERAL and "Only chapters 1–2 are out" in note["content"]
    assert refused.message is None  # the public "thinking" message was deleted


@pytest.mark.parametrize("mode", ["channel", "solo"])
async def test_a_stopped_quiz_no_longer_blocks_a_new_one_while_its_last_edit_is_in_flight(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup, clock: ManualClock,
        mode: str) -> None:
    """`/quiz stop` then `/quiz start` at once: the stopped game is over even while its message edit hangs."""
    bot, timer = await quiz_bot(bot_factory, clock)
    await mark_released(bot.db, guild_setup.guild.id, 2)
    starter = guild_setup.member
    start = await fake_discord.invoke("quiz start", member=starter, options={"questions": 3, "mode": mode})
    await start.wait_message()
    await timer.wait_question(1)
    old = current_session_in(bot, mode)
    # The reveal's edit of the quiz message is rate limited for a long while: the game's driver is stuck
    # in it.
    fake_discord.inject_fault(429, method="PATCH", path=QUIZ_EDIT, retry_after=30)
    timer.expire()
    await fake_discord.wait_for(lambda: any(r.status == 429
                                            for r in fake_discord.requests_to("PATCH", QUIZ_EDIT)))

    stop = await fake_discord.invoke("quiz stop", member=starter)
    assert "points earned so far are kept" in (await stop.wait_message())["content"]
    assert await game_status(bot.db, old.game_id) == "stopped"
    again = await fake_discord.invoke("quiz start", member=starter, options={"questions": 1, "mode": mode})
    message = await again.wait_message()
    assert "already" not in message.get("content", "") and "question 1 of 1" in message["embeds"][0]["title"]
    new = current_session_in(bot, mode)
    assert new.game_id != old.game_id and await game_status(bot.db, new.game_id) == "running"
    assert old.game_id not in bot.get_cog("Quiz").service.sessions


async def test_stats_of_someone_who_left_the_server(seeded: Settings, bot_factory, fake_discord: FakeDiscord,
                                                    guild_setup: GuildSetup, clock: ManualClock) -> None:
    """Discord resolves a user option without member data for someone who left: still a stats answer."""
    await quiz_bot(bot_factory, clock)
    gone = fake_discord.add_member(guild_setup.guild, "gone")
    stats = await fake_discord.invoke("quiz stats", member=guild_setup.member, options={"member": gone.user})
    message = await stats.wait_message()
    assert stats.ephemeral and "has not answered" in message["embeds"][0]["description"]


async def test_a_forged_button_from_another_guild_is_refused_and_not_scored(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        clock: ManualClock) -> None:
    bot, timer = await quiz_bot(bot_factory, clock)
    await mark_released(bot.db, guild_setup.guild.id, 3)
    start = await fake_discord.invoke("quiz start", member=guild_setup.member, options={"questions": 2})
    await start.wait_message()
    await timer.wait_question(1)
    session = current_session(bot)
    right = session.question.answer
    forged_id = f"aarquiz:{session.game_id}:0:{right}"
    other = await fake_discord.add_standard_guild("Elsewhere")
    await mark_released(bot.db, other.guild.id, 3)
    # Guild B's member clicks a button carrying guild A's game id, in guild B's channel.
    forged = fake_discord.post_as(other.member, other.general, "", components=[
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "A", "custom_id": forged_id}]}])
    clicked = await fake_discord.click(forged, forged_id, member=other.member)
    reply = await clicked.wait_response()
    assert reply["data"]["content"].startswith("This quiz is not running here")
    assert reply["data"]["flags"] & EPHEMERAL
    # Same game, same guild, another channel: refused too.
    elsewhere = fake_discord.post_as(guild_setup.moderator, guild_setup.story, "", components=[
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "A", "custom_id": forged_id}]}])
    clicked = await fake_discord.click(elsewhere, forged_id, member=guild_setup.moderator)
    assert (await clicked.wait_response())["data"]["content"].startswith("This quiz is not running here")
    assert session.answers[0] == {}
    assert await store.leaderboard(bot.db, other.guild.id) == []
    assert await store.leaderboard(bot.db, guild_setup.guild.id) == []
