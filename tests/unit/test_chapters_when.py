"""`when:` parsing and next-run arithmetic: cadences, zones, DST, refusals, missed slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.chapters.when import ScheduleError, parse_when, resolve_zone, restore_when, suggest_zones

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)  # a Wednesday, the week Europe springs forward


def local(when: datetime, tz: ZoneInfo = PARIS) -> tuple[str, str]:
    moment = when.astimezone(tz)
    return moment.strftime("%a %Y-%m-%d %H:%M"), moment.tzname() or ""


# --- parsing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kind", "spec"), [
    ("every monday 18:00", "weekly", "every monday 18:00"),
    ("Every Mon at 6pm", "weekly", "every monday 18:00"),
    ("fridays 9:05", "weekly", "every friday 09:05"),
    ("daily 20:00", "daily", "daily 20:00"),
    ("every day at 7:30am", "daily", "daily 07:30"),
    ("every 3 days 12:00", "interval", "every 3 days 12:00"),
    ("every 1 day 12:00", "daily", "daily 12:00"),
    ("2026-05-01 18:00", "once", "2026-05-01 18:00"),
    ("2026-5-1T18:00", "once", "2026-05-01 18:00"),
])
def test_parse_accepts_the_documented_forms(text: str, kind: str, spec: str) -> None:
    when = parse_when(text, "Europe/Paris", NOW)
    assert (when.kind, when.spec, when.zone) == (kind, spec, "Europe/Paris")


@pytest.mark.parametrize(("text", "fragment"), [
    ("2026-03-01 18:00", "in the past"),
    ("2026-03-25 12:59", "in the past"),   # 11:59 UTC: a minute before now
    ("every funday 18:00", "can't read"),
    ("whenever", "can't read"),
    ("", "Tell me when"),
    ("daily 25:00", "not a time of day"),
    ("daily 18", "HH:MM"),
    ("every 0 days 12:00", "between 1 and 365"),
    ("2026-02-30 18:00", "not a calendar date"),
    ("every monday 13pm", "not a time"),
    ("0001-01-01 00:01", "too far from today"),  # before year 1 in UTC
    ("every " + "9" * 5000 + " days 12:00", "between 1 and 365"),  # more digits than int() takes
])
def test_parse_refuses_with_an_example(text: str, fragment: str) -> None:
    with pytest.raises(ScheduleError) as err:
        parse_when(text, "Europe/Paris", NOW)
    message = str(err.value)
    assert fragment in message
    assert "`" in message and any(ch.isdigit() for ch in message)  # shows a working example


def test_unknown_zone_is_refused_with_suggestions() -> None:
    with pytest.raises(ScheduleError) as err:
        parse_when("daily 20:00", "Europe/Pariss", NOW)
    assert "`Europe/Pariss` is not a time zone" in str(err.value)
    assert "Europe/Paris" in str(err.value).split("Did you mean", 1)[1]
    with pytest.raises(ScheduleError):
        resolve_zone("../../etc/passwd")
    with pytest.raises(ScheduleError):
        resolve_zone("")


def test_zone_names_are_canonicalised_and_suggested() -> None:
    assert resolve_zone("europe/paris") == "Europe/Paris"
    assert resolve_zone("UTC") == "UTC"
    assert suggest_zones("new_y")[0] == "America/New_York"
    assert len(suggest_zones("a")) == 25
    assert suggest_zones("")[0] == "UTC"


# --- next runs, DST ----------------------------------------------------------------------------------

def test_weekly_keeps_local_time_across_spring_forward() -> None:
    when = parse_when("every monday 18:00", "Europe/Paris", NOW)
    first = when.first_run(NOW)
    assert local(first) == ("Mon 2026-03-30 18:00", "CEST")  # clocks went forward on Sunday 29th
    assert first == datetime(2026, 3, 30, 16, 0, tzinfo=UTC)
    before = when.first_run(datetime(2026, 3, 20, tzinfo=UTC))
    assert before == datetime(2026, 3, 23, 17, 0, tzinfo=UTC)  # CET: UTC+1
    second = when.next_run(first, first)
    assert local(second) == ("Mon 2026-04-06 18:00", "CEST")


def test_daily_across_fall_back_and_spring_gap() -> None:
    when = parse_when("daily 02:30", "Europe/Paris", NOW)
    # 02:30 does not exist on 2026-03-29 (02:00 → 03:00): it runs at the same instant as 03:30 CEST.
    run = when.first_run(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert run == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    following = when.next_run(run, run)
    assert local(following) == ("Mon 2026-03-30 02:30", "CEST")
    # 02:30 happens twice on 2026-10-25: the first (CEST) occurrence is used, once.
    autumn = when.first_run(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    assert autumn == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert when.next_run(autumn, autumn) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_same_instant_is_not_due_twice() -> None:
    when = parse_when("daily 20:00", "UTC", NOW)
    first = when.first_run(NOW)
    assert first == datetime(2026, 3, 25, 20, 0, tzinfo=UTC)
    assert when.first_run(first) == first + timedelta(days=1)  # strictly after


def test_interval_stays_on_its_grid_and_skips_missed_slots() -> None:
    when = parse_when("every 3 days 12:00", "America/New_York", NOW)
    first = when.first_run(NOW)
    assert local(first, ZoneInfo("America/New_York")) == ("Wed 2026-03-25 12:00", "EDT")
    assert when.next_run(first, first) == first + timedelta(days=3)
    # The bot was down ten days: one next slot, after now, still on the 3-day grid.
    later = first + timedelta(days=10, hours=1)
    following = when.next_run(first, later)
    assert following == first + timedelta(days=12)


def test_missed_weekly_slots_collapse_to_the_next_one() -> None:
    when = parse_when("every monday 18:00", "UTC", NOW)
    slot = when.first_run(NOW)
    three_weeks_later = slot + timedelta(weeks=3, hours=2)
    assert when.next_run(slot, three_weeks_later) == slot + timedelta(weeks=4)


def test_once_has_no_next_run_and_restores() -> None:
    when = parse_when("2026-05-01 18:00", "Europe/Paris", NOW)
    assert when.first_run(NOW) == datetime(2026, 5, 1, 16, 0, tzinfo=UTC)
    assert when.next_run(when.first_run(NOW), NOW) is None
    restored = restore_when(when.spec, when.zone, when.first_run(NOW))
    assert restored == when
    assert "once on 2026-05-01 at 18:00 (Europe/Paris)" == when.describe()
    assert parse_when("every tue 18:00", "UTC", NOW).describe() == "every Tuesday at 18:00 (UTC)"


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError):
        parse_when("daily 20:00", "UTC", datetime(2026, 1, 1))
