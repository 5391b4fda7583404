"""`bot.charts`: valid PNGs of a sensible size, labelled with the chapters passed in and nothing else."""

from __future__ import annotations

import struct

import pytest

from bot.charts import Chart, accuracy_chart, likes_chart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk (which must come first)."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_sensible(chart: Chart) -> None:
    width, height = png_size(chart.png)
    assert (width, height) == (chart.width, chart.height)
    assert 600 <= width <= 1600 and 300 <= height <= 1200
    assert len(chart.png) < 200_000


def test_likes_chart_draws_the_released_chapters_it_is_given() -> None:
    chart = likes_chart([(1, 5, 2), (2, 3, 0)])
    assert_sensible(chart)
    assert chart.labels == ("Ch. 1", "Ch. 2")


def test_accuracy_chart_leaves_out_chapters_without_answers() -> None:
    chart = accuracy_chart([(1, 4, 3), (2, 0, 0), (3, 2, 2)])
    assert_sensible(chart)
    assert chart.labels == ("Ch. 1", "Ch. 3")


@pytest.mark.parametrize("draw", [likes_chart, accuracy_chart])
def test_an_empty_chart_is_still_a_picture(draw) -> None:
    chart = draw([])
    assert_sensible(chart)
    assert chart.labels == ()


def test_a_long_story_gets_thinned_number_labels_and_stays_small() -> None:
    chart = likes_chart([(n, 1000 * n, n) for n in range(1, 301)])
    assert_sensible(chart)
    assert len(chart.labels) <= 20
    assert chart.labels[0] == "1"
    assert all(label.isdigit() and 1 <= int(label) <= 300 for label in chart.labels)


def test_the_same_numbers_draw_the_same_picture() -> None:
    assert likes_chart([(1, 2, 3)]).png == likes_chart([(1, 2, 3)]).png


# --- the chart's numbers in text, and its alt text (bot.likes.render, bot.quiz.render) ---------------------

def test_the_likes_charts_numbers_and_alt_text_name_chapter_numbers_only() -> None:
    from bot.likes.render import PER_CHAPTER_FIELD, chart_alt_text, top_card
    from bot.likes.tally import LikeCount, RankedChapter

    per_chapter = [(1, 0, 1), (2, 1, 3)]
    card = top_card([RankedChapter(1, 2, "Two", LikeCount(1, 3))], per_chapter=per_chapter)
    assert card.fields == [(PER_CHAPTER_FIELD, "Ch. 1: 1 (0 + 1)\nCh. 2: 4 (1 + 3)", False)]
    assert chart_alt_text(per_chapter) == ("Bar chart of likes per released chapter, chapters 1 to 2, forum "
                                           "and Discord stacked; the most liked is chapter 2 with 4 likes.")
    assert top_card([RankedChapter(1, 2, "Two", LikeCount(1, 3))]).fields == []


def test_the_accuracy_charts_numbers_and_alt_text() -> None:
    from bot.quiz.render import chapter_accuracy_lines, stats_chart_alt_text, stats_embed
    from bot.storage.quiz import ScoreRow

    per_chapter = [(1, 2, 1), (3, 1, 1)]
    assert chapter_accuracy_lines(per_chapter) == ["Ch. 1: 50% (1 of 2)", "Ch. 3: 100% (1 of 1)"]
    assert stats_chart_alt_text(per_chapter).endswith("for chapters 1, 3.")
    assert stats_chart_alt_text([(2, 1, 0)]).endswith("for chapter 2.")
    embed = stats_embed(7, (ScoreRow(7, 100, 3, 2, 1), 1), per_chapter)
    assert embed["description"].splitlines() == ["<@7> is **#1** in this server.", "", "**Per chapter**",
                                                 "Ch. 1: 50% (1 of 2)", "Ch. 3: 100% (1 of 1)"]
