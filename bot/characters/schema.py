"""The cast file (`data/cast.toml`): its shape, and validation with every problem named at once.

A curated TOML file, like Red-DiscordBot's trivia lists: one `[[character]]` table per person with a
display name, the aliases and spellings the AAR uses, a side from the file's `sides` list, phrases that
contain an alias but do not mean the person, and per-chapter notes (what the story has told of them by
that chapter, so a look-up can show only what a guild has released).

    sides = ["Soviet Union", "Spanish Nationalists"]

    [[character]]
    key = "franco"
    name = "Francisco Franco"
    side = "Spanish Nationalists"
    aliases = ["Franco", { text = "Caudillo", case_sensitive = true }, { text = "the Caudillo", since = 2 }]
    not_matching = ["Franco-Prussian"]
    [character.notes]
    1 = "The general who crushed the Asturian miners in 1934."

An alias is matched in the text on word boundaries, ignoring accents, and ignoring case unless
`case_sensitive` (for aliases that are also common words: "Stern", "Marina", "Cannon"). An alias is
shown to readers from the first chapter whose text uses it; `since = N` declares that chapter for a
spelling the text never uses (a title, a transliteration). An alias with neither is a plain spelling of
the name, shown as soon as the person is.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.characters.text import search_key, words
from bot.config import SHIPPED_CAST
from bot.datafile import parse_toml, problems_error, read_file

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_NAME = 100  # an autocomplete choice's name and value are at most 100 characters
MAX_NOTE = 900  # a note fits an embed field (1,024) with room for its label
MAX_SIDE = 60
_TOP_KEYS = {"sides", "character"}
_CHARACTER_KEYS = {"key", "name", "side", "aliases", "not_matching", "notes"}
_ALIAS_KEYS = {"text", "case_sensitive", "since"}


class CastError(ValueError):
    """The cast file is invalid; the message lists every problem, one a line."""


@dataclass(frozen=True)
class Alias:
    """A way the text (or a reader) names a character."""

    text: str
    case_sensitive: bool = False
    since: int | None = None


@dataclass(frozen=True)
class CastMember:
    key: str
    name: str
    side: str
    aliases: tuple[Alias, ...] = ()
    not_matching: tuple[str, ...] = ()
    notes: Mapping[int, str] = field(default_factory=dict)

    @property
    def spellings(self) -> tuple[Alias, ...]:
        """The display name first (position 0), then the aliases in file order."""
        return (Alias(self.name), *self.aliases)


@dataclass(frozen=True)
class Cast:
    sides: tuple[str, ...]
    members: tuple[CastMember, ...]
    sha256: str = ""

    def member(self, key: str) -> CastMember:
        for m in self.members:
            if m.key == key:
                return m
        raise KeyError(key)


def load_cast(path: Path = SHIPPED_CAST) -> Cast:
    """Read and validate a cast file."""
    data = read_file(path, "cast file", CastError)
    return parse_cast(data, str(path))


def parse_cast(data: bytes | str, source: str = "cast.toml") -> Cast:
    """Validate the TOML text of a cast file; raise CastError naming every problem."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    document = parse_toml(raw, source, CastError)
    problems: list[str] = []
    cast = _validate(document, problems)
    if problems:
        raise problems_error(source, problems, CastError)
    return Cast(cast.sides, cast.members, hashlib.sha256(raw).hexdigest())


def _validate(document: dict[str, Any], problems: list[str]) -> Cast:
    for unknown in sorted(set(document) - _TOP_KEYS):
        problems.append(f"unknown top-level key {unknown!r} (expected: sides, character)")
    sides = _validate_sides(document.get("sides"), problems)
    entries = document.get("character")
    if not isinstance(entries, list) or not entries:
        problems.append("no [[character]] tables")
        return Cast(tuple(sides), ())
    members: list[CastMember] = []
    keys: set[str] = set()
    owners: dict[str, str] = {}  # search key of every name/alias/phrase -> who uses it
    for index, entry in enumerate(entries, 1):
        where = f"character #{index}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a table")
            continue
        if isinstance(entry.get("key"), str):
            where = f"character #{index} ({entry['key']!r})"
        member = _validate_member(entry, where, sides, problems)
        if member is None:
            continue
        if member.key in keys:
            problems.append(f"{where}: key {member.key!r} is used twice")
        keys.add(member.key)
        _claim_spellings(member, where, owners, problems)
        members.append(member)
    return Cast(tuple(sides), tuple(members))


