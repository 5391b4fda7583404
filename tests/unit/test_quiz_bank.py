"""The curated quiz file: valid, ≥ 8 questions per seed chapter, explanations quoting the text,
no spoilers."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from bot.characters.index import MentionMatcher
from bot.characters.schema import load_cast
from bot.quiz.bank import applicable_questions, load_bank
from bot.quiz.generate import fold
from bot.quiz.schema import MAX_OPTION, QuizBankError, parse_bank
from tests.helpers import SEED_CHAPTERS
from tests.quiz_support import SeedSource, seed_source

VALID = """
[chapters]
1 = "First"

[[question]]
chapter = 1
question = "Who?"
options = ["A", "B", "C", "D"]
answer = "B"
explanation = "Because (chapter 1)."
"""


@pytest.fixture(scope="module")
def seed() -> SeedSource:
    return seed_source()


def test_the_shipped_bank_is_valid_and_covers_every_seed_chapter_with_eight_or_more() -> None:
    bank = load_bank()
    per_chapter = Counter(q.chapter for q in bank.questions)
    assert set(per_chapter) == set(range(1, SEED_CHAPTERS + 1))
    assert min(per_chapter.values()) >= 8, per_chapter
    for q in bank.questions:
        assert len(q.options) == 4 and len(set(q.options)) == 4
        assert q.options[q.answer] in q.options
        assert f"(chapter {q.chapter})" in q.explanation, q.prompt


def test_the_bank_was_written_for_the_imported_seed_titles(seed: SeedSource) -> None:
    bank = load_bank()
    titles = {c.number: c.title for c in seed.chapters}
    assert applicable_questions(bank, titles, set(titles)) == list(bank.questions)
    # A re-titled (or different) chapter 2 gets none of the questions written for chapter 2.
    changed = titles | {2: "Some other story's chapter"}
    kept = applicable_questions(bank, changed, set(titles))
    assert kept and all(q.chapter != 2 for q in kept)
    assert {q.chapter for q in applicable_questions(bank, titles, {1, 3})} == {1, 3}


def _quoted_fragments(explanation: str) -> list[str]:
    fragments = []
    for quote in re.findall(r"“(.+?)”", explanation):
        fragments += [f.strip(" .,;") for f in quote.split("…") if len(f.strip(" .,;")) >= 8]
    return fragments


def _squash(text: str) -> str:
    return " ".join(text.replace("’", "'").split())


def test_every_explanation_quotes_its_own_chapter_word_for_word(seed: SeedSource) -> None:
    text = {c.number: _squash("\n".join(c.texts)) for c in seed.chapters}
    for q in load_bank().questions:
        fragments = _quoted_fragments(q.explanation)
        assert fragments, f"no quotation in the explanation of {q.prompt!r}"
        for fragment in fragments:
            assert _squash(fragment) in text[q.chapter], f"{fragment!r} is not in chapter {q.chapter}"


def test_no_question_names_a_character_before_the_story_does(seed: SeedSource) -> None:
    """Spoiler safety of the curated data: a chapter-2 question never offers someone first named in
    chapter 5."""
    matcher = MentionMatcher(load_cast())
    for q in load_bank().questions:
        named = matcher.count(" \n ".join([q.prompt, *q.options, q.explanation]))
        for key, _ in named:
            assert seed.first_mention.get(key, 99) <= q.chapter, (q.prompt, key)


def test_the_bank_follows_the_aar_not_history() -> None:
    """Here the Republic wins, with Rokossovsky's volunteers; Göring, not Hitler, goes to Munich."""
    by_prompt = {q.prompt: q for q in load_bank().questions}
    assert by_prompt["How did the Spanish Civil War end in this AAR?"].right_option == \
        "Franco capitulated and the Republic won"
    assert by_prompt["Who represented Germany at the Munich meeting in this AAR?"].right_option == "Göring"
    volunteers = next(q for q in by_prompt.values() if "volunteers\" sent to Iberia" in q.prompt)
    assert volunteers.right_option == "Konstantin Rokossovsky"


def test_a_minimal_file_parses() -> None:
    bank = parse_bank(VALID)
    assert bank.titles == {1: "First"}
    (q,) = bank.questions
    assert (q.chapter, q.prompt, q.options, q.answer) == (1, "Who?", ("A", "B", "C", "D"), 1)
    assert q.key.startswith("bank:") and q.key == parse_bank(VALID).questions[0].key


@pytest.mark.parametrize(("change", "problem"), [
    (('options = ["A", "B", "C", "D"]', 'options = ["A", "B", "C"]'), "exactly 4"),
    (('answer = "B"', 'answer = "E"'), "not one of the options"),
    (('options = ["A", "B", "C", "D"]', 'options = ["A", "B", "b ", "D"]'), "two options are the same"),
    (("chapter = 1", "chapter = 2"), "chapter 2 has no title"),
    (("chapter = 1", "chapter = 0"), "`chapter` must be a chapter number"),
    (('explanation = "Because (chapter 1)."', 'explanation = """Two\nlines"""'), "must be one line"),
    (('answer = "B"', 'answer = "B"\nhint = "x"'), "unknown key 'hint'"),
    (('options = ["A", "B", "C", "D"]', f'options = ["A", "B", "C", "{"x" * (MAX_OPTION + 1)}"]'),
     f"more than {MAX_OPTION}"),
    (('question = "Who?"', 'question = ""'), "`question` must be non-empty"),
])
def test_schema_names_the_problem(change: tuple[str, str], problem: str) -> None:
    with pytest.raises(QuizBankError) as info:
        parse_bank(VALID.replace(*change))
    assert problem in str(info.value)


def test_schema_lists_every_problem_at_once() -> None:
    broken = VALID.replace('answer = "B"', 'answer = "Z"') + VALID.split("\n", 4)[4].replace(
        "chapter = 1", "chapter = 7")
    with pytest.raises(QuizBankError) as info:
        parse_bank(broken)
    message = str(info.value)
    assert "2 problem(s)" in message and "question 1" in message and "question 2" in message


def test_schema_refuses_what_is_not_a_quiz_file() -> None:
    for text, problem in [("not toml [", "not valid TOML"), ("[chapters]\n1 = 'x'\n", "no [[question]]"),
                          (b"\xff\xfe", "not UTF-8")]:
        with pytest.raises(QuizBankError, match=re.escape(problem)):
            parse_bank(text)


def test_options_never_repeat_the_answer_in_other_words() -> None:
    for q in load_bank().questions:
        folded = [fold(o) for o in q.options]
        assert len(set(folded)) == 4, q.prompt
