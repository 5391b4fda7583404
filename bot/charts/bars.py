"""Bar charts of released chapters: likes per chapter, and a member's quiz accuracy per chapter.

The bars are labelled by chapter number only ("Ch. 2"), never by title: a chart is a picture, and its
text cannot be escaped or cut the way message text is.  Callers pass released chapters only; the labels
drawn come back in `Chart.labels`.

matplotlib (with numpy, PIL and fontTools: about 40 MB of the process) is imported when the first chart
is drawn, not with the bot: a bot that is never asked for a chart never pays for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 120  # 960 x 540 px: readable in Discord's embed, small as a PNG
FORUM_COLOUR, DISCORD_COLOUR, ACCURACY_COLOUR = "#9aa4b1", "#5865f2", "#57a773"
MAX_LABELLED = 20  # more bars than this: numbers only, every n-th labelled, no value above each bar


@dataclass(frozen=True)
class Chart:
    """A drawn chart: the PNG, its size in pixels, and the x labels it shows (in order)."""

    png: bytes
    width: int
    height: int
    labels: tuple[str, ...]


def chapter_label(number: int) -> str:
    return f"Ch. {number}"


def _chapter_ticks(axes: Axes, numbers: Sequence[int]) -> list[str]:
    """Label the bars by chapter; a long story gets bare numbers, thinned to fit.  The labels drawn."""
    positions = list(range(len(numbers)))
    if len(numbers) <= MAX_LABELLED:
        labels = [chapter_label(n) for n in numbers]
        axes.set_xticks(positions, labels)
        return labels
    step = math.ceil(len(numbers) / MAX_LABELLED)
    shown = positions[::step]
    labels = [str(numbers[i]) for i in shown]
    axes.set_xticks(shown, labels)
    axes.set_xlabel("Chapter")
    return labels


def _figure() -> tuple[Figure, FigureCanvasAgg]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    return figure, FigureCanvasAgg(figure)


def _png(figure: Figure, canvas: FigureCanvasAgg, labels: Sequence[str]) -> Chart:
    figure.tight_layout()
    buffer = BytesIO()
    canvas.print_png(buffer)
    width, height = canvas.get_width_height()
    return Chart(buffer.getvalue(), width, height, tuple(labels))


def likes_chart(likes: Sequence[tuple[int, int, int]]) -> Chart:
    """Likes per released chapter in reading order, stacked: the forum's below, Discord's on top.

    `likes` is (chapter number, forum likes, Discord likes) for each released chapter.
    """
    figure, canvas = _figure()
    axes = figure.add_subplot()
    forum = [f for _, f, _ in likes]
    discord = [d for _, _, d in likes]
    positions = list(range(len(likes)))
    axes.bar(positions, forum, color=FORUM_COLOUR, label="Forum")
    bars = axes.bar(positions, discord, bottom=forum, color=DISCORD_COLOUR, label="Discord")
    if len(likes) <= MAX_LABELLED:
        axes.bar_label(bars, labels=[str(f + d) for f, d in zip(forum, discord, strict=True)], padding=2)
    labels = _chapter_ticks(axes, [n for n, _, _ in likes])
    axes.set_ylabel("Likes")
    axes.set_title("Likes per released chapter")
    axes.margins(y=0.12)
    axes.spines[["top", "right"]].set_visible(False)
    if likes:
        axes.legend(frameon=False)
    else:
        axes.text(0.5, 0.5, "No chapter released yet", ha="center", va="center", transform=axes.transAxes)
    return _png(figure, canvas, labels)


def accuracy_chart(accuracy: Sequence[tuple[int, int, int]]) -> Chart:
    """A member's share of right answers per released chapter: (chapter number, answers, right ones).

    Chapters with no answers are left out (no bar is not the same as 0%).
    """
    figure, canvas = _figure()
    axes = figure.add_subplot()
    rows = [(n, a, c) for n, a, c in accuracy if a > 0]
    shares = [100 * c / a for _, a, c in rows]
    bars = axes.bar(list(range(len(rows))), shares, color=ACCURACY_COLOUR)
    if len(rows) <= MAX_LABELLED:
        texts = [f"{round(s)}%\n{c}/{a}" for s, (_, a, c) in zip(shares, rows, strict=True)]
        axes.bar_label(bars, labels=texts, padding=2)
    labels = _chapter_ticks(axes, [n for n, _, _ in rows])
    axes.set_ylim(0, 118)
    axes.set_yticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    axes.set_ylabel("Right answers")
    axes.set_title("Quiz accuracy per chapter")
    axes.spines[["top", "right"]].set_visible(False)
    if not rows:
        axes.text(0.5, 0.5, "No answers yet", ha="center", va="center", transform=axes.transAxes)
    return _png(figure, canvas, labels)
