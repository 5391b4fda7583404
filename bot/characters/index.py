"""The mention index: which characters each chapter names, and how often.

Matching works on words, not substrings, so "Mao" is never found inside another word and
"Stalinist" is not "Stalin". Text and aliases are both folded (accents and, unless an alias is
case-sensitive, case dropped) and compared word by word through a trie; at each word the longest
alias wins, so "de Rivera" (the dictator) is not "Rivera" and a `not_matching` phrase such as
"Hitler-Jugend" swallows the "Hitler" inside it. The scan is linear in the text's words, however
large the cast.

The index is derived data: `rebuild_mention_index` replaces it whole, inside the caller's
transaction (the importer's), and `ensure_mention_index` rebuilds at start when the cast file or the
story changed since the last build.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.characters.schema import SHIPPED_CAST, Cast, load_cast
from bot.characters.text import strip_accents
from bot.storage import characters as store
from bot.storage import open_database, transaction
from bot.storage.database import Database
from bot.storage.story import chapter_texts

_WORD = re.compile(r"\w+")
_EXCLUDED = -1  # alias position of a not_matching phrase: matched, then thrown away


@dataclass(frozen=True)
class _Target:
    character: str
    position: int  # index into CastMember.spellings, or _EXCLUDED
    exact_words: tuple[str, ...] | None  # accent-stripped words compared with case (case-sensitive aliases)


class MentionMatcher:
    """Counts a cast's mentions in text; build once per cast, reuse for every chapter."""

    def __init__(self, cast: Cast) -> None:
        # word → child node, and "" → the targets of the alias ending at this node
        self._trie: dict[str, Any] = {}
        self.max_words = 0
        for member in cast.members:
            for position, alias in enumerate(member.spellings):
                self._add(alias.text, _Target(member.key, position,
                                              tuple(_words(alias.text)) if alias.case_sensitive else None))
            for phrase in member.not_matching:
                self._add(phrase, _Target(member.key, _EXCLUDED, None))

    def _add(self, text: str, target: _Target) -> None:
        node = self._trie
        tokens = [w.casefold() for w in _words(text)]
        for token in tokens:
            node = node.setdefault(token, {})
        node.setdefault("", []).append(target)
        self.max_words = max(self.max_words, len(tokens))

    def count(self, text: str) -> Counter[tuple[str, int]]:
        """(character key, spelling position) -> how many times `text` names them that way."""
        found: Counter[tuple[str, int]] = Counter()
        original = _words(text)
        folded = [w.casefold() for w in original]
        i, n = 0, len(folded)
        while i < n:
            node, best, best_end = self._trie, None, i
            j = i
            while j < n and folded[j] in node:
                node = node[folded[j]]
                j += 1
                for target in node.get("", ()):
                    if target.exact_words is None or tuple(original[i:j]) == target.exact_words:
                        best, best_end = target, j
            if best is None:
                i += 1
                continue
            if best.position != _EXCLUDED:
                found[(best.character, best.position)] += 1
            i = best_end
        return found


def _words(text: str) -> list[str]:
    return _WORD.findall(strip_accents(text))


@dataclass(frozen=True)
class IndexSummary:
    characters: int
    chapters: int
    mentions: int  # total count over every chapter and character
    cast_sha256: str
    story_sha256: str


async def rebuild_mention_index(conn: Database, cast: Cast | None = None) -> IndexSummary:
    """Replace the stored cast and mention index with ones built from `cast` (default: the shipped file).

    Opens no transaction of its own: the importer calls it inside its transaction, so a story and its
    index are committed together. Re-running it with the same inputs writes the same rows.
    """
    cast = cast if cast is not None else load_cast(SHIPPED_CAST)
    matcher = MentionMatcher(cast)
    chapters = await chapter_texts(conn)
    counts: dict[int, Counter[tuple[str, int]]] = {number: matcher.count(text) for number, text in chapters}
    story_sha = story_fingerprint((number, text) for number, text in chapters)
    side_rank = {side: rank for rank, side in enumerate(cast.sides)}
    await store.replace_index(
        conn,
        characters=[(m.key, pos, m.name, m.side, side_rank[m.side]) for pos, m in enumerate(cast.members)],
        aliases=[(m.key, pos, a.text, a.case_sensitive, a.since) for m in cast.members
                 for pos, a in enumerate(m.spellings)],
        notes=[(m.key, chapter, note) for m in cast.members for chapter, note in m.notes.items()],
        mentions=[(key, chapter, pos, n) for chapter, counter in sorted(counts.items())
                  for (key, pos), n in sorted(counter.items())],
        cast_sha256=cast.sha256, story_sha256=story_sha,
    )
    return IndexSummary(len(cast.members), len(chapters), sum(sum(c.values()) for c in counts.values()),
                        cast.sha256, story_sha)


async def ensure_mention_index(conn: Database,
                               cast_path: Path = SHIPPED_CAST) -> IndexSummary | None:
    """At start: rebuild (in its own transaction) when the cast file or the story changed; None if current."""
    cast = load_cast(cast_path)
    chapters = await chapter_texts(conn)
    state = await store.index_state(conn)
    if (state is not None and state.cast_sha256 == cast.sha256
            and state.story_sha256 == story_fingerprint(chapters)):
        return None
    async with transaction(conn):
        return await rebuild_mention_index(conn, cast)


def story_fingerprint(chapters: Iterable[tuple[int, str]]) -> str:
    """A digest of the text the index was built from, to notice a story changed behind its back."""
    digest = hashlib.sha256()
    for number, text in chapters:
        digest.update(f"{number}\x00{text}\x01".encode())
    return digest.hexdigest()


async def refresh_index_file(db_path: Path | str, cast_path: Path = SHIPPED_CAST, *,
                             shared: Database | None = None) -> IndexSummary | None:
    """At bot start: `ensure_mention_index` on a connection of its own.

    A rebuild is a long transaction: on the shared connection every other feature's statement would
    wait for it (see `bot.storage`); on its own, only writers wait for SQLite's lock. Only an in-memory
    database, which another connection cannot see, uses `shared`; so does PostgreSQL, whose `shared` is a
    pool (the rebuild borrows one connection of it, the others keep answering).
    """
    if shared is not None and shared.backend == "postgresql":
        return await ensure_mention_index(shared, cast_path)
    if str(db_path) == ":memory:":
        if shared is None:
            raise ValueError("an in-memory database can only be indexed through its own connection")
        return await ensure_mention_index(shared, cast_path)
    conn = await open_database(db_path)
    try:
        return await ensure_mention_index(conn, cast_path)
    finally:
        await conn.close()
