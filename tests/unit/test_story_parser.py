"""The parser on exports the tests build: short chapters, author blocks, reaction tallies and bounds."""

from __future__ import annotations

import time

import pytest

from bot.story.limits import MAX_CHAPTERS, MAX_LINE_CHARS, MAX_REACTION_COUNT
from bot.story.parser import ParseError, parse_thread

SEP = "\u00a0"
STORY = (
    "The winter offensive ground on through the snow while the commissars argued over maps in Moscow. "
    "Every report from the front spoke of frozen rifles, of tanks without fuel, of men who would not yield. "
)


def export(*posts: str) -> str:
    """Posts joined the way the forum's export joins them: a line holding a single no-break space."""
    return f"\n{SEP}\n".join(post.strip("\n") for post in posts) + "\n"


def chapter(threadmark: str, title: str, *, paragraphs: int = 4, picture: str = "8a0ixvo.jpg") -> str:
    body = "\n\n".join(STORY for _ in range(paragraphs))
    return f"{threadmark}\n{title}\n\nThe Front.\n\n{picture}\n\nSoviet tanks near the river.\n\n{body}\n"


def author(name: str, title: str = "Field Marshal", *badges: str) -> str:
    """The author block XenForo prints at the top of each post, as a text export keeps it."""
    badges = badges or ("Hearts of Iron IV", "Europa Universalis IV")
    badge_lines = "\n".join(f"  • {badge}" for badge in badges)
    return (
        f"{name}\n{title}\n{len(badges) + 25} Badges\nJoined Mar 3, 2014\nMessages 1,234\n"
        f"Reaction score 5,678\n{badge_lines}\n"
    )


TALLY = "  • 1Like\nReactions:\n"
KHASAN = "Battle_of_Lake_Khasan-Camouflaged_soviet_tanks.jpg"


# --- short chapters ---------------------------------------------------------------------------------


def test_a_short_interlude_with_one_picture_is_a_chapter():
    text = export(
        chapter("Chapter 1", "Chapter 1: The Long Winter."),
        "Great update, more please!",
        "Interlude\nInterlude: Madrid Burns.\n\nmadrid_burning.jpg\nThe city at night.\n\nNo pasarán.",
        "What a picture!",
        chapter("Chapter 2", "Chapter 2: Spring Thaw."),
    )
    story = parse_thread(text)
    assert [c.threadmark for c in story.chapters] == ["Chapter 1", "Interlude", "Chapter 2"]
    interlude = story.chapters[1]
    assert interlude.title == "Interlude: Madrid Burns."
    assert [(b.kind, b.text) for b in interlude.blocks] == [
        ("picture", "The city at night."), ("paragraph", "No pasarán.")]
    assert interlude.pictures[0].image_name == "madrid_burning.jpg"
    assert [(c.chapter_index, c.body) for c in story.comments] == [
        (0, "Great update, more please!"), (1, "What a picture!")]


@pytest.mark.parametrize(
    "reply",
    [
        "Great update!\nThat map of Madrid is brilliant.\nmadrid-map.jpg",
        "Another update\nAnother great read, thanks\nmeme.png\nkeep going",
        "Loved it\nMore please",
        "lol\nlatest\nme reading this",
    ],
)
def test_a_short_reply_is_still_a_comment(reply):
    story = parse_thread(export(chapter("Chapter 1", "Chapter 1: The Long Winter."), reply))
    assert [c.threadmark for c in story.chapters] == ["Chapter 1"]
    assert [(c.chapter_index, c.body) for c in story.comments] == [(0, reply)]


# --- author blocks ----------------------------------------------------------------------------------


def realistic_export() -> str:
    """A XenForo thread as a text export keeps it: every post opens with its author's block."""
    return export(
        author("Stalin's Ghost", "Field Marshal", "Hearts of Iron IV", "Europa Universalis IV", "Stellaris")
        + chapter("Chapter 1", "Chapter 1: The Long Winter."),
        TALLY + author("Comrade Reader", "Private") + "Great update! The tanks look grim.",
        author("Stalin's Ghost", "Field Marshal", "Hearts of Iron IV") + chapter(
            "Border War", "The Border War.", picture=KHASAN),
        TALLY + author("Trotsky's Beard", "Colonel", "Crusader Kings II")
        + "Glad to see the east again.\n\nMore of Blücher please.",
    )


def test_author_blocks_are_dropped_from_chapters_and_comments():
    story = parse_thread(realistic_export())
    assert [(c.threadmark, c.title) for c in story.chapters] == [
        ("Chapter 1", "Chapter 1: The Long Winter."), ("Border War", "The Border War.")]
    assert [c.forum_likes for c in story.chapters] == [1, 1]
    assert [(c.chapter_index, c.quote, c.body) for c in story.comments] == [
        (0, "", "Great update! The tanks look grim."),
        (1, "", "Glad to see the east again.\n\nMore of Blücher please."),
    ]
    texts = [b.text for c in story.chapters for b in c.blocks] + [c.body for c in story.comments]
    for debris in ("Stalin's Ghost", "Field Marshal", "Badges", "Joined", "Messages", "Reaction score",
                   "Hearts of Iron IV", "Europa Universalis IV", "Stellaris", "Comrade Reader"):
        assert not any(debris in text for text in texts), debris
    first = story.chapters[0]
    assert [b.kind for b in first.blocks[:3]] == ["heading", "picture", "paragraph"]


def test_the_same_thread_without_author_blocks_parses_the_same():
    plain = export(
        chapter("Chapter 1", "Chapter 1: The Long Winter."),
        TALLY + "Great update! The tanks look grim.",
        chapter("Border War", "The Border War.", picture=KHASAN),
        TALLY + "Glad to see the east again.\n\nMore of Blücher please.",
    )
    assert parse_thread(realistic_export()) == parse_thread(plain)


