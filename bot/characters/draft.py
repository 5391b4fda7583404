"""A starting cast for a story that has none: the recurring capitalised names in its chapters.

`aar-bot cast draft` writes what this finds as a cast file (`bot.characters.draft_file`) for an author or a
moderator to edit: sort people into sides, delete the places and parties that slipped through, write the
notes.  So it aims for a short list that is mostly people, each with the spellings the text uses, rather
than for every proper noun.

A pure function over the chapter texts (number, text), like the mention index, so it works on any story.
How a name is told from the rest, with no language model:

* Only capitalised words not at a sentence start count, unless the same word is also seen capitalised
  mid-sentence ("Following his death" is not a name; "Petrov ordered" at a sentence start still counts).
  Title-case lines (chapter titles, headings) count the same way as sentence starts.
* Adjacent capitalised words make one name ("Ivan Petrov", "de" and "von" may join them); its last
  word is the surname that groups it with every other spelling ("Petrov", "General Petrov").  Titles in
  front ("General", "Marshal", "King") are dropped and are evidence of a person.
* Not a person's surname: stop words (function words, months, titles); a word the text also writes in
  lower case ("Army", "Navy"); all capitals (NATO, UN); demonyms and -isms ("French", "Marxist"),
  and any word whose plural the text also capitalises ("Roman"/"Romans"); a word mostly after "the"
  (a party, a country's regime); countries and continents, and a word often after "in", "at", "near"...
  (a place), unless a title vouches for it.
* Spelling variants are grouped by rapidfuzz ("Ivanovsky"/"Ivanovky", "Ivanovsky"/"Ivanovskii").
* A group is kept when it recurs: at least `min_mentions` times or in `min_chapters` chapters.

Which chapter first names each person is then counted by the mention index's own matcher over the draft
cast, so it is exactly the chapter from which the bot will show them (spoiler safety).  No spelling needs
`case_sensitive`: a word the text also writes in lower case is never taken for a name.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.characters.index import MentionMatcher
from bot.characters.schema import MAX_NAME, Alias, Cast, CastMember
from bot.characters.text import fold as _fold
from bot.characters.text import search_key

MIN_MENTIONS = 3
MIN_CHAPTERS = 2
SIMILAR = 85.0  # rapidfuzz ratio from which two surnames read as spellings of one ("Ivanovsky"/"Ivanovskii")
MIN_FUZZY_LEN = 5  # shorter surnames group only when they fold to the same letters ("Lin" is not "Liu")
PLACE_SHARE = 0.2  # a word this often after "in", "at", "near"... is a place
THE_SHARE = 0.3  # a word this often after "the" is a party, an army, a regime
LOWER_SHARE = 4  # a word written in lower case once for every 4 capitalised uses is an ordinary word
TITLE_CASE_SHARE = 0.6  # a short line with this share of its words capitalised is a title or a heading
TITLE_MAX_WORDS = 15

# A word: letters, with inner hyphens and apostrophes ("Saint-Just", "O'Neill"); digits are not words.
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"[’']s$")
_ROMAN = re.compile(r"^(?=[IVXLC])M*(?:C[MD]|D?C{0,3})(?:X[CL]|L?X{0,3})(?:I[XV]|V?I{0,3})$")
_RUN_GAP = re.compile(r"^ +$")  # what may separate two words of one name: spaces only

def _load_words() -> dict[str, frozenset[str]]:
    with (Path(__file__).parent / "draft_words.toml").open("rb") as file:
        return {name: frozenset(words) for name, words in tomllib.load(file).items()}


_LISTS = _load_words()  # the stop lists: data beside this module (draft_words.toml)
TITLES = _LISTS["titles"]
PLACE_TITLES = _LISTS["place_titles"]
PLACES = _LISTS["places"]
CONNECTORS = _LISTS["connectors"]
_PLACE_PREPOSITIONS = _LISTS["place_prepositions"]
STOP_WORDS = _LISTS["function_words"] | _LISTS["calendar"] | _LISTS["institutions"] | TITLES | PLACE_TITLES
# Demonyms, -isms and followers; not the endings of common surnames too ("-ans", "-ite"): a plural the text
# capitalises catches those demonyms anyway.
_GROUP_ENDINGS = ("ist", "ists", "ism", "isms", "ese", "ish", "ian", "ians", "ics", "ites")


@dataclass(frozen=True)
class DraftCharacter:
    """One person the draft proposes: a display name, the other spellings the text uses, where they appear."""

    key: str
    name: str
    aliases: tuple[Alias, ...]
    first_chapter: int
    mentions: int
    chapters: tuple[int, ...]


@dataclass
class _Word:
    """What the text does with one capitalised word (by its folded form), over the whole story."""

    sure: int = 0  # capitalised where only a name would be (mid-sentence, not in a title-case line)
    unsure: int = 0  # capitalised at a sentence start or in a title-case line
    lower: int = 0  # written in lower case
    after_the: int = 0
    after_place: int = 0
    titled: int = 0  # right after a title ("General Petrov")
    place_titled: int = 0  # right after a place title ("Lake Baikal")

    @property
    def capitalised(self) -> int:
        return self.sure + self.unsure

    @property
    def common(self) -> bool:
        """An ordinary word the text capitalises at times ("Navy"); a lower-case typo of a name is not."""
        return self.lower * LOWER_SHARE >= max(1, self.capitalised)


@dataclass(frozen=True)
class _Token:
    text: str  # possessive dropped
    gap: str  # the text between the previous word (or the line's start) and this one
    sure: bool  # capitalised where only a name would be


@dataclass
class _Group:
    """The spellings of one surname and its variants, with how often and where each occurs."""

    surnames: set[str] = field(default_factory=set)  # folded
    spellings: Counter[str] = field(default_factory=Counter)  # as written → occurrences
    chapters: set[int] = field(default_factory=set)


def draft_cast(chapters: Sequence[tuple[int, str]], *, min_mentions: int = MIN_MENTIONS,
               min_chapters: int = MIN_CHAPTERS) -> list[DraftCharacter]:
    """The recurring names of `chapters` ((number, text), any order), by first chapter then frequency."""
    lines = [(number, line) for number, text in sorted(chapters) for line in text.splitlines()]
    tokenized = [(number, _tokens(line)) for number, line in lines]
    words = _word_stats(tokenized)
    groups = _groups(_name_runs(tokenized, words), words)
    kept = [g for g in groups if sum(g.spellings.values()) >= min_mentions or len(g.chapters) >= min_chapters]
    return _located(kept, chapters)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """`bot.characters.text.fold`, remembered: a story repeats its words."""
    return _fold(text)


# --- reading the text ---------------------------------------------------------------------------------


def _tokens(line: str) -> list[_Token]:
    found = list(_WORD.finditer(line))
    title_case = _is_title_case([m.group() for m in found])
    tokens: list[_Token] = []
    end = 0
    for match in found:
        gap = line[end:match.start()]
        end = match.end()
        text = _POSSESSIVE.sub("", match.group())
        starts_sentence = not tokens or gap.strip(" ,") != ""  # after anything but spaces and commas
        tokens.append(_Token(text, gap, not title_case and not starts_sentence))
    return tokens


def _is_title_case(words: list[str]) -> bool:
    """A short line most of whose longer words are capitalised: a title or a heading, not prose."""
    long_words = [w for w in words if len(w) > 3]
    capitalised = sum(w[0].isupper() for w in long_words)
    return (len(words) <= TITLE_MAX_WORDS and capitalised >= 3
            and capitalised >= TITLE_CASE_SHARE * len(long_words))


def _word_stats(tokenized: Iterable[tuple[int, list[_Token]]]) -> dict[str, _Word]:
    words: dict[str, _Word] = defaultdict(_Word)
    for _, tokens in tokenized:
        for index, token in enumerate(tokens):
            key = fold(token.text)
            if not token.text[0].isupper():
                words[key].lower += 1
                continue
            word = words[key]
            if token.sure:
                word.sure += 1
            else:
                word.unsure += 1
            before = tokens[index - 1].text if index and _RUN_GAP.match(token.gap) else ""
            previous = fold(before)
            word.after_the += previous == "the"
            word.after_place += previous in _PLACE_PREPOSITIONS
            if before[:1].isupper():  # "Marshal Petrov", not "a major French port"
                word.titled += _is_title(previous)
                word.place_titled += previous in PLACE_TITLES
    return words


def _name_runs(tokenized: Iterable[tuple[int, list[_Token]]],
               words: dict[str, _Word]) -> Iterable[tuple[int, list[str]]]:
    """(chapter, words of one name as written): runs of capitalised words, titles and stop words cut off."""
    for number, tokens in tokenized:
        run: list[_Token] = []
        for token in [*tokens, _Token("", ".", False)]:
            joins = run and _RUN_GAP.match(token.gap) and (token.text[:1].isupper()
                                                           or token.text in CONNECTORS)
            if joins:
                run.append(token)
                continue
            name = _trim(run, words)
            if name:
                yield number, name
            run = [token] if token.text[:1].isupper() else []


def _trim(run: list[_Token], words: dict[str, _Word]) -> list[str]:
    """The name inside a run of capitalised words: after its last title, without stop words around it."""
    texts = [t.text for t in run]
    folded = [fold(t) for t in texts]
    if any(f in PLACE_TITLES for f in folded[:-1]):
        return []  # "Lake Baikal", "San Remo", "Operation Overlord"
    titled = [i for i, f in enumerate(folded) if _is_title(f)]
    start = titled[-1] + 1 if titled else 0
    # a sentence start ("Despite Petrov"), an adjective ("Russian Petrov"): not part of the name
    while start < len(texts) and not (texts[start][0].isupper() and _may_name(texts[start], words)):
        start += 1
    end = len(texts)
    while end > start and not (texts[end - 1][0].isupper() and _may_name(texts[end - 1], words)):
        end -= 1  # "Petrov Offensive"
    return _first_and_last(texts[start:end])


def _first_and_last(name: list[str]) -> list[str]:
    """At most a first name and a surname (with "de", "von"... and a regnal number): "Ivan Petrov", not
    "Cruiser Ivan Petrov"."""
    capitals = [i for i, text in enumerate(name) if text[0].isupper() and not _ROMAN.match(text)]
    if len(capitals) <= 2:
        return name
    return name[capitals[-2]:]


def _is_title(folded: str) -> bool:
    return all(part in TITLES for part in folded.split("-"))  # "Prime-Minister" too


def _may_name(text: str, words: dict[str, _Word]) -> bool:
    """A word that may be part of a person's name (a first name or a surname) as far as spelling goes."""
    key = fold(text)
    if key in STOP_WORDS or (len(text) > 1 and text.isupper() and not _ROMAN.match(text)):
        return False
    if not text[0].isupper():
        return text in CONNECTORS
    if _is_title(key):
        return False
    word = words[key]
    return not word.common and word.sure + word.titled > 0 and not _is_group_word(key, words)


