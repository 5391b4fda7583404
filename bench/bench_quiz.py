"""Benchmark: generated quiz questions per second, and the time to pick and render one.

Two stories: the seed AAR as imported (with its character index), and a synthetic 500-chapter story made
by this script (seeded, so every run is the same: sentences with years, numbers, dates, places and 300
people).  For each it times:

- generation: building the generator (sentences, spans, distractor pools) and every cloze, "who" and
  "which chapter" question of every chapter; printed as questions per second;
- pick and render: what `/quiz start` does per question once the generator is built (generate for a
  sample of chapters, pick with the bank, shuffle, lay out the question screen), per question;

each beside a baseline measured in the same run on the same text: one tokenisation pass
(`re.findall(r"\\w+")`) over the whole story for generation, over one chapter for pick-and-render.
The ratio (ours / baseline) is what to read, not the absolute figures.

    .venv/bin/python bench/bench_quiz.py [--chapters 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.config import SHIPPED_THREAD
from bot.quiz import source
from bot.quiz.bank import load_bank
from bot.quiz.generate import MONTHS, Generator, Person, SourceChapter
from bot.quiz.render import question_screen
from bot.quiz.service import pick_questions
from bot.quiz.session import QuizSession
from bot.storage import open_database
from bot.story.importer import import_file

WORD = re.compile(r"\w+")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def seed_story() -> tuple[list[SourceChapter], list[Person]]:
    with tempfile.TemporaryDirectory() as tmp:
        conn = await open_database(Path(tmp) / "seed.db")
        try:
            await import_file(conn, SHIPPED_THREAD)
            return await source.source_chapters(conn, 10_000), await source.people(conn, 10_000)
        finally:
            await conn.close()


FIRST = ["Anna", "Boris", "Carlos", "Dmitri", "Elena", "Felipe", "Grigori", "Hans", "Ines", "Juan", "Karl",
         "Lev", "Maria", "Nikolai", "Olga", "Pavel", "Rosa", "Sergei", "Tomas", "Vera"]
LAST = ["Abramov", "Belov", "Castillo", "Dorado", "Esteban", "Fedorov", "Garrido", "Herrera", "Ivanov",
        "Jimenez", "Kozlov", "Lozano", "Morozov", "Navarro", "Orlov", "Petrov", "Quintana", "Romanov",
        "Sokolov", "Torres"]
PLACES = ["Aldora", "Brenz", "Calvera", "Dunmor", "Estrel", "Farrow", "Galdin", "Harven", "Istra", "Jorvik",
          "Kelmar", "Lunde", "Morva", "Norrin", "Ostral", "Pellin", "Quarro", "Rastin", "Selva", "Tormen"]
TEMPLATES = [
    "In {year} {person} led {number} men from {place} toward the river crossing at dawn.",
    "On the {day} of {month} the garrison of {place} surrendered to {person} after a long siege.",
    "{person} wrote that the offensive of {year} had cost {number} lives and achieved very little.",
    "The column reached {place} on {month} the {day} and was met there by {person} and his staff.",
    "By {year} the factories around {place} produced {number} trucks a month for the front.",
    "Reports from {place} claimed that {person} had been seen near the front with {number} volunteers.",
    "After the fall of {place} in {year}, {person} was recalled to the capital to explain the defeat.",
    "The treaty signed on the {day} of {month} gave {place} back to its old masters for a time.",
]


def ordinal(day: int) -> str:
    return f"{day}{'th' if 10 <= day <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"


def synthetic_story(chapters: int, people: int = 300,
                    seed: int = 6) -> tuple[list[SourceChapter], list[Person]]:
    rng = random.Random(seed)
    cast = []
    for i in range(people):
        first, last = FIRST[i % len(FIRST)], f"{LAST[(i // len(FIRST)) % len(LAST)]}{'' if i < 400 else i}"
        cast.append(Person(f"p{i}",
                           f"{first} {last}-{i}" if i >= len(FIRST) * len(LAST) else f"{first} {last}",
                           (f"{first} {last}", last)))
    places = [f"{p}{'' if i < len(PLACES) else i}" for i, p in enumerate(PLACES * 5)]
    out = []
    for number in range(1, chapters + 1):
        paragraphs = []
        for _ in range(8):
            sentences = []
            for _ in range(8):
                who = cast[rng.randrange(len(cast))]
                sentences.append(rng.choice(TEMPLATES).format(
                    year=rng.randrange(1900, 1950), person=who.spellings[rng.randrange(2)],
                    number=rng.choice([rng.randrange(10, 999), rng.randrange(1000, 99_000)]),
                    place=rng.choice(places), day=ordinal(rng.randrange(1, 29)), month=rng.choice(MONTHS)))
            paragraphs.append(" ".join(sentences))
        out.append(SourceChapter(number, f"Chapter {number}", tuple(paragraphs)))
    return out, cast


def best_of(repeat: int, work: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def bench_generation(name: str, chapters: list[SourceChapter], people: list[Person],
                     repeat: int) -> Generator:
    text = "\n".join(t for c in chapters for t in c.texts)
    numbers = [c.number for c in chapters]
    allowed = set(numbers)

    def generate() -> tuple[Generator, int]:
        g = Generator(chapters, people)
        return g, (len(g.cloze(numbers)) + len(g.who(numbers, allowed))
                   + len(g.which_chapter(numbers, allowed)))

    ours, (generator, count) = best_of(repeat, generate)  # type: ignore[misc]
    base, tokens = best_of(repeat, lambda: len(WORD.findall(text)))
    print(f"{name}: {len(chapters)} chapters, {len(text):,} characters, {tokens:,} words")
    print(f"  generate all questions  {ours * 1000:9.1f} ms  {count:,} questions"
          f"  {count / ours:,.0f} questions/s")
    print(f"  baseline: tokenise text {base * 1000:9.1f} ms  ratio ours/baseline {ours / base:,.1f}x")
    return generator


def bench_pick_and_render(name: str, generator: Generator, repeat: int, count: int = 10) -> None:
    rng = random.Random(1)
    numbers = sorted(generator.chapters)
    allowed = set(numbers)
    titles = {n: c.title for n, c in generator.chapters.items()}
    bank = [q for q in load_bank().questions if q.chapter in allowed and titles.get(q.chapter, "") != ""]

    def pick_and_render() -> int:
        sample = sorted(rng.sample(numbers, min(len(numbers), 2 * count)))
        generated = (generator.cloze(sample) + generator.who(sample, allowed)
                     + generator.which_chapter(sample, allowed))
        questions = pick_questions(bank, generated, count, rng)
        game = QuizSession(1, 1, 1, 1, "channel", questions, 20, "all")
        size = 0
        for _ in questions:
            game.open_next(T0)
            size += len(question_screen(game).embed["description"])
        return len(questions)

    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        asked = pick_and_render()
        rounds.append((time.perf_counter() - start) / asked)
    ours = statistics.median(rounds)
    one = "\n".join(generator.chapters[numbers[0]].texts)
    base, _ = best_of(max(repeat, 5), lambda: WORD.findall(one))
    print(f"  pick and render         {ours * 1e6:9.0f} µs per question ({count}-question quiz)")
    print(f"  baseline: tokenise one chapter {base * 1e6:6.0f} µs  ratio ours/baseline {ours / base:,.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    chapters, people = asyncio.run(seed_story())
    seed_generator = bench_generation("seed AAR", chapters, people, args.repeat)
    bench_pick_and_render("seed AAR", seed_generator, args.repeat * 5)
    chapters, people = synthetic_story(args.chapters)
    big = bench_generation("synthetic story", chapters, people, args.repeat)
    bench_pick_and_render("synthetic story", big, args.repeat * 5)


if __name__ == "__main__":
    main()
