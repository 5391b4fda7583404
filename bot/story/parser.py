"""Forum export text → Story.

The export is a sequence of posts separated by a line holding a single no-break space. A chapter post
opens with its threadmark line and its title line; everything else is a reader's comment. Inside a
chapter: picture lines (a file name) are followed by their caption, short lines are section headings,
a `---`/`-----` rule starts the author's notes, and lines starting with `*` are footnotes (also notes).

The forum's reaction tally for a post (`  • 1Like` … `Reactions:`) and its `Last edited:` marker are
exported *after* the separator, at the top of the next post; they belong to the post before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.story.model import Block, Chapter, Comment, Story
from bot.story.pictures import is_picture_name, picture_url

POST_SEPARATOR = "\u00a0"
REACTION_LINE = re.compile(r"^\s*•\s*(\d[\d,.]*)\s*([^\d\s].*?)\s*$")
REACTIONS_LABEL = "Reactions:"
RULE = re.compile(r"^\s*-{3,}\s*$")
DEBRIS = (
    re.compile(r"^Last edited:.*$"),
    re.compile(r"^Click to expand\.*$"),
    re.compile(r"^Click to shrink\.*$"),
)
BANNER = re.compile(r"^\s*•\s*We have updated our Community Code of Conduct", re.IGNORECASE)

HEADING_MAX_CHARS = 60
CAPTION_MAX_CHARS = 400
THREADMARK_MAX_CHARS = 80
TITLE_MAX_CHARS = 160
CHAPTER_MIN_BODY_CHARS = 400


class ParseError(ValueError):
    """The text is not a forum export the importer can read."""


@dataclass
class _Post:
    lines: list[str]
    reactions: dict[str, int] = field(default_factory=dict)


def split_posts(text: str) -> list[_Post]:
    """Split the export into posts, moving each reaction tally onto the post it belongs to."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    raw_posts: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line.strip(" \t") == POST_SEPARATOR or (line and not line.strip() and POST_SEPARATOR in line):
            raw_posts.append([])
        else:
            raw_posts[-1].append(line.rstrip())

    posts: list[_Post] = []
    for lines in raw_posts:
        body, tallies = _extract_tallies([ln for ln in lines if not _is_debris(ln)])
        post = _Post(body)
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


def _extract_tallies(lines: list[str]) -> tuple[list[str], list[tuple[bool, dict[str, int]]]]:
    """Remove `• NKind` … `Reactions:` groups; report whether each led the post (came before any text)."""
    body: list[str] = []
    tallies: list[tuple[bool, dict[str, int]]] = []
    pending: dict[str, int] = {}
    pending_lines: list[str] = []
    for line in lines:
        match = REACTION_LINE.match(line)
        if match:
            kind = match.group(2).strip()
            pending[kind] = pending.get(kind, 0) + int(re.sub(r"[,.]", "", match.group(1)))
            pending_lines.append(line)
            continue
        if line.strip() == REACTIONS_LABEL:
            if pending:
                tallies.append((not any(ln.strip() for ln in body), pending))
            pending, pending_lines = {}, []
            continue
        if pending_lines:  # bullet lines not closed by `Reactions:` are text after all
            body.extend(pending_lines)
            pending, pending_lines = {}, []
        body.append(line)
    body.extend(pending_lines)
    return body, tallies


def parse_thread(text: str) -> Story:
    """Parse a whole export. Raises ParseError when it holds no chapter."""
    chapters: list[Chapter] = []
    comments: list[Comment] = []
    seen_lines: set[str] = set()
    for post in split_posts(text):
        lines = _trim_blank(post.lines)
        if _looks_like_chapter(lines) and _norm(lines[0]) not in seen_lines:
            chapter = Chapter(lines[0].strip(), lines[1].strip(), _parse_blocks(lines[2:]), post.reactions)
            chapters.append(chapter)
        else:
            if not lines:
                continue
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
    the caller: its first line repeats an earlier post.)
    """
    if len(lines) < 3 or not lines[0].strip() or not lines[1].strip():
        return False
    threadmark, title = lines[0].strip(), lines[1].strip()
    if len(threadmark) > THREADMARK_MAX_CHARS or len(title) > TITLE_MAX_CHARS:
        return False
    if is_picture_name(threadmark) or is_picture_name(title):
        return False
    body = [ln.strip() for ln in lines[2:] if ln.strip()]
    body_chars = sum(len(ln) for ln in body)
    if body_chars < CHAPTER_MIN_BODY_CHARS:
        return False
    has_picture = any(is_picture_name(ln) for ln in body)
    return bool(_words(threadmark) & _words(title)) or has_picture


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