def test_an_author_block_with_blank_lines_between_its_lines_is_dropped():
    block = author("Stalin's Ghost", "Field Marshal", "Hearts of Iron IV").replace("\n", "\n\n")
    story = parse_thread(export(block + chapter("Chapter 1", "Chapter 1: The Long Winter."),
                                "\n" + author("Reader").replace("\n", "\n\n") + "\nNice one."))
    assert [(c.threadmark, c.title) for c in story.chapters] == [("Chapter 1", "Chapter 1: The Long Winter.")]
    assert [c.body for c in story.comments] == ["Nice one."]


def test_text_that_only_mentions_joining_or_messages_is_kept():
    reply = "Joined the army in 1936\nMessages from the front were grim.\nGreat chapter."
    story = parse_thread(export(chapter("Chapter 1", "Chapter 1: The Long Winter."), reply))
    assert [c.body for c in story.comments] == [reply]


# --- reaction tallies -------------------------------------------------------------------------------


@pytest.mark.parametrize("count", ["99999999999999999999", "9" * 5000, f"{MAX_REACTION_COUNT + 1}"])
def test_an_absurd_reaction_count_is_a_one_line_error_naming_the_line(count):
    text = export(chapter("Chapter 1", "Chapter 1: The Long Winter."), f"  • {count}Like\nReactions:\nNice.")
    line = text.split("\n").index(f"  • {count}Like") + 1
    with pytest.raises(ParseError) as excinfo:
        parse_thread(text)
    message = str(excinfo.value)
    assert f"line {line}:" in message and "reaction count" in message and "\n" not in message
    assert len(message) < 200


def test_a_count_written_with_thousands_of_leading_zeros_is_read():
    tally = f"  • {'0' * 5000}7Like\nReactions:\nNice."
    text = export(chapter("Chapter 1", "Chapter 1: The Long Winter."), tally)
    assert parse_thread(text).chapters[0].forum_likes == 7


def test_the_largest_plausible_count_is_kept():
    text = export(chapter("Chapter 1", "Chapter 1: The Long Winter."), f"  • {MAX_REACTION_COUNT:,}Like\n"
                  "Reactions:\nNice.")
    assert parse_thread(text).chapters[0].forum_likes == MAX_REACTION_COUNT


def test_unclosed_bullets_with_big_numbers_are_text():
    reply = "  • 99999999999999999999 roubles\nThat is what the plan cost."
    story = parse_thread(export(chapter("Chapter 1", "Chapter 1: The Long Winter."), reply))
    assert story.comments[0].body == reply


def test_unclosed_reaction_lines_never_make_a_chapter():
    flood = "\n".join(["  • 1Like"] * 2000)
    text = export(chapter("Chapter 1", "Chapter 1: The Long Winter."), flood)
    story = parse_thread(text)
    assert [c.threadmark for c in story.chapters] == ["Chapter 1"]
    with pytest.raises(ParseError, match="no chapters found"):
        parse_thread(flood + "\n")


# --- bounds -----------------------------------------------------------------------------------------


def test_a_line_over_the_limit_is_refused_naming_it():
    text = export(chapter("Chapter 1", "Chapter 1: The Long Winter."), "x" * (MAX_LINE_CHARS + 1))
    line = len(export(chapter("Chapter 1", "Chapter 1: The Long Winter.")).split("\n")) + 1
    with pytest.raises(ParseError, match=rf"^line {line} is {MAX_LINE_CHARS + 1:,} characters long"):
        parse_thread(text)


def test_a_line_at_the_limit_is_read():
    story = parse_thread(export(chapter("Chapter 1", "Chapter 1: The Long Winter."), "x" * MAX_LINE_CHARS))
    assert len(story.comments[0].body) == MAX_LINE_CHARS


def test_more_chapters_than_the_limit_are_refused():
    posts = [chapter(f"Chapter {n}", f"Chapter {n}: Another Day.", paragraphs=3)
             for n in range(1, 1 + MAX_CHAPTERS)]
    assert len(parse_thread(export(*posts)).chapters) == MAX_CHAPTERS
    posts.append(chapter("Epilogue", "Epilogue: The End.", paragraphs=3))
    with pytest.raises(ParseError, match=rf"more than {MAX_CHAPTERS:,} chapters"):
        parse_thread(export(*posts))


def test_more_comments_than_the_limit_are_refused(monkeypatch):
    from bot.story import parser

    monkeypatch.setattr(parser, "MAX_COMMENTS", 50)  # the real limit takes seconds to reach
    head = chapter("Chapter 1", "Chapter 1: The Long Winter.")
    replies = [f"Reply {n}" for n in range(50)]
    assert len(parse_thread(export(head, *replies)).comments) == 50
    with pytest.raises(ParseError, match=r"^more than 50 reader comments"):
        parse_thread(export(head, *replies, "One reply too many"))


@pytest.mark.parametrize(
    "line",
    [
        "  • 1Like" + " " * 50_000 + "x",  # the tally pattern once backtracked quadratically on this
        "  •" + " \t" * 40_000 + "1",
        "- " * 40_000 + "-",
        "a." * 40_000 + "jpg",
    ],
)
def test_a_long_pathological_line_is_parsed_in_linear_time(line):
    text = export(chapter("Chapter 1", "Chapter 1: The Long Winter."), line + "\nReactions:\n", line)
    started = time.perf_counter()
    parse_thread(text)
    assert time.perf_counter() - started < 1.0
