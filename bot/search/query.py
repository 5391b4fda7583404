"""A member's `/search query:` → a safe FTS5 MATCH expression, or the sentence that says why not.

Member input is text, never an FTS5 expression: typed as is, `AND`, `NEAR(`, `*`, `:`, `-` or `^` would be
operators (or syntax errors) to FTS5.  So the query is tokenized here the way the index's `unicode61`
tokenizer does it (runs of letters and digits; everything else separates), common words are dropped,
and the expression is rebuilt from double-quoted terms and phrases only: `"red" "army"*`.  Inside double
quotes FTS5 reads nothing as an operator.  The last word also matches as a prefix, so a half-typed word
still finds its passage; words in quotes ("red army") must appear together, as written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.errors import UserError
from bot.text import echo_input, escape_markdown

MAX_QUERY = 200  # characters: far more than any passage search needs
MAX_TERMS = 12  # words and phrases; more only slows the match down without narrowing it usefully
MIN_PREFIX = 2  # "a*" would match most of the story

TOKEN = re.compile(r"[^\W_]+")

# Words too common to say what a passage is about: dropped from a query (kept inside a quoted phrase).
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that
the their theirs them themselves then there these they this those through to too under until up very was
we were what when where which while who whom why will with would you your yours yourself yourselves
""".split())


class SearchInputError(UserError):
    """The query cannot be searched as typed; the message says what to type instead."""


def fold(word: str) -> str:
    """How the index compares words: case folded, diacritics removed (`unicode61 remove_diacritics 2`)."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


@dataclass(frozen=True)
class Query:
    """What to look for: single words (folded) and phrases (tuples of folded words)."""

    text: str  # as the member typed it (stripped)
    terms: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]
    prefix: str | None  # the last word, matched as a prefix (also in `terms`)

    @property
    def expression(self) -> str:
        """The FTS5 MATCH expression: quoted terms and phrases, implicitly ANDed."""
        parts = [_quoted(" ".join(p)) for p in self.phrases]
        for term in self.terms:
            parts.append(_quoted(term) + ("*" if term == self.prefix else ""))
        return " ".join(parts)

    @property
    def words(self) -> list[str]:
        """Every word searched for, for the plain scan the benchmark compares with."""
        return [*self.terms, *(w for p in self.phrases for w in p)]


def quoted_input(text: str) -> str:
    """The member's query quoted back in a reply: cut to the echo limit, escaped, in curly quotes."""
    return f"\u201c{escape_markdown(echo_input(text))}\u201d"


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def parse(text: str) -> Query:
    """The query a member typed, or `SearchInputError` saying what is wrong with it."""
    text = unicodedata.normalize("NFC", text.strip())
    shown = quoted_input(text)
    if not tokens(text):
        raise SearchInputError("Type a word or a phrase to search the story for, like `Madrid` or "
                               "`\"red army\"`.")
    if len(text) > MAX_QUERY:
        raise SearchInputError(f"That search is too long: keep it under {MAX_QUERY} characters.")
    if text.count('"') % 2:
        raise SearchInputError(f"Your search {shown} opens a quote it does not close: put a phrase between "
                               "two quotes, like `\"red army\"`, or leave the quotes out.")
    terms: list[str] = []
    phrases: list[tuple[str, ...]] = []
    dropped: list[str] = []
    ends_with_word = not text.endswith('"')
    for index, segment in enumerate(text.split('"')):
        words = [fold(w) for w in tokens(segment)]
        if index % 2:  # inside quotes: a phrase, common words and all
            if len(words) == 1:
                terms.append(words[0])
            elif words:
                phrases.append(tuple(words))
            continue
        for word in words:
            if word in STOP_WORDS:
                dropped.append(word)
            elif word not in terms:
                terms.append(word)
    if not terms and not phrases:
        common = ", ".join(dict.fromkeys(dropped))
        raise SearchInputError(f"Your search {shown} has only common words ({common}), which are in "
                               "nearly every passage: add a word that says what you are "
                               "looking for, or put a phrase in quotes.")
    if len(terms) + len(phrases) > MAX_TERMS:
        raise SearchInputError(f"That search has too many words: use at most {MAX_TERMS}.")
    last = tokens(text.split('"')[-1]) if ends_with_word else []
    prefix = fold(last[-1]) if last and fold(last[-1]) in terms and len(last[-1]) >= MIN_PREFIX else None
    return Query(text, tuple(terms), tuple(phrases), prefix)
