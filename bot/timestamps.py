"""The one way an instant is written to the database, and read back.

Written form: UTC, millisecond precision, a `Z` suffix, e.g. `2026-05-01T18:00:00.000Z`.  It is exactly
what the schema's defaults write (`strftime('%Y-%m-%dT%H:%M:%fZ','now')`), and it has a fixed width, so
comparing two stored instants as text compares them in time: the schedule loop finds due schedules with
`next_run_at <= now` and a schedule slot is recognised by equality, both in SQL, on text.

Sub-millisecond digits are cut, not rounded: an instant is written as the millisecond it falls in, so
"now" is never written as a moment still ahead (a schedule is never due early).

Reading accepts every form databases written before migration V7 hold (seconds only, microseconds,
`+00:00` instead of `Z`, a bare date), so a value read from an old backup or a test's hand-written row
means what it meant when it was written; an instant without an offset is UTC.

No Discord and no feature imports: storage and every feature use this module.
"""

from __future__ import annotations

from datetime import UTC, datetime


def format_timestamp(moment: datetime) -> str:
    """`moment` as stored: `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC (a naive datetime is refused, not guessed)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a stored instant needs a time zone, got the naive datetime {moment!r}")
    # isoformat pads the year to four digits (strftime's %Y does not for years below 1000) and its
    # "milliseconds" timespec truncates.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_timestamp(text: str) -> datetime:
    """A stored instant as an aware UTC datetime; ValueError when `text` is not an ISO-8601 instant."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
