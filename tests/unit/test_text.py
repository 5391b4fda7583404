"""Discord's text rules in `bot.text`: escaping that shows text as written, lengths, cutting to fit."""

from __future__ import annotations

import pytest

from bot.chapters.render import PICTURE_MARK
from bot.text import (
    ZWSP,
    and_more,
    clip,
    clip_escaped,
    discord_len,
    echo_input,
    escape_markdown,
    lines_within,
    link_text,
    plural,
)
from tests.unit.test_chapters_render import unmark

# --- escaping -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "escaped"), [
    ("*italic* and **bold**", "\\*italic\\* and \\*\\*bold\\*\\*"),
    ("snake_case __under__", "snake\\_case \\_\\_under\\_\\_"),
    ("~~strike~~ ||spoiler|| `code`", "\\~\\~strike\\~\\~ \\|\\|spoiler\\|\\| \\`code\\`"),
    ("back\\slash", "back\\\\slash"),
    ("# Heading", "\\# Heading"),
    ("-# subtext", "\\-# subtext"),
    ("> quote", "\\> quote"),
    ("- item", "\\- item"),
    ("1. first", "1\\. first"),
    ("[masked](https://example.com)", "\\[masked](https://example.com)"),
    ("see https://example.com/a_b_c here", "see https://example.com/a_b_c here"),
    ("1931-35: a mid-line - dash > and # stay", "1931-35: a mid-line - dash > and # stay"),
    ("@everyone and @here", f"@{ZWSP}everyone and @{ZWSP}here"),
    ("<@123> <@!4> <@&5> <#6> </cmd:7> <t:8:R> <:e:9> <a:e:9>",
     f"<{ZWSP}@123> <{ZWSP}@!4> <{ZWSP}@&5> <{ZWSP}#6> <{ZWSP}/cmd:7> "
     f"<{ZWSP}t:8:R> <{ZWSP}:e:9> <{ZWSP}a:e:9>"),
    ("mail me@example.com, 3 < 4", "mail me@example.com, 3 < 4"),
])
def test_escape_markdown(raw: str, escaped: str) -> None:
    assert escape_markdown(raw) == escaped
    assert unmark(escaped).replace(ZWSP, "") == raw


def test_escaping_matches_discord_py_where_both_escape() -> None:
    """discord.py's own escaper (not importable from bot/) agrees on the inline marks."""
    import discord

    for raw in ("*a* **b** _c_ __d__ ~~e~~ ||f|| `g`", "x\\y", "# h", "> q"):
        assert escape_markdown(raw) == discord.utils.escape_markdown(raw)


def test_link_text_keeps_a_title_inside_its_link() -> None:
    assert link_text("The  [secret]\nwar") == "The \\[secret\\] war"


# --- lengths and cutting ----------------------------------------------------------------------------

def test_discord_len_counts_utf16_units() -> None:
    assert discord_len("abc") == 3
    assert discord_len("José") == 4
    assert discord_len(PICTURE_MARK) == 3  # U+1F5BC is two UTF-16 units, then VS16
    assert discord_len("😀😀") == 4


def test_clip_cuts_with_an_ellipsis_and_never_passes_the_limit() -> None:
    assert clip("short", 10) == "short"
    assert clip("exactly ten", 11) == "exactly ten"
    assert clip("a sentence too long", 10) == "a sentenc…"
    assert clip("word and more", 6) == "word…"  # the space before the cut is trimmed
    for limit in range(1, 30):
        assert len(clip("x y " * 20, limit)) <= limit


def test_clip_escaped_never_splits_an_escape() -> None:
    text = "a*b*c" * 10
    for limit in range(2, 40):
        cut = clip_escaped(text, limit)
        assert len(cut) <= limit and not cut.endswith("\\…")
    assert clip_escaped("*bold*", 100) == "\\*bold\\*"


def test_echo_input_quotes_at_most_sixty_characters() -> None:
    assert echo_input("Europe/Paris") == "Europe/Paris"
    assert len(echo_input("x" * 6000)) == 60 and echo_input("x" * 6000).endswith("…")


def test_plural() -> None:
    assert [plural(n, "chapter") for n in (0, 1, 2)] == ["0 chapters", "1 chapter", "2 chapters"]
    assert plural(2, "reply", "replies") == "2 replies"


def test_lines_within_keeps_whole_lines_and_counts_the_rest() -> None:
    lines = [f"line {i:02d}" for i in range(30)]
    assert lines_within(lines[:3], 100) == "line 00\nline 01\nline 02"
    text = lines_within(lines, 50)
    assert len(text) <= 50 and text.endswith(and_more(30 - text.count("line ")))
    shown = text.splitlines()
    assert shown[:-1] == lines[:len(shown) - 1]  # whole lines, in order
    custom = lines_within(lines, 50, lambda n: f"+{n} hidden").splitlines()
    assert custom[-1] == f"+{30 - (len(custom) - 1)} hidden" and len("\n".join(custom)) <= 50
