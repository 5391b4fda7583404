"""The one stored form of an instant: written UTC, to the millisecond, with `Z`; read back from every form
databases hold; the same text SQLite's defaults write; text order is time order."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.timestamps import format_timestamp, parse_timestamp

SQL_FORMAT = "%Y-%m-%dT%H:%M:%fZ"  # the schema's defaults: strftime('%Y-%m-%dT%H:%M:%fZ','now')


def test_written_in_utc_to_the_millisecond_with_z():
    assert format_timestamp(datetime(2026, 5, 1, 18, 0, tzinfo=UTC)) == "2026-05-01T18:00:00.000Z"
    paris = timezone(timedelta(hours=2))
    moment = datetime(2026, 5, 1, 20, 0, 7, 250_000, tzinfo=paris)
    assert format_timestamp(moment) == "2026-05-01T18:00:07.250Z"


def test_digits_past_the_millisecond_are_cut_so_now_is_never_written_ahead():
    last = datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert format_timestamp(last) == "2026-12-31T23:59:59.999Z"
    assert format_timestamp(datetime(2026, 1, 1, 0, 0, 0, 999, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"


def test_fixed_width_even_for_early_years():
    assert format_timestamp(datetime(5, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0005-01-02T03:04:05.000Z"


def test_a_naive_datetime_is_refused_not_guessed():
    with pytest.raises(ValueError, match="time zone"):
        format_timestamp(datetime(2026, 5, 1, 18, 0))


def test_the_same_text_as_the_sql_defaults():
    conn = sqlite3.connect(":memory:")
    try:
        now_text = conn.execute(f"SELECT strftime('{SQL_FORMAT}', 'now')").fetchone()[0]
        assert format_timestamp(parse_timestamp(now_text)) == now_text
        moment = datetime(2026, 5, 1, 18, 0, 7, 123_000, tzinfo=UTC)
        written = format_timestamp(moment)
        assert conn.execute(f"SELECT strftime('{SQL_FORMAT}', ?)", (written,)).fetchone()[0] == written
    finally:
        conn.close()


def test_text_order_is_time_order():
    base = datetime(2026, 1, 1, tzinfo=UTC)
    steps = [timedelta(0), timedelta(milliseconds=1), timedelta(seconds=1), timedelta(seconds=59.999),
             timedelta(days=1), timedelta(days=365, hours=23), timedelta(days=3000)]
    moments = [base + step for step in steps] + [base - step for step in steps[1:]]
    texts = [format_timestamp(m) for m in moments]
    assert len({len(t) for t in texts}) == 1
    assert sorted(texts) == [format_timestamp(m) for m in sorted(moments)]


@pytest.mark.parametrize(("stored", "meant"), [
    ("2026-05-01T18:00:00.000Z", datetime(2026, 5, 1, 18, 0, tzinfo=UTC)),  # the one format
    ("2026-05-01T18:00:00Z", datetime(2026, 5, 1, 18, 0, tzinfo=UTC)),  # schedules before V7
    ("2026-05-01T18:00:00.123456Z", datetime(2026, 5, 1, 18, 0, 0, 123_456, tzinfo=UTC)),  # releases
    ("2026-05-01T18:00:00.250+00:00", datetime(2026, 5, 1, 18, 0, 0, 250_000, tzinfo=UTC)),  # the quiz
    ("2026-05-01T18:00:00.123456+00:00", datetime(2026, 5, 1, 18, 0, 0, 123_456, tzinfo=UTC)),  # hall of fame
    ("2026-05-01T18:00:00+00:00", datetime(2026, 5, 1, 18, 0, tzinfo=UTC)),
    ("2026-05-01T20:00:00+02:00", datetime(2026, 5, 1, 18, 0, tzinfo=UTC)),
    ("2026-05-01 18:00:00", datetime(2026, 5, 1, 18, 0, tzinfo=UTC)),  # no offset: UTC
    ("2026-05-01", datetime(2026, 5, 1, tzinfo=UTC)),
])
def test_every_stored_form_reads_as_the_instant_it_meant(stored, meant):
    read = parse_timestamp(stored)
    assert read == meant and read.utcoffset() == timedelta(0)


def test_reading_what_was_written_gives_the_instant_back():
    moment = datetime(2026, 5, 1, 18, 0, 7, 250_000, tzinfo=UTC)
    assert parse_timestamp(format_timestamp(moment)) == moment


@pytest.mark.parametrize("junk", ["", "s", "yesterday", "2026-13-01T00:00:00Z"])
def test_text_that_is_no_instant_is_a_value_error(junk):
    with pytest.raises(ValueError):
        parse_timestamp(junk)
