"""The quiz as the bot runs it: plan a game within what a guild has released, run it, keep score.

No discord here: the cog hands `run` a `show(screen)` callback that puts a `Screen` on the quiz message,
and a `QuizTimer`; everything else (spoiler gate, picking, engine, storage) happens here.
"""

from __future__ import annotations

import logging
import math
import random
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.errors import UserError
from bot.quiz import source
from bot.quiz.bank import applicable_questions, load_bank
from bot.quiz.generate import Generator
from bot.quiz.model import OPTION_COUNT, Question
from bot.quiz.render import Screen, question_screen, reveal_screen, scoreboard_screen
from bot.quiz.schema import SHIPPED_BANK
from bot.quiz.session import AnswerOutcome, Mode, QuizSession, QuizTimer
from bot.storage import quiz as store
from bot.storage import story
from bot.storage.database import Database
from bot.storage.releases import released_through
from bot.text import echo_input

_log = logging.getLogger(__name__)

MIN_QUESTIONS, MAX_QUESTIONS, DEFAULT_QUESTIONS = 1, 20, 10
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-|–|\.\.)\s*(\d+)\s*$")


class Refusal(UserError):
    """Why a quiz can't start, said to the member as is."""


@dataclass(frozen=True)
class Plan:
    questions: list[Question]
    chapters: list[int]
    requested: int

    @property
    def label(self) -> str:
        return chapters_label(self.chapters)


def chapters_label(chapters: Sequence[int]) -> str:
    """[1, 2, 3, 5] -> '1-3, 5'."""
    parts: list[str] = []
    numbers = sorted(set(chapters))
    start = prev = None
    for n in [*numbers, None]:
        if start is None:
            start = prev = n
        elif n is not None and prev is not None and n == prev + 1:
            prev = n
        else:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = prev = n
    return ", ".join(parts)


def parse_chapters(spec: str | None, released: int) -> list[int]:
    """`chapters:` as typed ("2", "1-3", "1,3", "all"; default all released) -> chapter numbers, or why not.

    Only released chapters may be named; the refusal says which are out, never what comes after them.
    """
    allowed = "chapter 1" if released == 1 else f"chapters 1–{released}"
    if spec is None or not spec.strip() or spec.strip().casefold() == "all":
        return list(range(1, released + 1))
    chosen: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        match = _RANGE.match(part)
        if match:
            low, high = _chapter_number(match.group(1)), _chapter_number(match.group(2))
            if low > high:
                low, high = high, low
        elif part.isdecimal():  # not isdigit(): '²' is a digit that int() refuses
            low = high = _chapter_number(part)
        else:
            raise Refusal(f"I don't understand the chapters {echo_input(spec)!r}: write a number, a range "
                          f"or a list, like `2`, `1-3` or `1,3` (this server has {allowed} out).")
        if low < 1 or high > released:
            raise Refusal(f"Only {allowed} {'is' if released == 1 else 'are'} out in this server, so the "
                          f"quiz can only ask about {'it' if released == 1 else 'those'}: "
                          f"{echo_input(spec)!r} goes beyond.")
        chosen.update(range(low, high + 1))
    if not chosen:
        raise Refusal(f"Name at least one chapter, like `1` or `1-{released}`.")
    return sorted(chosen)


def _chapter_number(digits: str) -> int:
    """A typed chapter number; one longer than any story is simply beyond (int() refuses 4,300+ digits)."""
    return int(digits) if len(digits) <= 9 else 10**9


def _spread(questions: Sequence[Question], count: int, rng: random.Random) -> list[Question]:
    """Up to `count` questions, taken in turn from each chapter so a quiz covers all it was asked about."""
    by_chapter: dict[int, list[Question]] = defaultdict(list)
    for q in questions:
        by_chapter[q.chapter].append(q)
    for group in by_chapter.values():
        rng.shuffle(group)
    order = list(by_chapter)
    rng.shuffle(order)
    picked: list[Question] = []
    while len(picked) < count and any(by_chapter.values()):
        for chapter in order:
            if by_chapter[chapter] and len(picked) < count:
                picked.append(by_chapter[chapter].pop())
    return picked


