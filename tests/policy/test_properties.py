"""Property tests: the scalar and the vectorised engines agree, and money stays within bounds.

Hypothesis generates batches of *valid* raw facts (ISO strings with random UTC offsets and
formats, purchases across 2024–2027, requests minutes to months later or after the period, every
enum value, arbitrary floats, nullable facts null or set, amounts up to 10^7 minor units) and
checks, for the three example policies in ``policies/`` and for inline policies written to
exercise the engine harder (pro-rata with percent and fee, ``if`` expressions with arithmetic and
division, floor/ceil in amounts, credit tiers with a minimum, a fee on instalments, offers with an
extension in days computed from the outage, conditions on every kind of fact):

(a) ``decide`` + ``decision_row`` (scalar, Decimal) and ``prepare`` + ``VectorPolicy.evaluate``
    (Polars, float64 with an exact re-check of borderline rows) give the same value for every
    field of ``DECISION_COLUMNS``, with and without the statutory floor shipped with the product,
    from typed (Parquet-like) and text (CSV-like) histories; the derived facts agree too;
(b) refunds, credits and the refund/credit choices of offers are never negative nor above
    ``amount - already_refunded``, a refund always gives something (amount > 0), and so does a
    review's ``minimum_amount``;
(c) with the statutory floor, a decision never gives less cash back than the floor alone (the
    same facts under a merchant policy that denies everything), nor less than the merchant policy
    alone; a review keeps the floor as the least the reviewer may grant (``minimum_amount``).

Each Hypothesis example of (a) is a batch of 1 to 40 facts rows, decided by one vectorised call
per policy, so that the Polars overhead is paid once per batch.

The disagreements Hypothesis found (month ends, null booleans, the re-check of borderline rows
keeping stale fields, floor/ceil near large integers, derived facts one ulp apart) are fixed;
their minimal repros stay at the end of the file as regression tests.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from textwrap import dedent
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from refundable.policy import Decision, Policy, decide, load_floor, load_policy, parse_facts
from refundable.policy import parse_policy as _parse_policy
from refundable.policy.engine import cash_value
from refundable.policy.facts import DERIVED, FACTS, REASONS
from refundable.policy.vector import (
    DECISION_COLUMNS,
    Prepared,
    VectorPolicy,
    decision_row,
    prepare,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("annual-60-day-guarantee", "iptv-72-hours", "billing-desk")

Raw = dict[str, Any]

# -- inline policies ----------------------------------------------------------------------------

_TITLE = 'title.en = "Test policy"\ntitle.fr = "Politique de test"\n'
_MESSAGE = 'message.en = "Decided: {amount}"\nmessage.fr = "Décidé : {amount}"\n'


def _document(policy_id: str, rules: Sequence[str], head: str = "") -> str:
    """A policy document: id, version 1, titles, then each rule (messages, then its body)."""
    parts = [f'id = "{policy_id}"\nversion = 1\n{_TITLE}{head}']
    parts += [f"\n[[rules]]\n{_MESSAGE}{dedent(body).strip()}\n" for body in rules]
    return "".join(parts)


DENY_EVERYTHING = _document("deny-everything", ['id = "no"\nthen = "deny"\nreason = "never"'])

INLINE: dict[str, str] = {
    # Pro-rata by unused time with a percentage and a fee; pro-rata by unused usage; a minimum.
    "prorata-percent-fee": _document("prorata-percent-fee", [
        '''
        id = "store-purchases"
        when.channel = ["apple_app_store", "google_play"]
        then = "redirect"
        ''',
        '''
        id = "first-week-in-full"
        when.first_purchase = true
        when.hours_since_purchase = { le = 168 }
        then = "refund"
        ''',
        '''
        id = "instalments-whole-months-left"
        when.payment_schedule = "instalments"
        when.plan_period = ["year", "quarter"]
        then = "refund"
        prorata = "whole_months_unused"
        fee = "instalments_remaining * 100"
        ''',
        '''
        id = "unused-time-less-fee"
        when.plan_period = ["year", "quarter"]
        when.days_since_purchase = { gt = 7, max = 180 }
        then = "refund"
        prorata = "unused_time"
        percent = 80
        fee = 500
        min_amount = 200
        ''',
        '''
        id = "unused-usage-half"
        when.plan_period = ["month", "week", "lifetime"]
        then = "refund"
        prorata = "unused_usage"
        percent = 50
        fee = "already_refunded + prior_refunds * 150"
        ''',
        '''
        id = "after-180-days"
        then = "deny"
        reason = "too_late"
        ''',
    ]),
    # Conditions written as expressions, with arithmetic, division, min/max, and/or/not.
    "if-expressions": _document("if-expressions", [
        '''
        id = "heavy-use-of-a-large-charge"
        if = "amount * usage_fraction / 3 >= 100 and not benefits_used"
        then = "refund"
        amount = "refundable_amount * (1 - usage_fraction) / 2 + prior_refunds * 10"
        ''',
        '''
        id = "outage-per-day-or-promo"
        if = "(outage_hours - 24) / max(1, days_since_purchase) > 0.5 or promo_price"
        then = "credit"
        amount = "min(refundable_amount, max(100, amount * 15 / 100))"
        ''',
        '''
        id = "recent-consumer"
        if = "consumer == true and hours_since_purchase / 24 < 30 and -usage_fraction > -0.9"
        then = "review"
        sla_days = 5
        documents_required = ["bank_statement"]
        ''',
        '''
        id = "unused-share"
        if = "usage_fraction < unused_time_fraction or days_until_period_end / 7 >= 2"
        then = "refund"
        amount = "refundable_amount * unused_time_fraction - abs(usage_fraction - 0.5) * 100"
        ''',
        '''
        id = "division-by-a-fact-that-may-be-zero"
        if = "amount / prior_refunds > 5000 or 100 - uptime_percent > 2.5"
        then = "credit"
        amount = "amount / (prior_refunds + 1) - abs(outage_hours - 24)"
        min_amount = 10
        ''',
        '''
        id = "renewed-without-notice"
        if = "renewal_notice_sent == false or (is_renewal != true and first_purchase == false)"
        then = "credit"
        amount = "refundable_amount / 3"
        ''',
        '''
        id = "otherwise"
        then = "deny"
        reason = "not_covered"
        ''',
    ]),
    # floor and ceil in amounts (rounded to whole currency units, per-day amounts).
    "floor-ceil": _document("floor-ceil", [
        '''
        id = "year-rounded-down"
        when.plan_period = "year"
        then = "refund"
        amount = "floor(refundable_amount * (1 - usage_fraction) / 100) * 100"
        ''',
        '''
        id = "month-quarter-rounded-up"
        when.plan_period = ["month", "quarter"]
        then = "refund"
        amount = "ceil(amount * unused_time_fraction / 100) * 100 - already_refunded"
        ''',
        '''
        id = "week-per-day-credit"
        when.plan_period = "week"
        then = "credit"
        amount = "ceil(amount / 7) * floor(days_until_period_end)"
        ''',
        '''
        id = "lifetime-per-day"
        then = "refund"
        amount = "floor(amount / max(1, days_since_purchase)) + ceil(outage_hours / 24) * 100"
        ''',
    ]),
    # Service credits tiered on a measured value, with a minimum (nothing under 1 unit).
    "uptime-credit-tiers": _document("uptime-credit-tiers", [
        '''
        id = "uptime-below-95"
        when.uptime_percent = { lt = 95 }
        then = "credit"
        amount = "full"
        min_amount = 100
        ''',
        '''
        id = "uptime-below-99"
        when.uptime_percent = { lt = 99 }
        then = "credit"
        percent = 25
        min_amount = 100
        ''',
        '''
        id = "uptime-below-99.9"
        when.uptime_percent = { lt = 99.9 }
        then = "credit"
        percent = 10
        min_amount = 100
        ''',
        '''
        id = "uptime-not-measured"
        when.uptime_percent = { null = true }
        then = "review"
        sla_days = 3
        ''',
        '''
        id = "uptime-met"
        then = "deny"
        reason = "sla_met"
        ''',
    ]),
    # An early termination fee: half of the instalments left on a commitment paid monthly.
    "instalments-fee": _document("instalments-fee", [
        '''
        id = "early-termination-fee"
        when.payment_schedule = "instalments"
        when.instalments_remaining = { gt = 0 }
        then = "fee"
        amount = "amount * instalments_remaining / 2"
        ''',
        '''
        id = "commitment-paid"
        when.payment_schedule = "instalments"
        then = "refund"
        prorata = "unused_time"
        ''',
        '''
        id = "paid-upfront"
        then = "deny"
        reason = "upfront_not_refundable"
        ''',
    ]),
    # Offers: refund / credit / extension with days = ceil(outage_hours / 24).
    "outage-offers": _document("outage-offers", [
        '''
        id = "vendor-outage"
        when.outage_cause = "vendor"
        when.outage_hours = { gt = 48 }
        then = "offer"
        default = "extension"
        respond_within_days = 10
        [[rules.choices]]
        kind = "refund"
        prorata = "unused_time"
        [[rules.choices]]
        kind = "credit"
        amount = "refundable_amount * 1.2"
        min_amount = 500
        [[rules.choices]]
        kind = "extension"
        days = "ceil(outage_hours / 24)"
        bonus_days = "floor(outage_hours / 48) + 2"
        ''',
        '''
        id = "any-outage"
        when.outage_hours = { gt = 0 }
        then = "offer"
        [[rules.choices]]
        kind = "refund"
        amount = "refundable_amount * outage_hours / max(outage_hours, period_days * 24)"
        min_amount = 50
        [[rules.choices]]
        kind = "refund"
        percent = 30
        [[rules.choices]]
        kind = "credit"
        percent = 20
        ''',
        '''
        id = "troubleshoot"
        when.troubleshooting = ["none", "in_progress"]
        then = "troubleshoot_first"
        hours = 48
        ''',
        '''
        id = "otherwise"
        then = "deny"
        reason = "no_outage"
        ''',
    ]),
    # Conditions on every kind of fact: groups of countries, dates, lists, nulls, ne / not_in.
    "conditions-everywhere": _document("conditions-everywhere", [
        '''
        id = "sold-elsewhere"
        when.channel = { not_in = ["direct"] }
        when.payment_method = "store"
        then = "redirect"
        to = "google_play"
        ''',
        '''
        id = "one-refund-per-customer"
        when.prior_refunds = { ge = 1 }
        when.plan = { ne = "vip" }
        then = "deny"
        reason = "already_refunded_once"
        ''',
        '''
        id = "bereavement"
        when.documents = { all_of = ["death_certificate"], none_of = ["screenshot"] }
        then = "review"
        sla_days = 10
        ''',
        '''
        id = "new-eu-customers"
        when.country = ["@EU", "CH"]
        when.first_purchase = true
        when.purchased_at = { ge = "2025-06-01T00:00:00Z", lt = "2027-01-01T00:00:00+01:00" }
        when.days_since_purchase = { le = 30 }
        then = "refund"
        percent = 90
        ''',
        '''
        id = "renewal-sooner-of-30-days-or-period-end"
        if = "is_renewal and days_since_purchase <= min(30, max(0, days_until_period_end))"
        then = "refund"
        prorata = "unused_time"
        ''',
        '''
        id = "french-speakers-no-outage"
        when.outage_cause = { null = true }
        when.documents = { empty = true }
        when.language = "fr"
        when.currency = ["EUR", "CHF"]
        then = "credit"
        amount = 500
        ''',
        '''
        id = "nordics"
        when.country = "@NORDIC"
        when.requested_at = { lt = "2026-07-01T00:00:00-05:00" }
        then = "refund"
        amount = "refundable_amount / 2"
        ''',
        '''
        id = "otherwise"
        then = "deny"
        reason = "not_covered"
        ''',
    ], head='groups.NORDIC = ["DK", "SE", "NO", "FI", "IS"]\n'),
}


def parse_policy(text: str) -> Policy:
    return _parse_policy(text, "<inline>")


@cache
def policy_named(name: str) -> Policy:
    if name == "deny-everything":
        return parse_policy(DENY_EVERYTHING)
    if name in INLINE:
        return parse_policy(INLINE[name])
    return load_policy(ROOT / "policies" / f"{name}.toml")


@cache
def vector_policy(name: str, with_floor: bool = True) -> VectorPolicy:
    return VectorPolicy(policy_named(name), load_floor() if with_floor else ())


ALL_POLICIES = (*SHIPPED, *INLINE)


def test_inline_policies_are_valid() -> None:
    for name in INLINE:
        assert policy_named(name).id == name
    assert parse_policy(DENY_EVERYTHING).rules[0].then.outcome == "deny"


# -- strategies ---------------------------------------------------------------------------------

COUNTRIES = ("FR", "DE", "BE", "GB", "US", "ES", "IE", "JP", "IT", "NL", "CH", "SE", "DK", "NO",
             "GP", "MC", "CA", "AT")
CURRENCIES = ("EUR", "USD", "GBP", "JPY", "CHF", "SEK")
DOCUMENTS = ("death_certificate", "medical_certificate", "bank_statement", "screenshot",
             "invoice")
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
PERIOD_DAYS = {"week": 7, "month": 30, "quarter": 91, "year": 365}
EPOCH = datetime(2024, 1, 1)
SPAN_SECONDS = int((datetime(2028, 1, 1) - EPOCH).total_seconds()) - 1  # purchases in 2024–2027

# every whole-quarter-hour offset from -12:00 to +14:00
offsets = st.integers(-48, 56).map(lambda quarters: timezone(timedelta(minutes=15 * quarters)))


def choice(values: Sequence[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from(list(values))


def nullable(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later, the day clamped to the end of a shorter month."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def iso(moment: datetime, timespec: str, separator: str) -> str:
    text = moment.isoformat(sep=separator, timespec=timespec)
    if moment.utcoffset() == timedelta(0) and text.endswith("+00:00") and separator == "T":
        return text[:-6] + "Z"
    return text


@st.composite
def delays(draw: st.DrawFn, period_end: datetime | None, purchased: datetime) -> timedelta:
    """How long after the purchase the request comes: minutes, days, months, after the period."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return timedelta(minutes=draw(st.integers(0, 600)))
    if kind == 1:
        return timedelta(seconds=draw(st.integers(0, 10 * 86400)))
    if kind == 2:
        return timedelta(seconds=draw(st.integers(0, 120 * 86400)))
    if kind == 3:
        return timedelta(microseconds=draw(st.integers(0, 900 * 86_400_000_000)))
    if kind == 4 and period_end is not None:  # after the end of the paid period
        return period_end - purchased + timedelta(seconds=draw(st.integers(0, 400 * 86400)))
    # exactly on a boundary the policies and packs use, or a second either side
    boundary = draw(choice([timedelta(hours=48), timedelta(hours=72), timedelta(days=7),
                            timedelta(days=14), timedelta(days=15), timedelta(days=30),
                            timedelta(days=60), timedelta(days=61), timedelta(days=180)]))
    return boundary + timedelta(seconds=draw(choice([0, 1, -1, 3600])))


OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "channel": choice(FACTS["channel"].choices),
    "is_renewal": st.booleans(),
    "consumer": st.booleans(),
    "reason": choice(REASONS),
    "documents": st.lists(choice(DOCUMENTS), max_size=3),
    "usage_fraction": st.one_of(st.floats(0, 1), choice([0.0, 0.25, 0.5, 0.35, 0.9, 1.0])),
    "troubleshooting": choice(FACTS["troubleshooting"].choices),
    "outage_hours": st.one_of(st.floats(0, 2000), choice([0.0, 24.0, 48.0, 48.5, 72.0]),
                              st.integers(0, 500)),
    "outage_cause": nullable(choice(FACTS["outage_cause"].choices)),
    "renewal_notice_sent": nullable(st.booleans()),
    "withdrawal_waived": st.booleans(),
    "first_purchase": nullable(st.booleans()),
    "prior_refunds": st.integers(0, 4),
    "plan": nullable(choice(["basic", "pro", "vip"])),
    "payment_method": choice(FACTS["payment_method"].choices),
    "payment_schedule": choice(FACTS["payment_schedule"].choices),
    "instalments_remaining": st.integers(0, 12),
    "promo_price": st.booleans(),
    "benefits_used": st.booleans(),
    "uptime_percent": nullable(st.one_of(
        st.floats(0, 100), choice([95.0, 99.0, 99.9, 99.95, 100.0, 94.99]))),
    "language": nullable(choice(["en", "fr"])),
}


