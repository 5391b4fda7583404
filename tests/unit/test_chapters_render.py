"""The chapter renderer: every payload within Discord's limits, reading order kept, text escaped.

The reading order is reconstructed from the payloads the way Discord lays a message out (content,
then each embed's title, description and image) and compared word for word with the chapter's blocks,
so a lost, doubled or misplaced picture, caption or sentence fails.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest

from bot.chapters.render import (
    MAX_PIECE,
    NO_PICTURE,
    NOTES_TITLE,
    PICTURE_MARK,
    render_chapter,
    text_unit,
)
from bot.story.model import Block, Chapter
from bot.story.parser import parse_thread
from bot.text import ZWSP, escape_markdown
from tests.render_bounds import message_lower_bound

SEED = Path(__file__).resolve().parents[2] / "data" / "aar-thread.txt"
SEED_CHAPTERS = parse_thread(SEED.read_text(encoding="utf-8")).chapters
TOTAL = len(SEED_CHAPTERS)

BREAK = "\x00BREAK"  # a boundary between two text containers (content / embed description / message)


# --- the validator: Discord's limits as Discord states them -----------------------------------------

LIMITS = {"content": 2000, "embeds": 10, "title": 256, "description": 4096, "fields": 25, "field_name": 256,
          "field_value": 1024, "footer": 2048, "author": 256, "embeds_total": 6000}


def _sizes(text: str) -> tuple[int, int]:
    """Code points and UTF-16 units: a payload must be within the limit by either count."""
    return len(text), len(text.encode("utf-16-le")) // 2


def limit_problems(payload: dict[str, Any]) -> list[str]:
    problems: list[str] = []

    def over(what: str, text: str | None, limit: int) -> None:
        if text is not None and max(_sizes(text)) > limit:
            problems.append(f"{what}: {max(_sizes(text))} > {limit}")

    if set(payload) != {"content", "embeds", "allowed_mentions"}:
        problems.append(f"keys: {sorted(payload)}")
    if payload.get("allowed_mentions") != {"parse": []}:
        problems.append(f"allowed_mentions: {payload.get('allowed_mentions')}")
    content, embeds = payload.get("content"), payload.get("embeds")
    if not isinstance(content, str) or not isinstance(embeds, list):
        return problems + ["content must be a str and embeds a list"]
    if not content and not embeds:
        problems.append("empty message")
    over("content", content, LIMITS["content"])
    if len(embeds) > LIMITS["embeds"]:
        problems.append(f"{len(embeds)} embeds")
    total = 0
    for i, embed in enumerate(embeds):
        if not (embed.get("title") or embed.get("description") or embed.get("image")):
            problems.append(f"embed {i} is empty")
        if "description" in embed and not embed["description"]:
            problems.append(f"embed {i} has an empty description")
        over(f"embed {i} title", embed.get("title"), LIMITS["title"])
        over(f"embed {i} description", embed.get("description"), LIMITS["description"])
        fields = embed.get("fields") or []
        if len(fields) > LIMITS["fields"]:
            problems.append(f"embed {i}: {len(fields)} fields")
        for field in fields:
            over(f"embed {i} field name", field.get("name"), LIMITS["field_name"])
            over(f"embed {i} field value", field.get("value"), LIMITS["field_value"])
        over(f"embed {i} footer", (embed.get("footer") or {}).get("text"), LIMITS["footer"])
        over(f"embed {i} author", (embed.get("author") or {}).get("name"), LIMITS["author"])
        image = embed.get("image")
        if image is not None and not str(image.get("url", "")).startswith(("https://", "http://")):
            problems.append(f"embed {i} image url {image}")
        parts = [embed.get("title"), embed.get("description"), (embed.get("footer") or {}).get("text"),
                 (embed.get("author") or {}).get("name")]
        parts += [f.get(k) for f in fields for k in ("name", "value")]
        total += sum(max(_sizes(p)) for p in parts if p)
    if total > LIMITS["embeds_total"]:
        problems.append(f"embeds total {total} > {LIMITS['embeds_total']}")
    return problems


# --- reading order --------------------------------------------------------------------------------


def unmark(text: str) -> str:
    """Rendered markdown → the text a reader sees: escapes resolved, formatting marks and decoration gone."""
    text = text.replace(ZWSP, "").replace(PICTURE_MARK, " ")
    out: list[str] = []
    i = 0
    line_start = True
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            line_start = False
            continue
        if ch == "*":
            i += 1
            continue
        if line_start and text.startswith("# ", i):
            i += 2
            continue
        out.append(ch)
        line_start = ch == "\n"
        i += 1
    return "".join(out).replace(" \u00b7 ", " ")


def reading_order(payloads: list[dict[str, Any]]) -> list[str]:
    """Words and ("IMG url") tokens in the order Discord shows them, with BREAK between text containers."""
    tokens: list[str] = []
    for payload in payloads:
        if payload["content"]:
            tokens += unmark(payload["content"]).split() + [BREAK]
        for embed in payload["embeds"]:
            if embed.get("title"):
                tokens += embed["title"].split()
            if embed.get("description"):
                tokens += unmark(embed["description"]).split() + [BREAK]
            if embed.get("image"):
                tokens.append("IMG " + embed["image"]["url"])
    return tokens


def expected_order(chapter: Chapter, number: int, total: int) -> tuple[list[str], set[int]]:
    """The chapter's words and pictures as the source orders them, and where each block starts."""
    tokens = chapter.title.split() + chapter.threadmark.split() + ["Chapter", str(number), "of", str(total)]
    starts = {0}
    for block in chapter.story_blocks:
        starts.add(len(tokens))
        if block.kind == "picture" and not block.image_url and not block.text.strip():
            tokens += NO_PICTURE.split()
        else:
            tokens += block.text.split()
        if block.kind == "picture" and block.image_url:
            starts.add(len(tokens))  # the description ends right above its image
            tokens.append("IMG " + block.image_url)
    if chapter.notes:
        starts.add(len(tokens))
        tokens += NOTES_TITLE.split()
        for note in chapter.notes:
            starts.add(len(tokens))
            tokens += note.text.split()
    return tokens, starts


SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$")


def check_reading_order(chapter: Chapter, number: int, total: int, payloads: list[dict[str, Any]],
                        *, sentences_whole: bool = True) -> None:
    rendered = reading_order(payloads)
    words = [t for t in rendered if t != BREAK]
    expected, starts = expected_order(chapter, number, total)
    assert words == expected
    if not sentences_whole:
        return
    index = 0
    for token in rendered:
        if token == BREAK:
            if index not in starts and index < len(words):
                # A container ends inside a block: only ever after a sentence.
                assert SENTENCE_END.search(words[index - 1]), (words[index - 5:index], words[index:index + 5])
                assert words[index][0].isupper() or words[index][0].isdigit() or words[index][0] in "\"'(", \
                    (words[index - 5:index], words[index:index + 5])
        else:
            index += 1


def assert_valid(payloads: list[dict[str, Any]]) -> None:
    assert payloads, "a release sends at least one message"
    for i, payload in enumerate(payloads):
        assert limit_problems(payload) == [], f"message {i}"


# --- the seed chapters ------------------------------------------------------------------------------


@pytest.fixture(params=range(1, TOTAL + 1), ids=lambda n: f"chapter{n}")
def seed(request: pytest.FixtureRequest) -> tuple[int, Chapter, list[dict[str, Any]]]:
    number = request.param
    chapter = SEED_CHAPTERS[number - 1]
    return number, chapter, render_chapter(chapter, number=number, total=TOTAL)


def test_seed_payloads_respect_every_limit(seed) -> None:
    _, _, payloads = seed
    assert_valid(payloads)


def test_seed_reading_order_matches_the_source(seed) -> None:
    number, chapter, payloads = seed
    check_reading_order(chapter, number, TOTAL, payloads)


