"""A passage cut around its first match, escaped, with the matched words in bold.

Escape first, then bold: the story's own `*`, `_` or `#` must show as written, so every stretch of story
text is escaped on its own and only the `**` this module adds is markdown.  FTS5's `snippet()` is not used
for this reason: its markers would arrive mixed into unescaped text, where escaping afterwards would also
escape the markers and not escaping would let the story's markdown through.
"""

from __future__ import annotations

from bot.search.query import TOKEN, Query, fold
from bot.text import ELLIPSIS, escape_markdown

SNIPPET_CHARS = 160  # of story text around the first match
LEAD_CHARS = 50  # how much of that comes before the match, when there is text before it

Span = tuple[int, int]


def matched_spans(text: str, query: Query) -> list[Span]:
    """Where `text` has the query's words (a prefix for the last word) and phrases, in order."""
    found = [(m.start(), m.end(), fold(m.group(0))) for m in TOKEN.finditer(text)]
    marked = [False] * len(found)
    for i, (_, _, word) in enumerate(found):
        if word in query.terms or (query.prefix is not None and word.startswith(query.prefix)):
            marked[i] = True
    for phrase in query.phrases:
        n = len(phrase)
        for i in range(len(found) - n + 1):
            if tuple(w for _, _, w in found[i:i + n]) == phrase:
                marked[i:i + n] = [True] * n
    spans: list[Span] = []
    for (start, end, _), hit in zip(found, marked, strict=True):
        if hit and spans and not text[spans[-1][1]:start].strip():
            spans[-1] = (spans[-1][0], end)  # "red army" in bold as one: **red army**
        elif hit:
            spans.append((start, end))
    return spans


def snippet(text: str, query: Query, width: int = SNIPPET_CHARS) -> str:
    """The passage's text around its first match, on one line: escaped, matches in bold, "…" where cut."""
    text = " ".join(text.split())
    spans = matched_spans(text, query)
    first = spans[0] if spans else (0, 0)
    start = max(0, first[0] - LEAD_CHARS)
    if start > 0:  # begin at a word
        space = text.find(" ", start, first[0])
        start = space + 1 if space != -1 else first[0]
    end = min(len(text), max(start + width, first[1]))
    if end < len(text):
        space = text.rfind(" ", first[1], end + 1)
        end = space if space != -1 else end
    out = [ELLIPSIS] if start > 0 else []
    position = start
    for span_start, span_end in spans:
        if span_start < start or span_end > end:
            continue
        out.append(escape_markdown(text[position:span_start]))
        out.append(f"**{escape_markdown(text[span_start:span_end])}**")
        position = span_end
    out.append(escape_markdown(text[position:end]))
    if end < len(text):
        out.append(ELLIPSIS)
    return "".join(out)


def first_match(text: str, query: Query) -> str | None:
    """The first matched word as written in `text` (where a jump link looks for the passage)."""
    spans = matched_spans(text, query)
    return TOKEN.findall(text[spans[0][0]:spans[0][1]])[0] if spans else None
