"""Full-text search of the story (migration V9): the FTS5 index, what a match returns, recent queries.

The index (`story_search`) holds one row per block and is kept in step with `blocks` by triggers, so
every import updates it in its own transaction.  A row's rowid encodes where the block is
(`chapter * 2**32 + position`): limiting a search to a server's released chapters is then a rowid range,
which FTS5 applies inside the index rather than by filtering its results afterwards.

The expression passed to `match` must already be safe FTS5 syntax (`bot.search.query` builds it from
quoted terms only); member input never reaches here as an expression.

On PostgreSQL the index is a table of tsvectors with a GIN index (its migration V9 says how it mirrors
FTS5), searched with the same expression rewritten as a tsquery (`tsquery_of`): phrases `'red' <-> 'army'`,
the prefix `'rev':*`, every part ANDed.  Ranking there is `ts_rank`, not bm25: equally good hits may come
in another order than on SQLite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.storage.database import Database
from bot.storage.release_log import StoredPlan, stored_plan
from bot.storage.sql import execute, fetch_all, fetch_one, fetch_value
from bot.storage.stories import DEFAULT_STORY_ID
from bot.storage.transaction import transaction

CHAPTER_SHIFT = 1 << 32  # rowid = (story - 1) * STORY_SHIFT + chapter * CHAPTER_SHIFT + position
STORY_SHIFT = 1 << 48  # V14: each story's blocks are a key range of their own (story 1's from 0)
MAX_QUERY_KEY = 999_999  # the pager's key has room for 6 digits


# One part of an FTS5 expression as `bot.search.query` writes it: a double-quoted phrase, maybe a prefix.
_FTS5_PART = re.compile(r'"((?:[^"]|"")*)"(\*?)')
_TSQUERY = "to_tsquery('aar_story', ?)"


def rowid_of(chapter: int, position: int, story: int = DEFAULT_STORY_ID) -> int:
    return (story - 1) * STORY_SHIFT + chapter * CHAPTER_SHIFT + position


def _keys(story: int, through: int) -> tuple[int, int]:
    """The key range of chapters 1..through of `story`: [first, end)."""
    return rowid_of(0, 0, story), rowid_of(through + 1, 0, story)


def tsquery_of(expression: str) -> str:
    """The FTS5 expression `"red army" "rev"*` as PostgreSQL's tsquery `'red' <-> 'army' & 'rev':*`.

    Each word is quoted as a tsquery lexeme (its quotes doubled), so nothing in it is an operator.
    """
    parts = []
    for phrase, star in _FTS5_PART.findall(expression):
        words = ["'" + word.replace("'", "''") + "'" for word in phrase.replace('""', '"').split()]
        if not words:
            continue
        if star:
            words[-1] += ":*"
        parts.append(" <-> ".join(words))
    return " & ".join(parts)


@dataclass(frozen=True)
class Hit:
    """One matching block: where it is, what kind of block, and its raw text."""

    chapter: int
    position: int
    kind: str
    text: str


async def match(conn: Database, expression: str, *, through: int, limit: int,
                offset: int = 0, ranked: bool = True, story: int = DEFAULT_STORY_ID) -> list[Hit]:
    """Blocks of chapters 1..through matching `expression`, `limit` from `offset`: best first (bm25), or
    in story order when not `ranked`.

    The ranked query orders by `rank` alone inside the FTS5 query, which FTS5 sorts itself; bm25 is then
    computed for every match, so the caller asks for story order when there are very many (FTS5 walks
    its index in rowid order and stops after `limit`).
    """
    if through < 1:
        return []
    first, end = _keys(story, through)
    if conn.backend == "postgresql":
        order = f"ts_rank(text, {_TSQUERY}) DESC, rowid" if ranked else "rowid"
        query = tsquery_of(expression)
        found = [int(r[0]) for r in await fetch_all(
            conn,
            f"SELECT rowid FROM story_search WHERE text @@ {_TSQUERY} AND rowid >= ? AND rowid < ?"
            f" ORDER BY {order} LIMIT ? OFFSET ?",
            (query, first, end, *([query] if ranked else []), limit, offset))]
    else:
        order = "rank" if ranked else "rowid"
        found = [int(r[0]) for r in await fetch_all(
            conn,
            f"SELECT rowid FROM story_search WHERE story_search MATCH ? AND rowid >= ? AND rowid < ?"
            f" ORDER BY {order} LIMIT ? OFFSET ?", (expression, first, end, limit, offset))]
    hits = []
    for rowid in found:  # a handful (a page): each one row by the primary key
        chapter, position = divmod(rowid - first, CHAPTER_SHIFT)
        row = await fetch_one(conn, "SELECT kind, text FROM blocks WHERE story_id = ? AND chapter_number = ?"
                                    " AND position = ?", (story, chapter, position))
        if row is not None:
            hits.append(Hit(chapter, position, row[0], row[1]))
    return hits


async def match_count(conn: Database, expression: str, *, through: int,
                      up_to: int | None = None, story: int = DEFAULT_STORY_ID) -> int:
    """How many blocks of chapters 1..through match `expression` (counting stops at `up_to`)."""
    if through < 1:
        return 0
    first, end = _keys(story, through)
    if conn.backend == "postgresql":
        return int(await fetch_value(
            conn, f"SELECT COUNT(*) FROM (SELECT rowid FROM story_search WHERE text @@ {_TSQUERY}"
                  " AND rowid >= ? AND rowid < ? LIMIT ?) AS found",
            (tsquery_of(expression), first, end, up_to)))
    limit = -1 if up_to is None else up_to
    return int(await fetch_value(
        conn, "SELECT COUNT(*) FROM (SELECT rowid FROM story_search WHERE story_search MATCH ? AND rowid >= ?"
              " AND rowid < ? LIMIT ?)", (expression, first, end, limit)))


async def like_scan(conn: Database, words: list[str], *, through: int, limit: int,
                    story: int = DEFAULT_STORY_ID) -> list[Hit]:
    """The same question answered by scanning every block with LIKE: the benchmark's baseline only."""
    where = " AND ".join("text ILIKE ?" if conn.backend == "postgresql" else "text LIKE ?"
                         for _ in words) or "1 = 1"
    rows = await fetch_all(
        conn,
        f"SELECT chapter_number, position, kind, text FROM blocks WHERE story_id = ? AND chapter_number <= ?"
        f" AND {where} ORDER BY chapter_number, position LIMIT ?",
        (story, through, *(f"%{w}%" for w in words), limit),
    )
    return [Hit(r[0], r[1], r[2], r[3]) for r in rows]