@st.composite
def raw_facts(draw: st.DrawFn) -> Raw:
    """One valid raw facts mapping, as a JSON facts file or a history row would carry it.

    Datetimes are ISO strings in random offsets (``Z`` for UTC), to the minute, second,
    millisecond or microsecond; one row uses one format, so that truncation keeps the order of
    its dates.
    """
    timespec = draw(choice(["seconds", "auto", "milliseconds", "microseconds", "minutes"]))
    separator = draw(choice(["T", "T", " "]))
    zone = draw(offsets)
    local = EPOCH + timedelta(seconds=draw(st.integers(0, SPAN_SECONDS)))
    if draw(st.booleans()):
        local = local.replace(microsecond=draw(st.integers(0, 999_999)))
    purchased = local.replace(tzinfo=zone)
    period = draw(choice(["week", "month", "quarter", "year", "lifetime"]))
    period_end: datetime | None = None
    if period != "lifetime":
        if period in PERIOD_MONTHS and draw(st.booleans()):
            period_end = add_months(purchased, PERIOD_MONTHS[period])
        else:
            period_end = purchased + timedelta(days=PERIOD_DAYS[period])
        if draw(st.integers(0, 4)) == 0:  # written in another offset (summer time, a move)
            period_end = period_end.astimezone(draw(offsets))
    requested = purchased + draw(delays(period_end, purchased))
    if draw(st.integers(0, 3)) == 0:
        requested = requested.astimezone(draw(offsets))
    amount = draw(st.one_of(st.integers(0, 10**7), choice([0, 1, 2, 99, 999, 4999, 8999, 10**7])))
    refunded = draw(st.one_of(st.just(0), st.integers(0, amount), st.just(amount)))
    troubleshooting_started: datetime | None = None
    if draw(st.booleans()):
        share = draw(st.floats(0, 1))
        troubleshooting_started = min(requested, purchased + (requested - purchased) * share)
    raw: Raw = {
        "plan_period": period,
        "purchased_at": iso(purchased, timespec, separator),
        "period_end": None if period_end is None else iso(period_end, timespec, separator),
        "requested_at": iso(requested, timespec, separator),
        "amount": amount,
        "currency": draw(choice(CURRENCIES)),
        "country": draw(choice(COUNTRIES)),
        "troubleshooting_started_at": None if troubleshooting_started is None
        else iso(troubleshooting_started, timespec, separator),
    }
    if refunded or draw(st.booleans()):
        raw["already_refunded"] = refunded
    for name, strategy in OPTIONAL.items():
        if draw(st.integers(0, 4)):  # most facts given, some left to their default
            raw[name] = draw(strategy)
    if draw(st.integers(0, 9)) == 0:  # codes in lower case are accepted
        raw["country"] = raw["country"].lower()
        raw["currency"] = raw["currency"].lower()
    return raw


