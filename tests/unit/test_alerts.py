"""`bot.chapters.alerts`: what the bot needs to hand out the alert role, and how it says what is missing."""

from __future__ import annotations

from bot.chapters.alerts import HIERARCHY, MANAGE_ROLES, RoleAccess, member_problem, setup_note
from bot.guild_setup import setup_changes


def test_manage_roles_is_named_before_the_role_order() -> None:
    assert RoleAccess(manage_roles=False, above=False).missing == MANAGE_ROLES
    assert RoleAccess(manage_roles=True, above=False).missing == HIERARCHY
    assert RoleAccess(manage_roles=True, above=True).missing is None


def test_the_setup_note_names_the_one_thing_to_fix_and_mentions_the_role_as_text() -> None:
    assert setup_note(RoleAccess(True, True), 7) == ""
    note = setup_note(RoleAccess(False, True), 7)
    assert "**Manage Roles**" in note and "<@&7>" in note and "Releases still go out" in note
    note = setup_note(RoleAccess(True, False), 7)
    assert "highest role is not above <@&7>" in note and "Manage Roles" not in note


def test_a_member_is_told_to_pass_it_on() -> None:
    text = member_problem(HIERARCHY, 7)
    assert "tell a moderator" in text and "<@&7>" in text


def test_setup_changes_carry_the_alert_role() -> None:
    assert setup_changes(alert_role_id=42) == {"alert_role_id": 42}
    assert setup_changes() == {}
