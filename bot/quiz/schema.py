"""The curated quiz file (`data/quiz.toml`): its shape, and validation naming every problem at once.

Like Red-DiscordBot's trivia lists, the questions are data, and a test validates the shipped file:

    [chapters]                      # the chapter titles the bank was written for
    1 = "The Spanish Civil War: Further Beyond."

    [[question]]
    chapter = 1
    question = "Who led the Soviet armoured 'volunteers' sent to Spain?"
    options = ["Konstantin Rokossovsky", "Mikhail Tukhachevsky", "Joseph Stalin", "Leon Trotsky"]
    answer = "Konstantin Rokossovsky"   # written out as in `options`, so a reordering cannot break it
    explanation = "“They were led by Konstantin Rokossovsky, a Polish born Soviet general” (chapter 1)."

A question only applies to a chapter whose imported title is the one in `[chapters]`: a different AAR
imported into the bot never gets questions written for this one.  The limits keep every question
within what a Discord message can show: an option becomes a button label (80 characters with its
letter), the explanation is one line of the reveal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import SHIPPED_QUIZ
from bot.datafile import parse_toml, problems_error, read_file
from bot.quiz.model import OPTION_COUNT, Question

SHIPPED_BANK = SHIPPED_QUIZ

MAX_QUESTION = 300
MAX_OPTION = 75
MAX_EXPLANATION = 400
_TOP_KEYS = {"chapters", "question"}
_QUESTION_KEYS = {"chapter", "question", "options", "answer", "explanation"}


class QuizBankError(ValueError):
    """The quiz file is invalid; the message lists every problem, one a line."""


@dataclass(frozen=True)
class QuizBank:
    """The validated bank: chapter titles it was written for, and its questions in file order."""

    titles: dict[int, str]
    questions: tuple[Question, ...]
    sha256: str = ""


def load_bank_file(path: Path = SHIPPED_BANK) -> QuizBank:
    """Read and validate a quiz file."""
    data = read_file(path, "quiz file", QuizBankError)
    return parse_bank(data, str(path))


def parse_bank(data: bytes | str, source: str = "quiz.toml") -> QuizBank:
    """Validate the TOML text of a quiz file; raise QuizBankError naming every problem."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    document = parse_toml(raw, source, QuizBankError)
    problems: list[str] = []
    titles = _validate_titles(document.get("chapters"), problems)
    for unknown in sorted(set(document) - _TOP_KEYS):
        problems.append(f"unknown top-level key {unknown!r} (expected: chapters, question)")
    entries = document.get("question")
    questions: list[Question] = []
    if not isinstance(entries, list) or not entries:
        problems.append("no [[question]] tables")
        entries = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"question {number}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not a table")
            continue
        question = _validate_question(entry, where, titles, problems)
        if question is None:
            continue
        folded = " ".join(question.prompt.casefold().split())
        if folded in seen:
            problems.append(f"{where}: same question as question {seen[folded]}")
        seen[folded] = number
        questions.append(question)
    if problems:
        raise problems_error(source, problems, QuizBankError)
    return QuizBank(titles, tuple(questions), hashlib.sha256(raw).hexdigest())


def _validate_titles(value: Any, problems: list[str]) -> dict[int, str]:
    if not isinstance(value, dict) or not value:
        problems.append("[chapters] must map chapter numbers to the titles the questions were written for")
        return {}
    titles: dict[int, str] = {}
    for key, title in value.items():
        if not key.isdigit() or int(key) < 1:
            problems.append(f"[chapters]: {key!r} is not a chapter number (1, 2, ...)")
        elif not isinstance(title, str) or not title.strip():
            problems.append(f"[chapters]: chapter {key} needs its title as text")
        else:
            titles[int(key)] = title
    return titles


def _text(entry: dict[str, Any], name: str, limit: int, where: str, problems: list[str]) -> str | None:
    value = entry.get(name)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: `{name}` must be non-empty text")
        return None
    if len(value) > limit:
        problems.append(f"{where}: `{name}` is {len(value)} characters, more than {limit}")
        return None
    if "\n" in value:
        problems.append(f"{where}: `{name}` must be one line")
        return None
    return value.strip()


def _validate_question(entry: dict[str, Any], where: str, titles: dict[int, str],
                       problems: list[str]) -> Question | None:
    count = len(problems)
    for unknown in sorted(set(entry) - _QUESTION_KEYS):
        problems.append(f"{where}: unknown key {unknown!r} (expected: {', '.join(sorted(_QUESTION_KEYS))})")
    chapter = entry.get("chapter")
    if not isinstance(chapter, int) or isinstance(chapter, bool) or chapter < 1:
        problems.append(f"{where}: `chapter` must be a chapter number (1, 2, ...)")
    elif titles and chapter not in titles:
        problems.append(f"{where}: chapter {chapter} has no title in [chapters]")
    prompt = _text(entry, "question", MAX_QUESTION, where, problems)
    explanation = _text(entry, "explanation", MAX_EXPLANATION, where, problems)
    options = entry.get("options")
    cleaned: list[str] = []
    if not isinstance(options, list) or len(options) != OPTION_COUNT:
        problems.append(f"{where}: `options` must be a list of exactly {OPTION_COUNT} answers")
    else:
        for i, option in enumerate(options, start=1):
            text = _text({"option": option}, "option", MAX_OPTION, f"{where}, option {i}", problems)
            if text is not None:
                cleaned.append(text)
        folded = [" ".join(o.casefold().split()) for o in cleaned]
        if len(set(folded)) != len(folded):
            problems.append(f"{where}: two options are the same")
    answer = entry.get("answer")
    if not isinstance(answer, str):
        problems.append(f"{where}: `answer` must be the right option, written as in `options`")
    elif cleaned and answer.strip() not in cleaned:
        problems.append(f"{where}: the answer {answer!r} is not one of the options")
    if len(problems) != count:
        return None
    assert (prompt is not None and explanation is not None and isinstance(chapter, int)
            and isinstance(answer, str))
    key = "bank:" + hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:12]
    return Question(key, chapter, prompt, tuple(cleaned), cleaned.index(answer.strip()), explanation)
