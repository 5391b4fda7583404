"""What a quiz question is, whatever made it: the bank, or the generator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OPTION_COUNT = 4
LETTERS = ("A", "B", "C", "D")

Source = Literal["bank", "cloze", "who", "chapter"]


@dataclass(frozen=True)
class Question:
    """A question with four options, exactly one right (`answer` indexes `options`).

    `chapter` is the chapter the question draws on: the spoiler gate compares it with what a guild has
    released.  `sentence` is, for generated questions, the sentence the question was made from, so
    tests (and curious readers) can check the answer against it.  `key` is stable for a given question
    so a game can record which question it asked.
    """

    key: str
    chapter: int
    prompt: str
    options: tuple[str, ...]
    answer: int
    explanation: str
    source: Source = "bank"
    kind: str = "bank"
    sentence: str = ""

    @property
    def right_option(self) -> str:
        return self.options[self.answer]

    def shuffled(self, order: list[int]) -> Question:
        """The same question with its options in `order` (a permutation of 0..3), answer index followed."""
        options = tuple(self.options[i] for i in order)
        return Question(self.key, self.chapter, self.prompt, options, order.index(self.answer),
                        self.explanation, self.source, self.kind, self.sentence)