async def heading_before(conn: Database, chapter: int, position: int,
                         story: int = DEFAULT_STORY_ID) -> str | None:
    """The nearest section heading at or before `position` in the chapter (None: before any heading)."""
    row = await fetch_one(
        conn,
        "SELECT text FROM blocks WHERE story_id = ? AND chapter_number = ? AND position <= ?"
        " AND kind = 'heading' ORDER BY position DESC LIMIT 1", (story, chapter, position))
    return str(row[0]) if row else None


async def index_in_step(conn: Database) -> bool:
    """Whether the index holds exactly one row per block (cheap: two counts, no text compared)."""
    blocks = int(await fetch_value(conn, "SELECT COUNT(*) FROM blocks"))
    indexed = int(await fetch_value(conn, "SELECT COUNT(*) FROM story_search"))
    return blocks == indexed


async def rebuild_index(conn: Database) -> int:
    """Refill the index from `blocks` in one transaction; the rows indexed.

    For a database whose index was lost or damaged (e.g. restored from a copy made with other tools):
    the triggers keep an intact index in step, so this runs only when `index_in_step` says otherwise.
    """
    async with transaction(conn):
        if conn.backend == "postgresql":
            await execute(conn, "DELETE FROM story_search")
            return await execute(
                conn, "INSERT INTO story_search(rowid, text) SELECT chapter_number * CAST(? AS BIGINT)"
                      " + position + (story_id - 1) * CAST(? AS BIGINT), to_tsvector('aar_story', text)"
                      " FROM blocks", (CHAPTER_SHIFT, STORY_SHIFT))
        await execute(conn, "INSERT INTO story_search(story_search) VALUES ('delete-all')")
        return await execute(
            conn, "INSERT INTO story_search(rowid, text)"
                  " SELECT (story_id - 1) * ? + chapter_number * ? + position, text FROM blocks",
            (STORY_SHIFT, CHAPTER_SHIFT))