def _validate_sides(value: Any, problems: list[str]) -> list[str]:
    if not isinstance(value, list) or not value:
        problems.append("`sides` must be a non-empty list of side names")
        return []
    sides: list[str] = []
    for side in value:
        if not isinstance(side, str) or not side.strip() or len(side) > MAX_SIDE:
            problems.append(f"side {side!r}: must be a non-empty string of at most {MAX_SIDE} characters")
        elif side in sides:
            problems.append(f"side {side!r} is listed twice")
        else:
            sides.append(side)
    return sides


def _validate_member(entry: dict[str, Any], where: str, sides: list[str],
                     problems: list[str]) -> CastMember | None:
    start = len(problems)
    for unknown in sorted(set(entry) - _CHARACTER_KEYS):
        problems.append(f"{where}: unknown key {unknown!r} (expected: {', '.join(sorted(_CHARACTER_KEYS))})")
    key = entry.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        problems.append(f"{where}: `key` must be lowercase letters, digits and dashes (at most 40), "
                        f"not {key!r}")
    name = entry.get("name")
    if not _is_name(name):
        problems.append(f"{where}: `name` must be a string with a letter, at most {MAX_NAME} characters")
    side = entry.get("side")
    if side not in sides:
        problems.append(f"{where}: side {side!r} is not one of the file's `sides`")
    aliases = tuple(_validate_aliases(entry.get("aliases", []), where, problems))
    not_matching = _validate_not_matching(entry.get("not_matching", []), where, problems)
    notes = _validate_notes(entry.get("notes"), where, problems)
    if len(problems) > start:
        return None
    assert isinstance(key, str) and isinstance(name, str) and isinstance(side, str)  # validated above
    member = CastMember(key, name, side, aliases, not_matching, notes)
    known = {search_key(a.text) for a in member.spellings}
    for phrase in not_matching:
        phrase_key = f" {search_key(phrase)} "
        if not any(f" {k} " in phrase_key for k in known):
            problems.append(f"{where}: not_matching phrase {phrase!r} contains none of the character's names")
    return None if len(problems) > start else member


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME and value == value.strip() \
        and bool(words(value)) and any(ch.isalpha() for ch in value)


def _validate_aliases(value: Any, where: str, problems: list[str]) -> list[Alias]:
    if not isinstance(value, list):
        problems.append(f"{where}: `aliases` must be a list")
        return []
    aliases = []
    for number, item in enumerate(value, 1):
        label = f"{where}: alias {number}"
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            problems.append(f"{label}: must be a string or a table with `text`")
            continue
        for unknown in sorted(set(item) - _ALIAS_KEYS):
            problems.append(f"{label}: unknown key {unknown!r} (expected: case_sensitive, since, text)")
        text, case_sensitive, since = item.get("text"), item.get("case_sensitive", False), item.get("since")
        if not _is_name(text):
            problems.append(f"{label}: `text` must be a string with a letter, at most {MAX_NAME} characters")
            continue
        if not isinstance(case_sensitive, bool):
            problems.append(f"{label} ({text!r}): `case_sensitive` must be true or false")
            continue
        if since is not None and (not isinstance(since, int) or isinstance(since, bool) or since < 1):
            problems.append(f"{label} ({text!r}): `since` must be a chapter number (1 or more)")
            continue
        assert isinstance(text, str)  # validated above
        aliases.append(Alias(text, case_sensitive, since))
    return aliases


def _validate_not_matching(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(_is_name(p) for p in value):
        problems.append(f"{where}: `not_matching` must be a list of phrases")
        return ()
    return tuple(value)


def _validate_notes(value: Any, where: str, problems: list[str]) -> dict[int, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{where}: `notes` must be a table of chapter number = text")
        return {}
    notes: dict[int, str] = {}
    for chapter, text in value.items():
        if not chapter.isdigit() or int(chapter) < 1:
            problems.append(f"{where}: note key {chapter!r} is not a chapter number")
        elif not isinstance(text, str) or not text.strip():
            problems.append(f"{where}: note for chapter {chapter} must be non-empty text")
        elif len(text) > MAX_NOTE:
            problems.append(f"{where}: note for chapter {chapter} is {len(text)} characters "
                            f"(at most {MAX_NOTE})")
        else:
            notes[int(chapter)] = " ".join(text.split())
    return dict(sorted(notes.items()))


def _claim_spellings(member: CastMember, where: str, owners: dict[str, str], problems: list[str]) -> None:
    """Every name, alias and not_matching phrase must be unambiguous across the whole cast (folded)."""
    own: set[str] = set()
    for text in [a.text for a in member.spellings] + list(member.not_matching):
        key = search_key(text)
        if key in own:
            problems.append(f"{where}: {text!r} repeats another of its spellings "
                            "once accents and case are ignored")
            continue
        own.add(key)
        if key in owners:
            problems.append(f"{where}: {text!r} is already a spelling of {owners[key]!r}")
        else:
            owners[key] = member.key
