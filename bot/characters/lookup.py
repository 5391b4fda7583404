"""The spoiler-safe look-up: suggestions, answers and the roster, from what a guild has released.

Spoiler safety is built in, not filtered out: a `CastView` for "chapters 1..N released" is made
from only the characters first met in those chapters, only the aliases those chapters reveal, and
only their notes and mentions. Everything a reader sees is computed from that view, so a character
first met in chapter N+1 cannot be told apart from a name nobody in the story has.

The fuzzy part uses rapidfuzz over precomputed, folded search keys (accents, case and punctuation
dropped), with word-prefix matches found by bisection so typing "roko" ranks Rokossovsky first.
Views are cached per release level and dropped when the index is rebuilt.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz import fuzz, process

from bot.characters.text import search_key
from bot.storage import characters as store
from bot.storage.database import Database
from bot.storage.releases import jump_url, released_chapters, released_through
from bot.text import MAX_CHOICE_NAME, MAX_CHOICES

MAX_QUERY = 100  # longer input is refused, not searched: no name in the cast is anywhere near it
MAX_SUGGESTIONS = MAX_CHOICES  # Discord's limit for autocomplete results
FUZZY_CUTOFF = 55.0  # below this a spelling is not considered similar at all
FUZZY_POOL = 4 * MAX_SUGGESTIONS  # best fuzzy spellings kept: enough for 25 distinct people
ACCEPT_SCORE = 88.0  # a misspelling this close to one character (and clearly closer than any other) answers
ACCEPT_MARGIN = 4.0
MIN_FUZZY_ACCEPT_LEN = 4  # "ma" may be anyone: short input answers only on an exact spelling
CLOSEST = 5


@dataclass(frozen=True)
class Character:
    """One cast member with everything the story reveals about them, chapter by chapter."""

    key: str
    name: str
    side: str
    side_rank: int
    position: int
    aliases: tuple[tuple[str, int], ...]  # (alias, chapter from which it is shown), display name excluded
    notes: tuple[tuple[int, str], ...]  # (chapter, note)
    mentions: tuple[tuple[int, int], ...]  # (chapter, count), chapters ascending
    first_chapter: int | None  # None: the story never names them

    def aliases_through(self, released: int) -> list[str]:
        return [text for text, reveal in self.aliases if reveal <= released]

    def notes_through(self, released: int) -> list[tuple[int, str]]:
        return [(chapter, note) for chapter, note in self.notes if chapter <= released]

    def mentions_through(self, released: int) -> list[tuple[int, int]]:
        return [(chapter, count) for chapter, count in self.mentions if chapter <= released]


@dataclass(frozen=True)
class Scored:
    character: Character
    score: float
    spelling: str  # the name or alias that matched best


class CastView:
    """The cast as a guild that released chapters 1..`released` knows it."""

    def __init__(self, characters: list[Character], released: int) -> None:
        self.released = released
        visible = [c for c in characters if c.first_chapter is not None and c.first_chapter <= released]
        self.total_mentions = {c.key: sum(n for _, n in c.mentions_through(released)) for c in visible}
        self.characters = sorted(visible, key=lambda c: (c.side_rank, c.first_chapter, c.position))
        self.by_name = {c.name: c for c in self.characters}
        self._choices: list[str] = []
        self._spellings: list[str] = []
        self._owners: list[Character] = []
        self._in_name: list[bool] = []  # the spelling is part of the display name ('Azaña' in 'Manuel Azaña')
        self._exact: dict[str, tuple[Character, str]] = {}
        for character in self.characters:
            for spelling in [character.name, *character.aliases_through(released)]:
                key = search_key(spelling)
                if not key or key in self._exact:
                    continue
                self._exact[key] = (character, spelling)
                self._choices.append(key)
                self._spellings.append(spelling)
                self._owners.append(character)
                self._in_name.append(_contains_words(search_key(character.name), key))
        # every word-start suffix of every choice, sorted, so a prefix query is a bisection
        self._prefixes = sorted(
            (key[start:], index) for index, key in enumerate(self._choices)
            for start in [0, *(i + 1 for i, ch in enumerate(key) if ch == " ")]
        )
        self._popular = sorted(self.characters, key=lambda c: (-self.total_mentions[c.key], c.name))

    def exact(self, query: str) -> tuple[Character, str] | None:
        return self._exact.get(search_key(query))

    def rank(self, query: str, limit: int = MAX_SUGGESTIONS) -> list[Scored]:
        """Characters whose name or revealed alias resembles `query`, best first, one entry each."""
        key = search_key(query)
        if not key:
            return [Scored(c, 0.0, c.name) for c in self._popular[:limit]]
        best: dict[str, Scored] = {}

        def offer(index: int, score: float) -> None:
            owner = self._owners[index]
            if owner.key not in best or score > best[owner.key].score:
                best[owner.key] = Scored(owner, score, self._spellings[index])

        exact = self._exact.get(key)
        if exact:
            best[exact[0].key] = Scored(exact[0], 200.0, exact[1])
        start = bisect.bisect_left(self._prefixes, (key, -1))
        for suffix, index in self._prefixes[start:]:
            if not suffix.startswith(key):
                break
            # a prefix match outranks any fuzzy one; the name's own words, then a tighter prefix, rank higher
            offer(index, 100.0 + 0.5 * self._in_name[index] + 0.4 * len(key) / len(self._choices[index]))
        for _, score, index in process.extract(key, self._choices, scorer=fuzz.WRatio, processor=None,
                                               limit=FUZZY_POOL, score_cutoff=FUZZY_CUTOFF):
            offer(index, float(score))
        ranked = sorted(best.values(),
                        key=lambda s: (-s.score, -self.total_mentions[s.character.key], s.character.name))
        return ranked[:limit]


def _contains_words(outer: str, inner: str) -> bool:
    return f" {inner} " in f" {outer} "


@dataclass(frozen=True)
class Suggestion:
    label: str  # what the reader sees in the list: the name, and the alias that matched
    value: str  # what the command receives: the display name, which always looks up exactly


@dataclass(frozen=True)
class ChapterRef:
    number: int
    title: str
    url: str | None  # where the guild posted it, when known


@dataclass(frozen=True)
class CharacterCard:
    """Everything an answer shows, already limited to the guild's released chapters."""

    name: str
    side: str
    aliases: tuple[str, ...]
    notes: tuple[tuple[ChapterRef, str], ...]
    first_appearance: ChapterRef
    mentions: tuple[tuple[ChapterRef, int], ...]
    released: int

    @property
    def total_mentions(self) -> int:
        return sum(n for _, n in self.mentions)