def _batch(size: int) -> st.SearchStrategy[list[Raw]]:
    return st.lists(raw_facts(), min_size=size, max_size=size)


# 1 to 40 rows, the size drawn uniformly (plain lists stay short on average)
batches = st.integers(1, 40).flatmap(_batch)

# -- the two engines ----------------------------------------------------------------------------

_TYPED = {"int": pl.Int64, "number": pl.Float64, "bool": pl.Boolean}


def _as_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def history_frame(rows: Sequence[Raw], *, text: bool = False) -> pl.DataFrame:
    """Raw facts as a history: one column per fact, documents joined with ";".

    ``text`` writes every value as a CSV file carries it (booleans as true/false), so that the
    vectorised path parses them; otherwise columns are typed as a Parquet file has them.
    """
    schema = {name: pl.String if text else _TYPED.get(spec.kind, pl.String)
              for name, spec in FACTS.items()}
    records = []
    for raw in rows:
        record: Raw = dict.fromkeys(FACTS)
        for name, value in raw.items():
            value = ";".join(value) if isinstance(value, list) else value
            if FACTS[name].kind == "number" and value is not None and not text:
                value = float(value)
            record[name] = _as_text(value) if text else value
        records.append(record)
    return pl.DataFrame(records, schema=schema, orient="row")


