"""Questions generated from the imported text, so any AAR has a quiz, not only the one the bank was
written for.

Three families, all checkable against the text they came from:

* cloze: one sentence of a chapter with a year, a number, a date, a place or a person blanked out.  The
  right option is what the sentence said; the three distractors are of the same kind, drawn from the
  same story (the chapters the caller allows, so never from an unreleased one), and none of them occurs
  in the sentence at all, so none can also fit the blank.
* who: "which of these people does chapter N name?" from the character index; the distractors are
  people the allowed chapters name but chapter N never does.
* chapter: "in which chapter does this happen?" for a sentence found in one chapter only, with other
  allowed chapters as distractors.

Everything here is pure and deterministic: the distractors of a question are drawn with a random
generator seeded by the question's key, so the same text always makes the same questions.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from bot.quiz.model import OPTION_COUNT, Question
from bot.text import clip

BLANK = "_____"
MIN_SENTENCE, MAX_SENTENCE = 40, 350
DISTRACTORS = OPTION_COUNT - 1
MAX_OPTION = 75
MAX_QUOTE = 300  # an explanation quotes its sentence whole up to this length
MAX_DRAWS = 60  # random distractor candidates tried for a question before giving it up

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
_MONTH = "|".join(MONTHS)
_ORD = r"(\d{1,2})(?:st|nd|rd|th)"
DATE_RE = re.compile(rf"\b(?:{_ORD} of ({_MONTH})|({_MONTH}) (?:the )?{_ORD})\b")
YEAR_RE = re.compile(r"(?<![\w.,'’-])(1[5-9]\d\d|20\d\d)(?![\w-]|[.,]\d)")
NUMBER_RE = re.compile(r"(?<![\w.,'’-])(\d{1,3}(?:[.,]\d{3})+|\d{2,})(?![\w-]|[.,]\d)")
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])[\"”']?\s+(?=[\"“']?[A-Z])")
_WORD = re.compile(r"\w+")
# A place: a capitalised word right after a preposition of place, and not followed by another capitalised word
# ("in Madrid", "to Burgos", not "in Spanish Africa").
PLACE_RE = re.compile(r"\b(?:in|at|to|into|toward|towards|from|near|outside of|around)"
                      r" ([A-Z][a-zà-ÿ]+(?:-[A-Z][a-zà-ÿ]+)?)\b(?! [A-Z])")
NOT_PLACES = frozenset({*MONTHS, "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
                        "The", "A", "An", "This", "That", "These", "Those", "His", "Her", "Their", "Its",
                        "Our", "It", "He", "She", "They", "We", "I", "Comrade", "General", "Marshal",
                        "President", "Christmas", "Deep", "Fascism", "Communism", "Socialism", "Capitalism",
                        "Bolshevikism"})
# Adjectives and -isms after a preposition ("to Mongolian units", "to Tsarist methods") are not places.
NOT_PLACE_ENDINGS = ("ian", "ans", "ist", "ists", "ish", "ese", "ism", "ic", "ics")
SIMILAR = 75  # rapidfuzz ratio from which two options read as the same word ("Zaragoza" / "Zaragosa")


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case- and accent-insensitive form, for "does this occur in the sentence?" checks."""
    if text.isascii():
        return text.casefold()
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return stripped.casefold()


@lru_cache(maxsize=65536)
def _word_pattern(folded_needle: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(folded_needle)}(?!\w)")


GRAM_WORDS = 4


@lru_cache(maxsize=65536)
def _needle_words(needle: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(fold(needle)))


@lru_cache(maxsize=4096)
def word_grams(text: str) -> frozenset[tuple[str, ...]]:
    """Every run of 1..4 consecutive words of `text`, folded: "does X occur here?" becomes a set look-up."""
    words = _WORD.findall(fold(text))
    return frozenset(tuple(words[i:i + n])
                     for n in range(1, GRAM_WORDS + 1) for i in range(len(words) - n + 1))