async def remember_query(conn: Database, guild_id: int, query: str, *, now: str,
                         expire_before: str) -> int:
    """A key (1..999999) for this server's query, reused when the same query was searched before.

    Rows older than `expire_before` are dropped first; a new query takes the key after the largest in
    use, and once 999,999 is in use, the key of the least recently searched query.
    """
    async with transaction(conn):
        await execute(conn, "DELETE FROM search_queries WHERE created_at < ?", (expire_before,))
        row = await fetch_one(conn, "SELECT id FROM search_queries WHERE guild_id = ? AND query = ?",
                              (guild_id, query))
        if row is not None:
            await execute(conn, "UPDATE search_queries SET created_at = ? WHERE id = ?", (now, row[0]))
            return int(row[0])
        key = int(await fetch_value(conn, "SELECT COALESCE(MAX(id), 0) + 1 FROM search_queries"))
        if key > MAX_QUERY_KEY:  # every key taken: the least recently searched one goes
            key = int(await fetch_value(conn, "SELECT id FROM search_queries ORDER BY created_at, id"
                                              " LIMIT 1"))
        await execute(conn, "INSERT INTO search_queries(id, guild_id, query, created_at) VALUES (?, ?, ?, ?)"
                            " ON CONFLICT(id) DO UPDATE SET guild_id = excluded.guild_id,"
                            " query = excluded.query, created_at = excluded.created_at",
                      (key, guild_id, query, now))
        return key


async def recall_query(conn: Database, guild_id: int, key: int) -> str | None:
    """The query stored under `key` for this server (None: expired, reused, or another server's)."""
    row = await fetch_one(conn, "SELECT query FROM search_queries WHERE id = ? AND guild_id = ?",
                          (key, guild_id))
    return str(row[0]) if row else None


@dataclass(frozen=True)
class ReleasedParts:
    """Where a server's release of one chapter was posted: its stored plan and each part's message."""

    channel_id: int
    plan: StoredPlan  # what the release sent (bot.chapters.plan.stored_plan rebuilds it); empty before V6
    messages: dict[int, int]  # part index → message id


async def released_parts(conn: Database, guild_id: int, chapter: int) -> ReleasedParts | None:
    """The server's completed release of `chapter`, as a jump link needs it (None: not released)."""
    row = await fetch_one(conn, "SELECT r.channel_id, r.alert_role_id, c.payloads, c.planned"
                                " FROM releases r LEFT JOIN rendered_chapters c ON c.id = r.rendered_id"
                                " WHERE r.guild_id = ? AND r.chapter_number = ? AND r.status = 'done'",
                          (guild_id, chapter))
    if row is None:
        return None
    parts = await fetch_all(conn, "SELECT part_index, message_id, channel_id FROM release_parts"
                                  " WHERE guild_id = ? AND chapter_number = ? AND message_id IS NOT NULL",
                            (guild_id, chapter))
    channel = next((p[2] for p in parts if p[0] == 0), row[0])
    return ReleasedParts(int(channel), stored_plan(row), {int(p[0]): int(p[1]) for p in parts})


def payload_text(payload: dict[str, object]) -> str:
    """A message payload's visible text: its content and its embeds' titles and descriptions."""
    out = [str(payload.get("content") or "")]
    embeds = payload.get("embeds")
    for embed in embeds if isinstance(embeds, list) else []:
        if isinstance(embed, dict):
            out.extend(str(embed.get(k) or "") for k in ("title", "description"))
    return "\n".join(out)
