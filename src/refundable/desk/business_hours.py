"""Business-hours arithmetic for SLA timers (pure: no Django, no database, no clock).

A ``BusinessCalendar`` is a time zone, weekly opening hours (one interval per weekday) and a set
of public holidays. Every function takes aware datetimes and returns aware datetimes in the
calendar's zone. Intervals are half-open for "is it open now" (``[open, close)``) but a due time
may fall exactly at closing time ("by 20:00 on Friday").

The desk's calendar is seed 001's support hours, Monday–Thursday 09:00–20:00 and Friday
09:30–20:00, Europe/Paris, closed on weekends and French public holidays::

    PARIS_SUPPORT.add_hours(datetime(2026, 3, 6, 19, 0, tzinfo=PARIS), 2)  # Friday 19:00
    → 2026-03-09 10:00+01:00 (one hour on Friday until 20:00, one on Monday from 09:00)
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

_SEARCH_DAYS = 3660  # a calendar open less than once in ten years is a configuration error


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours: ``weekly[weekday] = (opens, closes)``, Monday = 0; absent = closed."""

    zone: ZoneInfo
    weekly: Mapping[int, tuple[time, time]]
    holidays: Container[date]

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The opening interval of ``day`` in the calendar's zone; None when closed all day."""
        hours = self.weekly.get(day.weekday())
        if hours is None or day in self.holidays:
            return None
        opens, closes = hours
        return (datetime.combine(day, opens, tzinfo=self.zone),
                datetime.combine(day, closes, tzinfo=self.zone))

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None:
            raise ValueError("business-hours arithmetic needs aware datetimes")
        return at.astimezone(self.zone)

    def is_open(self, at: datetime) -> bool:
        local = self._local(at)
        window = self.window(local.date())
        return window is not None and window[0] <= local < window[1]

    def next_open(self, at: datetime) -> datetime:
        """``at`` if open then, else the next opening time."""
        local = self._local(at)
        for offset in range(_SEARCH_DAYS):
            window = self.window(local.date() + timedelta(days=offset))
            if window is None:
                continue
            if offset == 0 and local >= window[1]:
                continue
            return max(window[0], local) if offset == 0 else window[0]
        raise ValueError("the calendar is never open")

    def last_open(self, at: datetime) -> datetime:
        """The latest business instant at or before ``at`` (closing time counts).

        A deadline that falls outside business hours is brought back to the last closing
        time before it: work due "by Sunday 10:00" is due by Friday 20:00 for a team that does
        not work on weekends.
        """
        local = self._local(at)
        for offset in range(_SEARCH_DAYS):
            window = self.window(local.date() - timedelta(days=offset))
            if window is None:
                continue
            if offset == 0:
                if local < window[0]:
                    continue
                return min(local, window[1])
            return window[1]
        raise ValueError("the calendar is never open")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """``start`` plus ``duration`` of business time (the clock stops when closed).

        A zero duration returns ``start`` unchanged; a positive one started outside business
        hours starts counting at the next opening.
        """
        if duration < timedelta(0):
            raise ValueError("the duration must not be negative")
        local = self._local(start)
        if not duration:
            return local
        remaining = duration
        day = local.date()
        for _ in range(_SEARCH_DAYS):
            window = self.window(day)
            if window is not None:
                begin = max(window[0], local)
                if begin < window[1]:
                    available = window[1] - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError("the calendar is never open")

    def add_hours(self, start: datetime, hours: float) -> datetime:
        return self.add(start, timedelta(hours=hours))

    def _business_day_after(self, day: date) -> date:
        for offset in range(1, _SEARCH_DAYS):
            candidate = day + timedelta(days=offset)
            if self.window(candidate) is not None:
                return candidate
        raise ValueError("the calendar is never open")

    def add_days(self, start: datetime, days: int) -> datetime:
        """Closing time of the ``days``-th business day after ``start``'s.

        Day 0 is ``start``'s own day when it is a business day not yet closed, else the next
        business day; ``days=2`` from Monday 10:00 is Wednesday's closing time. Used for
        deadlines written in business days ("answered within 2 business days").
        """
        if days < 0:
            raise ValueError("days must not be negative")
        local = self._local(start)
        day = local.date()
        window = self.window(day)
        if window is None or local >= window[1]:
            day = self._business_day_after(day)
        for _ in range(days):
            day = self._business_day_after(day)
        window = self.window(day)
        assert window is not None
        return window[1]

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time elapsed from ``start`` to ``end`` (zero when ``end`` ≤ ``start``)."""
        begin, finish = self._local(start), self._local(end)
        if finish <= begin:
            return timedelta(0)
        total = timedelta(0)
        day = begin.date()
        while day <= finish.date():
            window = self.window(day)
            if window is not None:
                low, high = max(window[0], begin), min(window[1], finish)
                if low < high:
                    total += high - low
            day += timedelta(days=1)
        return total


PARIS = ZoneInfo("Europe/Paris")

# Seed 001: « du lundi au jeudi de 9h00 à 20h00 et le vendredi de 9h30 à 20h00 ».
PARIS_SUPPORT = BusinessCalendar(
    zone=PARIS,
    weekly={0: (time(9), time(20)), 1: (time(9), time(20)), 2: (time(9), time(20)),
            3: (time(9), time(20)), 4: (time(9, 30), time(20))},
    holidays=holidays.country_holidays("FR"),
)