@dataclass(frozen=True)
class Found:
    card: CharacterCard
    kind: Literal["found"] = "found"


@dataclass(frozen=True)
class NotFound:
    """The one answer for an unknown name and for a character the guild has not met yet."""

    closest: tuple[str, ...]
    released: int
    kind: Literal["not_found"] = "not_found"


@dataclass(frozen=True)
class BadQuery:
    reason: Literal["empty", "too_long"]
    length: int
    kind: Literal["bad_query"] = "bad_query"


@dataclass(frozen=True)
class NoCast:
    """The story has no cast at all (none was loaded for it): nobody to look up, whatever the name."""

    kind: Literal["no_cast"] = "no_cast"


LookupResult = Found | NotFound | BadQuery | NoCast


@dataclass(frozen=True)
class RosterEntry:
    name: str
    side: str
    first_chapter: int
    mentions: int


@dataclass(frozen=True)
class Roster:
    released: int
    entries: tuple[RosterEntry, ...]  # grouped by side in the cast file's order
    has_cast: bool = True  # False: the story has no cast, so no chapter will ever name anyone in it


def resolve(view: CastView, query: str) -> tuple[Character, str] | list[Scored]:
    """The character `query` names in `view`, or the closest candidates when it names none for sure."""
    exact = view.exact(query)
    if exact:
        return exact
    ranked = view.rank(query, limit=CLOSEST)
    if ranked and len(search_key(query)) >= MIN_FUZZY_ACCEPT_LEN and ranked[0].score >= ACCEPT_SCORE and (
            len(ranked) == 1 or ranked[1].score <= ranked[0].score - ACCEPT_MARGIN):
        return ranked[0].character, ranked[0].spelling
    return ranked


