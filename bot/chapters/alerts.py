"""Release alerts: a role a release mentions, that members add and remove themselves — Discord-free.

A member opts in (`/alerts on`, or 🔔 under a release) and the bot gives them the server's alert role;
a release then mentions that role and nothing else (`bot.chapters.plan`).  Nobody is pinged who did not
ask to be.  Giving a role needs Discord's **Manage Roles** and the bot's own highest role above the
alert role; when either is missing the release still goes out (it just pings no one new) and whoever
tried is told which of the two to fix.  Here: that rule and every text the feature says.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import UserError

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
    return role_problem(missing, role_id) + " Please tell a moderator."


def joined_text(role_id: int) -> str:
    return (f"🔔 You now get release alerts: each new chapter mentions <@&{role_id}>. "
            "`/alerts off` or 🔔 again stops them.")


def left_text(role_id: int) -> str:
    return (f"🔕 Release alerts are off for you (<@&{role_id}> removed). "
            "`/alerts on` or 🔔 turns them back on.")


def already_text(on: bool) -> str:
    return "You already get release alerts." if on else "You don't get release alerts (nothing to turn off)."