def scalar_decisions(policy: Policy, rows: Sequence[Raw], floor: Sequence[Policy]) \
        -> list[Decision]:
    return [decide(policy, parse_facts(raw), floor) for raw in rows]


def prepared_history(rows: Sequence[Raw], *, text: bool = False) -> Prepared:
    prepared = prepare(history_frame(rows, text=text))
    assert prepared.errors.height == 0, f"valid facts rejected: {prepared.errors.to_dicts()}"
    assert prepared.frame.height == len(rows)
    return prepared


def vector_rows(compiled: VectorPolicy, prepared: Prepared) -> list[dict[str, Any]]:
    decided = compiled.evaluate(prepared.frame, exact=prepared).sort("_row")
    assert decided["_row"].to_list() == list(range(prepared.frame.height))
    return decided.select(DECISION_COLUMNS).to_dicts()


def disagreements(scalar: Sequence[Decision], vector: Sequence[dict[str, Any]],
                  rows: Sequence[Raw]) -> list[str]:
    problems = []
    for raw, decision, got in zip(rows, scalar, vector, strict=True):
        want = decision_row(decision)
        differing = {c: (want[c], got[c]) for c in DECISION_COLUMNS if want[c] != got[c]}
        if differing:
            problems.append(f"{differing} (scalar, vector) for {raw}")
    return problems