# --- grouping names into people --------------------------------------------------------------------------


def _surname(name: list[str]) -> str:
    """The word a name is grouped by: its last, or the one before a regnal number ("Alfonso XIII")."""
    if len(name) > 1 and _ROMAN.match(name[-1]):
        return fold(name[-2])
    return fold(name[-1])


def _is_surname(key: str, words: dict[str, _Word]) -> bool:
    """Whether a folded word may be a person's surname, from how the whole text uses it."""
    word = words[key]
    seen = word.capitalised
    if key in STOP_WORDS or word.common or not seen:
        return False
    if word.titled:
        return True  # "General X": a person, whatever else the text does with the word
    if key in PLACES or word.place_titled:
        return False
    if any(part in PLACES or part in STOP_WORDS or _is_group_word(part, words) for part in key.split("-")):
        return False
    return word.after_the < THE_SHARE * seen and word.after_place < PLACE_SHARE * seen


def _is_group_word(key: str, words: dict[str, _Word]) -> bool:
    """A demonym, an -ism, a party: a word with a group's ending, or whose plural the text capitalises too."""
    if key.endswith(_GROUP_ENDINGS):
        return True
    plural = words.get(key + "s")
    if plural is not None and plural.capitalised:
        return True
    return key.endswith("s") and key[:-1] in words and words[key[:-1]].capitalised > 0