def occurs_fast(needle: str, haystack: str) -> bool:
    """Like `occurs`, at least as strict (any whole-word occurrence is found), by word-run look-up."""
    words = _needle_words(needle)
    if not words:
        return False
    if len(words) > GRAM_WORDS:
        return occurs(needle, haystack)
    return words in word_grams(haystack)


def occurs(needle: str, haystack: str) -> bool:
    """`needle` occurs in `haystack` as whole words, ignoring case and accents."""
    n = fold(needle).strip()
    if not n:
        return False
    return _word_pattern(n).search(fold(haystack)) is not None


def number_value(text: str) -> int:
    return int(re.sub(r"[.,]", "", text))


def date_key(match: re.Match[str]) -> tuple[int, str]:
    """(day, month) of a DATE_RE match, whichever way round it was written."""
    if match.group(1):
        return int(match.group(1)), match.group(2)
    return int(match.group(4)), match.group(3)


def date_label(day: int, month: str) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix} of {month}"


@dataclass(frozen=True)
class SourceChapter:
    """A chapter's story text as the quiz sees it: paragraphs and captions (not the author's notes)."""

    number: int
    title: str
    texts: tuple[str, ...]


@dataclass(frozen=True)
class Person:
    """A character from the index: display name, the spellings the text uses, the chapters naming them."""

    key: str
    name: str
    spellings: tuple[str, ...]
    chapters: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Sentence:
    chapter: int
    index: int
    text: str


@dataclass(frozen=True)
class Span:
    """Something found in a sentence: its kind, where it is, its canonical option text, and its identity."""

    kind: str
    start: int
    end: int
    label: str
    ident: object


@dataclass
class Pools:
    """Per kind, the candidate distractors: identity -> (option label, every way the text writes it)."""

    by_kind: dict[str, dict[object, tuple[str, set[str]]]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, span: Span, written: str) -> None:
        label, forms = self.by_kind[span.kind].setdefault(span.ident, (span.label, set()))
        forms.add(written)


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_SPLIT.split(text) if s.strip()]


def chapter_sentences(chapter: SourceChapter) -> list[Sentence]:
    out: list[Sentence] = []
    for text in chapter.texts:
        for sentence in split_sentences(text):
            out.append(Sentence(chapter.number, len(out), sentence))
    return out


def names_the_person(spelling: str, name: str) -> bool:
    """Whether a spelling is the person's name (or a misspelling of it), so blanking it blanks a name.

    Titles and noms de guerre ("Caudillo", "General Walter", "gravedigger of the revolution") are not:
    a question whose answer is "Francisco Franco" must have Franco's name in its sentence.  A lone given
    name ("José", "Frida") is too ambiguous to count either.
    """
    if not spelling[:1].isupper():
        return False
    name_words = [fold(w) for w in _WORD.findall(name) if len(w) > 2]
    spelling_words = [fold(w) for w in _WORD.findall(spelling)]
    if len(spelling_words) == 1 and len(name_words) > 1 and spelling_words[0] == name_words[0]:
        return False
    return any(fuzz.ratio(sw, nw) >= 80 for sw in spelling_words for nw in name_words)


