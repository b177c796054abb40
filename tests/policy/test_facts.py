"""Facts: validation naming the field, defaults, and the facts the engine derives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from refundable.policy.errors import FactsError
from refundable.policy.facts import ALL_FACTS, DERIVED, FACTS, months_between, parse_facts

BASE: dict[str, object] = {
    "plan_period": "year",
    "channel": "direct",
    "purchased_at": "2026-01-15T10:00:00+01:00",
    "period_end": "2027-01-15T10:00:00+01:00",
    "amount": 8999,
    "currency": "EUR",
    "country": "FR",
    "requested_at": "2026-03-20T09:30:00+01:00",
    "reason": "dissatisfied",
}


def facts(**changes: object) -> dict[str, object]:
    raw = {**BASE, **changes}
    return parse_facts({k: v for k, v in raw.items() if v is not _DROP})


_DROP = object()


def error_for(**changes: object) -> FactsError:
    with pytest.raises(FactsError) as caught:
        facts(**changes)
    return caught.value


# -- a valid set of facts --------------------------------------------------------------------------

def test_valid_facts_are_typed() -> None:
    parsed = facts()
    assert parsed["plan_period"] == "year"
    assert parsed["purchased_at"] == datetime(2026, 1, 15, 10, tzinfo=timezone(timedelta(hours=1)))
    assert isinstance(parsed["requested_at"], datetime)
    assert parsed["amount"] == 8999
    assert parsed["currency"] == "EUR"
    assert parsed["country"] == "FR"
    # every input and derived fact is present, nothing else
    assert set(parsed) == set(ALL_FACTS)


def test_codes_are_upper_cased() -> None:
    parsed = facts(currency="eur", country="be")
    assert parsed["currency"] == "EUR"
    assert parsed["country"] == "BE"


def test_aware_datetimes_are_accepted_as_is() -> None:
    moment = datetime(2026, 1, 15, 9, tzinfo=UTC)
    parsed = facts(purchased_at=moment)
    assert parsed["purchased_at"] == moment
    assert facts(purchased_at="2026-01-15T09:00:00Z")["purchased_at"] == moment


def test_float_with_a_whole_value_is_an_int() -> None:
    parsed = facts(amount=8999.0)
    assert parsed["amount"] == 8999
    assert type(parsed["amount"]) is int


def test_documents_are_a_tuple() -> None:
    parsed = facts(documents=["death_certificate", "bank_statement"])
    assert parsed["documents"] == ("death_certificate", "bank_statement")


# -- defaults --------------------------------------------------------------------------------------

def test_defaults() -> None:
    parsed = facts(reason=_DROP, channel=_DROP)
    assert parsed["channel"] == "direct"
    assert parsed["already_refunded"] == 0
    assert parsed["is_renewal"] is False
    assert parsed["consumer"] is True
    assert parsed["reason"] == "other"
    assert parsed["documents"] == ()
    assert parsed["usage_fraction"] == 0.0
    assert parsed["troubleshooting"] == "none"
    assert parsed["troubleshooting_started_at"] is None
    assert parsed["outage_hours"] == 0.0
    assert parsed["outage_cause"] is None
    assert parsed["renewal_notice_sent"] is None
    assert parsed["withdrawal_waived"] is False
    assert parsed["prior_refunds"] == 0
    assert parsed["plan"] is None
    assert parsed["payment_schedule"] == "upfront"
    assert parsed["instalments_remaining"] == 0
    assert parsed["promo_price"] is False
    assert parsed["benefits_used"] is False
    assert parsed["uptime_percent"] is None


def test_null_and_empty_string_take_the_default() -> None:
    assert facts(channel=None)["channel"] == "direct"
    assert facts(already_refunded="")["already_refunded"] == 0
    assert facts(is_renewal=None)["is_renewal"] is False


@pytest.mark.parametrize(("is_renewal", "given", "expected"), [
    (False, _DROP, True),
    (True, _DROP, False),
    (True, True, True),
    (False, False, False),
    (True, None, False),
])
def test_first_purchase_defaults_to_not_is_renewal(is_renewal: bool, given: object,
                                                   expected: bool) -> None:
    assert facts(is_renewal=is_renewal, first_purchase=given)["first_purchase"] is expected


@pytest.mark.parametrize(("country", "given", "expected"), [
    ("FR", _DROP, "fr"),
    ("RE", _DROP, "fr"),  # La Réunion
    ("MC", _DROP, "fr"),
    ("fr", _DROP, "fr"),
    ("BE", _DROP, "en"),
    ("DE", _DROP, "en"),
    ("US", _DROP, "en"),
    ("FR", "en", "en"),
    ("DE", "fr", "fr"),
])
def test_language_defaults_from_country(country: str, given: object, expected: str) -> None:
    assert facts(country=country, language=given)["language"] == expected


# -- errors name the field -------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "field", "fragment"), [
    ({"reason": "bored"}, "reason", "unknown value 'bored'"),
    ({"plan_period": "fortnight"}, "plan_period", "unknown value 'fortnight'"),
    ({"channel": 3}, "channel", "got a number"),
    ({"troubleshooting": "maybe"}, "troubleshooting", "unknown value 'maybe'"),
    ({"outage_cause": "aliens"}, "outage_cause", "unknown value 'aliens'"),
    ({"language": "de"}, "language", "unknown value 'de'"),
    ({"amount": -1}, "amount", "must not be negative, got -1"),
    ({"already_refunded": -100}, "already_refunded", "must not be negative"),
    ({"prior_refunds": -1}, "prior_refunds", "must not be negative"),
    ({"instalments_remaining": -2}, "instalments_remaining", "must not be negative"),
    ({"already_refunded": 9000}, "already_refunded", "9000 is more than the amount 8999"),
    ({"amount": "8999"}, "amount", "expected a whole number"),
    ({"amount": 89.99}, "amount", "expected a whole number"),
    ({"amount": True}, "amount", "expected a whole number"),
    ({"amount": [1]}, "amount", "expected a whole number"),
    ({"is_renewal": "yes"}, "is_renewal", "expected true or false, got a string"),
    ({"is_renewal": 1}, "is_renewal", "expected true or false, got a number"),
    ({"consumer": "true"}, "consumer", "expected true or false"),
    ({"first_purchase": 0}, "first_purchase", "expected true or false"),
    ({"usage_fraction": 1.5}, "usage_fraction", "must be between 0 and 1, got 1.5"),
    ({"usage_fraction": -0.1}, "usage_fraction", "must be between 0 and 1, got -0.1"),
    ({"usage_fraction": "0.5"}, "usage_fraction", "expected a number, got a string"),
    ({"usage_fraction": True}, "usage_fraction", "expected a number, got a boolean"),
    ({"usage_fraction": float("nan")}, "usage_fraction", "finite"),
    ({"outage_hours": -1}, "outage_hours", "must be at least 0"),
    ({"outage_hours": float("inf")}, "outage_hours", "finite"),
    ({"uptime_percent": 100.5}, "uptime_percent", "between 0 and 100"),
    ({"purchased_at": "2026-01-15T10:00:00"}, "purchased_at", "has no UTC offset"),
    ({"requested_at": "2026-03-20 09:30"}, "requested_at", "has no UTC offset"),
    ({"period_end": "2027-01-15"}, "period_end", "has no UTC offset"),
    ({"purchased_at": datetime(2026, 1, 15, 10)}, "purchased_at", "has no UTC offset"),
    ({"purchased_at": "yesterday"}, "purchased_at", "is not an ISO 8601 date-time"),
    ({"requested_at": "2026-02-30T10:00:00Z"}, "requested_at", "is not an ISO 8601 date-time"),
    ({"purchased_at": 1768467600}, "purchased_at", "expected an ISO 8601 date-time string"),
    ({"troubleshooting_started_at": "soon"}, "troubleshooting_started_at", "ISO 8601"),
    ({"currency": "euro"}, "currency", "ISO 4217"),
    ({"currency": 978}, "currency", "ISO 4217"),
    ({"country": "FRA"}, "country", "ISO 3166-1 alpha-2"),
    ({"plan": 3}, "plan", "expected a string"),
    ({"documents": "receipt"}, "documents", "expected a list of document names"),
    ({"documents": ["receipt", 2]}, "documents", "expected a list of document names"),
])
def test_invalid_values_name_the_field(changes: dict[str, object], field: str,
                                       fragment: str) -> None:
    error = error_for(**changes)
    assert error.field == field
    assert fragment in error.message
    assert str(error).startswith(f"{field}: ")


@pytest.mark.parametrize("field", ["plan_period", "purchased_at", "amount", "currency",
                                   "country", "requested_at"])
def test_missing_required_fact(field: str) -> None:
    error = error_for(**{field: _DROP})
    assert error.field == field
    assert error.message == "is required"


def test_null_required_fact_is_missing() -> None:
    error = error_for(amount=None)
    assert (error.field, error.message) == ("amount", "is required")


def test_unknown_fact_name() -> None:
    error = error_for(refund_reason="dissatisfied")
    assert error.field == "refund_reason"
    assert "unknown fact" in error.message


def test_unknown_fact_allowed_when_asked() -> None:
    parsed = parse_facts({**BASE, "row_id": 17}, allow_extra=True)
    assert "row_id" not in parsed
    assert parsed["amount"] == 8999


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_derived_fact_cannot_be_given(name: str) -> None:
    for allow_extra in (False, True):
        with pytest.raises(FactsError) as caught:
            parse_facts({**BASE, name: 1}, allow_extra=allow_extra)
        assert caught.value.field == name
        assert "derived" in caught.value.message


def test_period_end_before_purchase() -> None:
    error = error_for(period_end="2026-01-15T08:59:59Z")  # 09:59:59+01:00
    assert error.field == "period_end"
    assert "before purchased_at" in error.message


def test_requested_before_purchase() -> None:
    error = error_for(requested_at="2026-01-15T08:00:00Z")
    assert error.field == "requested_at"
    assert "before purchased_at" in error.message


def test_requested_at_the_moment_of_purchase_is_fine() -> None:
    parsed = facts(requested_at="2026-01-15T09:00:00Z")
    assert parsed["hours_since_purchase"] == 0.0
    assert parsed["days_since_purchase"] == 0


def test_troubleshooting_after_the_request() -> None:
    error = error_for(troubleshooting_started_at="2026-03-21T00:00:00+01:00")
    assert error.field == "troubleshooting_started_at"
    assert "after requested_at" in error.message


def test_period_end_required_unless_lifetime() -> None:
    error = error_for(period_end=_DROP)
    assert error.field == "period_end"
    assert "lifetime" in error.message


# -- derived facts ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("purchased", "requested", "days"), [
    # 23:30 at +01:00, next morning: day 1 although fewer than 24 hours passed
    ("2026-03-01T23:30:00+01:00", "2026-03-02T08:00:00+01:00", 1),
    # the same request instant written in UTC, and at another offset
    ("2026-03-01T23:30:00+01:00", "2026-03-02T07:00:00Z", 1),
    ("2026-03-01T23:30:00+01:00", "2026-03-01T23:00:00-08:00", 1),
    # 23:45 UTC is already the next day in the purchase's offset
    ("2026-03-01T23:30:00+01:00", "2026-03-01T23:45:00Z", 1),
    # and 22:45 UTC is still the day of purchase
    ("2026-03-01T23:30:00+01:00", "2026-03-01T22:45:00Z", 0),
    ("2026-03-01T00:00:00+01:00", "2026-03-01T23:59:59+01:00", 0),
    ("2026-01-15T10:00:00+01:00", "2026-03-16T09:00:00+01:00", 60),
    ("2026-01-15T10:00:00+01:00", "2026-03-17T00:00:00+01:00", 61),
    # the purchase's UTC date (2026-03-01) is not the one counted from: it is 03-02 in Tokyo
    ("2026-03-02T01:00:00+09:00", "2026-03-02T23:00:00+09:00", 0),
])
def test_days_since_purchase_in_calendar_days(purchased: str, requested: str, days: int) -> None:
    parsed = facts(purchased_at=purchased, requested_at=requested,
                   period_end="2027-03-01T00:00:00Z")
    assert parsed["days_since_purchase"] == days


def test_days_do_not_depend_on_the_offset_requested_at_is_written_in() -> None:
    purchased = "2026-03-01T23:30:00+01:00"
    instant = datetime(2026, 3, 2, 7, tzinfo=UTC)
    results = {
        facts(purchased_at=purchased,
              requested_at=instant.astimezone(timezone(timedelta(hours=h))).isoformat(),
              )["days_since_purchase"]
        for h in (-12, -8, 0, 1, 5, 14)
    }
    assert results == {1}


def test_hours_since_purchase() -> None:
    parsed = facts(purchased_at="2026-03-01T23:30:00+01:00", requested_at="2026-03-02T07:00:00Z")
    assert parsed["hours_since_purchase"] == pytest.approx(8.5)
    parsed = facts(purchased_at="2026-01-15T10:00:00+01:00",
                   requested_at="2026-01-18T10:00:00+01:00")
    assert parsed["hours_since_purchase"] == 72.0


def test_annual_plan_months() -> None:
    parsed = facts(purchased_at="2026-01-15T10:00:00+01:00",
                   period_end="2027-01-15T10:00:00+01:00",
                   requested_at="2026-03-20T09:30:00+01:00")
    assert parsed["months_in_period"] == 12
    # January, February and March have begun: nine whole months are left
    assert parsed["whole_months_unused"] == 9
    assert parsed["period_days"] == 365.0
    assert parsed["days_until_period_end"] == pytest.approx(301 + 0.5 / 24)


@pytest.mark.parametrize(("requested", "unused"), [
    ("2026-01-15T10:00:00+01:00", 11),  # the first month has begun at purchase
    # Months are counted on calendar dates (DST-proof), so a month begins on its first day.
    ("2026-02-14T23:59:59+01:00", 11),
    ("2026-02-15T00:00:00+01:00", 10),
    ("2026-12-15T10:00:00+01:00", 0),
    ("2027-01-15T10:00:00+01:00", 0),
    ("2027-06-01T00:00:00+01:00", 0),  # after the period: never negative
])
def test_whole_months_unused(requested: str, unused: int) -> None:
    assert facts(requested_at=requested)["whole_months_unused"] == unused


@pytest.mark.parametrize(("purchased", "period_end", "months"), [
    ("2026-01-15T10:00:00+01:00", "2026-02-15T10:00:00+01:00", 1),
    ("2026-01-15T10:00:00+01:00", "2026-04-15T10:00:00+01:00", 3),
    ("2026-01-31T10:00:00+01:00", "2027-01-31T10:00:00+01:00", 12),
    # a month from the 31st ends on the last day of a shorter month
    ("2026-01-31T10:00:00+01:00", "2026-02-28T10:00:00+01:00", 1),
    ("2026-03-31T10:00:00+02:00", "2026-04-30T10:00:00+02:00", 1),
    # a year from 29 February ends on 28 February
    ("2028-02-29T10:00:00+01:00", "2029-02-28T10:00:00+01:00", 12),
    ("2026-01-15T10:00:00+01:00", "2026-01-22T10:00:00+01:00", 0),  # a week
])
def test_months_in_period(purchased: str, period_end: str, months: int) -> None:
    parsed = facts(purchased_at=purchased, period_end=period_end, requested_at=purchased)
    assert parsed["months_in_period"] == months


def test_months_in_period_in_the_purchase_offset() -> None:
    # 2026-01-31T23:30+01:00 is 22:30 UTC; the period ends 2026-02-28T23:30+01:00, given in UTC
    parsed = facts(purchased_at="2026-01-31T23:30:00+01:00", period_end="2026-02-28T22:30:00Z",
                   requested_at="2026-01-31T23:30:00+01:00", plan_period="month")
    assert parsed["months_in_period"] == 1


@pytest.mark.parametrize(("start", "end", "months"), [
    (datetime(2026, 1, 15), datetime(2026, 3, 20), 2),
    (datetime(2026, 1, 15, 10), datetime(2026, 3, 15, 9), 1),
    (datetime(2026, 1, 15, 10), datetime(2026, 3, 15, 10), 2),
    (datetime(2026, 1, 31), datetime(2026, 2, 28), 1),
    (datetime(2026, 1, 31), datetime(2026, 2, 27), 0),
    (datetime(2026, 1, 30), datetime(2026, 2, 28), 1),
    (datetime(2026, 1, 30), datetime(2026, 2, 27), 0),
    (datetime(2028, 1, 31), datetime(2028, 2, 29), 1),
    (datetime(2028, 2, 29), datetime(2029, 2, 28), 12),
    (datetime(2026, 1, 31), datetime(2026, 3, 30), 1),
    (datetime(2026, 1, 31), datetime(2026, 3, 31), 2),
    (datetime(2026, 3, 15), datetime(2026, 2, 20), -1),
    (datetime(2026, 3, 15), datetime(2026, 2, 10), -2),
    (datetime(2026, 3, 15), datetime(2026, 3, 15), 0),
])
def test_months_between(start: datetime, end: datetime, months: int) -> None:
    assert months_between(start, end) == months


@pytest.mark.parametrize(("requested", "fraction"), [
    ("2026-01-15T10:00:00+01:00", 1.0),
    ("2026-07-16T22:00:00+01:00", 0.5),  # 182.5 days of 365
    ("2027-01-15T10:00:00+01:00", 0.0),
    ("2027-03-01T00:00:00+01:00", 0.0),  # after the period: clamped, never negative
])
def test_unused_time_fraction(requested: str, fraction: float) -> None:
    parsed = facts(requested_at=requested)
    assert parsed["unused_time_fraction"] == pytest.approx(fraction)
    assert 0.0 <= parsed["unused_time_fraction"] <= 1.0  # type: ignore[operator]


def test_unused_time_fraction_of_an_empty_period() -> None:
    parsed = facts(period_end=BASE["purchased_at"], requested_at=BASE["purchased_at"])
    assert parsed["unused_time_fraction"] == 0.0
    assert parsed["period_days"] == 0.0


def test_lifetime_plan_without_period_end() -> None:
    parsed = facts(plan_period="lifetime", period_end=_DROP)
    assert parsed["period_end"] is None
    assert parsed["unused_time_fraction"] == 0.0
    assert parsed["whole_months_unused"] == 0
    assert parsed["months_in_period"] == 0
    assert parsed["period_days"] is None
    assert parsed["days_until_period_end"] is None
    assert parsed["days_since_purchase"] == 64
    assert parsed["refundable_amount"] == 8999


def test_refundable_amount() -> None:
    assert facts(already_refunded=999)["refundable_amount"] == 8000
    assert facts(already_refunded=8999)["refundable_amount"] == 0


def test_hours_since_troubleshooting_started() -> None:
    parsed = facts(troubleshooting="in_progress",
                   troubleshooting_started_at="2026-03-18T09:30:00+01:00")
    assert parsed["hours_since_troubleshooting_started"] == 48.0
    assert facts()["hours_since_troubleshooting_started"] is None


def test_specs_are_consistent() -> None:
    assert not set(FACTS) & set(DERIVED)
    assert all(spec.derived for spec in DERIVED.values())
    assert not any(spec.derived for spec in FACTS.values())
    assert all(spec.choices for spec in FACTS.values() if spec.kind == "enum")


def test_months_are_counted_on_dates_across_a_daylight_saving_change() -> None:
    """A quarter from 2 March 10:00 (+01:00) to 2 June 10:00 (+02:00) lasts three months,
    though on the purchase's clock it ends at 09:00."""
    parsed = facts(plan_period="quarter", purchased_at="2026-03-02T10:00:00+01:00",
                   period_end="2026-06-02T10:00:00+02:00",
                   requested_at="2026-03-20T10:00:00+01:00")
    assert parsed["months_in_period"] == 3
    assert parsed["whole_months_unused"] == 2
