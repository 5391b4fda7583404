"""Benchmark: character autocomplete and look-up for 2,000 characters across 500 chapters.

The script generates a synthetic story and cast (seeded, so every run is the same), imports it into a
fresh database in a temp dir, builds the mention index, and releases 250 chapters in one guild and all
500 in another. Then, for the same queries (exact names, aliases, prefixes as typed, misspellings,
unknown names), it times each call of:

- ours: `CharacterService.suggest` (autocomplete) and `.look_up` (the answer), database reads included;
- a plain scan doing the same job per call with nothing precomputed: the guild's released characters
  found by scanning every mention row, every spelling folded at call time, then rapidfuzz over them
  (`process.extract` with a processor); and the same with difflib as the scorer.

It prints median and p99 per call and the ratio baseline / ours measured in this run, so the ratio is
what to read, not the absolute figures.

    .venv/bin/python bench/bench_characters.py [--characters 2000] [--chapters 500] [--queries 300]
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.characters.index import rebuild_mention_index
from bot.characters.lookup import MAX_SUGGESTIONS, CharacterService
from bot.characters.schema import Alias, Cast, CastMember
from bot.characters.text import search_key
from bot.storage import open_database, transaction
from bot.story.importer import import_story
from bot.story.model import Block, Chapter, Story

SYLLABLES = ["ka", "lo", "mir", "vo", "sta", "ne", "ri", "ta", "zo", "che", "vsk", "an", "ul", "ov", "ez",
             "ba", "do", "gu", "rin", "sha", "ko", "lev", "ma", "ni", "pe", "tra", "us", "vi", "ja", "ro"]
ACCENTED = str.maketrans({"a": "á", "e": "é", "o": "ö", "s": "ś", "z": "ż", "n": "ñ"})
SIDES = [f"Faction {i}" for i in range(1, 21)]
GUILDS = {1: 250, 2: 500}  # guild -> chapters released


def word(rng: random.Random, parts: int) -> str:
    text = "".join(rng.choice(SYLLABLES) for _ in range(parts))
    if rng.random() < 0.3:
        text = text.translate(ACCENTED) if rng.random() < 0.5 else text[:1] + text[1:].translate(ACCENTED)
    return text.capitalize()


def make_cast(rng: random.Random, count: int) -> tuple[Cast, dict[str, int]]:
    """`count` people with unique folded spellings, and the chapter each is first named in."""
    members: list[CastMember] = []
    taken: set[str] = set()
    first: dict[str, int] = {}
    while len(members) < count:
        given, family = word(rng, rng.randint(1, 2)), word(rng, rng.randint(2, 4))
        spellings = [f"{given} {family}", family, f"General {family}"][: rng.randint(2, 3)]
        keys = [search_key(s) for s in spellings]
        if any(k in taken for k in keys) or len(set(keys)) < len(keys):
            continue
        taken.update(keys)
        key = f"c{len(members)}"
        members.append(CastMember(key, spellings[0], rng.choice(SIDES),
                                  tuple(Alias(s) for s in spellings[1:]), (),
                                  {1: f"What the story tells of {spellings[0]}."}))
    return Cast(tuple(SIDES), tuple(members), "synthetic"), first


def make_story(rng: random.Random, cast: Cast, chapters: int) -> tuple[Story, dict[str, int]]:
    """Chapters naming characters: each person debuts in a random chapter and recurs after it."""
    debut = {m.key: rng.randint(1, chapters) for m in cast.members}
    by_chapter: dict[int, list[CastMember]] = {n: [] for n in range(1, chapters + 1)}
    for member in cast.members:
        by_chapter[debut[member.key]].append(member)
    met: list[CastMember] = []
    story_chapters = []
    for number in range(1, chapters + 1):
        met += by_chapter[number]
        named = by_chapter[number] + rng.sample(met, min(len(met), 12))
        sentences = [f"Then {rng.choice(m.spellings).text} spoke with the others about the war."
                     for m in named]
        blocks = [Block("heading", f"Part {number}"), Block("paragraph", " ".join(sentences))]
        story_chapters.append(Chapter("Chapter", f"Synthetic chapter {number}", blocks))
    return Story(story_chapters, []), debut


def make_queries(rng: random.Random, cast: Cast, count: int) -> list[str]:
    queries = []
    for i in range(count):
        member = rng.choice(cast.members)
        spelling = rng.choice(member.spellings).text
        kind = i % 5
        if kind == 0:
            queries.append(spelling)  # exact name or alias
        elif kind == 1:
            queries.append(spelling[: rng.randint(2, 5)].lower())  # typing in progress
        elif kind == 2:
            cut = rng.randrange(1, len(spelling))
            queries.append(spelling[:cut] + spelling[cut + 1:])  # a letter dropped
        elif kind == 3:
            queries.append(search_key(spelling))  # without accents or capitals
        else:
            queries.append(word(rng, 3) + " " + word(rng, 2))  # nobody
    return queries


class PlainScan:
    """The baseline: the same answers computed per call from raw rows, nothing precomputed."""

    def __init__(self, cast: Cast, mentions: list[tuple[str, int]]) -> None:
        self.cast = cast
        self.mentions = mentions  # (character, chapter) rows, as stored

    def released_spellings(self, released: int) -> tuple[list[str], list[str]]:
        met = {key for key, chapter in self.mentions if chapter <= released}
        spellings, owners = [], []
        for member in self.cast.members:
            if member.key in met:
                for alias in member.spellings:
                    spellings.append(alias.text)
                    owners.append(member.name)
        return spellings, owners

    def rapidfuzz(self, released: int, query: str) -> list[str]:
        spellings, owners = self.released_spellings(released)
        found = process.extract(query, spellings, scorer=fuzz.WRatio, processor=search_key, limit=None,
                                score_cutoff=55)
        return _top_owners(((score, owners[index]) for _, score, index in found))

    def difflib(self, released: int, query: str) -> list[str]:
        spellings, owners = self.released_spellings(released)
        key = search_key(query)
        scored = ((difflib.SequenceMatcher(None, key, search_key(s)).ratio() * 100, owners[i])
                  for i, s in enumerate(spellings))
        return _top_owners((s, o) for s, o in scored if s >= 55)


def _top_owners(scored) -> list[str]:
    best: dict[str, float] = {}
    for score, owner in scored:
        best[owner] = max(score, best.get(owner, 0.0))
    return sorted(best, key=lambda o: -best[o])[:MAX_SUGGESTIONS]


async def timed(calls: list[Callable[[], Awaitable[object] | object]]) -> list[float]:
    """Seconds per call, each call timed alone."""
    out = []
    for call in calls:
        start = time.perf_counter()
        result = call()
        if asyncio.iscoroutine(result):
            await result
        out.append(time.perf_counter() - start)
    return out


def figures(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--characters", type=int, default=2000)
    parser.add_argument("--chapters", type=int, default=500)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(5)
    cast, _ = make_cast(rng, args.characters)
    story, _ = make_story(rng, cast, args.chapters)
    queries = make_queries(rng, cast, args.queries)

    with tempfile.TemporaryDirectory() as tmp:
        conn = await open_database(Path(tmp) / "bench.db")
        start = time.perf_counter()
        await import_story(conn, story, source="synthetic", sha256="synthetic")
        imported = time.perf_counter() - start
        start = time.perf_counter()
        async with transaction(conn):
            summary = await rebuild_mention_index(conn, cast)
        indexed = time.perf_counter() - start
        for guild, through in GUILDS.items():
            for number in range(1, min(through, args.chapters) + 1):
                await conn.execute(
                    "INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total,"
                    " started_at, completed_at) VALUES (?, ?, 1, 'done', 1, 't', 't')", (guild, number))
        async with conn.execute("SELECT character_key, chapter_number FROM character_mentions") as cur:
            rows = [(r[0], r[1]) for r in await cur.fetchall()]
        print(f"synthetic story: {args.chapters} chapters, {len(cast.members)} characters, "
              f"{summary.mentions} mentions; import {imported:.2f}s (with the shipped cast's index), "
              f"index rebuild {indexed:.2f}s")

        service = CharacterService(conn)
        plain = PlainScan(cast, rows)
        for guild in GUILDS:  # warm: the first call per release level builds that level's view
            await service.suggest(guild, "warm")
        print(f"{'per call':<46}{'median':>10}{'p99':>10}{'median ratio':>16}")
        for guild, through in GUILDS.items():
            released = min(through, args.chapters)
            ours_suggest = figures(await timed([lambda q=q, g=guild: service.suggest(g, q) for q in queries]))
            ours_lookup = figures(await timed([lambda q=q, g=guild: service.look_up(g, q) for q in queries]))
            base_fuzz = figures(await timed([lambda q=q, r=released: plain.rapidfuzz(r, q) for q in queries]))
            base_diff = figures(await timed([lambda q=q, r=released: plain.difflib(r, q)
                                             for q in queries[:60]]))
            print(f"guild with {released} chapters released:")
            for label, (median, p99), ratio in [
                ("  ours: autocomplete (suggest)", ours_suggest, None),
                ("  ours: look-up (answer card)", ours_lookup, None),
                ("  plain scan: rapidfuzz, folded per call", base_fuzz, base_fuzz[0] / ours_suggest[0]),
                ("  plain scan: difflib, folded per call", base_diff, base_diff[0] / ours_suggest[0]),
            ]:
                shown = f"{ratio:>15.1f}x" if ratio is not None else ""
                print(f"{label:<46}{median * 1000:>8.2f}ms{p99 * 1000:>8.2f}ms{shown}")
        print("ratio = plain scan median / our autocomplete median, same queries, same run.")
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