def refundable_of(raw: Raw) -> int:
    return int(raw["amount"]) - int(raw.get("already_refunded", 0))


def guaranteed_cash(decision: Decision) -> int:
    """Money back the decision gives, or for a review the least the reviewer must grant."""
    return max(cash_value(decision), decision.minimum_amount or 0)


def vector_guaranteed_cash(row: dict[str, Any]) -> int:
    if row["outcome"] in ("refund", "offer"):
        return int(row["amount"] or 0)
    return int(row["minimum_amount"] or 0)


def assert_vector_row_within_bounds(row: dict[str, Any], raw: Raw) -> None:
    refundable = refundable_of(raw)
    if row["outcome"] in ("refund", "credit"):
        assert row["amount"] is not None and 0 < row["amount"] <= refundable, (row, raw)
    elif row["outcome"] == "offer" and row["amount"] is not None:
        assert 0 < row["amount"] <= refundable, (row, raw)
    elif row["outcome"] == "fee":
        assert row["amount"] is not None and row["amount"] > 0
    if row["minimum_amount"] is not None:
        assert row["outcome"] == "review"
        assert 0 < row["minimum_amount"] <= refundable


SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                          HealthCheck.data_too_large])

# -- (a) both engines give the same decision ------------------------------------------------------

# The first example Hypothesis found (floor-ceil: ceil(outage_hours / 24) of 5e-324 is 0 in
# float64 and 1 in Decimal; the re-checked vector row once kept reason nothing_refundable),
# and the same (fixed) bug on a shipped policy with plausible facts.
_FOUND_BY_HYPOTHESIS: Raw = {
    "plan_period": "lifetime", "purchased_at": "2024-01-04T14:47:16+01:00", "period_end": None,
    "requested_at": "2024-02-03T23:17:16+08:30", "amount": 1, "currency": "CHF",
    "country": "US", "outage_hours": 5e-324}
_IPTV_AFTER_72_HOURS: Raw = {
    "plan_period": "year", "purchased_at": "2026-03-02T10:00:00+01:00",
    "period_end": "2027-03-02T10:00:00+01:00", "amount": 10**7, "currency": "USD",
    "country": "US", "requested_at": "2026-04-02T10:00:00+02:00", "troubleshooting": "unresolved",
    "troubleshooting_started_at": "2026-03-20T10:00:00+01:00", "usage_fraction": 0.99999995}


@settings(SETTINGS, max_examples=30)
@example(rows=[_IPTV_AFTER_72_HOURS], text=False)
@example(rows=[_FOUND_BY_HYPOTHESIS], text=True)
@given(rows=batches, text=st.booleans())
def test_scalar_and_vector_engines_agree(rows: list[Raw], text: bool) -> None:
    """Every policy, one batch: the same decision field by field, with the statutory floor and,
    for three of them, without it."""
    prepared = prepared_history(rows, text=text)
    for name in ALL_POLICIES:
        scalar = scalar_decisions(policy_named(name), rows, load_floor())
        problems = disagreements(scalar, vector_rows(vector_policy(name), prepared), rows)
        assert not problems, f"{name}: " + "\n".join(problems[:3])
    for name in ("iptv-72-hours", "floor-ceil", "outage-offers"):
        scalar = scalar_decisions(policy_named(name), rows, ())
        problems = disagreements(scalar, vector_rows(vector_policy(name, False), prepared), rows)
        assert not problems, f"{name} without the floor: " + "\n".join(problems[:3])


@settings(SETTINGS, max_examples=15)
@given(rows=batches, text=st.booleans())
def test_vector_decisions_within_bounds_and_above_the_floor(rows: list[Raw], text: bool) -> None:
    """(b) and (c) on the vectorised path, for every policy: refunds, credits and offers within
    the refundable amount, and never less cash than the statutory floor alone."""
    prepared = prepared_history(rows, text=text)
    floor_alone = [vector_guaranteed_cash(row)
                   for row in vector_rows(vector_policy("deny-everything"), prepared)]
    for name in ALL_POLICIES:
        vector = vector_rows(vector_policy(name), prepared)
        for raw, row, least in zip(rows, vector, floor_alone, strict=True):
            assert_vector_row_within_bounds(row, raw)
            assert vector_guaranteed_cash(row) >= least, (name, row, raw)


