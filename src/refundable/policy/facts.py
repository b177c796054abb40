"""The facts a decision is made on: their names, types, defaults, validation and derived facts.

Facts come in as a flat JSON-like mapping (DESIGN.md, "Facts"). ``parse_facts`` checks every value
and returns a plain dict with Python values (aware ``datetime`` for dates); ``derive`` adds the
facts the engine computes. Nothing here reads a clock: ``requested_at`` is "now".
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Final, Literal, TypeVar

from .errors import FactsError

Kind = Literal["enum", "bool", "int", "number", "datetime", "string", "country", "currency", "list"]

REASONS: Final = (
    "dissatisfied", "technical_issue", "wrongful_charge", "duplicate_charge",
    "special_circumstances", "service_outage", "withdrawal", "not_renewal_intended",
    "weak_connection", "device_incompatible", "isp_restriction", "scheduled_maintenance",
    "misconfiguration", "temporary_interruption", "other",
)


@dataclass(frozen=True, slots=True)
class FactSpec:
    name: str
    kind: Kind
    choices: tuple[str, ...] = ()
    required: bool = False
    nullable: bool = False
    default: object = None
    minimum: float | None = None
    maximum: float | None = None
    derived: bool = False
    meaning: str = ""


# Amounts stay exact in float64 (2**53) on the vectorised path; 10**15 minor units is ten
# trillion euros.
MAX_MINOR_UNITS: Final = 10**15


def _spec(name: str, kind: Kind, meaning: str, **kw: object) -> FactSpec:
    return FactSpec(name, kind, meaning=meaning, **kw)  # type: ignore[arg-type]


FACTS: Final[dict[str, FactSpec]] = {s.name: s for s in (
    _spec("plan_period", "enum", "billing period of the plan", required=True,
          choices=("week", "month", "quarter", "year", "lifetime")),
    _spec("channel", "enum", "where it was bought", default="direct",
          choices=("direct", "reseller", "apple_app_store", "google_play", "third_party")),
    _spec("purchased_at", "datetime", "when the charge being refunded was made", required=True),
    _spec("period_end", "datetime", "end of the period that charge paid for", nullable=True),
    _spec("amount", "int", "captured amount of that charge, minor units", required=True, minimum=0,
          maximum=MAX_MINOR_UNITS),
    _spec("currency", "currency", "ISO 4217 code", required=True),
    _spec("already_refunded", "int", "refunded so far on that charge, minor units", default=0,
          maximum=MAX_MINOR_UNITS,
          minimum=0),
    _spec("is_renewal", "bool", "the charge is an automatic renewal", default=False),
    _spec("country", "country", "customer's country, ISO 3166-1 alpha-2", required=True),
    _spec("consumer", "bool", "a consumer, not a business", default=True),
    _spec("requested_at", "datetime", "when the request was made (now)", required=True),
    _spec("reason", "enum", "the customer's reason", default="other", choices=REASONS),
    _spec("documents", "list", "supporting documents given", default=()),
    _spec("usage_fraction", "number", "share of the paid service already consumed", default=0.0,
          minimum=0.0, maximum=1.0),
    _spec("troubleshooting", "enum", "state of the support attempt", default="none",
          choices=("none", "in_progress", "resolved", "unresolved", "refused")),
    _spec("troubleshooting_started_at", "datetime", "when the support attempt began",
          nullable=True),
    _spec("outage_hours", "number", "hours of service outage in the paid period", default=0.0,
          minimum=0.0),
    _spec("outage_cause", "enum", "who caused the outage", nullable=True,
          choices=("vendor", "maintenance", "isp", "third_party")),
    _spec("renewal_notice_sent", "bool", "a required renewal notice was sent in time",
          nullable=True),
    _spec("withdrawal_waived", "bool", "the consumer expressly waived the withdrawal right",
          default=False),
    _spec("first_purchase", "bool", "first purchase of this product (default: not is_renewal)",
          nullable=True),
    _spec("prior_refunds", "int", "refunds this customer already had for this product",
          default=0, minimum=0),
    _spec("plan", "string", "the plan's code", nullable=True),
    _spec("payment_method", "enum", "how the charge was paid", default="card",
          choices=("card", "paypal", "bank", "store", "other")),
    _spec("payment_schedule", "enum", "paid at once or in instalments", default="upfront",
          choices=("upfront", "instalments")),
    _spec("instalments_remaining", "int", "instalments still owed on the commitment", default=0,
          minimum=0),
    _spec("promo_price", "bool", "bought at a promotional price", default=False),
    _spec("benefits_used", "bool", "any paid benefit was used", default=False),
    _spec("uptime_percent", "number", "measured availability over the period", nullable=True,
          minimum=0.0, maximum=100.0),
    _spec("language", "enum", "language of the customer message (default from country)",
          nullable=True, choices=("en", "fr")),
)}

DERIVED: Final[dict[str, FactSpec]] = {s.name: s for s in (
    _spec("hours_since_purchase", "number", "hours from purchased_at to requested_at",
          derived=True),
    _spec("days_since_purchase", "int",
          "calendar days from the purchase date to the request date, in the purchase's offset "
          "(the day of purchase is day 0)", derived=True),
    _spec("unused_time_fraction", "number",
          "share of the paid period still to come at requested_at, 0..1", derived=True),
    _spec("whole_months_unused", "int", "whole months of the period not yet begun", derived=True),
    _spec("months_in_period", "int", "whole calendar months the paid period lasts",
          derived=True),
    _spec("refundable_amount", "int", "amount - already_refunded, minor units", derived=True),
    _spec("period_days", "number", "length of the paid period in days", derived=True,
          nullable=True),
    _spec("days_until_period_end", "number", "days from requested_at to period_end",
          derived=True, nullable=True),
    _spec("hours_since_troubleshooting_started", "number",
          "hours from troubleshooting_started_at to requested_at", derived=True, nullable=True),
)}

ALL_FACTS: Final[dict[str, FactSpec]] = {**FACTS, **DERIVED}

FRENCH_COUNTRIES: Final = frozenset({"FR", "MC", "GP", "MQ", "GF", "RE", "YT", "PM", "NC", "PF",
                                     "BL", "MF", "WF"})

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")

Facts = dict[str, object]
DateT = TypeVar("DateT", date, datetime)


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def parse_datetime(name: str, value: object) -> datetime:
    """An ISO 8601 date-time with a UTC offset (``Z`` or ``+02:00``), or an aware datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise FactsError(name, f"{value!r} is not an ISO 8601 date-time") from None
    else:
        raise FactsError(name, f"expected an ISO 8601 date-time string, got {_type_name(value)}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise FactsError(name, f"{value!s} has no UTC offset; write it like "
                               "2026-03-01T10:00:00+01:00 or 2026-03-01T09:00:00Z")
    return parsed