def _groups(runs: Iterable[tuple[int, list[str]]], words: dict[str, _Word]) -> list[_Group]:
    by_surname: dict[str, _Group] = {}
    for number, name in runs:
        surname = _surname(name)
        if not _is_surname(surname, words) or len(" ".join(name)) > MAX_NAME:
            continue
        group = by_surname.setdefault(surname, _Group({surname}))
        group.spellings[" ".join(name)] += 1
        group.chapters.add(number)
    return _merge_variants(list(by_surname.values()))


def _merge_variants(groups: list[_Group]) -> list[_Group]:
    """Join the groups whose surnames are spelling variants of each other (union-find over rapidfuzz)."""
    parent = list(range(len(groups)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    surnames = [next(iter(g.surnames)) for g in groups]
    buckets: dict[str, list[int]] = defaultdict(list)  # variants share their first letter
    for i, surname in enumerate(surnames):
        if len(surname) >= MIN_FUZZY_LEN:
            buckets[surname[0]].append(i)
    for members in buckets.values():
        choices = [surnames[i] for i in members]
        for position, i in enumerate(members):
            # rapidfuzz compares one surname with its whole bucket in C++: linear passes, not a Python n²
            for _, _, other in process.extract(surnames[i], choices[position + 1:], scorer=fuzz.ratio,
                                               processor=None, score_cutoff=SIMILAR, limit=None):
                parent[root(members[position + 1 + other])] = root(i)
    merged: dict[int, _Group] = {}
    for i, group in enumerate(groups):
        target = merged.setdefault(root(i), _Group())
        target.surnames |= group.surnames
        target.spellings.update(group.spellings)
        target.chapters |= group.chapters
    return list(merged.values())


# --- the draft: names, aliases, and where the index will find them ------------------------------------


def _located(groups: list[_Group], chapters: Sequence[tuple[int, str]]) -> list[DraftCharacter]:
    """Characters for the kept groups, with first chapter and mentions counted as the mention index counts."""
    members: list[CastMember] = []
    owners: set[str] = set()  # search keys already used by some character (the cast file requires it)
    keys: set[str] = set()
    for group in sorted(groups, key=lambda g: (-sum(g.spellings.values()), _display(g))):
        distinct: dict[str, str] = {}  # search key → the first spelling with it
        for spelling in _ordered_spellings(group):
            if search_key(spelling) and search_key(spelling) not in owners:
                distinct.setdefault(search_key(spelling), spelling)
        if not distinct:
            continue
        owners |= set(distinct)
        name, *aliases = distinct.values()
        members.append(CastMember(_key(group, keys), name, "", tuple(Alias(a) for a in aliases)))
    matcher = MentionMatcher(Cast(("",), tuple(members)))
    found: dict[str, dict[int, int]] = defaultdict(dict)
    for number, text in sorted(chapters):
        for (key, _), count in matcher.count(text).items():
            found[key][number] = found[key].get(number, 0) + count
    drafted = [
        DraftCharacter(m.key, m.name, m.aliases, min(found[m.key]), sum(found[m.key].values()),
                       tuple(sorted(found[m.key])))
        for m in members if found.get(m.key)
    ]
    return sorted(drafted, key=lambda c: (c.first_chapter, -c.mentions, c.name))


def _ordered_spellings(group: _Group) -> list[str]:
    """The display name first (the fullest spelling the text uses), then the others, most used first."""
    display = _display(group)
    rest = sorted(group.spellings, key=lambda s: (-group.spellings[s], s))
    return [display, *(s for s in rest if s != display)]


def _display(group: _Group) -> str:
    """The longest spelling (by words) the text uses, the most used among those: "Ivan Petrov"."""
    return max(group.spellings, key=lambda s: (len(s.split()), group.spellings[s], s))


def _key(group: _Group, taken: set[str]) -> str:
    """A cast key from the most used surname: lowercase ASCII letters, digits and dashes, unique."""
    surname = max(group.surnames, key=lambda s: (sum(n for sp, n in group.spellings.items()
                                                     if fold(sp).endswith(s)), s))
    base = re.sub(r"[^a-z0-9]+", "-", surname).strip("-")[:36] or "character"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}-{n}"
    taken.add(key)
    return key