def test_every_picture_url_and_caption_in_place(seed) -> None:
    _, chapter, payloads = seed
    embeds = [e for p in payloads for e in p["embeds"] if e.get("image")]
    with_url = [b for b in chapter.pictures if b.image_url]
    assert [e["image"]["url"] for e in embeds] == [b.image_url for b in with_url]
    for embed, block in zip(embeds, with_url, strict=True):
        if block.text.strip():  # the caption closes the description right above its picture
            assert embed["description"].endswith("*" + escape_markdown(block.text.strip()) + "*")
    text = "\n".join(p["content"] + "\n" + "\n".join(e.get("description", "") for e in p["embeds"])
                     for p in payloads)
    for block in chapter.pictures:
        if not block.image_url and block.text.strip():
            assert f"{PICTURE_MARK} *{escape_markdown(block.text.strip())}*" in text


def test_seed_uses_few_messages(seed) -> None:
    _, chapter, payloads = seed
    bound = message_lower_bound(chapter)
    assert bound <= len(payloads) <= max(bound, int(bound * 1.3))


def test_header_shows_threadmark_title_and_position() -> None:
    chapter = SEED_CHAPTERS[2]
    first = render_chapter(chapter, number=3, total=TOTAL)[0]["content"]
    assert first.startswith(f"# {escape_markdown(chapter.title)}\n")
    assert f"**{escape_markdown(chapter.threadmark)}**" in first.splitlines()[1]
    assert first.splitlines()[1].endswith("Chapter 3 of 6")


def test_seed_markdown_shows_as_written() -> None:
    """Chapter 1's footnotes start with `*` and `**`: shown as asterisks, not as italics or bold."""
    payloads = render_chapter(SEED_CHAPTERS[0], number=1, total=TOTAL)
    notes = payloads[-1]["embeds"][-1]
    assert notes["title"] == NOTES_TITLE
    assert notes["description"].startswith("\\*I made some changes here.")
    assert "\n\\*\\*Soviet involvement here is much greater than it was IRL." in notes["description"]


def test_notes_come_last_in_their_own_embed() -> None:
    for number, chapter in enumerate(SEED_CHAPTERS, 1):
        payloads = render_chapter(chapter, number=number, total=TOTAL)
        titled = [(i, j) for i, p in enumerate(payloads) for j, e in enumerate(p["embeds"]) if e.get("title")]
        if chapter.notes:
            assert titled == [(len(payloads) - 1, len(payloads[-1]["embeds"]) - 1)]
            assert "image" not in payloads[-1]["embeds"][-1]
        else:
            assert titled == []


def test_rendering_is_deterministic_and_json_ready() -> None:
    import json

    chapter = SEED_CHAPTERS[5]
    first = render_chapter(chapter, number=6, total=TOTAL)
    assert json.loads(json.dumps(first)) == render_chapter(chapter, number=6, total=TOTAL)


def test_text_is_cut_into_whole_sentences() -> None:
    raw = ('Gen. Zhukov arrived. And then.. in the middle of it all, V. Blyukher said "Go!" '
           "1937 came? Yes!  Two spaces (kept). e.g. lower after a dot stays. The end...")
    unit = text_unit(raw)
    assert [p.text for p in unit.pieces] == [
        "Gen. Zhukov arrived.", 'And then.. in the middle of it all, V. Blyukher said "Go!"', "1937 came?",
        "Yes!", "Two spaces (kept). e.g. lower after a dot stays.", "The end...",
    ]
    assert unit.chunk(0, len(unit.pieces)) == raw  # the original spacing survives


# --- synthetic chapters ---------------------------------------------------------------------------

SENTENCE = "The {i}th brigade held the line near the river for {i} days."


def long_paragraph(chars: int, start: int = 0) -> str:
    sentences, size, i = [], 0, start
    while size < chars:
        sentence = SENTENCE.format(i=i)
        sentences.append(sentence)
        size += len(sentence) + 1
        i += 1
    return " ".join(sentences)


