"""Discord's text rules, in one place for every feature: its limits, markdown escaping, and cutting text
to fit.

Why one module: every reply the bot sends must stay inside the same limits and show story text as the
author wrote it.  When each feature kept its own copy of "2,000 characters" or its own "…" cut, the copies
drifted (one trimmed trailing spaces, one did not; one counted "…and N more" before the cut, one after).
Pure functions, no discord import, so the core features use them and tests check them without Discord.

Lengths here are Python `len` unless a function says otherwise; `discord_len` counts UTF-16 code units,
which is never below what Discord counts, for the places (the chapter renderer) that pack to the last
character.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

# --- Discord's limits (https://discord.com/developers/docs/resources/message, .../interactions) -------

MAX_CONTENT = 2000          # a message's content
MAX_EMBEDS = 10             # embeds in one message
MAX_TITLE = 256             # an embed's title
MAX_DESCRIPTION = 4096      # an embed's description
MAX_FIELDS = 25             # fields in one embed
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_EMBEDS_TOTAL = 6000     # title + description + fields + footer + author, across a message's embeds
MAX_BUTTON_LABEL = 80
MAX_CHOICES = 25            # autocomplete suggestions
MAX_CHOICE_NAME = 100       # an autocomplete suggestion's name (and a string value)
MAX_THREAD_NAME = 100
MAX_NONCE = 25              # a message nonce
ECHO_LIMIT = 60             # how much of a member's option value a reply quotes back

ELLIPSIS = "…"
ZWSP = "\u200b"

Escape = Callable[[str], str]


# --- escaping ----------------------------------------------------------------------------------------

_URL = r"(?:https?|steam)://[^\s<]+[^<.,:;\"'\]\s]"
_ESCAPE = re.compile(
    rf"(?P<url>{_URL})"
    r"|(?P<char>[\\*_~|`\[])"
    r"|(?P<mention>@(?=everyone\b|here\b))"
    r"|(?P<angle><(?=[@#/:]|a:|t:|id:))"
    r"|(?P<start>^[ \t]*(?:[#>-]|\+(?=\s)|\d+(?=\.\s|\.$)))",
    re.MULTILINE,
)


def _escape_match(match: re.Match[str]) -> str:
    kind = match.lastgroup
    text = match.group(0)
    if kind == "url":
        return text  # escaping inside a link would break it; Discord shows URLs as written anyway
    if kind == "char":
        return "\\" + text
    if kind in ("mention", "angle"):
        return text + ZWSP
    # Line-start markdown (headings, quotes, lists, subtext): escape its marker.
    stripped = text.lstrip(" \t")
    indent = text[: len(text) - len(stripped)]
    if stripped[0].isdigit():
        return indent + stripped + "\\"  # "1. x" → "1\. x": the backslash goes before the dot
    return indent + "\\" + stripped


def escape_markdown(text: str) -> str:
    """Text as Discord shows it literally: markdown escaped, URLs intact, mentions unable to ping.

    Every line start is treated as one (headings, quotes and lists only form there), so a piece of text
    can be escaped on its own and still be safe wherever a message happens to start with it.
    """
    return _ESCAPE.sub(_escape_match, text)


def link_text(text: str) -> str:
    """Story text inside `[...](url)`: escaped, with brackets that would end the link text escaped too."""
    return escape_markdown(" ".join(text.split())).replace("]", "\\]")


# --- lengths and cutting -----------------------------------------------------------------------------


def discord_len(text: str) -> int:
    """Length in UTF-16 code units: additive, and never below the count Discord checks its limits by."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending with "…" (trailing spaces trimmed) when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def clip_escaped(text: str, limit: int, escape: Escape = escape_markdown) -> str:
    """`escape(text)`, shortened with "…" so the escaped result is at most `limit` characters.

    The raw text is cut, never the escaped one, so an escape sequence is never split in half.
    """
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    keep = min(len(text), limit)
    while keep > 0:
        candidate = escape(text[:keep].rstrip()) + ELLIPSIS
        if len(candidate) <= limit:
            return candidate
        keep -= max(1, (len(candidate) - limit))
    return ELLIPSIS


def echo_input(text: str, limit: int = ECHO_LIMIT) -> str:
    """A member's option value quoted back in a reply, cut to `limit` characters.

    A string option takes up to 6,000 characters: quoted whole, a refusal would pass Discord's 2,000 and
    fail to send, leaving the member with the generic error instead of the reason.
    """
    return clip(text, limit)


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 chapter`, `2 chapters` (`many` for irregular plurals)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def and_more(count: int) -> str:
    """The tail that stands for lines left out."""
    return f"…and {count} more"


def lines_within(lines: Sequence[str], limit: int, more: Callable[[int], str] = and_more) -> str:
    """Join whole lines while they fit `limit`; the lines left out are summed up by `more(count)`.

    The tail is reserved before a line is taken, so the result (tail included) never passes `limit`.
    """
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        need = used + len(line) + (1 if out else 0)
        left_after = len(lines) - index - 1
        reserve = len(more(left_after)) + 1 if left_after else 0
        if need + reserve > limit:
            out.append(more(len(lines) - index))
            break
        out.append(line)
        used = need
    return clip("\n".join(out), limit)
