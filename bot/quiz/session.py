"""The game engine: questions in turn, one answer per member per question, faster right answers score more.

Pure bookkeeping on an injected notion of time: every method that cares takes `now`, so tests decide
what "late" and "fast" mean without sleeping.  Waiting (for the question's time to run out, or for the
pause after a reveal) goes through a `QuizTimer`, which tests replace with one they fire themselves.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bot.quiz.model import OPTION_COUNT, Question

MAX_POINTS = 1000
MIN_RIGHT_POINTS = 500  # a right answer in the last instant still earns half

Mode = Literal["solo", "channel"]
AnswerStatus = Literal["accepted", "already_answered", "too_late", "not_open", "not_yours", "elsewhere",
                       "ended"]
EndStatus = Literal["finished", "stopped", "interrupted"]


def points_for(correct: bool, elapsed: float, limit: float) -> int:
    """1000 for a right answer at once, falling linearly to 500 at the deadline; 0 for a wrong one."""
    if not correct:
        return 0
    if limit <= 0:
        return MAX_POINTS
    fraction = min(max(elapsed / limit, 0.0), 1.0)
    return round(MAX_POINTS - (MAX_POINTS - MIN_RIGHT_POINTS) * fraction)


@dataclass(frozen=True)
class Answer:
    user_id: int
    option: int
    correct: bool
    points: int
    at: datetime


@dataclass(frozen=True)
class AnswerOutcome:
    status: AnswerStatus
    answer: Answer | None = None  # the accepted answer, or the earlier one for `already_answered`


@dataclass(frozen=True)
class Reveal:
    position: int
    question: Question
    answers: tuple[Answer, ...]

    @property
    def right(self) -> list[Answer]:
        """Who got it right, fastest first."""
        return sorted((a for a in self.answers if a.correct), key=lambda a: (a.at, a.user_id))


@dataclass
class QuizSession:
    """One game.  `position` is the current question (-1 before the first); `open` while answers are taken."""

    game_id: int
    guild_id: int
    channel_id: int
    starter_id: int
    mode: Mode
    questions: list[Question]
    question_seconds: float
    chapters_label: str = ""
    position: int = -1
    open: bool = False
    opened_at: datetime | None = None
    ended: EndStatus | None = None
    ended_by: int | None = None
    answers: dict[int, dict[int, Answer]] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # set when every player answered, or on stop
    stopped: asyncio.Event = field(default_factory=asyncio.Event)  # set on stop only

    @property
    def question(self) -> Question:
        return self.questions[self.position]

    @property
    def deadline(self) -> datetime:
        assert self.opened_at is not None
        return self.opened_at + timedelta(seconds=self.question_seconds)

    @property
    def has_next(self) -> bool:
        return self.ended is None and self.position + 1 < len(self.questions)

    def open_next(self, now: datetime) -> Question:
        """Show the next question: answers are taken from `now` until the deadline."""
        if not self.has_next:
            raise RuntimeError("no next question")
        self.position += 1
        self.open = True
        self.opened_at = now
        self.answers[self.position] = {}
        self.wake.clear()
        return self.question

    def players(self) -> set[int]:
        """Who is expected to answer: the solo player; in a channel, everyone who answered this game so far.

        A channel quiz cannot know who is reading, so its first question always runs its full time; after
        that, it moves on as soon as everyone who has played answered (and anyone new still may).
        """
        if self.mode == "solo":
            return {self.starter_id}
        return {uid for pos, given in self.answers.items() if pos < self.position for uid in given}

    def all_answered(self) -> bool:
        expected = self.players()
        return bool(expected) and expected <= set(self.answers.get(self.position, {}))

    def answer(self, user_id: int, position: int, option: int, now: datetime) -> AnswerOutcome:
        """Take `user_id`'s answer to question `position` (the one their button belongs to)."""
        if self.ended is not None:
            return AnswerOutcome("ended")
        if self.mode == "solo" and user_id != self.starter_id:
            return AnswerOutcome("not_yours")
        earlier = self.answers.get(position, {}).get(user_id)
        if earlier is not None:
            return AnswerOutcome("already_answered", earlier)
        if position != self.position or not self.open:
            return AnswerOutcome("not_open")
        if now > self.deadline:
            return AnswerOutcome("too_late")
        if not 0 <= option < OPTION_COUNT:
            return AnswerOutcome("not_open")
        assert self.opened_at is not None
        correct = option == self.question.answer
        elapsed = (now - self.opened_at).total_seconds()
        given = Answer(user_id, option, correct, points_for(correct, elapsed, self.question_seconds), now)
        self.answers[position][user_id] = given
        if self.all_answered():
            self.wake.set()
        return AnswerOutcome("accepted", given)

    def withdraw(self, user_id: int, position: int) -> None:
        """Forget an accepted answer that could not be stored (the store said it already had one)."""
        self.answers.get(position, {}).pop(user_id, None)

    def close(self) -> Reveal:
        """Stop taking answers to the current question and say how it went."""
        self.open = False
        given = self.answers.get(self.position, {})
        return Reveal(self.position, self.question,
                      tuple(sorted(given.values(), key=lambda a: (a.at, a.user_id))))

    def stop(self, by: int | None, status: EndStatus = "stopped") -> None:
        self.ended = status
        self.ended_by = by
        self.open = False
        self.wake.set()
        self.stopped.set()

    def totals(self) -> list[tuple[int, int, int, int]]:
        """(user, points, right answers, answers) for this game, best first."""
        table: dict[int, list[int]] = {}
        for given in self.answers.values():
            for a in given.values():
                row = table.setdefault(a.user_id, [0, 0, 0])
                row[0] += a.points
                row[1] += int(a.correct)
                row[2] += 1
        ranked = sorted(table.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))
        return [(uid, pts, right, count) for uid, (pts, right, count) in ranked]


class QuizTimer:
    """How a game waits.  Production waits on the event loop; tests substitute a timer they fire."""

    async def question(self, seconds: float, wake: asyncio.Event) -> None:
        """Return when the question's time is up or `wake` is set (everyone answered, or a stop)."""
        try:
            await asyncio.wait_for(wake.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def pause(self, seconds: float, stopped: asyncio.Event) -> None:
        """The pause after a reveal, so players can read it; cut short by a stop."""
        await self.question(seconds, stopped)
