"""`bot.help`: who sees which command, the markers, and Discord's limit however many commands exist."""

from __future__ import annotations

from bot.help import INTRO, MEMBER_NOTE, MODERATOR_NOTE, HelpEntry, help_text, visible_entries

ENTRIES = [HelpEntry("chapter read", "Read a released chapter"),
           HelpEntry("chapter next", "Release the next chapter", moderator_only=True),
           HelpEntry("aar status", "Show the bot's status")]


def test_a_member_sees_only_what_they_can_run_in_name_order() -> None:
    assert [e.name for e in visible_entries(ENTRIES, moderator=False)] == ["aar status", "chapter read"]
    text = help_text(ENTRIES, moderator=False)
    assert text.startswith(INTRO) and MEMBER_NOTE in text
    assert "chapter next" not in text and "🛡️" not in text
    assert "`/chapter read` — Read a released chapter" in text


def test_a_moderator_sees_everything_with_the_moderator_ones_marked() -> None:
    text = help_text(ENTRIES, moderator=True)
    assert MODERATOR_NOTE in text
    assert "`/chapter next` 🛡️ — Release the next chapter" in text
    assert "`/chapter read` — Read a released chapter" in text


def test_descriptions_are_shown_literally() -> None:
    text = help_text([HelpEntry("x", "Use *this* @everyone")], moderator=False)
    assert "\\*this\\*" in text and "@everyone" not in text.replace("@\u200beveryone", "")


def test_many_commands_stay_within_the_limit_and_say_how_many_were_left_out() -> None:
    many = [HelpEntry(f"cmd{i:03}", "does a thing " * 8) for i in range(200)]
    text = help_text(many, moderator=True, limit=4096)
    assert len(text) <= 4096
    assert text.splitlines()[-1].startswith("…and ")