@settings(SETTINGS, max_examples=25)
@given(rows=batches, text=st.booleans())
def test_derived_facts_agree(rows: list[Raw], text: bool) -> None:
    """The facts the engine derives are the same on both paths: whole numbers, codes and
    booleans exactly, floats to a few ulps (Polars divides a column by a constant through its
    reciprocal, Python divides exactly: see the known bug below)."""
    frame = prepared_history(rows, text=text).frame.sort("_row")
    for raw, row in zip(rows, frame.iter_rows(named=True), strict=True):
        facts = parse_facts(raw)
        for name in (*DERIVED, "first_purchase", "language", "country", "currency"):
            want, got = facts[name], row[name]
            if isinstance(want, float) and isinstance(got, float):
                assert math.isclose(want, got, rel_tol=1e-15, abs_tol=1e-300), (name, raw)
            else:
                assert want == got, (name, want, got, raw)


# -- (b) money never exceeds the refundable amount -----------------------------------------------

def assert_within_bounds(decision: Decision, raw: Raw) -> None:
    refundable = refundable_of(raw)
    if decision.outcome in ("refund", "credit"):
        assert decision.amount is not None
        assert 0 < decision.amount <= refundable, (decision, raw)
    elif decision.outcome == "fee":
        assert decision.amount is not None and decision.amount > 0
    elif decision.outcome == "offer":
        assert decision.choices, decision
        for offered in decision.choices:
            if offered.kind in ("refund", "credit"):
                assert offered.amount is not None
                assert 0 < offered.amount <= refundable, (decision, raw)
            else:
                assert offered.days is not None and offered.days >= 0
                assert offered.bonus_days is not None and offered.bonus_days >= 0
    else:
        assert decision.amount is None
    if decision.minimum_amount is not None:
        assert decision.outcome == "review"
        assert 0 < decision.minimum_amount <= refundable
    assert 0 <= cash_value(decision) <= refundable


@pytest.mark.parametrize("name", ALL_POLICIES)
@settings(SETTINGS, max_examples=80)
@given(raw=raw_facts())
def test_no_decision_exceeds_the_refundable_amount(name: str, raw: Raw) -> None:
    for floor in ((), load_floor()):
        assert_within_bounds(decide(policy_named(name), parse_facts(raw), floor), raw)


# -- (c) the statutory floor: merchant policies can raise it, never lower it -----------------------

@pytest.mark.parametrize("name", ALL_POLICIES)
@settings(SETTINGS, max_examples=80)
@given(raw=raw_facts())
def test_the_floor_is_never_lowered(name: str, raw: Raw) -> None:
    facts = parse_facts(raw)
    floor = load_floor()
    decision = decide(policy_named(name), facts, floor)
    floor_alone = decide(policy_named("deny-everything"), facts, floor)
    merchant_alone = decide(policy_named(name), facts, ())
    assert guaranteed_cash(decision) >= cash_value(floor_alone), (decision, floor_alone)
    assert guaranteed_cash(decision) >= cash_value(merchant_alone), (decision, merchant_alone)
    if cash_value(floor_alone) <= cash_value(merchant_alone):  # the merchant's answer stands
        assert decision_row(decision) == decision_row(merchant_alone)
    elif merchant_alone.outcome == "review":  # a person decides, the law as the least
        assert decision.outcome == "review"
        assert decision.minimum_amount == cash_value(floor_alone)
    else:  # the law decides
        assert decision.floor_applied
        assert decision.outcome == "refund"
        assert decision.amount == cash_value(floor_alone)
        assert decision.decided_by == floor_alone.decided_by


# -- regressions and known disagreements between the engines -----------------------------------

def _refund_when(condition: str, amount: str = "100") -> str:
    return _document("repro", [f'id = "matched"\n{condition}\nthen = "refund"\namount = "{amount}"',
                               'id = "otherwise"\nthen = "deny"\nreason = "no"'])


def _engines_agree_on(policy_text: str, rows: list[Raw]) -> None:
    policy = parse_policy(policy_text)
    vector = vector_rows(VectorPolicy(policy, ()), prepared_history(rows))
    problems = disagreements(scalar_decisions(policy, rows, ()), vector, rows)
    assert not problems, "\n".join(problems[:3])


_BASE: Raw = {"plan_period": "month", "purchased_at": "2026-01-31T10:00:00+01:00",
              "period_end": "2026-02-28T10:00:00+01:00", "amount": 1000, "currency": "EUR",
              "country": "US", "requested_at": "2026-02-01T10:00:00+01:00"}

