"""Benchmark: `/search` over a synthetic 500-chapter story, FTS5 against a plain LIKE scan.

The script generates a story (seeded, so every run is the same: 500 chapters of headings, paragraphs,
captions and author's notes over a Zipf-distributed vocabulary with accented words), imports it into a
fresh database in a temp dir (the import fills the index, as in the bot), and releases all 500 chapters
in one guild.  Then, for the same 1- to 3-word queries (words drawn from the vocabulary, the last one
sometimes cut short as a member types it), it times each call of:

- ours, the index: `match_count` + `match` (one page, bm25-ranked unless more than `RANK_LIMIT` match),
  i.e. the database work of a page;
- ours, the whole first page as the bot builds it (`SearchService.search`: query parsing, the stored
  query key, snippets, sections and jump links);
- the baseline: the same words found by `LIKE '%word%'` over every block of the released chapters.

It prints median and p99 per query size and the ratio baseline / ours measured in this run; the target
is a p99 under 20 ms for the index.

    .venv/bin/python bench/bench_search.py [--chapters 500] [--queries 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.chapters.render import render_chapter
from bot.search.query import STOP_WORDS, parse
from bot.search.service import PER_PAGE, RANK_LIMIT, SearchService
from bot.storage import open_database
from bot.storage import search as store
from bot.story.importer import import_story
from bot.story.model import Block, Chapter, Story

SYLLABLES = ["ka", "lo", "mir", "vo", "sta", "ne", "ri", "ta", "zo", "che", "vsk", "an", "ul", "ov", "ez",
             "ba", "do", "gu", "rin", "sha", "ko", "lev", "ma", "ni", "pe", "tra", "us", "vi", "ja", "ro"]
ACCENTED = str.maketrans({"a": "á", "e": "é", "o": "ö"})
GUILD = 1
TARGET_P99_MS = 20.0


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        words.add(word.translate(ACCENTED) if rng.random() < 0.1 else word)
    return sorted(words)


def sentence(rng: random.Random, vocab: list[str], weights: list[float]) -> str:
    words = rng.choices(vocab, weights, k=rng.randint(6, 18))
    return " ".join(words).capitalize() + "."


def make_story(rng: random.Random, chapters: int, vocab: list[str]) -> Story:
    weights = [1 / (rank + 1) for rank in range(len(vocab))]  # Zipf: a few words everywhere, most rare
    out = []
    for number in range(1, chapters + 1):
        blocks: list[Block] = []
        for _section in range(rng.randint(3, 6)):
            blocks.append(Block("heading", " ".join(rng.choices(vocab, weights, k=3)).title()))
            for _ in range(rng.randint(4, 10)):
                blocks.append(Block("paragraph", " ".join(sentence(rng, vocab, weights)
                                                          for _ in range(rng.randint(2, 8)))))
            if rng.random() < 0.5:
                blocks.append(Block("picture", sentence(rng, vocab, weights), f"p{number}.png",
                                    f"https://example.com/p{number}.png"))
        blocks.append(Block("note", sentence(rng, vocab, weights)))
        out.append(Chapter(f"Chapter {number}", f"Part {number}: {vocab[number % len(vocab)]}", blocks))
    return Story(out, [])


def queries(rng: random.Random, vocab: list[str], count: int) -> list[tuple[int, str]]:
    found = []
    for i in range(count):
        size = i % 3 + 1
        words = rng.sample(vocab, size)
        if rng.random() < 0.3 and len(words[-1]) > 4:  # typed half-way: the last word is a prefix
            words[-1] = words[-1][: rng.randint(3, len(words[-1]) - 1)]
        found.append((size, " ".join(words)))
    return [(size, text) for size, text in found if not set(text.split()) <= STOP_WORDS]


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


async def timed(calls: list[Callable[[], Awaitable[object]]]) -> list[float]:
    out = []
    for call in calls:
        start = time.perf_counter()
        await call()
        out.append(time.perf_counter() - start)
    return out


async def main(chapters: int, count: int) -> None:
    rng = random.Random(12)
    vocab = vocabulary(rng, 5000)
    story = make_story(rng, chapters, vocab)
    with tempfile.TemporaryDirectory() as folder:
        conn = await open_database(Path(folder) / "bench.db")
        start = time.perf_counter()
        await import_story(conn, story, source="bench", sha256="bench")
        imported = time.perf_counter() - start
        for number, chapter in enumerate(story.chapters, 1):  # released, with the payloads a release keeps
            payloads = render_chapter(chapter, number=number, total=chapters)
            await conn.execute(
                "INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total, started_at,"
                " completed_at, payloads) VALUES (?, ?, 10, 'done', ?, 'x', 'x', ?)",
                (GUILD, number, len(payloads), json.dumps(payloads)))
            for part in range(len(payloads)):
                await conn.execute("INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce,"
                                   " message_id, channel_id) VALUES (?, ?, ?, ?, ?, 10)",
                                   (GUILD, number, part, f"n{number}-{part}", number * 1000 + part))
        await conn.commit()
        blocks = (await (await conn.execute("SELECT COUNT(*) FROM blocks")).fetchone())[0]
        print(f"{chapters} chapters, {blocks} blocks, imported and indexed in {imported:.1f} s; "
              f"{count} queries of 1-3 words")
        service = SearchService(conn)
        asked = queries(rng, vocab, count)

        def index_call(text: str) -> Callable[[], Awaitable[object]]:
            query = parse(text)

            async def call() -> object:  # as `SearchService` asks: ranked unless there are very many
                total = await store.match_count(conn, query.expression, through=chapters,
                                                up_to=RANK_LIMIT + 1)
                return await store.match(conn, query.expression, through=chapters, limit=PER_PAGE,
                                         ranked=total <= RANK_LIMIT)
            return call

        def page_call(text: str) -> Callable[[], Awaitable[object]]:
            async def call() -> object:
                try:
                    return await service.search(GUILD, text)
                except Exception:  # nothing found: the refusal is the answer, and costs the same queries
                    return None
            return call

        def like_call(text: str) -> Callable[[], Awaitable[object]]:
            words = parse(text).words

            async def call() -> object:
                return await store.like_scan(conn, words, through=chapters, limit=1_000_000)
            return call

        for call in [index_call(t) for _, t in asked[:20]]:  # warm the page cache
            await call()
        print(f"{'words':>5} {'FTS5 median':>12} {'FTS5 p99':>9} {'page median':>12} {'page p99':>9}"
              f" {'LIKE median':>12} {'LIKE p99':>9} {'LIKE/FTS5 p99':>14}")
        worst = 0.0
        for size in (1, 2, 3):
            texts = [t for s, t in asked if s == size]
            fts = summary(await timed([index_call(t) for t in texts]))
            page = summary(await timed([page_call(t) for t in texts]))
            like = summary(await timed([like_call(t) for t in texts]))
            worst = max(worst, fts[1])
            print(f"{size:>5} {fts[0]:>10.2f}ms {fts[1]:>7.2f}ms {page[0]:>10.2f}ms {page[1]:>7.2f}ms"
                  f" {like[0]:>10.2f}ms {like[1]:>7.2f}ms {like[1] / fts[1]:>13.1f}x")
        verdict = "within" if worst < TARGET_P99_MS else "OVER"
        print(f"FTS5 p99 worst {worst:.2f} ms: {verdict} the {TARGET_P99_MS:.0f} ms target")
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", type=int, default=500)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.chapters, args.queries))
