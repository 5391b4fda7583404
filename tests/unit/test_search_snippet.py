"""`bot.search.snippet`: escape first, then bold the matches; cut around the first match."""

from __future__ import annotations

from bot.search.query import parse
from bot.search.snippet import first_match, matched_spans, snippet


def test_matches_are_bold_and_the_story_markdown_is_escaped() -> None:
    text = "The *Red* Army_ marched on **Madrid** with `tanks` > all."
    shown = snippet(text, parse("madrid"))
    assert shown == "The \\*Red\\* Army\\_ marched on \\*\\***Madrid**\\*\\* with \\`tanks\\` > all."


def test_a_phrase_is_bold_as_one_and_words_apart_are_not() -> None:
    text = "The red army met the Red  Army, and the army was red."
    shown = snippet(text, parse('"red army"'))
    assert shown == "The **red army** met the **Red Army**, and the army was red."


def test_prefix_and_diacritics() -> None:
    query = parse("bukh")
    assert snippet("Nikolai Bukhárin spoke.", query) == "Nikolai **Bukhárin** spoke."
    assert first_match("Nikolai Bukhárin spoke.", query) == "Bukhárin"


def test_long_text_is_cut_at_words_around_the_first_match() -> None:
    text = " ".join(f"w{i}" for i in range(200)) + " Guernica " + " ".join(f"x{i}" for i in range(200))
    shown = snippet(text, parse("guernica"))
    assert shown.startswith("…w") and shown.endswith("…")
    assert "**Guernica**" in shown
    assert len(shown) < 200
    assert " w1 " not in shown


def test_mentions_cannot_ping() -> None:
    shown = snippet("Then @everyone saw <@123> in Madrid", parse("madrid"))
    assert "@everyone" not in shown.replace("@\u200beveryone", "")
    assert "<\u200b@123>" in shown


def test_spans_are_word_boundaries_only() -> None:
    assert matched_spans("Madridistas in Madrid", parse('"madrid"')) == [(15, 21)]