def test_huge_paragraph_and_thirty_pictures_stay_within_limits() -> None:
    blocks = [Block("heading", "The Long March.")]
    blocks.append(Block("paragraph", long_paragraph(10_000)))
    for i in range(30):
        blocks.append(Block("picture", f"Picture number {i}.", f"p{i}.jpg", f"https://i.imgur.com/p{i:05d}.jpg"))
        if i % 3 == 0:
            blocks.append(Block("paragraph", long_paragraph(700, start=i * 100)))
    blocks.append(Block("paragraph", long_paragraph(10_000, start=9000)))
    blocks.append(Block("note", "*A footnote."))
    chapter = Chapter("Test 1", "A very long chapter", blocks)
    payloads = render_chapter(chapter, number=1, total=1)
    assert_valid(payloads)
    check_reading_order(chapter, 1, 1, payloads)
    # The fewest possible is 6, above the simple bound (4): the opening 10,000 chars fill the first message
    # (no picture fits beside them), the 30 pictures then fill 3 messages of 10 embeds each, so the text
    # after the last picture cannot join its message and the closing 10,000 chars need two more.
    assert message_lower_bound(chapter) == 4
    assert len(payloads) == 6


def test_a_single_sentence_longer_than_a_message_is_cut_only_at_spaces() -> None:
    sentence = " ".join(f"word{i}" for i in range(2500)) + "."  # ~17,000 chars, no sentence boundary
    chapter = Chapter("T", "One sentence", [Block("paragraph", sentence), Block("picture", "After.", "x.jpg",
                                                                                   "https://i.imgur.com/x.jpg")])
    payloads = render_chapter(chapter, number=1, total=1)
    assert_valid(payloads)
    check_reading_order(chapter, 1, 1, payloads, sentences_whole=False)  # every word whole, in order


def test_a_word_longer_than_a_message_is_cut_by_length() -> None:
    word = "A" + "b_" * 3000  # 6,001 chars, 9,001 once escaped, no space
    chapter = Chapter("T", "One word", [Block("paragraph", word)])
    payloads = render_chapter(chapter, number=1, total=1)
    assert_valid(payloads)
    containers = [c for p in payloads for c in [p["content"]] + [e["description"] for e in p["embeds"]]]
    header, _, rest = containers[0].partition("Chapter 1 of 1")
    pieces = [rest] + containers[1:]
    assert "".join(unmark(piece).strip() for piece in pieces) == word
    assert all(not re.search(r"(?<!\\)(\\\\)*\\$", piece) for piece in pieces)  # no dangling backslash


def test_a_huge_caption_still_sits_right_above_its_picture() -> None:
    caption = long_paragraph(5000)
    chapter = Chapter("T", "Caption", [Block("paragraph", "Before."), Block("picture", caption, "c.jpg",
                                                                              "https://i.imgur.com/c.jpg")])
    payloads = render_chapter(chapter, number=1, total=1)
    assert_valid(payloads)
    check_reading_order(chapter, 1, 1, payloads)


def test_mentions_cannot_ping() -> None:
    text = "@everyone @here <@123456789012345678> <@&42> <#7>: the front has collapsed!"
    chapter = Chapter("@everyone", "@here", [Block("paragraph", text), Block("picture", "@everyone look",
                                                                               "m.jpg", "https://i.imgur.com/m.jpg"),
                                               Block("note", "<@1> @everyone")])
    payloads = render_chapter(chapter, number=1, total=1)
    for payload in payloads:
        assert payload["allowed_mentions"] == {"parse": []}
        texts = [payload["content"]] + [e.get(k, "") for e in payload["embeds"]
                                        for k in ("title", "description")]
        for text_ in texts:
            assert "@everyone" not in text_ and "@here" not in text_
            assert not re.search(r"<[@#]", text_)
    check_reading_order(chapter, 1, 1, payloads)