def _parse_value(spec: FactSpec, value: object) -> object:
    name = spec.name
    kind = spec.kind
    if kind == "enum":
        if not isinstance(value, str):
            raise FactsError(name, f"expected one of {', '.join(spec.choices)}, got "
                                   f"{_type_name(value)}")
        if value not in spec.choices:
            raise FactsError(name, f"unknown value {value!r}; expected one of "
                                   f"{', '.join(spec.choices)}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise FactsError(name, f"expected true or false, got {_type_name(value)}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise FactsError(name, f"expected a whole number (minor units for money), got "
                                       f"{value!r}")
        if spec.minimum is not None and value < spec.minimum:
            raise FactsError(name, f"must not be negative, got {value}")
        if spec.maximum is not None and value > spec.maximum:
            raise FactsError(name, f"must be at most {spec.maximum:.0f}, got {value}")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FactsError(name, f"expected a number, got {_type_name(value)}")
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise FactsError(name, "must be a finite number")
        if (spec.minimum is not None and number < spec.minimum) or (
                spec.maximum is not None and number > spec.maximum):
            low = "" if spec.minimum is None else f"{spec.minimum:g}"
            high = "" if spec.maximum is None else f"{spec.maximum:g}"
            bound = f"between {low} and {high}" if high else f"at least {low}"
            raise FactsError(name, f"must be {bound}, got {value}")
        return number
    if kind == "datetime":
        return parse_datetime(name, value)
    if kind == "string":
        if not isinstance(value, str):
            raise FactsError(name, f"expected a string, got {_type_name(value)}")
        return value
    if kind == "currency":
        if not isinstance(value, str) or not _CURRENCY.match(value.upper()):
            raise FactsError(name, f"expected an ISO 4217 code such as EUR, got {value!r}")
        return value.upper()
    if kind == "country":
        if not isinstance(value, str) or not _COUNTRY.match(value.upper()):
            raise FactsError(name, f"expected an ISO 3166-1 alpha-2 code such as FR, got "
                                   f"{value!r}")
        return value.upper()
    # list of document names
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise FactsError(name, f"expected a list of document names, got {_type_name(value)}")
    return tuple(value)


def parse_facts(raw: Mapping[str, object], *, allow_extra: bool = False) -> Facts:
    """Validate raw facts and return them typed, defaults filled, derived facts added.

    Raises ``FactsError`` naming the first wrong field. Unknown names are an error unless
    ``allow_extra`` (a history file may carry an id column); derived facts may not be given.
    """
    facts: Facts = {}
    for key in raw:
        if key not in FACTS:
            if key in DERIVED:
                raise FactsError(key, "is derived by the engine and cannot be given")
            if not allow_extra:
                raise FactsError(key, "unknown fact (see docs/policies.md for the list)")
    for name, spec in FACTS.items():
        value = raw.get(name)
        if value is None or (value == "" and spec.kind not in ("string",)):
            if spec.required:
                raise FactsError(name, "is required")
            facts[name] = spec.default
            continue
        facts[name] = _parse_value(spec, value)
    _check_consistency(facts)
    return derive(facts)


def _check_consistency(facts: Facts) -> None:
    purchased = facts["purchased_at"]
    requested = facts["requested_at"]
    period_end = facts["period_end"]
    assert isinstance(purchased, datetime) and isinstance(requested, datetime)
    if period_end is None and facts["plan_period"] != "lifetime":
        raise FactsError("period_end", "is required unless plan_period is lifetime")
    if isinstance(period_end, datetime) and period_end < purchased:
        raise FactsError("period_end", "is before purchased_at")
    if requested < purchased:
        raise FactsError("requested_at", "is before purchased_at")
    amount = facts["amount"]
    refunded = facts["already_refunded"]
    assert isinstance(amount, int) and isinstance(refunded, int)
    if refunded > amount:
        raise FactsError("already_refunded", f"{refunded} is more than the amount {amount}")
    started = facts["troubleshooting_started_at"]
    if isinstance(started, datetime) and started > requested:
        raise FactsError("troubleshooting_started_at", "is after requested_at")


def add_months(start: DateT, months: int) -> DateT:
    """``start`` moved by whole calendar months, the day clamped to the end of a shorter month
    (31 January + 1 month = 28 February)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return start.replace(year=year, month=month + 1, day=day)


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (dates); negative if before.

    Dates, not times: a quarter bought at 10:00 in winter and ending at 10:00 in summer time
    is three months, though an hour short on one clock.

    The largest ``n`` with ``add_months(start, n) <= end``: a month from 31 January ends on
    28 February, and a year from 29 February on 28 February.
    """
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if add_months(start, months) > end:
        months -= 1
    return months


def derive(facts: Facts) -> Facts:
    """Add the derived facts (DERIVED) to typed facts, in place; return them.

    All wall-clock arithmetic uses the purchase's UTC offset, the customer's clock at purchase.
    """
    purchased = facts["purchased_at"]
    requested = facts["requested_at"]
    period_end = facts["period_end"]
    assert isinstance(purchased, datetime) and isinstance(requested, datetime)
    offset = purchased.utcoffset() or timedelta(0)
    local_tz = timezone(offset)
    since = (requested - purchased).total_seconds()
    facts["hours_since_purchase"] = since / 3600.0
    local_purchase = purchased.astimezone(local_tz).replace(tzinfo=None)
    local_request = requested.astimezone(local_tz).replace(tzinfo=None)
    facts["days_since_purchase"] = (local_request.date() - local_purchase.date()).days
    if isinstance(period_end, datetime):
        total = (period_end - purchased).total_seconds()
        remaining = (period_end - requested).total_seconds()
        facts["unused_time_fraction"] = (
            0.0 if total <= 0 else min(1.0, max(0.0, remaining / total)))
        local_end = period_end.astimezone(local_tz).replace(tzinfo=None)
        in_period = months_between(local_purchase.date(), local_end.date())
        begun = months_between(local_purchase.date(), local_request.date()) + 1
        facts["whole_months_unused"] = max(0, in_period - begun)
        facts["months_in_period"] = in_period
        facts["period_days"] = total / 86400.0
        facts["days_until_period_end"] = remaining / 86400.0
    else:  # lifetime: nothing of the period is ever "unused"
        facts["unused_time_fraction"] = 0.0
        facts["whole_months_unused"] = 0
        facts["months_in_period"] = 0
        facts["period_days"] = None
        facts["days_until_period_end"] = None
    amount = facts["amount"]
    refunded = facts["already_refunded"]
    assert isinstance(amount, int) and isinstance(refunded, int)
    facts["refundable_amount"] = amount - refunded
    started = facts["troubleshooting_started_at"]
    facts["hours_since_troubleshooting_started"] = (
        (requested - started).total_seconds() / 3600.0 if isinstance(started, datetime) else None)
    if facts["first_purchase"] is None:
        facts["first_purchase"] = not facts["is_renewal"]
    if facts["language"] is None:
        facts["language"] = "fr" if facts["country"] in FRENCH_COUNTRIES else "en"
    return facts
