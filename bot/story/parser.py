"""Forum export text → Story.

The export is a sequence of posts separated by a line holding a single no-break space. A chapter post
opens with its threadmark line and its title line; everything else is a reader's comment. Inside a
chapter: picture lines (a file name) are followed by their caption, short lines are section headings,
a `---`/`-----` rule starts the author's notes, and lines starting with `*` are footnotes (also notes).

The forum's reaction tally for a post (`  • 1Like` … `Reactions:`) and its `Last edited:` marker are
exported *after* the separator, at the top of the next post; they belong to the post before.

Exports of other threads open every post with its author's block (name, title, `27 Badges`, join date,
message and reaction counts, a bullet list of the games they own): it is dropped, or the author's name
would become a threadmark and their badges story text or a comment.

A chapter is usually long, but an interlude may be a picture and a line under its threadmark and title:
a short post is a chapter when it has a picture and its title names its threadmark (`Interlude` /
`Interlude: Madrid Burns.`), which a reader's reply seldom does.

Every input is bounded (`bot.story.limits`): a line, the chapters, the comments, a reaction count.
Crossing a bound is a `ParseError` naming it, never a crash half-way or minutes of work. The patterns run
on lines of up to `MAX_LINE_CHARS`, so none may backtrack more than linearly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.story.limits import MAX_CHAPTERS, MAX_COMMENTS, MAX_LINE_CHARS, MAX_REACTION_COUNT
from bot.story.model import Block, Chapter, Comment, Story
from bot.story.pictures import is_picture_name, picture_url

POST_SEPARATOR = "\u00a0"
# The kind is stripped afterwards: `([^\d\s].*?)\s*$` backtracked quadratically on inner whitespace.
REACTION_LINE = re.compile(r"^\s*•\s*(\d[\d,.]*)\s*([^\d\s].*)$")
BULLET = re.compile(r"^\s*•")
REACTIONS_LABEL = "Reactions:"
RULE = re.compile(r"^\s*-{3,}\s*$")
DEBRIS = (
    re.compile(r"^Last edited:.*$"),
    re.compile(r"^Click to expand\.*$"),
    re.compile(r"^Click to shrink\.*$"),
)
BANNER = re.compile(r"^\s*•\s*We have updated our Community Code of Conduct", re.IGNORECASE)

# The author block: up to AUTHOR_HEADER_LINES lines (name, title, a banner) then its detail lines.
AUTHOR_DETAILS = {
    "badges": re.compile(r"^\d[\d,.]* Badges?$", re.IGNORECASE),
    "joined": re.compile(  # Mar 3, 2014 · 3 Mar 2014 · 2014-03-03
        r"^Joined:?\s+(?:[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}|\d{1,2} [A-Z][a-z]{2,8}\.? \d{4}"
        r"|\d{4}-\d{2}-\d{2})$"),
    "messages": re.compile(r"^Messages:?\s+\d[\d,.]*$"),
    "reaction score": re.compile(r"^Reaction score:?\s+-?\d[\d,.]*$"),
    "points": re.compile(r"^Points:?\s+\d[\d,.]*$"),
}
AUTHOR_BADGE = re.compile(r"^•\s*\S")
AUTHOR_HEADER_LINES = 3
AUTHOR_HEADER_MAX_CHARS = 80
AUTHOR_MIN_DETAILS = 2

HEADING_MAX_CHARS = 60
CAPTION_MAX_CHARS = 400
THREADMARK_MAX_CHARS = 80
TITLE_MAX_CHARS = 160
CHAPTER_MIN_BODY_CHARS = 400
SHORT_CHAPTER_PUNCTUATION = re.compile(r"[!?,;]")


class ParseError(ValueError):
    """The text is not a forum export the importer can read."""


@dataclass
class _Post:
    lines: list[str]
    reactions: dict[str, int] = field(default_factory=dict)


def split_posts(text: str) -> list[_Post]:
    """Split the export into posts, moving each reaction tally onto the post it belongs to.

    Raises ParseError for a line longer than `MAX_LINE_CHARS` or an implausible reaction count, naming
    the line (counted from 1 in the file as given).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    raw_posts: list[list[tuple[int, str]]] = [[]]
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise ParseError(
                f"line {number} is {len(line):,} characters long (the limit is {MAX_LINE_CHARS:,})")
        if line.strip(" \t") == POST_SEPARATOR or (line and not line.strip() and POST_SEPARATOR in line):
            raw_posts.append([])
        else:
            raw_posts[-1].append((number, line.rstrip()))

    posts: list[_Post] = []
    for lines in raw_posts:
        body, tallies = _extract_tallies([(n, ln) for n, ln in lines if not _is_debris(ln)])
        post = _Post(_drop_author_block(body))
        for leading, tally in tallies:
            target = posts[-1] if (leading and posts) else post
            for kind, count in tally.items():
                target.reactions[kind] = target.reactions.get(kind, 0) + count
        if any(ln.strip() for ln in post.lines) or post.reactions:
            posts.append(post)
    return posts