def pick_questions(bank: Sequence[Question], generated: Sequence[Question], count: int,
                   rng: random.Random) -> list[Question]:
    """`count` questions: half curated (they read best), half generated, spread over chapters, options
    shuffled.

    Generated questions made from the same sentence are alternatives: at most one of them is asked.
    """
    unique: dict[str, Question] = {}
    for q in generated:
        unique.setdefault(q.sentence or q.key, q)
    fresh = list(unique.values())
    from_bank = min(len(bank), math.ceil(count / 2) if fresh else count)
    chosen = _spread(bank, from_bank, rng)
    chosen += _spread(fresh, count - len(chosen), rng)
    if len(chosen) < count:  # few generated questions: more from the bank
        rest = [q for q in bank if q not in chosen]
        chosen += _spread(rest, count - len(chosen), rng)
    rng.shuffle(chosen)
    out = []
    for q in chosen:
        order = list(range(OPTION_COUNT))
        rng.shuffle(order)
        out.append(q.shuffled(order))
    return out


Show = Callable[[Screen], Awaitable[None]]


@dataclass
class QuizService:
    """One per bot: the running games (by id), and the questions each released range supports (cached)."""

    conn: Database
    clock: Callable[[], datetime]
    bank_path: Path = SHIPPED_BANK
    rng: random.Random = field(default_factory=random.Random)
    sessions: dict[int, QuizSession] = field(default_factory=dict)
    _generators: dict[tuple[int, object], Generator] = field(default_factory=dict)

    # --- planning --------------------------------------------------------------------------------

    async def _generator(self, through: int) -> Generator:
        """The generator over chapters 1..through, rebuilt when a new import changed the story."""
        marker = await story.import_marker(self.conn)
        key = (through, marker)
        generator = self._generators.get(key)
        if generator is None:
            chapters = await source.source_chapters(self.conn, through)
            people = await source.people(self.conn, through)
            generator = Generator(chapters, people)
            self._generators = {k: v for k, v in self._generators.items()
                                if k[1] == marker and k[0] != through}
            self._generators[key] = generator
        return generator

    async def plan(self, guild_id: int, count: int, chapters_spec: str | None) -> Plan:
        """The questions of a new game in `guild_id`, drawn only from chapters it has released."""
        if not MIN_QUESTIONS <= count <= MAX_QUESTIONS:
            raise Refusal(f"A quiz has {MIN_QUESTIONS} to {MAX_QUESTIONS} questions, not {count}.")
        through = await released_through(self.conn, guild_id)
        if through == 0:
            raise Refusal("There is nothing to quiz on yet: no chapter has been released in this server. "
                          "Once the first chapter is out, `/quiz start` asks about it.")
        chapters = parse_chapters(chapters_spec, through)
        titles = await story.chapter_titles(self.conn, through)
        bank = applicable_questions(load_bank(self.bank_path), titles, set(chapters))
        generator = await self._generator(through)
        allowed = set(generator.chapters)
        # Generate for a sample of the chosen chapters only: enough to spread `count` questions, and a quiz on
        # a 500-chapter story costs no more than one on a 10-chapter one.
        sample = sorted(self.rng.sample(chapters, min(len(chapters), 2 * count)))
        generated = generator.cloze(sample) + generator.who(sample, allowed) + \
            generator.which_chapter(sample, allowed)
        questions = pick_questions(bank, generated, count, self.rng)
        if not questions:
            label = echo_input(chapters_label(chapters))  # "1, 3, 5, …" of a long story: one line, not 2,000+
            raise Refusal(f"I found nothing to ask about chapters {label} yet.")
        return Plan(questions, chapters, count)

    # --- games -----------------------------------------------------------------------------------

    def channel_game(self, channel_id: int) -> QuizSession | None:
        return next((s for s in self.sessions.values()
                     if s.mode == "channel" and s.channel_id == channel_id), None)

    def solo_game(self, guild_id: int, user_id: int) -> QuizSession | None:
        return next((s for s in self.sessions.values()
                     if s.mode == "solo" and s.guild_id == guild_id and s.starter_id == user_id), None)

    async def start(self, plan: Plan, *, guild_id: int, channel_id: int, starter_id: int, mode: Mode,
                    question_seconds: float) -> QuizSession:
        """Record and register a game (QuizAlreadyRunning if the channel, or the solo player, has one)."""
        rows = [(q.key, q.chapter, q.answer) for q in plan.questions]  # what storage keeps of a question
        game_id = await store.create_game(self.conn, guild_id=guild_id, channel_id=channel_id,
                                          starter_id=starter_id, mode=mode, questions=rows,
                                          chapters=plan.label, now=self.clock())
        session = QuizSession(game_id, guild_id, channel_id, starter_id, mode, plan.questions,
                              question_seconds, plan.label)
        self.sessions[game_id] = session
        return session

    async def answer(self, game_id: int, position: int, user_id: int, option: int, *,
                     place: tuple[int | None, int | None]) -> AnswerOutcome:
        """A member's click: accepted once per question, stored with its points at once (kept on any stop).

        `place` is where the click happened, (guild id, channel id), and is required.  The game
        id comes from the button's custom_id, which a client can forge: a click counts only where the game
        runs, or a member of another guild (or a DM) could score in it unseen.
        """
        session = self.sessions.get(game_id)
        if session is None:
            return AnswerOutcome("ended")
        if place != (session.guild_id, session.channel_id):
            return AnswerOutcome("elsewhere")
        outcome = session.answer(user_id, position, option, self.clock())
        if outcome.status == "accepted" and outcome.answer is not None:
            given = outcome.answer
            stored = await store.record_answer(
                self.conn, game_id=game_id, position=position, guild_id=session.guild_id, user_id=user_id,
                option=option, correct=given.correct, points=given.points, now=given.at)
            if not stored:
                session.withdraw(user_id, position)
                return AnswerOutcome("already_answered")
        return outcome

    async def stop(self, session: QuizSession, by: int) -> None:
        """End a game early, at once: the channel (or the solo player) is free for a new game right away.

        The game leaves the running games and its end is recorded now, not when its driver notices: the
        driver may be stuck in a slow message edit, and a `/quiz start` just after the stop must not be
        refused as "already running" meanwhile.  The driver then shows the scoreboard.
        """
        session.stop(by)
        self.sessions.pop(session.game_id, None)
        await store.end_game(self.conn, session.game_id, "stopped", self.clock(), by)

    async def run(self, session: QuizSession, show: Show, timer: QuizTimer, reveal_seconds: float) -> None:
        """Drive a game to its end: question, wait, reveal, pause, …, scoreboard.  Always ends the game."""
        try:
            while session.has_next:
                session.open_next(self.clock())
                await show(question_screen(session))
                await timer.question(session.question_seconds, session.wake)
                if session.ended is not None:
                    break
                reveal = session.close()
                await show(reveal_screen(session, reveal))
                if session.has_next:
                    await timer.pause(reveal_seconds, session.stopped)
            if session.ended is None:
                session.ended = "finished"
        except Exception:
            _log.exception("Quiz %s stopped by an error", session.game_id)
            if session.ended is None:
                session.stop(None, "interrupted")
        finally:
            self.sessions.pop(session.game_id, None)
            session.open = False
            await store.end_game(self.conn, session.game_id, session.ended or "interrupted", self.clock(),
                                 session.ended_by)
        try:
            await show(scoreboard_screen(session))
        except Exception:
            _log.warning("Could not show the scoreboard of quiz %s", session.game_id, exc_info=True)

    async def recover(self, owns_guild: Callable[[int], bool] = lambda _guild_id: True) -> int:
        """At start: games a previous process left running end as 'interrupted'; their points stay.
        Only in the servers `owns_guild` says this process runs (its shards)."""
        return len(await store.interrupt_running_games(self.conn, self.clock(), owns_guild))
