"""Schedule rows: SQL only; what is due and what comes next is decided in `bot.scheduling`.

Each statement here stands alone (autocommit), so a crash between two of them leaves the table in a
state the schedule service knows how to continue from.  Instants are stored as UTC ISO-8601 text in
one format (`bot.scheduling.to_iso`), so comparing them as text compares them in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.chapters.when import from_iso, to_iso


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


def _row(r: aiosqlite.Row) -> ScheduleRow:
    return ScheduleRow(
        id=r["id"], guild_id=r["guild_id"], spec=r["spec"], timezone=r["timezone"],
        next_run_at=from_iso(r["next_run_at"]) if r["next_run_at"] else None, paused=bool(r["paused"]),
        created_by=r["created_by"], created_at=r["created_at"], cancelled_at=r["cancelled_at"],
        channel_id=r["channel_id"], last_run_at=from_iso(r["last_run_at"]) if r["last_run_at"] else None,
    )


async def add_schedule(conn: aiosqlite.Connection, *, guild_id: int, spec: str, timezone: str,
                       next_run_at: datetime, created_by: int | None, channel_id: int | None,
                       now: datetime) -> ScheduleRow:
    cur = await conn.execute(
        "INSERT INTO schedules(guild_id, spec, timezone, next_run_at, paused, created_by, created_at, channel_id)"
        " VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
        (guild_id, spec, timezone, to_iso(next_run_at), created_by, to_iso(now), channel_id),
    )
    row = await get_schedule(conn, guild_id, cur.lastrowid)
    assert row is not None
    return row


async def get_schedule(conn: aiosqlite.Connection, guild_id: int, schedule_id: int) -> ScheduleRow | None:
    """A schedule of this guild (another guild's id is as good as unknown)."""
    async with conn.execute(f"SELECT {_COLUMNS} FROM schedules WHERE id = ? AND guild_id = ?",
                            (schedule_id, guild_id)) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def list_schedules(conn: aiosqlite.Connection, guild_id: int) -> list[ScheduleRow]:
    """The guild's live schedules (not cancelled, not finished), soonest first."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM schedules WHERE guild_id = ? AND cancelled_at IS NULL AND next_run_at IS NOT NULL"
        " ORDER BY next_run_at, id", (guild_id,),
    ) as cur:
        return [_row(r) for r in await cur.fetchall()]


async def cancel_schedule(conn: aiosqlite.Connection, guild_id: int, schedule_id: int, now: datetime) -> bool:
    cur = await conn.execute(
        "UPDATE schedules SET cancelled_at = ? WHERE id = ? AND guild_id = ? AND cancelled_at IS NULL"
        " AND next_run_at IS NOT NULL", (to_iso(now), schedule_id, guild_id),
    )
    return cur.rowcount > 0


async def set_paused(conn: aiosqlite.Connection, schedule_id: int, paused: bool) -> None:
    await conn.execute("UPDATE schedules SET paused = ? WHERE id = ?", (int(paused), schedule_id))


async def set_next_run(conn: aiosqlite.Connection, schedule_id: int, next_run_at: datetime | None, *,
                       expected: datetime | None, last_run_at: datetime | None = None) -> bool:
    """Move a schedule on, only if it is still at `expected` (so two movers never both win)."""
    sql = ("UPDATE schedules SET next_run_at = ?, last_run_at = COALESCE(?, last_run_at) WHERE id = ? AND "
           + ("next_run_at = ?" if expected is not None else "next_run_at IS NULL"))
    params: tuple = (to_iso(next_run_at) if next_run_at else None, to_iso(last_run_at) if last_run_at else None,
                     schedule_id)
    if expected is not None:
        params += (to_iso(expected),)
    cur = await conn.execute(sql, params)
    return cur.rowcount > 0


async def due_schedules(conn: aiosqlite.Connection, now: datetime) -> list[ScheduleRow]:
    """Live, unpaused schedules whose next run is at or before `now`, oldest slot first."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM schedules WHERE cancelled_at IS NULL AND paused = 0 AND next_run_at IS NOT NULL"
        " AND next_run_at <= ? ORDER BY next_run_at, id", (to_iso(now),),
    ) as cur:
        return [_row(r) for r in await cur.fetchall()]


async def next_due_at(conn: aiosqlite.Connection) -> datetime | None:
    """When the soonest live, unpaused schedule is due (for the loop to sleep until then)."""
    async with conn.execute(
        "SELECT MIN(next_run_at) FROM schedules WHERE cancelled_at IS NULL AND paused = 0"
        " AND next_run_at IS NOT NULL"
    ) as cur:
        value = (await cur.fetchone())[0]
    return from_iso(value) if value else None
