"""A game laid out as Discord payloads (plain dicts; the cog turns them into discord.py objects).

One message shows the whole game: a question with four buttons and a countdown (`<t:…:R>`, which
Discord counts down by itself, so nothing is edited per second), then the reveal, then the next question,
then the scoreboard.  Story text is escaped so it shows as written; members appear as `<@id>` mentions,
which the cog sends with no pings allowed.  Every text is cut to Discord's limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.quiz.model import LETTERS, Question
from bot.quiz.session import QuizSession, Reveal
from bot.storage.quiz import ScoreRow
from bot.text import (
    MAX_BUTTON_LABEL,
    MAX_DESCRIPTION,
    MAX_EMBEDS_TOTAL,
    MAX_FIELD_VALUE,
    MAX_FOOTER,
    MAX_TITLE,
    and_more,
    clip,
    escape_markdown,
    lines_within,
    plural,
)

CUSTOM_ID_PREFIX = "aarquiz"
CUSTOM_ID_PATTERN = rf"{CUSTOM_ID_PREFIX}:(?P<game>\d+):(?P<position>\d+):(?P<option>\d)"
SCOREBOARD_ROWS = 20
LABEL_LIMIT = 100  # the chapters a game covers, as its footer names them ("1-3, 5, 7, …")
COLOUR_QUESTION, COLOUR_REVEAL, COLOUR_END = 0x3B6EA8, 0x2E8B57, 0xB8860B


def custom_id(game_id: int, position: int, option: int) -> str:
    """What a button means, so a click can be understood without any state (even after a restart)."""
    return f"{CUSTOM_ID_PREFIX}:{game_id}:{position}:{option}"


@dataclass(frozen=True)
class ButtonSpec:
    custom_id: str
    label: str
    style: str  # "primary", "secondary", "success", "danger"
    disabled: bool = False


@dataclass(frozen=True)
class Screen:
    """What the quiz message shows: one embed and up to four buttons (one row)."""

    embed: dict
    buttons: tuple[ButtonSpec, ...] = ()


def _option_lines(question: Question, mark_right: bool) -> list[str]:
    lines = []
    for i, option in enumerate(question.options):
        prefix = ("✅ " if i == question.answer else "▫️ ") if mark_right else ""
        lines.append(f"{prefix}**{LETTERS[i]}.** {escape_markdown(option)}")
    return lines


def _title(session: QuizSession, suffix: str) -> str:
    return clip(f"Quiz · question {session.position + 1} of {len(session.questions)} · chapter "
               f"{session.question.chapter}{suffix}", MAX_TITLE)


def _mode_line(session: QuizSession) -> str:
    who = "solo quiz" if session.mode == "solo" else "channel quiz: everyone can answer"
    return f"{who} · chapters {clip(session.chapters_label, LABEL_LIMIT)}" if session.chapters_label else who


def _fit_description(embed: dict, body: str) -> dict:
    """`embed` with `body` as its description, cut so the whole embed stays within Discord's 6,000.

    A long story sentence (prompt, options, explanation) with a full list of right answers could pass
    the total even with each part within its own limit.
    """
    others = len(embed.get("title", "")) + len(embed.get("footer", {}).get("text", "")) + sum(
        len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    embed["description"] = clip(body, min(MAX_DESCRIPTION, MAX_EMBEDS_TOTAL - others))
    return embed


def question_screen(session: QuizSession) -> Screen:
    question = session.question
    deadline = int(session.deadline.timestamp())
    body = "\n\n".join([escape_markdown(question.prompt), "\n".join(_option_lines(question, False)),
                        f"⏳ Time runs out <t:{deadline}:R>."])
    embed = _fit_description({
        "title": _title(session, ""),
        "color": COLOUR_QUESTION,
        "footer": {"text": clip(f"{_mode_line(session)} · one answer each, no changes · faster right answers "
                               "score more", MAX_FOOTER)},
    }, body)
    buttons = tuple(ButtonSpec(custom_id(session.game_id, session.position, i),
                               clip(f"{LETTERS[i]}. {option}", MAX_BUTTON_LABEL), "primary")
                    for i, option in enumerate(question.options))
    return Screen(embed, buttons)


def reveal_screen(session: QuizSession, reveal: Reveal) -> Screen:
    question = reveal.question
    right = reveal.right
    answered = len(reveal.answers)
    lines = [f"<@{a.user_id}> +{a.points}" for a in right]
    who = lines_within(lines, MAX_FIELD_VALUE) if lines else "Nobody this time."
    body = "\n\n".join([
        escape_markdown(question.prompt), "\n".join(_option_lines(question, True)),
        f"**Answer: {LETTERS[question.answer]}. {escape_markdown(question.right_option)}**",
        escape_markdown(question.explanation),
    ])
    next_text = "next question coming up" if session.has_next else "scoreboard next"
    embed = _fit_description({
        "title": _title(session, " · answer"),
        "color": COLOUR_REVEAL,
        "fields": [{"name": clip(f"Right: {len(right)} of {plural(answered, 'answer')}",
                                MAX_TITLE), "value": who, "inline": False}],
        "footer": {"text": clip(f"{_mode_line(session)} · {next_text}", MAX_FOOTER)},
    }, body)
    buttons = tuple(ButtonSpec(custom_id(session.game_id, reveal.position, i),
                               clip(f"{LETTERS[i]}. {option}", MAX_BUTTON_LABEL),
                               "success" if i == question.answer else "secondary", disabled=True)
                    for i, option in enumerate(question.options))
    return Screen(embed, buttons)


END_TITLES = {"finished": "Quiz over · scoreboard", "stopped": "Quiz stopped · scoreboard",
              "interrupted": "Quiz ended · scoreboard"}


def scoreboard_screen(session: QuizSession) -> Screen:
    totals = session.totals()
    asked = session.position + 1
    lines = [f"**{rank}.** <@{uid}> · {plural(points, 'point')} ({right}/{count} right)"
             for rank, (uid, points, right, count) in enumerate(totals[:SCOREBOARD_ROWS], start=1)]
    if len(totals) > SCOREBOARD_ROWS:
        lines.append(and_more(len(totals) - SCOREBOARD_ROWS))
    if not lines:
        lines = ["Nobody answered."]
    status = session.ended or "finished"
    note = f"{asked} of {plural(len(session.questions), 'question')} asked."
    if status == "stopped":
        note = (f"Stopped by <@{session.ended_by}> after " if session.ended_by else "Stopped after ") + \
            f"{asked} of {len(session.questions)} questions; the points earned are kept."
    description = lines_within(lines, MAX_DESCRIPTION - len(note) - 2) + "\n\n" + note
    embed = {
        "title": END_TITLES[status],
        "description": clip(description, MAX_DESCRIPTION),
        "color": COLOUR_END,
        "footer": {"text": "Points add up on /quiz leaderboard · /quiz stats for your record"},
    }
    return Screen(embed)


def leaderboard_embed(rows: list[ScoreRow], guild_name: str) -> dict:
    if not rows:
        return {"title": "Quiz leaderboard", "description": "Nobody has answered a quiz question here yet. "
                "Start one with `/quiz start`.", "color": COLOUR_END}
    lines = [f"**{rank}.** <@{r.user_id}> · {r.score} points · {plural(r.games, 'game')} · "
             f"{round(r.accuracy * 100)}% right ({r.correct}/{r.answers})"
             for rank, r in enumerate(rows, start=1)]
    return {"title": clip(f"Quiz leaderboard · {guild_name}", MAX_TITLE),
            "description": lines_within(lines, MAX_DESCRIPTION), "color": COLOUR_END}


def chapter_accuracy_lines(per_chapter: Sequence[tuple[int, int, int]]) -> list[str]:
    """The numbers of the `/quiz stats` chart, in text: one line per chapter answered about."""
    return [f"Ch. {n}: {round(100 * right / answers)}% ({right} of {answers})"
            for n, answers, right in per_chapter if answers]


def stats_chart_alt_text(per_chapter: Sequence[tuple[int, int, int]]) -> str:
    """The chart's description (alt text), by chapter number only."""
    answered = [n for n, answers, _ in per_chapter if answers]
    if not answered:
        return "Bar chart of quiz accuracy per chapter: no answers yet."
    return (f"Bar chart of the share of right quiz answers per chapter, for "
            f"{'chapter' if len(answered) == 1 else 'chapters'} {', '.join(map(str, answered))}.")


def stats_embed(user_id: int, record: tuple[ScoreRow, int] | None,
                per_chapter: Sequence[tuple[int, int, int]] = ()) -> dict:
    """A member's record; with `per_chapter` (chapter, answers, right), the chart's numbers as text too."""
    if record is None:
        return {"title": "Quiz stats",
                "description": f"<@{user_id}> has not answered a quiz question here yet.",
                "color": COLOUR_END}
    row, rank = record
    description = f"<@{user_id}> is **#{rank}** in this server."
    lines = chapter_accuracy_lines(per_chapter)
    if lines:
        description = lines_within([description, "", "**Per chapter**", *lines], MAX_DESCRIPTION)
    return {
        "title": "Quiz stats",
        "description": description,
        "color": COLOUR_END,
        "fields": [
            {"name": "Score", "value": str(row.score), "inline": True},
            {"name": "Games", "value": str(row.games), "inline": True},
            {"name": "Accuracy", "value": f"{round(row.accuracy * 100)}% ({row.correct} of {row.answers})",
             "inline": True},
        ],
    }
