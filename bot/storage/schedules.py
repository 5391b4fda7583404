"""Schedule rows: SQL only; what is due and what comes next is decided in `bot.chapters.when`.

Each statement here stands alone (autocommit), so a crash between two of them leaves the table in a
state the schedule service knows how to continue from.  Instants are stored in the one format of
`bot.timestamps`, so comparing them as text (`next_run_at <= now`, `next_run_at = expected`) compares
them in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.database import Database, Row
from bot.storage.sql import execute, fetch_all, fetch_one, fetch_value
from bot.timestamps import format_timestamp, parse_timestamp


@dataclass(frozen=True)
class ScheduleRow:
    id: int
    guild_id: int
    spec: str
    timezone: str
    next_run_at: datetime | None
    paused: bool
    created_by: int | None
    created_at: str
    cancelled_at: str | None
    channel_id: int | None
    last_run_at: datetime | None

    @property
    def active(self) -> bool:
        """Not cancelled and still has a run ahead (a fired one-off is finished)."""
        return self.cancelled_at is None and self.next_run_at is not None


_COLUMNS = ("id, guild_id, spec, timezone, next_run_at, paused, created_by, created_at, cancelled_at, "
            "channel_id, last_run_at")


def _row(r: Row) -> ScheduleRow:
    return ScheduleRow(
        id=r["id"], guild_id=r["guild_id"], spec=r["spec"], timezone=r["timezone"],
        next_run_at=parse_timestamp(r["next_run_at"]) if r["next_run_at"] else None, paused=bool(r["paused"]),
        created_by=r["created_by"], created_at=r["created_at"], cancelled_at=r["cancelled_at"],
        channel_id=r["channel_id"],
        last_run_at=parse_timestamp(r["last_run_at"]) if r["last_run_at"] else None,
    )


async def add_schedule(conn: Database, *, guild_id: int, spec: str, timezone: str,
                       next_run_at: datetime, created_by: int | None, channel_id: int | None,
                       now: datetime) -> ScheduleRow:
    schedule_id = await fetch_value(
        conn,
        "INSERT INTO schedules(guild_id, spec, timezone, next_run_at, paused, created_by, created_at,"
        " channel_id) VALUES (?, ?, ?, ?, 0, ?, ?, ?) RETURNING id",
        (guild_id, spec, timezone, format_timestamp(next_run_at), created_by, format_timestamp(now),
         channel_id),
    )
    row = await get_schedule(conn, guild_id, schedule_id)
    assert row is not None
    return row


async def get_schedule(conn: Database, guild_id: int, schedule_id: int) -> ScheduleRow | None:
    """A schedule of this guild (another guild's id is as good as unknown)."""
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM schedules WHERE id = ? AND guild_id = ?",
                          (schedule_id, guild_id))
    return _row(row) if row else None


async def list_schedules(conn: Database, guild_id: int) -> list[ScheduleRow]:
    """The guild's live schedules (not cancelled, not finished), soonest first."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM schedules WHERE guild_id = ? AND cancelled_at IS NULL"
        " AND next_run_at IS NOT NULL ORDER BY next_run_at, id", (guild_id,),
    )
    return [_row(r) for r in rows]


async def cancel_schedule(conn: Database, guild_id: int, schedule_id: int, now: datetime) -> bool:
    changed = await execute(
        conn,
        "UPDATE schedules SET cancelled_at = ? WHERE id = ? AND guild_id = ? AND cancelled_at IS NULL"
        " AND next_run_at IS NOT NULL", (format_timestamp(now), schedule_id, guild_id),
    )
    return changed > 0


async def set_paused(conn: Database, schedule_id: int, paused: bool) -> None:
    await execute(conn, "UPDATE schedules SET paused = ? WHERE id = ?", (int(paused), schedule_id))


async def set_next_run(conn: Database, schedule_id: int, next_run_at: datetime | None, *,
                       expected: datetime | None, last_run_at: datetime | None = None) -> bool:
    """Move a schedule on, only if it is still at `expected` (so two movers never both win)."""
    sql = ("UPDATE schedules SET next_run_at = ?, last_run_at = COALESCE(?, last_run_at) WHERE id = ? AND "
           + ("next_run_at = ?" if expected is not None else "next_run_at IS NULL"))
    params: tuple[object, ...] = (format_timestamp(next_run_at) if next_run_at else None,
                                  format_timestamp(last_run_at) if last_run_at else None, schedule_id)
    if expected is not None:
        params += (format_timestamp(expected),)
    return await execute(conn, sql, params) > 0


async def due_schedules(conn: Database, now: datetime) -> list[ScheduleRow]:
    """Live, unpaused schedules whose next run is at or before `now`, oldest slot first."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM schedules WHERE cancelled_at IS NULL AND paused = 0"
        " AND next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at, id",
        (format_timestamp(now),),
    )
    return [_row(r) for r in rows]


async def next_due_by_guild(conn: Database) -> dict[int, datetime]:
    """When each guild's soonest live, unpaused schedule is due (for the loop to sleep until the first of
    the guilds its process holds)."""
    rows = await fetch_all(
        conn, "SELECT guild_id, MIN(next_run_at) AS due FROM schedules WHERE cancelled_at IS NULL"
        " AND paused = 0 AND next_run_at IS NOT NULL GROUP BY guild_id"
    )
    return {r["guild_id"]: parse_timestamp(r["due"]) for r in rows}
