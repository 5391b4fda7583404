"""`/search`: a member's query → pages of results from the chapters their server has released.

Spoiler safety is in the query itself: the index is asked only for rows of chapters 1..released (a rowid
range, see `bot.storage.search`), so nothing of a later chapter is ever read, let alone shown.  Every page
is recomputed from the query and the server's releases at the moment it is asked for, so a page button
clicked after a restart (or after another release) shows what is true then.  The query behind a page
button is stored under a short key (`remember_query`): a button's custom_id has no room for the text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.chapters.plan import stored_plan
from bot.chapters.render import render_chapter
from bot.errors import UserError
from bot.search import locate
from bot.search.query import Query, parse, quoted_input
from bot.search.snippet import first_match, snippet
from bot.storage import search as store
from bot.storage.database import Database
from bot.storage.releases import jump_url, released_through
from bot.storage.story import chapter_count, chapter_titles, load_chapter
from bot.text import MAX_DESCRIPTION, MAX_TITLE, clip_escaped, lines_within, plural
from bot.timestamps import format_timestamp

PER_PAGE = 5
MAX_RESULTS = 100  # the best 100 passages: 20 pages; a query matching more should be narrowed anyway
# Ranking computes bm25 for every match: above this many (a word on nearly every page of a long story)
# the passages come in story order instead, fast, and the footer says so.
RANK_LIMIT = 1000
QUERY_LIFETIME = timedelta(days=30)  # how long a result's page buttons keep working
NAME_CHARS = 80  # of a chapter title or section heading in a result's first line
KIND_LABELS = {"picture": "picture caption", "note": "author's notes", "heading": "section heading"}
NOTHING_RELEASED = "No chapter has been released in this server yet, so there is nothing to search."
GONE = "This search is no longer available; run `/search` again."


@dataclass(frozen=True)
class Result:
    chapter: int
    title: str
    section: str | None
    kind: str
    snippet: str  # escaped markdown, matches in bold
    url: str

    def render(self) -> str:
        head = f"**Chapter {self.chapter} · {clip_escaped(self.title, NAME_CHARS)}**"
        if self.section:
            head += f" › {clip_escaped(' '.join(self.section.split()), NAME_CHARS)}"
        if self.kind in KIND_LABELS:
            head += f" ({KIND_LABELS[self.kind]})"
        return f"{head}\n> {self.snippet}\n[Jump to the passage]({self.url})"


@dataclass(frozen=True)
class SearchPage:
    """One page of results as an embed payload, with where it is in the pages."""

    embed: dict[str, Any]
    page: int
    pages: int
    key: int


class SearchService:
    def __init__(self, conn: Database, *, clock: Callable[[], datetime] | None = None) -> None:
        self.conn = conn
        self.clock = clock or (lambda: datetime.now(UTC))

    async def ensure_index(self) -> int | None:
        """Rebuild the index when it is not one row per block; the rows indexed, or None when in step."""
        if await store.index_in_step(self.conn):
            return None
        return await store.rebuild_index(self.conn)

    async def search(self, guild_id: int, text: str) -> SearchPage:
        """The first page for what the member typed (refusals as `UserError`, input echoed escaped)."""
        query = parse(text)
        if await released_through(self.conn, guild_id) < 1:
            raise UserError(NOTHING_RELEASED)
        now = self.clock()
        key = await store.remember_query(self.conn, guild_id, query.text, now=format_timestamp(now),
                                         expire_before=format_timestamp(now - QUERY_LIFETIME))
        return await self._page(guild_id, query, key, 0)

    async def page(self, guild_id: int, key: int, page: int) -> SearchPage:
        """Page `page` of the search stored under `key` for this server, recomputed now."""
        text = await store.recall_query(self.conn, guild_id, key)
        if text is None:
            raise UserError(GONE)
        return await self._page(guild_id, parse(text), key, page)

    async def _page(self, guild_id: int, query: Query, key: int, page: int) -> SearchPage:
        through = await released_through(self.conn, guild_id)
        if through < 1:
            raise UserError(NOTHING_RELEASED)
        shown = quoted_input(query.text)
        total = await store.match_count(self.conn, query.expression, through=through, up_to=RANK_LIMIT + 1)
        if total == 0:
            raise UserError(f"No passage in the chapters released here matches {shown}.")
        ranked = total <= RANK_LIMIT
        pages = -(-min(total, MAX_RESULTS) // PER_PAGE)
        page = max(0, min(page, pages - 1))
        hits = await store.match(self.conn, query.expression, through=through, limit=PER_PAGE,
                                 offset=page * PER_PAGE, ranked=ranked)
        titles = await chapter_titles(self.conn, through)
        located: dict[int, locate.ChapterParts | None] = {}
        results = []
        for hit in hits:
            if hit.chapter not in located:
                located[hit.chapter] = await self._parts(guild_id, hit.chapter)
            section = (None if hit.kind in ("heading", "note")
                       else await store.heading_before(self.conn, hit.chapter, hit.position))
            url = self._jump(guild_id, hit, located[hit.chapter], query)
            results.append(Result(hit.chapter, titles.get(hit.chapter, ""), section, hit.kind,
                                  snippet(hit.text, query), url))
        where = f"chapters 1–{through}" if through > 1 else "chapter 1"
        if not ranked:
            found = (f"More than {RANK_LIMIT:,} passages in {where}, too many to rank: the first "
                     f"{MAX_RESULTS} in story order. Add a word to narrow the search.")
        elif total > MAX_RESULTS:
            found = f"{plural(total, 'passage')} in {where}; the best {MAX_RESULTS} are shown"
        else:
            found = f"{plural(total, 'passage')} in {where}, best first"
        embed = {
            "title": clip_escaped(f"Search: {query.text}", MAX_TITLE),
            "description": lines_within([r.render() + "\n" for r in results], MAX_DESCRIPTION),
            "footer": {"text": found},
        }
        return SearchPage(embed, page, pages, key)

    async def _parts(self, guild_id: int, number: int) -> locate.ChapterParts | None:
        """The server's release of chapter `number` as posted, with where each block went."""
        release = await store.released_parts(self.conn, guild_id, number)
        chapter = await load_chapter(self.conn, number)
        if release is None or chapter is None:  # pragma: no cover - `through` counts completed releases
            return None
        sent = stored_plan(release.plan, number=number)
        texts = [store.payload_text(p) for p in sent] or [  # before V6 no plan was kept: rendered as it was
            store.payload_text(p)
            for p in render_chapter(chapter, number=number, total=await chapter_count(self.conn))]
        return locate.ChapterParts(chapter, texts, locate.block_parts(chapter, texts), release.channel_id,
                                   release.messages)

    def _jump(self, guild_id: int, hit: store.Hit, parts: locate.ChapterParts | None, query: Query) -> str:
        """A link to the release message that shows the passage (the release's first when unknown)."""
        if parts is None:  # pragma: no cover - see _parts
            return ""
        part = locate.passage_part(parts, hit.position, first_match(hit.text, query))
        return jump_url(guild_id, parts.channel_id, parts.messages.get(part, parts.messages.get(0)))
