"""`bot.chapters.alerts`: what the bot needs to hand out the alert role, and how it says what is missing."""

from __future__ import annotations

import pytest

from bot.chapters.alerts import (
    HIERARCHY,
    MANAGE_ROLES,
    DmClosed,
    DmReport,
    RoleAccess,
    deliver_dms,
    member_problem,
    release_dm,
    setup_note,
)
from bot.guild_setup import setup_changes
from bot.storage import alerts as store
from bot.storage.database import Database

pytestmark = pytest.mark.both_backends


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
    assert "tell a moderator" in text and "<@&7>" in text and "/alerts dm" in text


def test_setup_changes_carry_the_alert_role() -> None:
    assert setup_changes(alert_role_id=42) == {"alert_role_id": 42}
    assert setup_changes() == {}


class Inbox:
    """A DmSender whose `closed` users refuse DMs, recording what it delivered."""

    def __init__(self, closed: set[int]) -> None:
        self.closed, self.got = closed, []

    async def dm(self, user_id: int, content: str) -> None:
        if user_id in self.closed:
            raise DmClosed("50007")
        self.got.append((user_id, content))


async def test_dms_are_paced_sent_once_per_chapter_and_closed_inboxes_switched_back(
        db: Database) -> None:
    for user in (1, 2, 3):
        await store.subscribe_dm(db, 10, user, after_chapter=0, since=f"2026-01-0{user}T00:00:00Z")
    await store.subscribe_dm(db, 10, 4, after_chapter=1, since="2026-01-04T00:00:00Z")  # joined after 1
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    inbox = Inbox(closed={2})
    report = await deliver_dms(db, inbox, guild_id=10, chapter=1, content="c1", pace=1.5, sleep=sleep)
    assert report == DmReport(sent=[1, 3], switched_back=[2])
    assert inbox.got == [(1, "c1"), (3, "c1")] and slept == [1.5, 1.5]
    again = await deliver_dms(db, inbox, guild_id=10, chapter=1, content="c1", pace=0, sleep=sleep)
    assert again == DmReport([], [])  # resumed: nobody gets chapter 1 twice, 2 is not retried
    assert not await store.wants_dm(db, 10, 2)
    report = await deliver_dms(db, inbox, guild_id=10, chapter=2, content="c2", pace=0, sleep=sleep)
    assert report.sent == [1, 3, 4]


def test_the_release_dm_escapes_the_server_and_title() -> None:
    text = release_dm(server="*Bold* club", number=2, total=6, title="A_b", url="https://x/1")
    assert "\\*Bold\\* club" in text and "A\\_b" in text and "https://x/1" in text
