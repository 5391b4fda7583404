"""`bot.search.query`: member input becomes quoted FTS5 terms, or a clear refusal; never an FTS5 error."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.search.query import MAX_QUERY, SearchInputError, fold, parse


def test_words_are_quoted_and_the_last_one_is_a_prefix() -> None:
    query = parse("Rokossovsky tank")
    assert query.expression == '"rokossovsky" "tank"*'
    assert query.terms == ("rokossovsky", "tank") and query.prefix == "tank"


def test_a_phrase_in_quotes_keeps_its_common_words_and_is_not_a_prefix() -> None:
    query = parse('"shall not pass" Madrid')
    assert query.phrases == (("shall", "not", "pass"),)
    assert query.expression == '"shall not pass" "madrid"*'
    assert parse('"the Red Army"').expression == '"the red army"'


def test_common_words_are_dropped_outside_quotes() -> None:
    assert parse("the war in the east").terms == ("war", "east")


@pytest.mark.parametrize("typed", ["the", "The and OF", "it was what"])
def test_only_common_words_is_refused_clearly(typed: str) -> None:
    with pytest.raises(SearchInputError, match="only common words"):
        parse(typed)


@pytest.mark.parametrize("typed", ['"red army', 'Madrid "shall', '"'])
def test_an_unbalanced_quote_is_refused_clearly(typed: str) -> None:
    with pytest.raises(SearchInputError, match="does not close|Type a word"):
        parse(typed)


@pytest.mark.parametrize("typed", ["*", ":", "-", "^", "()", "  ", "**__~~"])
def test_no_words_at_all_is_refused_clearly(typed: str) -> None:
    with pytest.raises(SearchInputError, match="Type a word"):
        parse(typed)


@pytest.mark.parametrize("typed, expression", [
    ("Stalin AND Trotsky", '"stalin" "trotsky"*'),
    ("NEAR(Madrid", '"near" "madrid"*'),
    ("text:Madrid", '"text" "madrid"*'),
    ("-Franco ^Mola", '"franco" "mola"*'),
    ("army*", '"army"*'),
    ("Bukhárin", '"bukharin"*'),
])
def test_fts5_syntax_is_text(typed: str, expression: str) -> None:
    assert parse(typed).expression == expression


def test_a_one_letter_last_word_is_not_a_prefix() -> None:
    assert parse("Madrid x").expression == '"madrid" "x"'


def test_too_long_or_too_many_words_is_refused() -> None:
    with pytest.raises(SearchInputError, match="too long"):
        parse("a" * (MAX_QUERY + 1))
    with pytest.raises(SearchInputError, match="too many"):
        parse(" ".join(f"word{i}" for i in range(20)))


def test_the_echo_is_escaped() -> None:
    with pytest.raises(SearchInputError) as refused:
        parse('**the** "bold')
    assert "\\*\\*the\\*\\*" in str(refused.value)


def test_fold_matches_the_index() -> None:
    assert fold("Bukhárin") == "bukharin" and fold("ÉCOLE") == "ecole"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_input_is_refused_clearly_or_is_a_valid_fts5_expression(typed: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(text, tokenize = 'unicode61 remove_diacritics 2')")
    conn.execute("INSERT INTO t(text) VALUES ('Madrid shall be fascism''s grave')")
    try:
        query = parse(typed)
    except SearchInputError:
        return
    conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (query.expression,)).fetchall()
