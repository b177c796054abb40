"""Business hours (seed 001: Mon–Thu 09:00–20:00, Fri 09:30–20:00, Paris, French holidays):
table tests of the pure arithmetic behind the SLA timers."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refundable.desk.business_hours import PARIS, PARIS_SUPPORT, BusinessCalendar


def paris(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


# March 2026: Monday 2 … Friday 6, Saturday 7, Sunday 8, Monday 9. Summer time on Sunday 29.
# Holidays: Friday 1 May, Friday 8 May, Thursday 14 May (Ascension), Tuesday 14 July.

@pytest.mark.parametrize(("start", "hours", "expected"), [
    (paris(3, 2, 10), 2, paris(3, 2, 12)),            # inside one day
    (paris(3, 2, 9), 11, paris(3, 2, 20)),            # exactly the whole day: due at closing
    (paris(3, 2, 19), 2, paris(3, 3, 10)),            # one hour tonight, one tomorrow
    (paris(3, 2, 21), 8, paris(3, 3, 17)),            # after closing: starts next morning
    (paris(3, 6, 8), 1, paris(3, 6, 10, 30)),         # Friday opens at 09:30
    (paris(3, 6, 19), 2, paris(3, 9, 10)),            # Friday evening → Monday
    (paris(3, 7, 12), 1, paris(3, 9, 10)),            # Saturday → Monday
    (paris(4, 30, 19), 2, paris(5, 4, 10)),           # Friday 1 May is a holiday
    (paris(5, 13, 19, 30), 1, paris(5, 15, 10)),      # Ascension Thursday, then Friday 09:30
    (paris(3, 27, 19), 2, paris(3, 30, 10)),          # across the change to summer time
    (paris(3, 2, 10), 0, paris(3, 2, 10)),            # nothing to add
    (paris(3, 2, 0), 54.5, paris(3, 6, 20)),          # a whole week of 54.5 h: Friday close
])
def test_add_hours(start: datetime, hours: float, expected: datetime) -> None:
    assert PARIS_SUPPORT.add_hours(start, hours) == expected


def test_add_hours_accepts_any_zone_and_answers_in_paris() -> None:
    start = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # 09:30 in Paris
    result = PARIS_SUPPORT.add_hours(start, 1)
    assert result == paris(3, 2, 10, 30) and result.utcoffset() == timedelta(hours=1)
    summer = PARIS_SUPPORT.add_hours(datetime(2026, 3, 27, 18, tzinfo=UTC), 2)
    assert summer == datetime(2026, 3, 30, 8, tzinfo=UTC)  # 10:00 at UTC+2


@pytest.mark.parametrize(("start", "days", "expected"), [
    (paris(3, 2, 10), 0, paris(3, 2, 20)),            # today's close
    (paris(3, 2, 10), 2, paris(3, 4, 20)),            # Wednesday's close
    (paris(3, 2, 21), 0, paris(3, 3, 20)),            # today is over: tomorrow is day 0
    (paris(3, 6, 10), 1, paris(3, 9, 20)),            # Friday + 1 → Monday
    (paris(3, 7, 10), 0, paris(3, 9, 20)),            # Saturday: Monday is day 0
    (paris(4, 30, 10), 1, paris(5, 4, 20)),           # over 1 May
    (paris(5, 7, 10), 1, paris(5, 11, 20)),           # over 8 May
    (paris(7, 13, 10), 1, paris(7, 15, 20)),          # over 14 July
])
def test_add_days(start: datetime, days: int, expected: datetime) -> None:
    assert PARIS_SUPPORT.add_days(start, days) == expected


@pytest.mark.parametrize(("at", "expected"), [
    (paris(3, 2, 12), paris(3, 2, 12)),               # open: unchanged
    (paris(3, 2, 20), paris(3, 2, 20)),               # closing time counts
    (paris(3, 2, 23), paris(3, 2, 20)),               # tonight → this evening's close
    (paris(3, 2, 8), datetime(2026, 2, 27, 20, tzinfo=PARIS)),  # Monday early → Friday
    (paris(3, 8, 10), paris(3, 6, 20)),               # Sunday → Friday
    (paris(3, 6, 9, 15), paris(3, 5, 20)),            # Friday before 09:30 → Thursday
    (paris(5, 2, 10), paris(4, 30, 20)),              # Saturday after the 1 May holiday
])
def test_last_open(at: datetime, expected: datetime) -> None:
    assert PARIS_SUPPORT.last_open(at) == expected


@pytest.mark.parametrize(("at", "expected"), [
    (paris(3, 2, 9), True), (paris(3, 2, 8, 59), False), (paris(3, 2, 19, 59), True),
    (paris(3, 2, 20), False), (paris(3, 6, 9, 15), False), (paris(3, 6, 9, 30), True),
    (paris(3, 7, 12), False), (paris(3, 8, 12), False), (paris(7, 14, 12), False),
    (paris(12, 25, 12), False), (paris(12, 24, 12), True),
])
def test_is_open(at: datetime, expected: bool) -> None:
    assert PARIS_SUPPORT.is_open(at) is expected


@pytest.mark.parametrize(("at", "expected"), [
    (paris(3, 2, 12), paris(3, 2, 12)), (paris(3, 2, 20), paris(3, 3, 9)),
    (paris(3, 6, 7), paris(3, 6, 9, 30)), (paris(3, 7, 7), paris(3, 9, 9)),
    (paris(4, 30, 21), paris(5, 4, 9)),
])
def test_next_open(at: datetime, expected: datetime) -> None:
    assert PARIS_SUPPORT.next_open(at) == expected


@pytest.mark.parametrize(("start", "end", "hours"), [
    (paris(3, 6, 19), paris(3, 9, 10), 2),
    (paris(3, 2, 10), paris(3, 2, 9), 0),
    (paris(3, 2, 0), paris(3, 3, 0), 11),
    (paris(3, 2, 0), paris(3, 9, 0), 54.5),
    (paris(4, 30, 0), paris(5, 2, 0), 11),            # 1 May does not count
])
def test_between(start: datetime, end: datetime, hours: float) -> None:
    assert PARIS_SUPPORT.between(start, end) == timedelta(hours=hours)


def test_naive_datetimes_and_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        PARIS_SUPPORT.add_hours(datetime(2026, 3, 2, 10), 1)
    with pytest.raises(ValueError, match="negative"):
        PARIS_SUPPORT.add(paris(3, 2, 10), timedelta(hours=-1))


def test_a_calendar_never_open_is_an_error() -> None:
    closed = BusinessCalendar(zone=PARIS, weekly={}, holidays=set())
    with pytest.raises(ValueError, match="never open"):
        closed.add_hours(paris(3, 2, 10), 1)


def test_a_calendar_of_24_7_support_is_wall_clock() -> None:
    """Seed 004's support is « 24h/24, 7j/7 »: the same arithmetic with every day open."""
    always = BusinessCalendar(zone=PARIS, weekly={d: (time(0), time(23, 59, 59, 999999))
                                                  for d in range(7)}, holidays=set())
    assert always.add_hours(paris(3, 7, 12), 24) - paris(3, 8, 12) < timedelta(seconds=1)


@given(start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                          timezones=st.just(UTC)),
       minutes=st.integers(min_value=1, max_value=60 * 200))
def test_between_undoes_add(start: datetime, minutes: int) -> None:
    end = PARIS_SUPPORT.add(start, timedelta(minutes=minutes))
    assert PARIS_SUPPORT.between(start, end) == timedelta(minutes=minutes)
    assert PARIS_SUPPORT.is_open(end - timedelta(microseconds=1))
