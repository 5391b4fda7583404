"""A drafted cast written out as a cast file (`bot.characters.schema`'s format), ready to edit.

The file loads as it is (`parse_cast` accepts it) so an editor can try it before touching it, but it is a
start: every character is on one placeholder side, with no notes.  The cast format has no field for the
chapter a person first appears in (the mention index finds it in the text, which is what keeps look-ups
spoiler-safe), so the draft says it in a comment above each character, in first-appearance order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.characters.draft import DraftCharacter

DRAFT_SIDE = "Unsorted"

_HEADER = """\
# A draft cast, written by `aar-bot cast draft` from the story's text: {count} recurring names, in the
# order the story first names them.  Edit it before use:
# - delete the entries that are not people (places, parties and armies slip through), and merge the ones
#   that are one person (copy the spellings into the one kept's `aliases`);
# - put everyone on a side: list the story's sides in `sides` and name one in each `side`;
# - `name` is what readers see; `aliases` are the spellings the text uses (found here) and any a reader
#   may type;
# - add `[character.notes]`: chapter number = what the story has told of the person by then, and never
#   more than that chapter tells.  A person is shown from the first chapter that names them (given in the
#   comment above each).
# The full rules are at the top of the shipped data/cast.toml.

sides = [{side}]
"""


def draft_file(characters: Sequence[DraftCharacter], *, side: str = DRAFT_SIDE) -> str:
    """The TOML text of a cast file holding `characters`, all on `side`."""
    parts = [_HEADER.format(count=len(characters), side=toml_string(side))]
    for character in characters:
        lines = [
            f"# first in chapter {character.first_chapter}; named {_times(character.mentions)}"
            f" in {_chapters(character.chapters)}",
            "[[character]]",
            f"key = {toml_string(character.key)}",
            f"name = {toml_string(character.name)}",
            f"side = {toml_string(side)}",
        ]
        if character.aliases:
            lines.append("aliases = [" + ", ".join(toml_string(a.text) for a in character.aliases) + "]")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but for DEL, which TOML wants escaped too."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _chapters(numbers: Sequence[int]) -> str:
    """'chapter 2', 'chapters 1, 3, 4'."""
    if len(numbers) == 1:
        return f"chapter {numbers[0]}"
    return "chapters " + ", ".join(str(n) for n in numbers)
