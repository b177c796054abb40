"""SLA targets of the desk, on business hours (``business_hours.PARIS_SUPPORT``).

- First response: a number of business hours by priority (1 urgent … 4 low).
- Resolution: for a ticket tied to a refund request, the request's due time (the policy's
  review days or troubleshooting clock); otherwise a number of business days by category.
- A refund request's review due time is the policy's promise to the customer (``due_by``,
  review days counted in calendar days by the engine) brought back to the last business
  instant before it: the desk never plans to answer later than the customer was told.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .business_hours import PARIS_SUPPORT, BusinessCalendar

CALENDAR: BusinessCalendar = PARIS_SUPPORT

FIRST_RESPONSE_HOURS: dict[int, int] = {1: 2, 2: 8, 3: 16, 4: 24}
RESOLUTION_DAYS: dict[str, int] = {"billing": 10, "refund": 10, "technical": 2,
                                   "cancellation": 1, "account": 3, "other": 5}


def first_response_due(*, created_at: datetime, priority: int) -> datetime:
    return CALENDAR.add_hours(created_at, FIRST_RESPONSE_HOURS.get(priority, 8))


def resolution_due(*, created_at: datetime, category: str,
                   request_due_at: datetime | None = None) -> datetime:
    if request_due_at is not None:
        return review_due(now=created_at, promised=request_due_at)
    return CALENDAR.add_days(created_at, RESOLUTION_DAYS.get(category, 5))


def review_due(*, now: datetime, promised: datetime) -> datetime:
    """The last business instant at or before ``promised`` — or ``promised`` itself when no
    business time is left before it (the promise still holds; the desk is simply late)."""
    due = CALENDAR.last_open(promised)
    return due if due > now else promised


def review_due_in_days(*, now: datetime, days: int) -> datetime:
    """A review deadline written in calendar days, kept on business hours."""
    return review_due(now=now, promised=now + timedelta(days=days))