class PersonFinder:
    """Finds the people of the index in a sentence (whole words, case as the index spells them).

    Only spellings that are the person's name are looked for (see `names_the_person`).
    """

    def __init__(self, people: Sequence[Person]) -> None:
        self.people = {p.key: p for p in people}
        owner: dict[str, str] = {}
        for person in people:
            for spelling in person.spellings:
                if names_the_person(spelling, person.name):
                    owner.setdefault(spelling, person.key)
        self.owner = owner
        self.name_words = frozenset(w for spelling in owner for w in word_grams(spelling) if len(w) == 1)
        alternatives = sorted(owner, key=len, reverse=True)
        self.pattern = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, alternatives)) + r")(?!\w)") \
            if alternatives else None

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, person key) for each mention in `text`."""
        if self.pattern is None:
            return []
        return [(m.start(), m.end(), self.owner[m.group(1)]) for m in self.pattern.finditer(text)]


def _is_place_word(word: str, finder: PersonFinder) -> bool:
    return (word not in NOT_PLACES and not word.endswith(NOT_PLACE_ENDINGS)
            and (fold(word),) not in finder.name_words)


def find_spans(sentence: str, finder: PersonFinder) -> list[Span]:
    """Every blankable thing in a sentence, non-overlapping (dates before the years and numbers in them)."""
    spans: list[Span] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    def add(span: Span) -> None:
        if free(span.start, span.end):
            spans.append(span)
            taken.append((span.start, span.end))

    for m in DATE_RE.finditer(sentence):
        day, month = date_key(m)
        if 1 <= day <= 31:
            add(Span("date", m.start(), m.end(), date_label(day, month), (day, month)))
    for start, end, key in finder.find(sentence):
        add(Span("person", start, end, finder.people[key].name, key))
    for m in YEAR_RE.finditer(sentence):
        add(Span("year", m.start(1), m.end(1), m.group(1), int(m.group(1))))
    for m in NUMBER_RE.finditer(sentence):
        value = number_value(m.group(1))
        if value >= 10 and not (1500 <= value <= 2099 and len(m.group(1)) == 4):
            add(Span("number", m.start(1), m.end(1), m.group(1), value))
    for m in PLACE_RE.finditer(sentence):
        word = m.group(1)
        if _is_place_word(word, finder):
            add(Span("place", m.start(1), m.end(1), word, word))
    return spans


def _seeded(key: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big"))


def _key(kind: str, chapter: int, *parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:12]
    return f"{kind}:{chapter}:{digest}"


def _assemble(key: str, chapter: int, prompt: str, right: str, distractors: list[str], explanation: str,
              source: str, kind: str, sentence: str) -> Question:
    options = [right, *distractors]
    order = list(range(OPTION_COUNT))
    _seeded(key + "/order").shuffle(order)
    return Question(key, chapter, prompt, tuple(options), 0, explanation, source, kind,  # type: ignore[arg-type]
                    sentence).shuffled(order)


def _quote(sentence: str, chapter: int, title: str) -> str:
    text = sentence if len(sentence) <= MAX_QUOTE else clip(sentence, MAX_QUOTE - 2)
    return f"“{text}” (chapter {chapter}, {title})"


class Generator:
    """Builds the questions for a set of chapters, with distractor pools from a (possibly wider) set."""

    def __init__(self, chapters: Sequence[SourceChapter], people: Sequence[Person] = ()) -> None:
        self.chapters = {c.number: c for c in chapters}
        self.people = [p for p in people if p.spellings]
        self.finder = PersonFinder(self.people)
        self.sentences = {c.number: chapter_sentences(c) for c in chapters}
        self.spans: dict[tuple[int, int], list[Span]] = {}
        self.pools = Pools()
        self.person_chapters: dict[str, set[int]] = defaultdict(set)
        # (chapter, person) -> first sentence naming them
        self.first_sentence: dict[tuple[int, str], str] = {}
        for number, sentences in self.sentences.items():
            for s in sentences:
                spans = find_spans(s.text, self.finder)
                self.spans[(number, s.index)] = spans
                for span in spans:
                    self.pools.add(span, s.text[span.start:span.end])
                    if span.kind == "person":
                        self.person_chapters[str(span.ident)].add(number)
                        self.first_sentence.setdefault((number, str(span.ident)), s.text)
        self._by_person = {p.key: p for p in self.people}
        self._named_in: dict[int, set[str]] = {}
        self._value_lists: dict[str, list[int]] = {}
        self._ident_lists: dict[str, list[object]] = {}
        self._sentence_counts: dict[str, int] | None = None

    def named_in(self, number: int) -> set[str]:
        """Everyone any of whose spellings (names, titles, all) occurs anywhere in chapter `number`."""
        named = self._named_in.get(number)
        if named is None:
            text = "\n".join(self.chapters[number].texts)
            named = {p.key for p in self.people if any(occurs_fast(sp, text) for sp in p.spellings)}
            self._named_in[number] = named
        return named

    # --- cloze ------------------------------------------------------------------------------------

    def _ways_written(self, kind: str, ident: object) -> set[str]:
        """Every way the story writes a candidate (and, for a person, every spelling the index knows)."""
        label, forms = self.pools.by_kind[kind][ident]
        ways = {label, *forms}
        if kind == "person":
            ways.update(self._by_person[str(ident)].spellings)
        return ways

    def _fits_nowhere(self, kind: str, ident: object, sentence: str, sentence_idents: set[object]) -> bool:
        """A distractor must not occur in the sentence in any form, nor be the same thing as anything in
        it."""
        if ident in sentence_idents:
            return False
        return not any(occurs_fast(way, sentence) for way in self._ways_written(kind, ident))

    def _candidates(self, span: Span, rng: random.Random) -> Iterator[object]:
        """Distractor candidates in the order to try them, without touching the whole pool.

        Numbers and years: nearest in order of magnitude first ("7000" beside "23.000", not beside "12"),
        walking out from the answer in the sorted pool.  Other kinds: random draws (a bounded number).
        """
        if span.kind in ("number", "year"):
            values = self._sorted_values(span.kind)
            target = int(span.ident)  # type: ignore[call-overload]
            log = math.log10(max(target, 1))
            i = bisect.bisect_left(values, target)
            lo, hi = i - 1, i
            while lo >= 0 or hi < len(values):
                down = abs(math.log10(max(values[lo], 1)) - log) if lo >= 0 else math.inf
                up = abs(math.log10(max(values[hi], 1)) - log) if hi < len(values) else math.inf
                if down <= up:
                    yield values[lo]
                    lo -= 1
                else:
                    yield values[hi]
                    hi += 1
            return
        idents = self._ident_list(span.kind)
        if len(idents) <= 4 * MAX_DRAWS:
            order = list(idents)
            rng.shuffle(order)
            yield from order
            return
        for _ in range(MAX_DRAWS):
            yield idents[rng.randrange(len(idents))]

    def _sorted_values(self, kind: str) -> list[int]:
        cached = self._value_lists.get(kind)
        if cached is None:
            cached = self._value_lists[kind] = sorted(int(v) for v in self.pools.by_kind[kind])  # type: ignore[call-overload]
        return cached

    def _ident_list(self, kind: str) -> list[object]:
        cached = self._ident_lists.get(kind)
        if cached is None:
            cached = self._ident_lists[kind] = sorted(self.pools.by_kind[kind], key=str)
        return cached

    def _distractors(self, span: Span, sentence: str, sentence_idents: set[object],
                     rng: random.Random) -> list[str]:
        pool = self.pools.by_kind[span.kind]
        numeric = span.kind in ("number", "year")
        chosen: list[str] = []
        labels = {fold(span.label)}
        for ident in self._candidates(span, rng):
            if ident == span.ident:
                continue
            label = pool[ident][0]
            if len(label) > MAX_OPTION or fold(label) in labels:
                continue
            if not numeric and any(fuzz.ratio(fold(label), seen) >= SIMILAR for seen in labels):
                continue
            if not self._fits_nowhere(span.kind, ident, sentence, sentence_idents):
                continue
            chosen.append(label)
            labels.add(fold(label))
            if len(chosen) == (DISTRACTORS * 3 if numeric else DISTRACTORS):
                break
        if len(chosen) < DISTRACTORS:
            return []
        return rng.sample(chosen, DISTRACTORS) if len(chosen) > DISTRACTORS else chosen

    def cloze(self, numbers: Iterable[int]) -> list[Question]:
        questions: list[Question] = []
        for number in numbers:
            chapter = self.chapters[number]
            for s in self.sentences.get(number, []):
                if not MIN_SENTENCE <= len(s.text) <= MAX_SENTENCE:
                    continue
                spans = self.spans[(number, s.index)]
                idents = {span.ident for span in spans}
                done: set[tuple[str, object]] = set()
                for span in spans:
                    if (span.kind, span.ident) in done or len(span.label) > MAX_OPTION:
                        continue
                    done.add((span.kind, span.ident))
                    key = _key("cloze", number, s.text, span.kind, span.ident)
                    distractors = self._distractors(span, s.text, idents, _seeded(key))
                    if not distractors:
                        continue
                    same = [x for x in spans if x.kind == span.kind and x.ident == span.ident]
                    prompt = s.text
                    for x in sorted(same, key=lambda x: x.start, reverse=True):
                        prompt = prompt[:x.start] + BLANK + prompt[x.end:]
                    questions.append(_assemble(
                        key, number, prompt, span.label, distractors, _quote(s.text, number, chapter.title),
                        "cloze", span.kind, s.text))
        return questions

    # --- who --------------------------------------------------------------------------------------

    def who(self, numbers: Iterable[int], allowed: set[int]) -> list[Question]:
        """"Which of these people does chapter N name?" — one question per chapter and person it names."""
        questions: list[Question] = []
        named_in_allowed = {key for key, chs in self.person_chapters.items() if chs & allowed}
        for number in numbers:
            chapter = self.chapters[number]
            named_here = self.named_in(number)
            for person in self.people:
                if number not in self.person_chapters.get(person.key, ()):
                    continue
                candidates = sorted(k for k in named_in_allowed if k not in named_here and k != person.key)
                if len(candidates) < DISTRACTORS:
                    continue
                key = _key("who", number, person.key)
                rng = _seeded(key)
                picked = rng.sample(candidates, DISTRACTORS)
                quote = self.first_sentence[(number, person.key)]
                prompt = f"Which of these people does chapter {number}, “{chapter.title}”, name?"
                questions.append(_assemble(
                    key, number, prompt, person.name, [self._by_person[k].name for k in picked],
                    _quote(quote, number, chapter.title), "who", "who", quote))
        return questions

    # --- which chapter ----------------------------------------------------------------------------

    def which_chapter(self, numbers: Iterable[int], allowed: set[int],
                      per_chapter: int = 6) -> list[Question]:
        """"In which chapter …?" for sentences naming someone or something, found in that chapter only."""
        others = sorted(n for n in allowed if n in self.chapters)
        if len(others) < OPTION_COUNT:
            return []
        seen = self._sentence_counts
        if seen is None:
            seen = defaultdict(int)
            for sentences in self.sentences.values():
                for s in sentences:
                    seen[fold(s.text)] += 1
            self._sentence_counts = seen
        questions: list[Question] = []
        for number in numbers:
            chapter = self.chapters[number]
            made = 0
            for s in self.sentences.get(number, []):
                if made >= per_chapter:
                    break
                if not MIN_SENTENCE <= len(s.text) <= MAX_SENTENCE or seen[fold(s.text)] != 1:
                    continue
                if not self.spans[(number, s.index)]:
                    continue
                key = _key("chapter", number, s.text)
                rng = _seeded(key)
                picked = rng.sample([n for n in others if n != number], DISTRACTORS)
                label: Callable[[int], str] = lambda n: _chapter_label(n, self.chapters[n].title)  # noqa: E731
                prompt = f"In which chapter does this happen? “{s.text}”"
                questions.append(_assemble(key, number, prompt, label(number), [label(n) for n in picked],
                                           f"It is in chapter {number}, “{chapter.title}”.", "chapter",
                                           "chapter", s.text))
                made += 1
        return questions


def _chapter_label(number: int, title: str) -> str:
    label = f"{number}. {title}"
    return clip(label, MAX_OPTION)
