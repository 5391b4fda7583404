"""When a scheduled release is due: parsing `when:` and computing the next run — pure, no I/O.

A moderator writes a one-off (`2026-05-01 18:00`) or a cadence (`every monday 18:00`, `daily 20:00`,
`every 3 days 12:00`) in an IANA time zone.  Times are wall-clock times in that zone, so a weekly
release at 18:00 stays at 18:00 local across daylight-saving changes; everything stored and compared is
UTC.  Nothing here reads the clock: every function takes `now`, so tests move time instead of sleeping.

DST edge cases follow zoneinfo's `fold=0`: a wall time skipped by spring-forward (02:30 on the night
clocks jump 02:00→03:00) runs at the equivalent instant (03:30 local); a wall time that happens twice
at fall-back runs at its first occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from rapidfuzz import fuzz, process

from bot.errors import UserError
from bot.text import echo_input

MAX_INTERVAL_DAYS = 365

WHEN_EXAMPLES = ("`2026-05-01 18:00`", "`every monday 18:00`", "`daily 20:00`", "`every 3 days 12:00`")
_EXAMPLES_TEXT = "Examples that work: " + ", ".join(WHEN_EXAMPLES) + "."

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ScheduleError(UserError, ValueError):
    """A `when:` or time zone the bot cannot use; the message says why and shows what works."""


@dataclass(frozen=True)
class When:
    """A parsed `when:`.

    `kind` is `once` (`at` is the UTC instant), `daily`, `weekly` (`weekday` 0=Monday) or `interval`
    (every `days` days, on the grid anchored at the first run).  `spec` is the normalised text shown
    back to moderators.
    """

    kind: str
    zone: str
    spec: str
    at: datetime | None = None
    clock: time | None = None
    weekday: int | None = None
    days: int = 1

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def first_run(self, now: datetime) -> datetime:
        """The first due instant (UTC) of a schedule created at `now`: strictly in the future."""
        _require_aware(now)
        if self.kind == "once":
            assert self.at is not None
            return self.at
        assert self.clock is not None
        local_now = now.astimezone(self.tz)
        day = local_now.date()
        while True:
            if self.kind != "weekly" or day.weekday() == self.weekday:
                candidate = _at_local(day, self.clock, self.tz)
                if candidate > now:
                    return candidate
            day += timedelta(days=1)

    def next_run(self, previous: datetime, now: datetime) -> datetime | None:
        """The run after `previous` (the slot that just fired) that is strictly after `now`.

        Slots missed while the bot was down are skipped, so a catch-up fires once, not once per slot.
        A one-off has no next run (None).  Interval cadences stay on the grid of `previous`.
        """
        _require_aware(previous)
        _require_aware(now)
        if self.kind == "once":
            return None
        assert self.clock is not None
        floor = max(previous, now)
        if self.kind == "interval":
            day = previous.astimezone(self.tz).date()
            local_floor = floor.astimezone(self.tz).date()
            if local_floor > day:
                # Jump close to `floor` in whole intervals instead of walking day by day.
                skipped = (local_floor - day).days // self.days
                day += timedelta(days=max(skipped - 1, 0) * self.days)
            while True:
                candidate = _at_local(day, self.clock, self.tz)
                if candidate > floor:
                    return candidate
                day += timedelta(days=self.days)
        return self.first_run(floor)

    def describe(self) -> str:
        """A human summary, e.g. `every Monday at 18:00 (Europe/Paris)`."""
        if self.kind == "once":
            assert self.at is not None
            local = self.at.astimezone(self.tz)
            return f"once on {local:%Y-%m-%d} at {local:%H:%M} ({self.zone})"
        assert self.clock is not None
        hhmm = f"{self.clock:%H:%M}"
        if self.kind == "daily":
            return f"every day at {hhmm} ({self.zone})"
        if self.kind == "weekly":
            assert self.weekday is not None
            return f"every {WEEKDAYS[self.weekday].capitalize()} at {hhmm} ({self.zone})"
        return f"every {self.days} days at {hhmm} ({self.zone})"


def resolve_zone(name: str | None) -> str:
    """Validate an IANA zone name and return its canonical spelling; refuse unknown ones helpfully."""
    text = (name or "").strip()
    if not text:
        raise ScheduleError("The time zone is empty. Use an IANA name such as `Europe/Paris`, "
                            "`America/New_York` or `UTC`.")
    canonical = _zones_by_casefold().get(text.casefold())
    if canonical is not None:
        return canonical
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        hint = suggest_zones(text, limit=3)
        close = f" Did you mean {', '.join(f'`{z}`' for z in hint)}?" if hint else ""
        raise ScheduleError(f"`{echo_input(text)}` is not a time zone I know.{close} Use an IANA name "
                            "such as `Europe/Paris`, `America/New_York` or `UTC`.") from None
    return text


def suggest_zones(text: str, *, limit: int = 25) -> list[str]:
    """Zone names closest to what was typed (for autocomplete and for 'did you mean')."""
    zones = _sorted_zones()
    text = text.strip()
    if not text:
        preferred = ["UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York",
                     "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney"]
        return [z for z in preferred if z in zones][:limit]
    folded = text.casefold()
    starts = [z for z in zones if z.casefold().startswith(folded)]
    contains = [z for z in zones if folded in z.casefold() and z not in starts]
    found = starts + contains
    if len(found) < limit:
        fuzzy = process.extract(text, zones, scorer=fuzz.WRatio, limit=limit, score_cutoff=60)
        found += [name for name, _score, _idx in fuzzy if name not in found]
    return found[:limit]


_TIME = r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>am|pm)?"
_ONCE = re.compile(r"^(?P<date>\d{4}-\d{1,2}-\d{1,2})(?:[ t]+|t)(?:at\s+)?" + _TIME + "$")
_DAILY = re.compile(r"^(?:daily|every\s+day|each\s+day)\s+(?:at\s+)?" + _TIME + "$")
_WEEKLY = re.compile(r"^(?:every\s+|each\s+|weekly\s+(?:on\s+)?)?(?P<day>[a-z]+?)s?\s+(?:at\s+)?"
                     + _TIME + "$")
_INTERVAL = re.compile(r"^every\s+(?P<n>\d+)\s+days?\s+(?:at\s+)?" + _TIME + "$")


def parse_when(text: str, zone: str, now: datetime) -> When:
    """Parse a moderator's `when:` in `zone`; refuse with an example when it cannot be used.

    A one-off must lie in the future of `now`.
    """
    _require_aware(now)
    zone = resolve_zone(zone)
    tz = ZoneInfo(zone)
    raw = " ".join((text or "").split())
    spec = raw.casefold()
    raw = echo_input(raw)  # from here on, only quoted back in refusals
    if not spec:
        raise ScheduleError(f"Tell me when to release. {_EXAMPLES_TEXT}")

    if match := _ONCE.match(spec):
        try:
            day = date.fromisoformat(_pad_date(match["date"]))
        except ValueError:
            raise ScheduleError(f"`{raw}`: {match['date']} is not a calendar date. "
                                f"{_EXAMPLES_TEXT}") from None
        clock = _clock(match, raw)
        local_now = now.astimezone(tz)
        try:
            at = _at_local(day, clock, tz)
        except OverflowError:  # year 1 or 9999 across UTC: not an instant datetime can hold
            raise ScheduleError(f"`{raw}` is too far from today to schedule. Pick a nearer time, e.g. "
                                f"`{_example_future(local_now)}`.") from None
        if at <= now:
            raise ScheduleError(f"`{raw}` is in the past (it is now {local_now:%Y-%m-%d %H:%M} in {zone}). "
                                f"Pick a later time, e.g. `{_example_future(local_now)}`.")
        return When("once", zone, f"{day.isoformat()} {clock:%H:%M}", at=at, clock=clock)
    if match := _DAILY.match(spec):
        clock = _clock(match, raw)
        return When("daily", zone, f"daily {clock:%H:%M}", clock=clock)
    if match := _INTERVAL.match(spec):
        # More digits than any allowed interval has is out of range (and int() refuses over 4,300 digits).
        days = int(match["n"]) if len(match["n"]) <= 6 else MAX_INTERVAL_DAYS + 1
        if not 1 <= days <= MAX_INTERVAL_DAYS:
            raise ScheduleError(f"`{raw}`: the interval must be between 1 and {MAX_INTERVAL_DAYS} days, "
                                "e.g. `every 3 days 12:00`.")
        clock = _clock(match, raw)
        if days == 1:
            return When("daily", zone, f"daily {clock:%H:%M}", clock=clock)
        return When("interval", zone, f"every {days} days {clock:%H:%M}", clock=clock, days=days)
    if match := _WEEKLY.match(spec):
        weekday = _weekday(match["day"])
        if weekday is not None:
            clock = _clock(match, raw)
            return When("weekly", zone, f"every {WEEKDAYS[weekday]} {clock:%H:%M}", clock=clock,
                        weekday=weekday)
    raise ScheduleError(f"I can't read `{raw}` as a date or a cadence. {_EXAMPLES_TEXT}")


def restore_when(spec: str, zone: str, next_run_at: datetime | None) -> When:
    """Rebuild a stored schedule's `When` (its one-off instant comes from the stored next run)."""
    if _ONCE.match(spec.casefold()):
        match = _ONCE.match(spec.casefold())
        assert match is not None
        day = date.fromisoformat(_pad_date(match["date"]))
        clock = _clock(match, spec)
        return When("once", zone, spec, at=next_run_at or _at_local(day, clock, ZoneInfo(zone)), clock=clock)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return parse_when(spec, zone, epoch)


