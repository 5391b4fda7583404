"""Generated questions on the seed: every answer comes from its sentence, no distractor fits it,
no spoilers."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import pytest

from bot.quiz.generate import (
    BLANK,
    DATE_RE,
    NUMBER_RE,
    YEAR_RE,
    Generator,
    Person,
    SourceChapter,
    date_key,
    date_label,
    fold,
    names_the_person,
    number_value,
    occurs,
)
from bot.quiz.model import Question
from tests.quiz_support import SeedSource, seed_source


def generate_questions(chapters: Sequence[SourceChapter], people: Sequence[Person] = (),
                       only: Iterable[int] | None = None) -> list[Question]:
    """Every question the text of `chapters` supports, about the chapters in `only` (default: all).

    Distractors come from `chapters` only: pass exactly the chapters a guild has released.
    """
    generator = Generator(chapters, people)
    allowed = set(generator.chapters)
    numbers = sorted(allowed if only is None else set(only) & allowed)
    return (generator.cloze(numbers) + generator.who(numbers, allowed)
            + generator.which_chapter(numbers, allowed))


@pytest.fixture(scope="module")
def seed() -> SeedSource:
    return seed_source()


@pytest.fixture(scope="module")
def questions(seed: SeedSource) -> list[Question]:
    return generate_questions(seed.chapters, seed.people)


def by_name(seed: SeedSource) -> dict[str, Person]:
    return {p.name: p for p in seed.people}


def blanked_parts(q: Question) -> list[str]:
    """What the blanks stood for, recovered by matching the prompt against the original sentence."""
    pattern = "(.+?)".join(re.escape(piece) for piece in q.prompt.split(BLANK))
    match = re.fullmatch(pattern, q.sentence, flags=re.DOTALL)
    assert match, f"the prompt is not its sentence with blanks: {q.prompt!r}"
    return list(match.groups())


def test_the_seed_yields_every_kind_of_question(questions: list[Question]) -> None:
    kinds = Counter(q.kind for q in questions)
    for kind in ("year", "number", "date", "person", "place", "who", "chapter"):
        assert kinds[kind] >= 5, kinds
    assert len({q.key for q in questions}) == len(questions)
    for q in questions:
        assert len(q.options) == 4 and len({fold(o) for o in q.options}) == 4, q
        assert 0 <= q.answer < 4


def test_generation_is_deterministic(seed: SeedSource, questions: list[Question]) -> None:
    assert generate_questions(seed.chapters, seed.people) == questions


def test_every_cloze_answer_comes_from_its_sentence(seed: SeedSource, questions: list[Question]) -> None:
    texts = {c.number: "\n".join(c.texts) for c in seed.chapters}
    people = by_name(seed)
    checked = Counter()
    for q in (q for q in questions if q.source == "cloze"):
        assert q.sentence in texts[q.chapter]
        parts = blanked_parts(q)
        right = q.right_option
        for part in parts:
            if q.kind == "year":
                assert part == right
            elif q.kind == "number":
                assert number_value(part) == number_value(right)
            elif q.kind == "date":
                assert date_label(*date_key(DATE_RE.fullmatch(part))) == right
            elif q.kind == "person":
                assert part in people[right].spellings and names_the_person(part, right), (part, right)
            else:
                assert part == right
        checked[q.kind] += 1
    assert set(checked) == {"year", "number", "date", "person", "place"}


def test_no_distractor_also_fits_its_sentence(seed: SeedSource, questions: list[Question]) -> None:
    people = by_name(seed)
    for q in (q for q in questions if q.source == "cloze"):
        sentence = q.sentence
        for i, option in enumerate(q.options):
            if i == q.answer:
                continue
            assert not occurs(option, sentence), (option, sentence)
            if q.kind == "year":
                assert option not in YEAR_RE.findall(sentence)
            elif q.kind == "number":
                assert number_value(option) not in {number_value(n) for n in NUMBER_RE.findall(sentence)}
            elif q.kind == "date":
                assert option not in {date_label(*date_key(m)) for m in DATE_RE.finditer(sentence)}
            elif q.kind == "person":
                for spelling in people[option].spellings:
                    assert not occurs(spelling, sentence), (option, spelling, sentence)


def test_who_questions_check_against_the_chapter(seed: SeedSource, questions: list[Question]) -> None:
    texts = {c.number: "\n".join(c.texts) for c in seed.chapters}
    people = by_name(seed)
    who = [q for q in questions if q.kind == "who"]
    assert who
    for q in who:
        text = texts[q.chapter]
        assert any(occurs(s, q.sentence) for s in people[q.right_option].spellings)
        assert q.sentence in text
        for i, option in enumerate(q.options):
            if i != q.answer:
                assert not any(occurs(s, text) for s in people[option].spellings), (option, q.chapter)


def test_which_chapter_questions_quote_a_sentence_only_their_chapter_has(seed: SeedSource,
                                                                        questions: list[Question]) -> None:
    texts = {c.number: "\n".join(c.texts) for c in seed.chapters}
    which = [q for q in questions if q.kind == "chapter"]
    assert which
    for q in which:
        assert q.right_option.startswith(f"{q.chapter}. ")
        assert [n for n, t in texts.items() if q.sentence in t] == [q.chapter]


def _derivable(option: str, q: Question, chapters: list[SourceChapter], people: dict[str, Person]) -> bool:
    """Whether an option could have been written from these chapters alone."""
    text = "\n".join(t for c in chapters for t in c.texts)
    if option in people:
        return any(occurs(s, text) for s in people[option].spellings)
    if q.kind == "date":
        return option in {date_label(*date_key(m)) for m in DATE_RE.finditer(text)}
    if q.kind == "chapter":
        return option in {f"{c.number}. {c.title}" for c in chapters}
    if q.kind == "number":
        return number_value(option) in {number_value(n) for n in NUMBER_RE.findall(text)}
    return occurs(option, text)


def test_a_guild_with_two_chapters_out_is_asked_nothing_from_later_ones(seed: SeedSource) -> None:
    released = seed.chapters[:2]
    people = by_name(seed)
    asked = generate_questions(released, seed.people)
    assert asked and {q.chapter for q in asked} == {1, 2}
    later_only = {p.name for p in seed.people if min(p.chapters) > 2}
    assert later_only  # Zhukov, Guderian, ... exist in the seed
    for q in asked:
        for option in q.options:
            assert option not in later_only, (option, q.prompt)
            assert _derivable(option, q, released, people), (option, q.prompt)


def test_questions_about_some_chapters_draw_distractors_from_all_allowed(seed: SeedSource) -> None:
    only_two = generate_questions(seed.chapters[:3], seed.people, only=[2])
    assert only_two and {q.chapter for q in only_two} == {2}


def test_a_story_without_a_cast_still_gets_cloze_questions() -> None:
    chapter = SourceChapter(1, "One", (
        "In 1936 the war began near Madrid with 4000 men. In 1937 Bilbao fell after 2500 men attacked it. "
        "By 1938 the front reached Valencia with 12000 men. In 1939 the war ended at Barcelona with 900 men. "
        "Peace came in 1940 to Sevilla and 3100 men went home to Cordoba.",))
    asked = generate_questions([chapter])
    kinds = Counter(q.kind for q in asked)
    assert kinds["year"] >= 1 and kinds["number"] >= 1 and "person" not in kinds and "who" not in kinds


def test_a_distractor_elsewhere_in_the_sentence_is_never_offered() -> None:
    """1937 is in the sentence that asks for 1936: it would also fit, so it must not be an option."""
    chapter = SourceChapter(1, "One", (
        "The offensive of 1936 and the retreat of 1937 both happened near the old river crossing.",
        "The treaty of 1938 was signed in a small town far away from any front line.",
        "The election of 1931 was won by the republicans in a landslide across the land.",
        "The strike of 1934 failed across the country except in the mining valleys.",
        "The crash of 1929 halved the export value of the whole country overnight.",
    ))
    asked = [q for q in Generator([chapter]).cloze([1]) if q.sentence.startswith("The offensive")]
    assert {q.right_option for q in asked} == {"1936", "1937"}
    for q in asked:
        other = "1937" if q.right_option == "1936" else "1936"
        assert other not in q.options


def test_titles_and_given_names_are_not_blanked_as_names() -> None:
    assert names_the_person("Rokossovky", "Konstantin Rokossovsky")  # the text's typo is still his name
    assert names_the_person("Vasily Konstantinovich Blyukher", "Vasily Blyukher")
    assert not names_the_person("Caudillo", "Francisco Franco")
    assert not names_the_person("gravedigger of the revolution", "Joseph Stalin")
    assert not names_the_person("José", "José Díaz")