def _is_debris(line: str) -> bool:
    stripped = line.strip()
    return bool(BANNER.match(line)) or any(p.match(stripped) for p in DEBRIS)


def _extract_tallies(lines: list[tuple[int, str]]) -> tuple[list[str], list[tuple[bool, dict[str, int]]]]:
    """Remove `• NKind` … `Reactions:` groups; report whether each led the post (came before any text).

    A count is read only once `Reactions:` closes the group: bullet lines left open are text after all,
    whatever number they start with.
    """
    body: list[str] = []
    tallies: list[tuple[bool, dict[str, int]]] = []
    pending: list[tuple[int, str, str]] = []  # (line number, kind, count as written)
    pending_lines: list[str] = []
    for number, line in lines:
        match = REACTION_LINE.match(line)
        if match:
            pending.append((number, match.group(2).strip(), match.group(1)))
            pending_lines.append(line)
            continue
        if line.strip() == REACTIONS_LABEL:
            if pending:
                tally: dict[str, int] = {}
                for line_number, kind, written in pending:
                    tally[kind] = tally.get(kind, 0) + _reaction_count(line_number, written)
                tallies.append((not any(ln.strip() for ln in body), tally))
            pending, pending_lines = [], []
            continue
        if pending_lines:  # bullet lines not closed by `Reactions:` are text after all
            body.extend(pending_lines)
            pending, pending_lines = [], []
        body.append(line)
    body.extend(pending_lines)
    return body, tallies


def _reaction_count(line_number: int, written: str) -> int:
    """The count of a tally line (`1,234`), refusing one no post has (and digits `int()` chokes on)."""
    digits = re.sub(r"[,.]", "", written).lstrip("0") or "0"  # 5,000 zeros are still too many for int()
    if len(digits) > len(str(MAX_REACTION_COUNT)) or int(digits) > MAX_REACTION_COUNT:
        shown = written if len(written) <= 24 else f"{written[:12]}…({len(digits):,} digits)"
        raise ParseError(
            f"line {line_number}: reaction count {shown} is not plausible"
            f" (the limit is {MAX_REACTION_COUNT:,})")
    return int(digits)


def _drop_author_block(lines: list[str]) -> list[str]:
    """The post without the author block it opens with, if it opens with one.

    A block is recognised by at least `AUTHOR_MIN_DETAILS` different detail lines (`27 Badges`, `Joined
    Mar 3, 2014`, `Messages 1,234`, ...) right after at most `AUTHOR_HEADER_LINES` short lines (name,
    title); it runs on through further detail lines and the bullet list of badges. Story text that only
    mentions joining or messages does not have that shape.
    """
    index = header = 0
    while index < len(lines):  # the name and title, blank lines between them or not
        stripped = lines[index].strip()
        if stripped:
            if (header == AUTHOR_HEADER_LINES or len(stripped) > AUTHOR_HEADER_MAX_CHARS
                    or _author_detail(stripped) is not None):
                break
            header += 1
        index += 1
    if header == 0:
        return lines
    kinds: set[str] = set()
    end = index
    while end < len(lines):
        stripped = lines[end].strip()
        kind = _author_detail(stripped)
        if kind is not None:
            kinds.add(kind)
        elif stripped and not (kinds and AUTHOR_BADGE.match(stripped)):
            break
        end += 1
    if len(kinds) < AUTHOR_MIN_DETAILS:
        return lines
    return lines[end:]


def _author_detail(line: str) -> str | None:
    stripped = line.strip()
    return next((kind for kind, pattern in AUTHOR_DETAILS.items() if pattern.match(stripped)), None)


