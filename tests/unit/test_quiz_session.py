"""The game engine and the quiz service, without Discord: answers, scoring, timing, storage, spoiler gate."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime

import pytest

from bot.config import SHIPPED_THREAD
from bot.quiz.model import Question
from bot.quiz.render import Screen, question_screen, reveal_screen, scoreboard_screen
from bot.quiz.service import Plan, QuizService, Refusal, chapters_label, parse_chapters
from bot.quiz.session import QuizSession, points_for
from bot.storage import quiz as store
from bot.storage.database import Database
from bot.story.importer import import_file
from tests.helpers import mark_released
from tests.quiz_support import FiredTimer, ManualClock, game_status

pytestmark = pytest.mark.both_backends

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GUILD, OTHER_GUILD, CHANNEL = 111, 222, 333
HERE = (GUILD, CHANNEL)  # where the test games run, and so where their answers are clicked
ALICE, BOB, CAROL = 1, 2, 3


def question(n: int, answer: int = 0, chapter: int = 1) -> Question:
    return Question(f"t:{n}", chapter, f"Question {n}?", ("a", "b", "c", "d"), answer, f"Because {n}.")


def session(mode: str = "channel", count: int = 3, seconds: float = 20) -> QuizSession:
    return QuizSession(7, GUILD, CHANNEL, ALICE, mode, [question(i) for i in range(count)], seconds)  # type: ignore[arg-type]


@pytest.fixture
async def conn(db: Database) -> Database:
    await import_file(db, SHIPPED_THREAD)
    return db


# --- scoring and the engine ------------------------------------------------------------------------

def test_points_fall_from_1000_to_500_over_the_time_and_wrong_scores_nothing() -> None:
    assert points_for(True, 0, 20) == 1000
    assert points_for(True, 10, 20) == 750
    assert points_for(True, 20, 20) == 500
    assert points_for(True, 25, 20) == 500
    assert points_for(False, 0, 20) == 0
    assert [points_for(True, t, 20) for t in range(21)] == sorted(
        (points_for(True, t, 20) for t in range(21)), reverse=True)


def test_one_answer_per_member_and_no_changing_it() -> None:
    game = session()
    game.open_next(T0)
    first = game.answer(BOB, 0, 2, T0)
    assert (first.status == "accepted" and first.answer and first.answer.option == 2
            and not first.answer.correct)
    again = game.answer(BOB, 0, 0, T0)
    assert again.status == "already_answered" and again.answer == first.answer
    assert game.answers[0][BOB].option == 2  # the first answer stands


def test_late_answers_and_answers_to_old_questions_are_refused() -> None:
    game = session(seconds=20)
    game.open_next(T0)
    assert game.answer(BOB, 0, 0, T0.replace(second=21)).status == "too_late"
    assert game.answer(CAROL, 0, 0, T0.replace(second=20)).status == "accepted"  # at the deadline: in time
    game.close()
    game.open_next(T0.replace(minute=1))
    assert game.answer(BOB, 0, 0, T0.replace(minute=1)).status == "not_open"


def test_faster_right_answers_score_more() -> None:
    game = session(seconds=20)
    game.open_next(T0)
    fast = game.answer(BOB, 0, 0, T0.replace(second=2)).answer
    slow = game.answer(CAROL, 0, 0, T0.replace(second=15)).answer
    wrong = game.answer(ALICE, 0, 1, T0.replace(second=1)).answer
    assert fast and slow and wrong
    assert fast.points == 950 and slow.points == 625 and wrong.points == 0
    reveal = game.close()
    assert [a.user_id for a in reveal.right] == [BOB, CAROL]


def test_solo_closes_when_its_player_answered_and_refuses_others() -> None:
    game = session("solo")
    game.open_next(T0)
    assert game.answer(BOB, 0, 0, T0).status == "not_yours"
    assert not game.wake.is_set()
    assert game.answer(ALICE, 0, 0, T0).status == "accepted"
    assert game.wake.is_set()


def test_a_channel_question_closes_early_once_everyone_who_played_answered() -> None:
    game = session("channel")
    game.open_next(T0)
    game.answer(ALICE, 0, 0, T0)
    game.answer(BOB, 0, 1, T0)
    assert not game.wake.is_set()  # the first question always runs its time: who is playing is unknown
    game.close()
    game.open_next(T0)
    game.answer(BOB, 1, 0, T0)
    assert not game.wake.is_set()
    game.answer(ALICE, 1, 0, T0)
    assert game.wake.is_set()


def test_totals_rank_by_points_then_right_answers() -> None:
    game = session(count=2)
    game.open_next(T0)
    game.answer(ALICE, 0, 0, T0)
    game.answer(BOB, 0, 1, T0)
    game.close()
    game.open_next(T0)
    game.answer(BOB, 1, 0, T0)
    assert game.totals() == [(ALICE, 1000, 1, 1), (BOB, 1000, 1, 2)]


# --- chapters option -------------------------------------------------------------------------------

def test_chapters_option_parses_and_never_goes_past_what_is_released() -> None:
    assert parse_chapters(None, 3) == [1, 2, 3]
    assert parse_chapters("all", 3) == [1, 2, 3]
    assert parse_chapters("2", 3) == [2]
    assert parse_chapters("1-2", 3) == [1, 2]
    assert parse_chapters("3-1", 3) == [1, 2, 3]
    assert parse_chapters("1, 3", 3) == [1, 3]
    with pytest.raises(Refusal) as too_far:
        parse_chapters("2-4", 3)
    assert "chapters 1–3 are out" in too_far.value.message
    assert "4" not in too_far.value.message.replace("'2-4'", "")  # says what is out, not what exists beyond
    with pytest.raises(Refusal) as nonsense:
        parse_chapters("chapter two", 3)
    assert "like `2`, `1-3` or `1,3`" in nonsense.value.message
    # A digit int() refuses; more digits than it takes.
    for odd in ("²", "1-²", "9" * 5000, "1-" + "9" * 5000):
        with pytest.raises(Refusal):
            parse_chapters(odd, 3)
    assert chapters_label([1, 2, 3, 5, 7, 8]) == "1-3, 5, 7-8"


# --- the service on the seed -----------------------------------------------------------------------

async def test_nothing_to_quiz_on_before_the_first_release(conn: Database) -> None:
    service = QuizService(conn, lambda: T0)
    with pytest.raises(Refusal) as refusal:
        await service.plan(GUILD, 10, None)
    assert "nothing to quiz on yet" in refusal.value.message


async def test_plans_only_ever_draw_on_released_chapters(conn: Database) -> None:
    await mark_released(conn, GUILD, 2)
    await mark_released(conn, OTHER_GUILD, 6)
    service = QuizService(conn, lambda: T0, rng=random.Random(5))
    later_names = ("Zhukov", "Blyukher", "Guderian", "Khrushchev", "Göring", "Chamberlain", "Voroshilov")
    for _ in range(30):
        plan = await service.plan(GUILD, 20, None)
        assert isinstance(plan, Plan) and len(plan.questions) == 20
        assert {q.chapter for q in plan.questions} <= {1, 2}
        text = json.dumps([[q.prompt, q.options, q.explanation] for q in plan.questions], ensure_ascii=False)
        assert not any(name in text for name in later_names)
    wider = await service.plan(OTHER_GUILD, 20, "5-6")
    assert isinstance(wider, Plan) and {q.chapter for q in wider.questions} == {5, 6}
    assert {q.source for q in wider.questions} >= {"bank", "cloze"}


async def _play(service: QuizService, game: QuizSession, timer: FiredTimer, screens: list[Screen],
                script: list[list[tuple[int, str]]]) -> asyncio.Task[None]:
    """Run `game`, answering each question as `script` says: (user, 'right'|'wrong')."""

    async def show(screen: Screen) -> None:
        screens.append(screen)

    runner = asyncio.create_task(service.run(game, show, timer, reveal_seconds=0))
    for position, answers in enumerate(script):
        await timer.wait_question(position + 1)
        q = game.questions[position]
        for user, how in answers:
            option = q.answer if how == "right" else (q.answer + 1) % 4
            assert (await service.answer(game.game_id, position, user, option,
                                        place=(game.guild_id, game.channel_id))).status == "accepted"
        timer.expire()
    return runner


async def test_a_game_keeps_score_in_the_database(conn: Database) -> None:
    await mark_released(conn, GUILD, 6)
    clock = ManualClock(T0)
    service = QuizService(conn, clock, rng=random.Random(1))
    plan = await service.plan(GUILD, 3, None)
    assert isinstance(plan, Plan)
    game = await service.start(plan, guild_id=GUILD, channel_id=CHANNEL, starter_id=ALICE, mode="channel",
                               question_seconds=20)
    timer, screens = FiredTimer(), []
    runner = await _play(service, game, timer, screens,
                         [[(ALICE, "right"), (BOB, "wrong")], [(BOB, "right")],
                          [(ALICE, "right"), (CAROL, "right")]])
    await asyncio.wait_for(runner, 5)
    titles = [s.embed["title"] for s in screens]
    assert len(titles) == 7 and titles[-1] == "Quiz over · scoreboard"  # 3 × (question, reveal) + scoreboard
    rows = {r.user_id: r for r in await store.leaderboard(conn, GUILD)}
    assert {u: (r.score, r.answers, r.correct, r.games) for u, r in rows.items()} == {
        ALICE: (2000, 2, 2, 1), BOB: (1000, 2, 1, 1), CAROL: (1000, 1, 1, 1)}
    assert await game_status(conn, game.game_id) == "finished"
    assert await store.leaderboard(conn, OTHER_GUILD) == []
    stats = await store.member_score(conn, GUILD, BOB)
    assert stats is not None and stats[1] == 2  # tied with Carol on points and right answers; ties go by id
    assert abs(stats[0].accuracy - 0.5) < 1e-9


async def test_stop_keeps_the_points_earned_and_a_restart_interrupts_running_games(
        conn: Database) -> None:
    await mark_released(conn, GUILD, 2)
    service = QuizService(conn, lambda: T0)
    plan = await service.plan(GUILD, 5, None)
    assert isinstance(plan, Plan)
    game = await service.start(plan, guild_id=GUILD, channel_id=CHANNEL, starter_id=ALICE, mode="channel",
                               question_seconds=20)
    timer, screens = FiredTimer(), []

    async def show(screen: Screen) -> None:
        screens.append(screen)

    runner = asyncio.create_task(service.run(game, show, timer, reveal_seconds=0))
    await timer.wait_question(1)
    right = game.questions[0].answer
    await service.answer(game.game_id, 0, BOB, right, place=HERE)
    await service.stop(game, by=ALICE)
    await asyncio.wait_for(runner, 5)
    assert screens[-1].embed["title"] == "Quiz stopped · scoreboard"
    assert f"Stopped by <@{ALICE}> after 1 of 5" in screens[-1].embed["description"]
    assert (await store.leaderboard(conn, GUILD))[0].score == 1000
    assert (await service.answer(game.game_id, 1, BOB, 0, place=HERE)).status == "ended"

    # A game left running by a dead process ends as interrupted at the next start; its points stay.
    second = await service.start(plan, guild_id=GUILD, channel_id=CHANNEL, starter_id=BOB, mode="channel",
                                 question_seconds=20)
    second.open_next(T0)
    await service.answer(second.game_id, 0, CAROL, second.questions[0].answer, place=HERE)
    restarted = QuizService(conn, lambda: T0)
    assert await restarted.recover() == 1
    assert await game_status(conn, second.game_id) == "interrupted"
    assert (await restarted.answer(second.game_id, 0, ALICE, 0, place=HERE)).status == "ended"
    assert {r.user_id for r in await store.leaderboard(conn, GUILD)} == {BOB, CAROL}


async def test_one_running_channel_quiz_per_channel_is_enforced_by_the_database(
        conn: Database) -> None:
    plan = Plan([question(0)], [1], 1)
    service = QuizService(conn, lambda: T0)
    await service.start(plan, guild_id=GUILD, channel_id=CHANNEL, starter_id=ALICE, mode="channel",
                        question_seconds=5)
    with pytest.raises(store.QuizAlreadyRunning):
        await service.start(plan, guild_id=GUILD, channel_id=CHANNEL, starter_id=BOB, mode="channel",
                            question_seconds=5)
    await service.start(plan, guild_id=GUILD, channel_id=CHANNEL, starter_id=BOB, mode="solo",
                        question_seconds=5)
    with pytest.raises(store.QuizAlreadyRunning):
        await service.start(plan, guild_id=GUILD, channel_id=999, starter_id=BOB, mode="solo",
                            question_seconds=5)


async def test_the_database_refuses_a_second_answer_even_if_the_engine_were_bypassed(
        conn: Database) -> None:
    plan = Plan([question(0)], [1], 1)
    service = QuizService(conn, lambda: T0)
    game = await service.start(plan, guild_id=GUILD, channel_id=CHANNEL, starter_id=ALICE, mode="channel",
                               question_seconds=5)
    kwargs = dict(game_id=game.game_id, position=0, guild_id=GUILD, user_id=BOB, option=0, correct=True,
                  points=900, now=T0)
    assert await store.record_answer(conn, **kwargs)
    assert not await store.record_answer(conn, **kwargs | {"option": 1})
    assert (await store.leaderboard(conn, GUILD))[0].score == 900


def _embed_size(embed: dict) -> int:
    return (len(embed.get("title", "")) + len(embed.get("description", "")) + len(embed["footer"]["text"])
            + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", [])))


async def test_every_screen_fits_discords_limits(conn: Database) -> None:
    await mark_released(conn, GUILD, 6)
    service = QuizService(conn, lambda: T0, rng=random.Random(3))
    generator = await service._generator(6)
    every = generator.cloze(range(1, 7)) + generator.who(range(1, 7), set(range(1, 7)))
    plan = await service.plan(GUILD, 20, None)
    assert isinstance(plan, Plan)
    game = QuizSession(1, GUILD, CHANNEL, ALICE, "channel", every + plan.questions, 20, "1-6")
    for position in range(len(game.questions)):
        game.open_next(T0)
        for user in range(40):
            game.answer(10_000 + user, position, game.question.answer, T0)
        for screen in (question_screen(game), reveal_screen(game, game.close())):
            embed = screen.embed
            assert len(embed["title"]) <= 256 and len(embed["description"]) <= 4096
            assert all(len(f["value"]) <= 1024 and len(f["name"]) <= 256 for f in embed.get("fields", []))
            assert _embed_size(embed) <= 6000
            assert len(screen.buttons) == 4
            assert all(len(b.label) <= 80 and len(b.custom_id) <= 100 for b in screen.buttons)
    assert len(scoreboard_screen(game).embed["description"]) <= 4096