def test_heading_stays_with_the_text_it_introduces() -> None:
    """A heading that would end a message goes to the next one, with its first sentence."""
    for filler in range(7000, 8000, 37):
        blocks = [Block("paragraph", long_paragraph(filler)), Block("heading", "Winter."),
                  Block("paragraph", long_paragraph(3000, start=500))]
        payloads = render_chapter(Chapter("T", "Headings", blocks), number=1, total=1)
        for payload in payloads:
            containers = [payload["content"]] + [e.get("description", "") for e in payload["embeds"]]
            assert not any(c.endswith("**Winter.**") for c in containers), filler


def test_picture_without_url_or_caption_is_still_marked() -> None:
    chapter = Chapter("T", "Lost", [Block("paragraph", "Before."), Block("picture", "", "images", None),
                                    Block("paragraph", "After.")])
    payloads = render_chapter(chapter, number=1, total=1)
    assert payloads[0]["embeds"] == []
    assert f"Before.\n\n{PICTURE_MARK} *{NO_PICTURE}*\n\nAfter." in payloads[0]["content"]


def test_no_piece_exceeds_an_empty_message() -> None:
    assert MAX_PIECE + 16 <= 2000


def _random_chapter(rng: random.Random) -> Chapter:
    alphabet = ["word", "Word", "*", "**", "_", "~", "|", "`", "\\", "@everyone", "<@12>", "#", "-", ">",
                "1.", "José", "😀", "[x](https://e.x)", "https://e.x/a_b", "Gen.", "..", "end.", "End!",
                "Why?"]

    def text(words: int) -> str:
        return " ".join(rng.choice(alphabet) for _ in range(words))

    blocks: list[Block] = []
    for _ in range(rng.randint(1, 60)):
        kind = rng.choice(["heading", "paragraph", "paragraph", "picture", "picture", "note"])
        if kind == "picture":
            url = rng.choice([None, f"https://i.imgur.com/{rng.randint(0, 10**6)}.jpg"])
            blocks.append(Block("picture", text(rng.randint(0, 30)), "p.jpg", url))
        elif kind == "heading":
            blocks.append(Block("heading", text(rng.randint(1, 5))))
        else:
            blocks.append(Block(kind, text(rng.choice([3, 50, 400, 1500]))))
    return Chapter(text(3), text(6), blocks)


def test_random_chapters_stay_within_limits_and_in_order() -> None:
    rng = random.Random(20240501)
    for _ in range(60):
        chapter = _random_chapter(rng)
        payloads = render_chapter(chapter, number=2, total=9)
        assert_valid(payloads)
        check_reading_order(chapter, 2, 9, payloads, sentences_whole=False)
        assert len(payloads) >= message_lower_bound(chapter)


# --- through the fake Discord ----------------------------------------------------------------------


async def test_seed_payloads_are_accepted_by_the_fake_discord_as_rendered(running_bot, fake_discord,
                                                                          guild_setup) -> None:
    """Sent with discord.py as a cog would (Embed.from_dict), every message passes the fake's limits and
    arrives exactly as rendered, with mentions disabled."""
    import discord

    channel = running_bot.get_channel(guild_setup.story.id)
    sent: list[dict[str, Any]] = []
    for number, chapter in enumerate(SEED_CHAPTERS, 1):
        for payload in render_chapter(chapter, number=number, total=TOTAL):
            await channel.send(content=payload["content"] or None,
                               embeds=[discord.Embed.from_dict(e) for e in payload["embeds"]],
                               allowed_mentions=discord.AllowedMentions.none())
            sent.append(payload)
    history = fake_discord.history(guild_setup.story)
    assert len(history) == len(sent)
    for message, payload in zip(history, sent, strict=True):
        assert message["content"] == payload["content"]
        assert [{k: v for k, v in e.items() if k not in ("type", "flags")}
                for e in message["embeds"]] == payload["embeds"]
    posts = fake_discord.requests_to("POST", rf"^/channels/{guild_setup.story.id}/messages$")
    assert len(posts) == len(sent) and all(r.status == 200 for r in posts)
    assert all(r.json["allowed_mentions"]["parse"] == [] for r in posts)