def parse_thread(text: str) -> Story:
    """Parse a whole export. Raises ParseError when it holds no chapter, or crosses a bound."""
    chapters: list[Chapter] = []
    comments: list[Comment] = []
    seen_lines: set[str] = set()
    for post in split_posts(text):
        lines = _trim_blank(post.lines)
        if _looks_like_chapter(lines) and _norm(lines[0]) not in seen_lines:
            if len(chapters) == MAX_CHAPTERS:
                raise ParseError(
                    f"more than {MAX_CHAPTERS:,} chapters (the limit); the next is {lines[0].strip()!r}")
            chapter = Chapter(lines[0].strip(), lines[1].strip(), _parse_blocks(lines[2:]), post.reactions)
            chapters.append(chapter)
        else:
            if not lines:
                continue
            if len(comments) == MAX_COMMENTS:
                raise ParseError(f"more than {MAX_COMMENTS:,} reader comments (the limit)")
            quote, body = _split_quote(lines, seen_lines)
            comments.append(Comment(len(chapters) - 1 if chapters else None, body, quote))
        seen_lines.update(_norm(ln) for ln in lines if ln.strip())
    if not chapters:
        raise ParseError("no chapters found (a chapter post starts with its threadmark and title lines)")
    return Story(chapters, comments)


def _trim_blank(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _norm(line: str) -> str:
    return " ".join(line.split()).casefold()


def _words(line: str) -> set[str]:
    return {w for w in re.findall(r"\w+", line.casefold()) if len(w) >= 3 or w.isdigit()}


def _looks_like_chapter(lines: list[str]) -> bool:
    """A chapter post: a short threadmark, a title right under it, then a substantial body.

    Threadmark and title share a word (`Border War` / `The Border War.`); a body with pictures
    vouches for a threadmark that shares none. (A reply opening with a quoted line is ruled out by
    the caller: its first line repeats an earlier post.) A short body is a chapter only as an interlude:
    with a picture, under a title that names its threadmark. A bullet (`• 1Like` left unclosed) is
    never a threadmark or a title.
    """
    if len(lines) < 3 or not lines[0].strip() or not lines[1].strip():
        return False
    threadmark, title = lines[0].strip(), lines[1].strip()
    if len(threadmark) > THREADMARK_MAX_CHARS or len(title) > TITLE_MAX_CHARS:
        return False
    if BULLET.match(threadmark) or BULLET.match(title):
        return False
    if is_picture_name(threadmark) or is_picture_name(title):
        return False
    body = [ln.strip() for ln in lines[2:] if ln.strip()]
    has_picture = any(is_picture_name(ln) for ln in body)
    if sum(len(ln) for ln in body) < CHAPTER_MIN_BODY_CHARS:
        return has_picture and _title_names_threadmark(threadmark, title)
    return bool(_words(threadmark) & _words(title)) or has_picture


def _title_names_threadmark(threadmark: str, title: str) -> bool:
    """`Interlude` / `Interlude: Madrid Burns.`: every word of the threadmark (numbers aside) is in the
    title, and the threadmark is a label, not a sentence (`Great update!` / `Great update again`)."""
    if SHORT_CHAPTER_PUNCTUATION.search(threadmark) or threadmark.endswith("."):
        return False
    words = {w for w in _words(threadmark) if not w.isdigit()}
    return bool(words) and words <= _words(title)


def _parse_blocks(lines: list[str]) -> list[Block]:
    """Classify a chapter's body lines into blocks, keeping their order."""
    blocks: list[Block] = []
    items = [ln.strip() for ln in lines if ln.strip()]
    in_notes = False
    i = 0
    while i < len(items):
        line = items[i]
        nxt = items[i + 1] if i + 1 < len(items) else None
        if RULE.match(line):
            in_notes = True
        elif in_notes or line.startswith("*"):
            blocks.append(Block("note", line))
        elif is_picture_name(line):
            caption = ""
            if nxt is not None and _can_be_caption(nxt):
                caption = nxt
                i += 1
            blocks.append(Block("picture", caption, image_name=line, image_url=picture_url(line)))
        elif nxt is not None and _is_heading(line):
            blocks.append(Block("heading", line))
        else:
            blocks.append(Block("paragraph", line))
        i += 1
    return blocks


def _can_be_caption(line: str) -> bool:
    return (
        len(line) <= CAPTION_MAX_CHARS
        and not is_picture_name(line)
        and not RULE.match(line)
        and not line.startswith("*")
    )


def _is_heading(line: str) -> bool:
    """Section headings are short single-sentence lines ('Polarization.', '1936 Election.')."""
    if len(line) > HEADING_MAX_CHARS:
        return False
    inner = line.rstrip(".!?:")
    return not re.search(r"[.!?]\s", inner)


def _split_quote(lines: list[str], seen_lines: set[str]) -> tuple[str, str]:
    """Separate the leading lines a reply repeats from earlier posts (the quote) from its new words."""
    cut = 0
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if _norm(line) in seen_lines:
            cut = index + 1
        else:
            break
    quote = "\n".join(_trim_blank(lines[:cut]))
    body = "\n".join(_trim_blank(lines[cut:]))
    if not body:  # a post that only repeats earlier text: keep it as its own words
        return "", quote
    return quote, body