WHOLE_MONTHS = _document("whole-months", [
    'id = "left"\nwhen.plan_period = ["month", "quarter", "year"]\nthen = "refund"\n'
    'prorata = "whole_months_unused"',
    'id = "lifetime"\nthen = "review"'])


@pytest.mark.parametrize(("purchased", "period_end", "requested"), [
    ("2026-01-31T10:00:00+01:00", "2026-04-30T10:00:00+01:00", "2026-01-31T10:00:00+01:00"),
    ("2026-01-31T10:00:00+01:00", "2026-02-28T12:00:00+01:00", "2026-02-01T10:00:00+01:00"),
    ("2024-02-29T23:30:00-05:00", "2025-02-28T23:30:00-05:00", "2024-05-29T23:30:00-05:00"),
    ("2025-08-31T00:00:00Z", "2026-08-31T00:00:00+02:00", "2025-11-30T00:00:00Z"),
])
def test_whole_months_at_the_end_of_a_month(purchased: str, period_end: str,
                                            requested: str) -> None:
    """Month ends clamp (31 January + 1 month = 28 February) on both paths alike (this once
    disagreed: vector.py compared the day of the month instead of clamping it)."""
    row = {**_BASE, "plan_period": "year", "purchased_at": purchased, "period_end": period_end,
           "requested_at": requested}
    facts = parse_facts(row)
    frame = prepared_history([row]).frame
    assert frame["months_in_period"][0] == facts["months_in_period"]
    assert frame["whole_months_unused"][0] == facts["whole_months_unused"]
    _engines_agree_on(WHOLE_MONTHS, [row])


@settings(SETTINGS, max_examples=10)
@example(rows=[_BASE])  # renewal_notice_sent not given (null)
@example(rows=[{**_BASE, "renewal_notice_sent": False}, {**_BASE, "renewal_notice_sent": True}])
@given(rows=batches)
def test_comparing_a_null_boolean(rows: list[Raw]) -> None:
    """A null boolean compared with true/false is false on both paths (this once disagreed:
    vector.py filled the null with false before comparing, so 'null == false' held there)."""
    for condition in ('if = "renewal_notice_sent == false"', 'if = "renewal_notice_sent != true"',
                      'if = "not (renewal_notice_sent == true)"',
                      'if = "first_purchase == renewal_notice_sent"'):
        _engines_agree_on(_refund_when(condition), rows)
    assert decide(parse_policy(_refund_when('if = "renewal_notice_sent == false"')),
                  parse_facts(_BASE)).outcome == "deny"


@settings(SETTINGS, max_examples=10)
@example(rows=[{**_BASE, "amount": 9692260, "usage_fraction": 0.9}])
@given(rows=batches)
def test_ceil_of_a_large_amount(rows: list[Raw]) -> None:
    _engines_agree_on(_refund_when("when.amount = { min = 0 }",
                                   "ceil(amount / 100 * usage_fraction * 100)"), rows)


_ONE_MINUTE_IN: Raw = {**_BASE, "plan_period": "week", "purchased_at": "2024-01-01T00:00:00Z",
                      "period_end": "2024-01-08T00:00:00Z",
                      "requested_at": "2024-01-01T00:01:00Z"}


def test_derived_facts_one_ulp_apart() -> None:
    _engines_agree_on(_refund_when("when.days_until_period_end = { ge = 6.999305555555556 }"),
                      [_ONE_MINUTE_IN] * 3)


def test_recheck_replaces_every_field() -> None:
    """Minimal: 100 / 3 * 3 is 100.0 in float64 and 99.999… in Decimal; the row is re-checked,
    the exact decision is the deny rule, and the vector row is a deny with amount 100."""
    _engines_agree_on(_refund_when('if = "amount / 3 * 3 >= 100"'), [{**_BASE, "amount": 100}])


def test_the_neighbours_of_the_repros_agree() -> None:
    """Neighbours of the repros, where the engines agree: the bugs are that narrow."""
    _engines_agree_on(_refund_when("when.amount = { min = 0 }",
                                   "ceil(amount / 100 * usage_fraction * 100)"),
                      [{**_BASE, "amount": 969226, "usage_fraction": 0.9}])
    _engines_agree_on(_refund_when('if = "amount / 3 * 3 >= 100"'),  # float and Decimal agree
                      [{**_BASE, "amount": 99}, {**_BASE, "amount": 101}])
    _engines_agree_on(_refund_when("when.days_until_period_end = { ge = 6.999305555555556 }"),
                      [_ONE_MINUTE_IN])  # one row: Polars divides exactly