@dataclass
class Directory:
    """The whole cast and index in memory, with a `CastView` cached per release level."""

    characters: list[Character]
    chapter_titles: dict[int, str]
    _views: dict[int, CastView] = field(default_factory=dict)

    @classmethod
    def from_snapshot(cls, snapshot: store.Snapshot) -> Directory:
        mentions: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        first_use: dict[tuple[str, int], int] = {}
        for key, chapter, position, count in snapshot.mentions:
            mentions[key][chapter] += count
            first_use[(key, position)] = min(chapter, first_use.get((key, position), chapter))
        notes: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for key, chapter, note in snapshot.notes:
            notes[key].append((chapter, note))
        aliases: dict[str, list[store.StoredAlias]] = defaultdict(list)
        for alias in snapshot.aliases:
            aliases[alias.character_key].append(alias)
        characters = []
        for row in snapshot.characters:
            by_chapter = dict(sorted(mentions[row.key].items()))
            first = next(iter(by_chapter), None)
            shown = []
            for alias in aliases[row.key]:
                if alias.position == 0:
                    continue
                candidates = [c for c in (first_use.get((row.key, alias.position)), alias.since)
                              if c is not None]
                reveal = min(candidates) if candidates else first
                if reveal is not None:
                    shown.append((alias.text, reveal))
            characters.append(Character(row.key, row.name, row.side, row.side_rank, row.position,
                                        tuple(shown), tuple(sorted(notes[row.key])),
                                        tuple(by_chapter.items()), first))
        return cls(characters, dict(snapshot.chapter_titles))

    def view(self, released: int) -> CastView:
        if released not in self._views:
            self._views[released] = CastView(self.characters, released)
        return self._views[released]


class CharacterService:
    """What the cog calls: every method takes the guild and answers from its released chapters only."""

    def __init__(self, conn: Database) -> None:
        self._conn = conn
        self._directory: Directory | None = None
        self._stamp: store.IndexState | None = None

    async def directory(self) -> Directory:
        """The cached directory, reloaded when the index was rebuilt (an import, even from the CLI)."""
        state = await store.index_state(self._conn)
        if self._directory is None or state != self._stamp:
            self._directory = Directory.from_snapshot(await store.load_snapshot(self._conn))
            self._stamp = state
        return self._directory

    async def view(self, guild_id: int) -> CastView:
        return (await self.directory()).view(await released_through(self._conn, guild_id))

    async def suggest(self, guild_id: int, text: str) -> list[Suggestion]:
        """Autocomplete: at most 25 released characters, best first."""
        if len(text) > MAX_QUERY:
            return []
        view = await self.view(guild_id)
        suggestions = []
        for scored in view.rank(text):
            name = scored.character.name
            shown_alias = not _contains_words(search_key(name), search_key(scored.spelling))
            label = f"{name} ({scored.spelling})" if shown_alias else name
            suggestions.append(Suggestion(label if len(label) <= MAX_CHOICE_NAME else name[:MAX_CHOICE_NAME],
                                          name))
        return suggestions

    async def look_up(self, guild_id: int, text: str) -> LookupResult:
        directory = await self.directory()
        if not directory.characters:
            return NoCast()  # "no character by that name" would send the reader on a hunt for spellings
        if len(text) > MAX_QUERY:
            return BadQuery("too_long", len(text))
        if not search_key(text):
            return BadQuery("empty", len(text))
        view = directory.view(await released_through(self._conn, guild_id))
        result = resolve(view, text)
        if isinstance(result, list):
            return NotFound(tuple(s.character.name for s in result), view.released)
        return Found(await self._card(guild_id, directory, view, result[0]))

    async def _card(self, guild_id: int, directory: Directory, view: CastView,
                    character: Character) -> CharacterCard:
        posted = {r.number: r for r in await released_chapters(self._conn, guild_id)}

        def ref(number: int) -> ChapterRef:
            release = posted.get(number)
            url = jump_url(guild_id, release.channel_id, release.first_message_id) if release else None
            return ChapterRef(number, directory.chapter_titles.get(number, ""), url)

        released = view.released
        assert character.first_chapter is not None  # a visible character has one
        return CharacterCard(
            # an alias already inside the name ('Stern' in 'Manfred Stern') tells the reader nothing new
            character.name, character.side,
            tuple(a for a in character.aliases_through(released)
                  if not _contains_words(search_key(character.name), search_key(a))),
            tuple((ref(chapter), note) for chapter, note in character.notes_through(released)),
            ref(character.first_chapter),
            tuple((ref(chapter), count) for chapter, count in character.mentions_through(released)),
            released,
        )

    async def roster(self, guild_id: int) -> Roster:
        directory = await self.directory()
        view = directory.view(await released_through(self._conn, guild_id))
        return Roster(view.released, tuple(
            RosterEntry(c.name, c.side, c.first_chapter or 0, view.total_mentions[c.key])
            for c in view.characters
        ), has_cast=bool(directory.characters))