def _at_local(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall time `clock` on `day` in `tz` (fold=0 across DST changes)."""
    local = datetime.combine(day, clock, tzinfo=tz)
    # A wall time inside a spring-forward gap does not exist; normalise it through UTC.
    return local.astimezone(UTC)


def _clock(match: re.Match[str], raw: str) -> time:
    hour, minute = int(match["h"]), int(match["m"] or 0)
    ampm = match["ampm"]
    if ampm:
        if not 1 <= hour <= 12:
            raise ScheduleError(f"`{raw}`: {hour}{ampm} is not a time; write e.g. `6pm` or `18:00`.")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif match["m"] is None:
        raise ScheduleError(f"`{raw}`: give the time as HH:MM, e.g. `18:00` (or `6pm`). {_EXAMPLES_TEXT}")
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ScheduleError(f"`{raw}`: {match['h']}:{match['m'] or '00'} is not a time of day; "
                            "use 24-hour HH:MM, e.g. `18:00`.")
    return time(hour, minute)


def _weekday(word: str) -> int | None:
    for index, name in enumerate(WEEKDAYS):
        if word == name or (len(word) >= 3 and name.startswith(word)):
            return index
    return None


def _pad_date(text: str) -> str:
    year, month, day = text.split("-")
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _example_future(local_now: datetime) -> str:
    later = local_now + timedelta(days=1)
    return f"{later:%Y-%m-%d} 18:00"


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("scheduling works on timezone-aware datetimes only")


@lru_cache(maxsize=1)
def _sorted_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


@lru_cache(maxsize=1)
def _zones_by_casefold() -> dict[str, str]:
    return {z.casefold(): z for z in _sorted_zones()}
