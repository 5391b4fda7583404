"""The curated bank as a guild may be asked it: only chapters whose imported title matches the bank's.

The bank was written for one AAR.  If another story is imported, or a chapter is re-titled, the
questions written for that chapter number no longer describe what the readers read, so they are left
out (generated questions still cover every chapter).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from bot.quiz.model import Question
from bot.quiz.schema import SHIPPED_BANK, QuizBank, load_bank_file


def _norm(title: str) -> str:
    return " ".join(title.casefold().split()).rstrip(".")


@lru_cache(maxsize=4)
def _cached(path: Path, mtime_ns: int) -> QuizBank:
    return load_bank_file(path)


def load_bank(path: Path = SHIPPED_BANK) -> QuizBank:
    """The validated bank (cached until the file changes)."""
    return _cached(path, path.stat().st_mtime_ns)


def applicable_questions(bank: QuizBank, imported_titles: Mapping[int, str],
                         chapters: set[int]) -> list[Question]:
    """The bank's questions on `chapters` whose chapter has, in the database, the title they were written
    for."""
    usable = {n for n, title in bank.titles.items()
              if n in chapters and n in imported_titles and _norm(imported_titles[n]) == _norm(title)}
    return [q for q in bank.questions if q.chapter in usable]
