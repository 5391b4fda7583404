"""Release alerts: a role a release mentions, that members add and remove themselves — Discord-free.

A member opts in (`/alerts on`, or 🔔 under a release) and the bot gives them the server's alert role;
a release then mentions that role and nothing else (`bot.chapters.plan`).  Nobody is pinged who did not
ask to be.  Giving a role needs Discord's **Manage Roles** and the bot's own highest role above the
alert role; when either is missing the release still goes out (it just pings no one new) and whoever
tried is told which of the two to fix.  Here: that rule and every text the feature says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.errors import UserError
from bot.storage import alerts as store
from bot.storage.database import Database
from bot.text import escape_markdown

MANAGE_ROLES = "Manage Roles"
HIERARCHY = "role order"


class AlertsOff(UserError):
    """This server has no alert role."""

    def __init__(self) -> None:
        super().__init__("This server has no release alerts: a moderator can set them up with "
                         "`/aar setup alert_role:`.")


@dataclass(frozen=True)
class RoleAccess:
    """What the bot needs to hand out a role: Manage Roles, and its own top role above that role."""

    manage_roles: bool
    above: bool

    @property
    def missing(self) -> str | None:
        """`MANAGE_ROLES`, `HIERARCHY`, or None when the bot can give the role."""
        if not self.manage_roles:
            return MANAGE_ROLES
        if not self.above:
            return HIERARCHY
        return None


def role_problem(missing: str, role_id: int) -> str:
    """Which of the two is missing, and where a moderator fixes it (a role mention shows, pings no one)."""
    if missing == MANAGE_ROLES:
        return ("I don't have the **Manage Roles** permission, so I can't give or take "
                f"<@&{role_id}>. A moderator can grant it to my role in Server Settings → Roles.")
    return (f"My highest role is not above <@&{role_id}>, so Discord won't let me give or take it. "
            "A moderator can drag my role above it in Server Settings → Roles.")


def setup_note(access: RoleAccess, role_id: int) -> str:
    """What `/aar setup alert_role:` adds when the bot cannot hand the role out yet."""
    missing = access.missing
    if missing is None:
        return ""
    return ("Note: " + role_problem(missing, role_id) + " Releases still go out and mention the role; "
            "members just can't opt in until this is fixed.")


def member_problem(missing: str, role_id: int) -> str:
    """What a member who tried to opt in or out is told, to pass on to a moderator."""
    return (role_problem(missing, role_id) + " Please tell a moderator. Meanwhile `/alerts dm` gets you a "
            "direct message per release instead.")


def joined_text(role_id: int) -> str:
    return (f"🔔 You now get release alerts: each new chapter mentions <@&{role_id}>. "
            "`/alerts off` or 🔔 again stops them.")


def left_text(role_id: int) -> str:
    return (f"🔕 Release alerts are off for you (<@&{role_id}> removed). "
            "`/alerts on` or 🔔 turns them back on.")


def already_text(on: bool) -> str:
    return "You already get release alerts." if on else "You don't get release alerts (nothing to turn off)."


# --- a direct message per release (`/alerts dm`) ------------------------------------------------------

DM_PACE_SECONDS = 1.0  # between two DMs: Discord limits DMs per bot, and a release never waits for them


class DmClosed(Exception):
    """Discord refused the DM (50007 Cannot send messages to this user): DMs closed, or the bot blocked."""


class DmSender(Protocol):
    async def dm(self, user_id: int, content: str) -> None:
        """Send `content` to the user in a DM (pinging no one); `DmClosed` when Discord refuses it."""
        ...


@dataclass(frozen=True)
class DmReport:
    sent: list[int]
    switched_back: list[int]  # DMs closed: their DM alerts were turned off, not retried


async def deliver_dms(conn: Database, sender: DmSender, *, guild_id: int, chapter: int,
                      content: str, pace: float = DM_PACE_SECONDS,
                      sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> DmReport:
    """DM everyone in the guild who asked for it and has not had chapter `chapter`'s DM yet, `pace`
    seconds apart.  A member whose DMs are closed is switched back (their request deleted) rather than
    retried at every release; any other failure leaves them owed, for the next attempt."""
    sent, switched = [], []
    for index, user_id in enumerate(await store.dms_due(conn, guild_id, chapter)):
        if index and pace > 0:
            await sleep(pace)
        try:
            await sender.dm(user_id, content)
        except DmClosed:
            await store.unsubscribe_dm(conn, guild_id, user_id)
            switched.append(user_id)
            continue
        await store.dm_sent(conn, guild_id, user_id, chapter)
        sent.append(user_id)
    return DmReport(sent, switched)


def release_dm(*, server: str, number: int, total: int, title: str, url: str) -> str:
    """The DM of a release: which server, which chapter, and a link to it (story text escaped)."""
    return (f"📖 Chapter {number} of {total}, **{escape_markdown(title)}**, is out in "
            f"**{escape_markdown(server)}**: {url}\n-# You asked for this with `/alerts dm`; "
            "`/alerts off` in that server stops it.")


def dm_on_text() -> str:
    return ("📬 You'll get a direct message for each new chapter released here (I just sent you one to "
            "check that I can). `/alerts off` stops it.")


def dm_closed_text() -> str:
    return ("I can't send you direct messages (your DMs are closed to me, e.g. in this server's Privacy "
            "Settings), so DM alerts stay off. If I can't reach you later I turn them off again rather "
            "than keep trying.")


def dm_welcome(server: str) -> str:
    return (f"📬 Release alerts from **{escape_markdown(server)}** will come here, one message per new "
            "chapter. `/alerts off` in that server stops them.")


def dm_already_text() -> str:
    return "You already get a direct message per release here. `/alerts off` stops it."
