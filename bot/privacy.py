"""Members' and servers' data: forgetting a member on request, and purging a server the bot left.

Why this exists: Discord's developer policy expects a bot to delete a user's data when asked and not to
keep a server's data once it is no longer used there.  What is stored, and for how long, is listed in
the README's "Privacy" section; the SQL is `bot.storage.privacy`.

- `forget` deletes a member's reactions, quiz answers and quiz score, and takes their id off the quiz
  games they started or stopped and the schedules they added (kept, for the server and the other
  players).  `/aar forget-me` (the member, in one server) and `aar-bot forget` (an admin) use it.
  Likes are counted from the stored reactions, so a forgotten member's likes stop counting at once.
- A server the bot is removed from keeps its data for `GRACE_PERIOD`, so a re-invite finds everything as
  it was; then the bot purges it (`purge_due`, run by a periodic check).  The departure time is stored,
  so restarts neither lose nor extend it; at every start, `reconcile_membership` notes departures that
  happened while the bot was offline and cancels those of servers it is back in.

No Discord here: the cog passes ids and the bot's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.errors import UserError
from bot.storage import privacy as store
from bot.storage.database import Database
from bot.storage.privacy import MemberData
from bot.timestamps import format_timestamp, parse_timestamp

GRACE_PERIOD = timedelta(days=30)
CHECK_INTERVAL = timedelta(hours=1)  # how often the bot looks for servers whose grace period is over

__all__ = ["CHECK_INTERVAL", "GRACE_PERIOD", "MemberData", "Membership", "Purged", "QuizStillRunning",
           "check_forgettable", "cli_summary", "confirm_prompt", "describe", "forget", "forgotten_reply",
           "guild_left", "guild_returned", "purge_due", "reconcile_membership", "stored_about"]


class QuizStillRunning(UserError):
    def __init__(self) -> None:
        super().__init__("A quiz you started is still running here: let it finish or stop it with "
                         "`/quiz stop`, then try again. (A quiz left running by a crash ends when the bot "
                         "next starts.)")


# --- members -------------------------------------------------------------------------------------------

async def stored_about(conn: Database, user_id: int, guild_id: int | None = None) -> MemberData:
    """What is stored about the member in `guild_id` (None: every server)."""
    return await store.member_data(conn, user_id, guild_id)


async def check_forgettable(conn: Database, user_id: int, guild_id: int | None = None) -> None:
    """Refuse (`QuizStillRunning`) while a quiz the member started runs: the game in progress still
    answers to their id.  `forget` checks again; asking first spares the member a prompt that would fail."""
    if await store.running_games_of(conn, user_id, guild_id):
        raise QuizStillRunning()


async def forget(conn: Database, user_id: int, *, guild_id: int | None = None) -> MemberData:
    """Forget the member in `guild_id` (None: in every server); returns what was deleted or anonymised.

    What `aar-bot forget USER_ID [--guild ID]` runs (`cli_summary` words its result) as well as
    `/aar forget-me`.  Refused (`QuizStillRunning`, a `UserError`) while a quiz the member started runs.
    """
    await check_forgettable(conn, user_id, guild_id)
    return await store.forget_member(conn, user_id, guild_id)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _phrases(data: MemberData, *, member: bool = True) -> tuple[list[str], list[str]]:
    """(rows deleted, rows kept without the member's name), in words: to the member (`you`), or about
    them to an operator."""
    deleted = []
    if data.reactions:
        deleted.append(_count(data.reactions, "reaction"))
    if data.quiz_answers:
        deleted.append(_count(data.quiz_answers, "quiz answer"))
    if data.quiz_scores:
        deleted.append("your quiz score" if data.quiz_scores == 1 and member
                       else _count(data.quiz_scores, "quiz score") + (" (one per server)" if member else ""))
    if data.chapters_read:
        deleted.append(f"{'your' if member else 'their'} reading progress in "
                       + _count(data.chapters_read, "chapter"))
    if data.alert_dms:
        deleted.append(f"{'your' if member else 'their'} request for release DMs"
                       + ("" if data.alert_dms == 1 else f" (in {data.alert_dms} servers)"))
    named = []
    who = "you" if member else "they"
    if data.quiz_games_started:
        named.append(_count(data.quiz_games_started, "quiz game") + f" {who} started")
    if data.quiz_games_stopped:
        named.append(_count(data.quiz_games_stopped, "quiz game") + f" {who} stopped")
    if data.schedules:
        named.append(_count(data.schedules, "release schedule") + f" {who} added")
    return deleted, named


def describe(data: MemberData) -> str:
    """What `data` holds, in words: "12 reactions, 3 quiz answers and your quiz score, and your name on
    1 quiz game you started"."""
    deleted, named = _phrases(data)
    parts = ([_joined(deleted)] if deleted else []) + ([f"your name on {_joined(named)}"] if named else [])
    return ", and ".join(parts) or "nothing"


def confirm_prompt(data: MemberData) -> str:
    """The question `/aar forget-me` asks before deleting anything."""
    lines = [f"**Delete what AAR Bot stores about you in this server?** That is {describe(data)}."]
    if data.reactions:
        lines.append("Chapter likes are counted from these reactions, so your likes will no longer count. "
                     "Reactions you leave on chapter messages may be counted again later; remove them in "
                     "Discord if you want them gone for good.")
    if data.quiz_answers or data.quiz_scores:
        lines.append("Your quiz points leave the leaderboard.")
    if data.quiz_games_started or data.quiz_games_stopped or data.schedules:
        lines.append("Quiz games and schedules stay for the others, without your name.")
    lines.append("This cannot be undone.")
    return "\n".join(lines)


def forgotten_reply(data: MemberData) -> str:
    """The answer once the member confirmed: what was actually deleted."""
    deleted, named = _phrases(data)
    done = ([f"deleted {_joined(deleted)}"] if deleted else []) + (
        [f"removed your name from {_joined(named)}"] if named else [])
    if not done:
        return "Done: nothing about you is stored in this server."
    return f"Done: {', and '.join(done)}." + (" Your likes no longer count." if data.reactions else "")


def cli_summary(data: MemberData, user_id: int, guild_id: int | None) -> str:
    """The one line `aar-bot forget` prints: what was deleted, about whom, where."""
    where = f"in server {guild_id}" if guild_id is not None else "in every server"
    deleted, named = _phrases(data, member=False)
    done = ([f"deleted {_joined(deleted)}"] if deleted else []) + (
        [f"removed their id from {_joined(named)}"] if named else [])
    if not done:
        return f"Nothing is stored about user {user_id} {where}."
    return f"Forgot user {user_id} {where}: {', and '.join(done)}."


# --- servers -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Membership:
    """What `reconcile_membership` changed: departures noted, departures cancelled."""

    left: list[int] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Purged:
    guild_id: int
    left_at: datetime
    rows: dict[str, int]


async def guild_left(conn: Database, guild_id: int, now: datetime) -> bool:
    """The bot was removed from `guild_id`: its data is purged after `GRACE_PERIOD` from now."""
    return await store.record_departure(conn, guild_id, format_timestamp(now))


async def guild_returned(conn: Database, guild_id: int) -> bool:
    """The bot is in `guild_id` (again): keep everything.  True if a purge was pending."""
    return await store.cancel_departure(conn, guild_id)


async def reconcile_membership(conn: Database, present: Iterable[int], now: datetime,
                               owns_guild: Callable[[int], bool] = lambda _guild: True) -> Membership:
    """At start: the bot may have been removed from, or re-invited to, servers while it was offline.

    `present` is every server Discord says the bot is in (unavailable ones included: an outage is not a
    departure).  A server with stored data that is not in it is noted as left now; a pending departure
    of a server that is in it is cancelled.  Only servers `owns_guild` says are this process's (its
    shards'): the others are missing from `present` because another process holds them, not because the
    bot left, and noting them as left would purge them after the grace period.
    """
    here = set(present)
    returned = [d.guild_id for d in await store.list_departures(conn) if d.guild_id in here]
    for guild_id in returned:
        await store.cancel_departure(conn, guild_id)
    left = []
    for guild_id in sorted(g for g in await store.guilds_with_data(conn) - here if owns_guild(g)):
        if await store.record_departure(conn, guild_id, format_timestamp(now)):
            left.append(guild_id)
    return Membership(left, returned)


async def purge_due(conn: Database, now: datetime,
                    grace: timedelta = GRACE_PERIOD) -> list[Purged]:
    """Purge every server the bot left more than `grace` before `now`; what was purged."""
    cutoff = format_timestamp(now - grace)
    purged = []
    for departure in await store.departures_due(conn, cutoff):
        rows = await store.purge_guild(conn, departure.guild_id, cutoff)
        if rows is not None:
            purged.append(Purged(departure.guild_id, parse_timestamp(departure.left_at), rows))
    return purged
