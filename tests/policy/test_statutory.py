"""The statutory packs (src/refundable/policy/statutory/*.toml) and the floor they set.

Each pack is checked at its boundaries with plain facts, and under merchant policies written
inline: one that denies everything (the law must win), ones that give more (they keep their
decision). Expected amounts are worked out by hand here, in Decimal, rounded half to even.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest

from refundable.policy import (
    Decision,
    Policy,
    decide,
    decide_raw,
    load_floor,
    load_policy,
    parse_facts,
    parse_policy,
)

DAY = 86_400  # seconds
MINUTE = 60
REPO = Path(__file__).resolve().parents[2]


def half_even(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def share(amount: int, numerator: int, denominator: int, minus: int = 0) -> int:
    """``amount × numerator / denominator − minus`` in minor units, rounded once, half to even."""
    return half_even(Decimal(amount) * Decimal(numerator) / Decimal(denominator) - minus)


DENY_ALL = parse_policy("""
id = "deny-all"
version = 1
title.en = "No refunds"
title.fr = "Aucun remboursement"

[[rules]]
id = "no-refunds"
then = "deny"
reason = "no_refunds"
message.en = "We do not refund."
message.fr = "Nous ne remboursons pas."
""")


def merchant(rule: str) -> Policy:
    """A one-rule merchant policy; ``rule`` is the body of its only [[rules]] table."""
    return parse_policy(f"""
id = "merchant"
version = 3
title.en = "Merchant policy"
title.fr = "Politique du marchand"

[[rules]]
id = "the-rule"
{rule}
message.en = "Merchant: {{amount}}"
message.fr = "Marchand : {{amount}}"
""")


# A first purchase of an annual plan, late in the evening in a +01:00 offset; asked on day 9.
BASE: dict[str, object] = {
    "plan_period": "year",
    "purchased_at": "2026-03-01T23:30:00+01:00",
    "period_end": "2027-03-01T23:30:00+01:00",  # 365 days
    "requested_at": "2026-03-10T12:00:00+01:00",
    "amount": 8999,
    "currency": "EUR",
    "country": "IT",
}

# A renewal of an annual plan, asked half-way through: 181 days used, 184 left of 365.
RENEWAL: dict[str, object] = {
    "is_renewal": True,
    "purchased_at": "2026-01-10T09:00:00+01:00",
    "period_end": "2027-01-10T09:00:00+01:00",
    "requested_at": "2026-07-10T09:00:00+01:00",
    "amount": 4999,
}

# Facts under which each pack refunds something (and no other pack does).
TRIGGERS: dict[str, dict[str, object]] = {
    "statutory-eu@1": {"country": "IT"},
    "statutory-uk@1": {"country": "GB", "currency": "GBP"},
    "statutory-fr@1": {**RENEWAL, "country": "FR", "renewal_notice_sent": False},
    "statutory-de@1": {**RENEWAL, "country": "DE"},
    "statutory-us-ca@1": {**RENEWAL, "country": "US", "currency": "USD",
                          "renewal_notice_sent": False},
}


def facts(**changes: object) -> dict[str, object]:
    return {**BASE, **changes}


def floor_only(**changes: object) -> Decision:
    """The decision under a merchant that refunds nothing: whatever is refunded is the law's."""
    return decide(DENY_ALL, parse_facts(facts(**changes)), load_floor())


def assert_nothing_from_the_floor(decision: Decision) -> None:
    assert decision.outcome == "deny"
    assert decision.reason == "no_refunds"
    assert decision.decided_by == "deny-all@1"
    assert not decision.floor_applied


def assert_floor(decision: Decision, pack: str, rule: str, amount: int) -> None:
    assert (decision.outcome, decision.decided_by, decision.rule, decision.amount) == (
        "refund", pack, rule, amount)
    assert decision.policy == "deny-all@1"
    assert decision.floor_applied


# -- the packs as documents ----------------------------------------------------------------------

def test_floor_ships_one_pack_per_law_in_file_name_order() -> None:
    packs = load_floor()
    assert [pack.ref for pack in packs] == [
        "statutory-de@1", "statutory-eu@1", "statutory-fr@1", "statutory-uk@1",
        "statutory-us-ca@1"]
    assert [Path(pack.path).name for pack in packs] == [
        "de.toml", "eu.toml", "fr.toml", "uk.toml", "us-ca.toml"]


@pytest.mark.parametrize("pack", load_floor(), ids=lambda pack: pack.id)
def test_every_pack_and_rule_cites_its_source_and_only_refunds(pack: Policy) -> None:
    assert pack.kind == "statutory"
    assert pack.source
    assert set(pack.title) == {"en", "fr"}
    for rule in pack.rules:
        assert rule.source
        assert rule.then.outcome == "refund"
        assert set(rule.messages) == {"en", "fr"}


@pytest.mark.parametrize("name", ["fr.toml", "de.toml", "uk.toml", "us-ca.toml"])
def test_unconfirmed_points_are_marked_in_the_documents(name: str) -> None:
    folder = Path(load_floor()[0].path).parent
    assert "*unconfirmed*" in (folder / name).read_text(encoding="utf-8").lower()


def test_countries_of_each_pack() -> None:
    countries = {pack.id: pack.countries for pack in load_floor()}
    eu = countries["statutory-eu"]
    assert {"FR", "DE", "IT", "GR", "IE", "NO", "IS", "LI"} <= eu  # EU and EEA
    assert {"GP", "MQ", "GF", "RE", "YT", "MF", "AX"} <= eu  # outermost regions, Åland
    assert not {"GB", "CH", "US", "MC", "NC", "PF"} & eu
    assert {"FR", "GP", "MQ", "GF", "RE", "YT"} <= countries["statutory-fr"]
    assert not {"MC", "NC", "PF", "BE"} & countries["statutory-fr"]
    assert countries["statutory-de"] == {"DE"}
    assert countries["statutory-uk"] == {"GB"}
    assert countries["statutory-us-ca"] == {"US"}


@pytest.mark.parametrize(("country", "packs"), [
    ("IT", ("statutory-eu@1",)),
    ("NO", ("statutory-eu@1",)),
    ("FR", ("statutory-eu@1", "statutory-fr@1")),
    ("GP", ("statutory-eu@1", "statutory-fr@1")),
    ("DE", ("statutory-de@1", "statutory-eu@1")),
    ("GB", ("statutory-uk@1",)),
    ("US", ("statutory-us-ca@1",)),
    ("CH", ()),
    ("CA", ()),
])
def test_packs_applied_by_country(country: str, packs: tuple[str, ...]) -> None:
    decision = floor_only(country=country)
    assert decision.statutory == packs
    assert decision.to_dict()["statutory"] == list(packs)


@pytest.mark.parametrize("pack", TRIGGERS)
def test_each_pack_refunds_a_consumer_but_not_a_business(pack: str) -> None:
    assert floor_only(**TRIGGERS[pack]).decided_by == pack
    assert_nothing_from_the_floor(floor_only(**TRIGGERS[pack], consumer=False))


# -- EU: 14-day withdrawal -------------------------------------------------------------------------

# Bought at 23:30 (+01:00) on 1 March: 1 March is day 0, 15 March day 14, 16 March day 15.
EU_DAY_14_AMOUNT = share(8999, 365 * DAY - (14 * DAY + 15 * MINUTE), 365 * DAY)  # 8653.58 → 8654


def test_eu_day_14_late_evening_refunds_the_unused_part() -> None:
    assert EU_DAY_14_AMOUNT == 8654
    decision = floor_only(requested_at="2026-03-15T23:45:00+01:00")
    assert_floor(decision, "statutory-eu@1", "withdrawal-14-days", EU_DAY_14_AMOUNT)


def test_eu_day_15_just_after_midnight_gets_nothing() -> None:
    # Only 14 days and 40 minutes after the purchase, but on the 15th calendar day.
    assert_nothing_from_the_floor(floor_only(requested_at="2026-03-16T00:10:00+01:00"))


def test_eu_days_are_counted_in_the_purchase_offset_not_the_request_offset() -> None:
    # 22:45Z is 23:45 on 15 March at +01:00 (day 14); 23:10Z is already 16 March there (day 15),
    # although both are 15 March in UTC.
    assert floor_only(requested_at="2026-03-15T22:45:00Z").amount == EU_DAY_14_AMOUNT
    assert_nothing_from_the_floor(floor_only(requested_at="2026-03-15T23:10:00Z"))


def test_eu_purchase_just_after_midnight_local_counts_from_the_local_date() -> None:
    # 00:30 on 2 March at +01:00 is 23:30 on 1 March in UTC. 16 March is day 14 locally, day 15
    # in UTC: the customer's calendar wins. Used: 14 days 19 h 30 min of 365 days.
    decision = floor_only(purchased_at="2026-03-02T00:30:00+01:00",
                          period_end="2027-03-02T00:30:00+01:00",
                          requested_at="2026-03-16T20:00:00+01:00")
    used = 14 * DAY + 19 * 3600 + 30 * MINUTE
    assert_floor(decision, "statutory-eu@1", "withdrawal-14-days",
                 share(8999, 365 * DAY - used, 365 * DAY))


def test_eu_waiver_of_the_withdrawal_right_loses_it() -> None:
    assert floor_only(withdrawal_waived=False).decided_by == "statutory-eu@1"
    assert_nothing_from_the_floor(floor_only(withdrawal_waived=True))


def test_eu_business_customer_gets_nothing() -> None:
    assert_nothing_from_the_floor(floor_only(consumer=False))


def test_eu_tacit_renewal_is_not_a_new_contract() -> None:
    assert_nothing_from_the_floor(floor_only(is_renewal=True))


def test_eu_returning_buyer_with_a_new_contract_may_withdraw() -> None:
    decision = floor_only(first_purchase=False, prior_refunds=1)
    assert decision.decided_by == "statutory-eu@1"


@pytest.mark.parametrize("reason", ["other", "dissatisfied", "withdrawal", "technical_issue"])
def test_eu_any_request_is_a_withdrawal_whatever_the_reason(reason: str) -> None:
    # Day 9 at 12:00: 8 days 12 h 30 min used.
    used = 8 * DAY + 12 * 3600 + 30 * MINUTE
    decision = floor_only(reason=reason)
    assert_floor(decision, "statutory-eu@1", "withdrawal-14-days",
                 share(8999, 365 * DAY - used, 365 * DAY))


@pytest.mark.parametrize(("amount", "expected"), [(1001, 500), (1003, 502), (1000, 500)])
def test_eu_proportionate_amount_rounds_half_to_even(amount: int, expected: int) -> None:
    # A monthly plan of 28 days (February), asked on day 14 at the hour of purchase: exactly half.
    decision = floor_only(plan_period="month", amount=amount,
                          purchased_at="2026-02-01T10:00:00+01:00",
                          period_end="2026-03-01T10:00:00+01:00",
                          requested_at="2026-02-15T10:00:00+01:00")
    assert half_even(Decimal(amount) / 2) == expected
    assert_floor(decision, "statutory-eu@1", "withdrawal-14-days", expected)


@pytest.mark.parametrize("already", [500, 8000, 8500])
def test_eu_an_earlier_partial_refund_counts_towards_what_is_owed(already: int) -> None:
    # Owed: all payments received (8999 − already) minus the service provided (8999 × used).
    decision = floor_only(requested_at="2026-03-15T23:45:00+01:00", already_refunded=already)
    expected = share(8999, 365 * DAY - (14 * DAY + 15 * MINUTE), 365 * DAY, minus=already)
    assert expected == EU_DAY_14_AMOUNT - already
    assert_floor(decision, "statutory-eu@1", "withdrawal-14-days", expected)


def test_eu_nothing_when_more_than_the_unused_part_was_already_refunded() -> None:
    assert_nothing_from_the_floor(
        floor_only(requested_at="2026-03-15T23:45:00+01:00", already_refunded=8700))
    assert_nothing_from_the_floor(
        floor_only(requested_at="2026-03-15T23:45:00+01:00", already_refunded=8999))


def test_eu_lifetime_plan_within_14_days_is_refunded_in_full() -> None:
    lifetime = {"plan_period": "lifetime", "period_end": None, "amount": 19999}
    decision = floor_only(**lifetime, requested_at="2026-03-15T23:45:00+01:00")
    assert_floor(decision, "statutory-eu@1", "withdrawal-14-days-lifetime", 19999)
    assert floor_only(**lifetime, already_refunded=4999).amount == 15000
    assert_nothing_from_the_floor(floor_only(**lifetime, requested_at="2026-03-16T00:10:00+01:00"))
    assert_nothing_from_the_floor(floor_only(**lifetime, withdrawal_waived=True))
    assert_nothing_from_the_floor(floor_only(**lifetime, consumer=False))


def test_eu_nothing_when_the_paid_period_is_already_over() -> None:
    # A weekly plan asked on day 10: the whole week was provided, nothing is unused.
    decision = floor_only(plan_period="week", purchased_at="2026-03-01T10:00:00+01:00",
                          period_end="2026-03-08T10:00:00+01:00",
                          requested_at="2026-03-11T10:00:00+01:00")
    assert_nothing_from_the_floor(decision)


def test_eu_applies_in_the_eea_and_outermost_regions_not_in_switzerland() -> None:
    for country in ("NO", "IS", "LI", "GP", "RE"):
        assert floor_only(country=country).decided_by == "statutory-eu@1", country
    assert_nothing_from_the_floor(floor_only(country="CH"))


# -- UK: 14-day cancellation -----------------------------------------------------------------------

def uk(**changes: object) -> Decision:
    return floor_only(country="GB", currency="GBP", **changes)


def test_uk_day_14_refunds_the_unused_part_and_day_15_nothing() -> None:
    decision = uk(requested_at="2026-03-15T23:45:00+01:00")
    assert_floor(decision, "statutory-uk@1", "cancellation-14-days", EU_DAY_14_AMOUNT)
    assert decision.currency == "GBP"
    assert_nothing_from_the_floor(uk(requested_at="2026-03-16T00:10:00+01:00"))
    assert_nothing_from_the_floor(uk(requested_at="2026-03-15T23:10:00Z"))


def test_uk_waiver_business_and_renewal_get_nothing() -> None:
    assert uk().decided_by == "statutory-uk@1"
    assert_nothing_from_the_floor(uk(withdrawal_waived=True))
    assert_nothing_from_the_floor(uk(consumer=False))
    assert_nothing_from_the_floor(uk(is_renewal=True))


def test_uk_is_not_under_the_eu_pack() -> None:
    assert uk().statutory == ("statutory-uk@1",)


def test_uk_lifetime_plan_and_earlier_partial_refund() -> None:
    decision = uk(plan_period="lifetime", period_end=None, amount=19999)
    assert_floor(decision, "statutory-uk@1", "cancellation-14-days-lifetime", 19999)
    decision = uk(requested_at="2026-03-15T23:45:00+01:00", already_refunded=1000)
    assert_floor(decision, "statutory-uk@1", "cancellation-14-days", EU_DAY_14_AMOUNT - 1000)


# -- France: renewal without the L215-1 notice -------------------------------------------------

FR_AMOUNT = share(4999, 184, 365)  # 2520.04 → 2520


def fr(**changes: object) -> Decision:
    return floor_only(**{**TRIGGERS["statutory-fr@1"], **changes})


def test_fr_renewal_without_notice_refunds_the_advance_minus_the_service_used() -> None:
    assert FR_AMOUNT == 2520
    decision = fr()
    assert_floor(decision, "statutory-fr@1", "renewal-without-notice", FR_AMOUNT)
    assert decision.language == "fr"
    assert decision.message() == (
        "Votre abonnement a été reconduit sans l'information préalable exigée par l'article "
        "L215-1 du Code de la consommation. Vous pouvez le résilier sans frais : 25,20\u00a0€ "
        "vous est remboursé pour la partie de la période non encore exécutée, sous 30 jours.")


def test_fr_renewal_with_notice_gets_nothing() -> None:
    assert_nothing_from_the_floor(fr(renewal_notice_sent=True))


def test_fr_renewal_with_unknown_notice_gets_nothing() -> None:
    assert_nothing_from_the_floor(fr(renewal_notice_sent=None))


def test_fr_business_customer_gets_nothing() -> None:
    assert_nothing_from_the_floor(fr(consumer=False))


def test_fr_quarterly_plan_is_covered() -> None:
    # 90 days (15 January to 15 April), asked on 25 January: 80 days left.
    decision = fr(plan_period="quarter", amount=2997,
                  purchased_at="2026-01-15T10:00:00+01:00",
                  period_end="2026-04-15T10:00:00+01:00",
                  requested_at="2026-01-25T10:00:00+01:00")
    assert_floor(decision, "statutory-fr@1", "renewal-without-notice", share(2997, 80, 90))


def test_fr_monthly_plan_is_not_covered() -> None:
    decision = fr(plan_period="month", amount=999,
                  purchased_at="2026-07-01T09:00:00+01:00",
                  period_end="2026-08-01T09:00:00+01:00",
                  requested_at="2026-07-20T09:00:00+01:00")
    assert_nothing_from_the_floor(decision)


def test_fr_no_deadline_from_the_renewal_date() -> None:
    # Eleven months into the renewed year: still owed, for the month left (31 days of 365).
    decision = fr(requested_at="2026-12-10T09:00:00+01:00")
    assert_floor(decision, "statutory-fr@1", "renewal-without-notice", share(4999, 31, 365))


def test_fr_first_purchase_after_14_days_gets_nothing() -> None:
    assert_nothing_from_the_floor(fr(is_renewal=False))


def test_fr_an_earlier_partial_refund_counts_towards_what_is_owed() -> None:
    decision = fr(already_refunded=1000)
    assert_floor(decision, "statutory-fr@1", "renewal-without-notice",
                 share(4999, 184, 365, minus=1000))
    assert decision.amount == 1520


def test_fr_overseas_department_is_covered() -> None:
    assert fr(country="RE").decided_by == "statutory-fr@1"


# -- Germany: one month's notice after a tacit renewal -----------------------------------------

def de(**changes: object) -> Decision:
    """A renewed annual plan (15 January 2026 to 15 January 2027, 365 days), in Germany."""
    return floor_only(**{
        "country": "DE", "is_renewal": True, "amount": 11988,
        "purchased_at": "2026-01-15T10:00:00+01:00",
        "period_end": "2027-01-15T10:00:00+01:00",
        **changes})


def test_de_renewal_refunds_the_period_beyond_one_month() -> None:
    # Asked after 100 days: 265 days left, 30 of them the notice, 235 refunded.
    decision = de(requested_at="2026-04-25T10:00:00+01:00")
    assert_floor(decision, "statutory-de@1", "renewed-contract-one-month-notice",
                 share(11988, 265 - 30, 365))
    assert decision.amount == 7718


def test_de_refund_does_not_depend_on_the_renewal_notice() -> None:
    for notice in (True, False, None):
        decision = de(requested_at="2026-04-25T10:00:00+01:00", renewal_notice_sent=notice)
        assert decision.amount == 7718


def test_de_last_month_boundary() -> None:
    # 31 days left: one day beyond the notice. 30 days left: nothing. 26 days left: nothing.
    decision = de(requested_at="2026-12-15T10:00:00+01:00")
    assert_floor(decision, "statutory-de@1", "renewed-contract-one-month-notice",
                 share(11988, 1, 365))
    assert decision.amount == 33
    assert_nothing_from_the_floor(de(requested_at="2026-12-16T10:00:00+01:00"))
    assert_nothing_from_the_floor(de(requested_at="2026-12-20T10:00:00+01:00"))


def test_de_an_earlier_partial_refund_counts_towards_what_is_owed() -> None:
    decision = de(requested_at="2026-04-25T10:00:00+01:00", already_refunded=2000)
    assert_floor(decision, "statutory-de@1", "renewed-contract-one-month-notice",
                 share(11988, 265 - 30, 365, minus=2000))
    assert decision.amount == 5718


def test_de_quarterly_renewal() -> None:
    decision = de(plan_period="quarter", amount=2997, period_end="2026-04-15T10:00:00+01:00",
                  requested_at="2026-01-25T10:00:00+01:00")
    assert_floor(decision, "statutory-de@1", "renewed-contract-one-month-notice",
                 share(2997, 80 - 30, 90))
    assert decision.amount == 1665


def test_de_monthly_and_lifetime_plans_are_left_out() -> None:
    assert_nothing_from_the_floor(de(plan_period="month", period_end="2026-02-15T10:00:00+01:00",
                                     requested_at="2026-01-16T10:00:00+01:00"))
    assert_nothing_from_the_floor(de(plan_period="lifetime", period_end=None,
                                     requested_at="2026-01-16T10:00:00+01:00"))


def test_de_business_and_first_purchase_get_nothing_from_this_pack() -> None:
    assert_nothing_from_the_floor(de(consumer=False, requested_at="2026-04-25T10:00:00+01:00"))
    # A first purchase after day 14: neither the DE pack nor the EU withdrawal.
    assert_nothing_from_the_floor(de(is_renewal=False, requested_at="2026-04-25T10:00:00+01:00"))


def test_de_withdrawal_comes_from_the_eu_pack() -> None:
    decision = de(is_renewal=False, requested_at="2026-01-20T10:00:00+01:00")  # day 5
    assert_floor(decision, "statutory-eu@1", "withdrawal-14-days", share(11988, 360, 365))
    assert decision.statutory == ("statutory-de@1", "statutory-eu@1")
    tried = [(line["policy"], line["rule"], line["matched"]) for line in decision.explanation()]
    assert tried == [
        ("statutory-de@1", "renewed-contract-one-month-notice", False),
        ("statutory-eu@1", "withdrawal-14-days-lifetime", False),
        ("statutory-eu@1", "withdrawal-14-days", True),
        ("deny-all@1", "no-refunds", True),
    ]


# -- United States (California ARL) ------------------------------------------------------------

def us(**changes: object) -> Decision:
    return floor_only(**{**TRIGGERS["statutory-us-ca@1"], "amount": 9999, **changes})


def test_us_yearly_renewal_without_notice_is_refunded_in_full() -> None:
    decision = us()
    assert_floor(decision, "statutory-us-ca@1", "yearly-renewal-without-notice", 9999)
    assert decision.currency == "USD"
    assert decision.message() == (
        "Your yearly subscription renewed without the reminder California law requires before "
        "a renewal: the renewal charge of $99.99 is refunded in full.")


def test_us_full_refund_is_what_is_left_to_refund() -> None:
    assert us(already_refunded=1000).amount == 8999


def test_us_renewal_with_notice_or_unknown_notice_gets_nothing() -> None:
    assert_nothing_from_the_floor(us(renewal_notice_sent=True))
    assert_nothing_from_the_floor(us(renewal_notice_sent=None))


def test_us_business_monthly_and_first_purchase_get_nothing() -> None:
    assert_nothing_from_the_floor(us(consumer=False))
    assert_nothing_from_the_floor(us(plan_period="quarter", period_end="2026-04-10T09:00:00+01:00",
                                     requested_at="2026-03-10T09:00:00+01:00"))
    assert_nothing_from_the_floor(us(is_renewal=False))


def test_us_customer_and_fr_customer_with_the_same_renewal() -> None:
    same = {**RENEWAL, "renewal_notice_sent": False, "currency": "EUR"}
    american = floor_only(**same, country="US")
    french = floor_only(**same, country="FR")
    assert_floor(american, "statutory-us-ca@1", "yearly-renewal-without-notice", 4999)
    assert_floor(french, "statutory-fr@1", "renewal-without-notice", FR_AMOUNT)
    # Neither law reaches the other's customers.
    assert american.statutory == ("statutory-us-ca@1",)
    assert french.statutory == ("statutory-eu@1", "statutory-fr@1")
    # With the notice sent, neither is owed anything.
    assert_nothing_from_the_floor(floor_only(**{**same, "renewal_notice_sent": True}, country="US"))
    assert_nothing_from_the_floor(floor_only(**{**same, "renewal_notice_sent": True}, country="FR"))


# -- the floor under merchant policies ---------------------------------------------------------

def test_floor_wins_over_a_merchant_that_denies_everything() -> None:
    raw = facts(country="FR", requested_at="2026-03-15T23:45:00+01:00")
    assert decide(DENY_ALL, parse_facts(raw)).outcome == "deny"  # without the floor
    decision = decide_raw(DENY_ALL, raw, load_floor())
    assert_floor(decision, "statutory-eu@1", "withdrawal-14-days", EU_DAY_14_AMOUNT)
    data = decision.to_dict()
    assert (data["outcome"], data["amount"], data["currency"]) == ("refund", 8654, "EUR")
    assert (data["policy"], data["decided_by"], data["rule"]) == (
        "deny-all@1", "statutory-eu@1", "withdrawal-14-days")
    assert data["messages"]["en"].startswith(
        "You withdrew from the contract within the 14-day withdrawal period: €86.54 is refunded")
    assert data["message"].startswith("Vous vous êtes rétracté dans le délai de 14 jours : "
                                      "86,54\u00a0€ vous est remboursé")


def test_explanation_lists_the_statutory_rules_tried_with_their_policy_ref() -> None:
    decision = floor_only(country="FR", requested_at="2026-03-16T00:10:00+01:00")  # day 15
    explanation = decision.explanation()
    assert [(line["policy"], line["rule"], line["matched"]) for line in explanation] == [
        ("statutory-eu@1", "withdrawal-14-days-lifetime", False),
        ("statutory-eu@1", "withdrawal-14-days", False),
        ("statutory-fr@1", "renewal-without-notice", False),
        ("deny-all@1", "no-refunds", True),
    ]
    lifetime, eu, fr_rule, _ = explanation
    assert lifetime["why"] == "plan_period is year, expected lifetime"
    assert eu["why"] == "days_since_purchase is 15, expected at most 14"
    assert str(eu["source"]).startswith("Directive 2011/83/EU, Art. 2(1)")
    assert fr_rule["why"] == "is_renewal is false, expected true"
    assert str(fr_rule["source"]).startswith("Code de la consommation, art. L215-1")


def test_explanation_when_the_floor_wins_shows_its_rule_matched() -> None:
    explanation = floor_only().explanation()
    assert (explanation[1]["policy"], explanation[1]["rule"]) == (
        "statutory-eu@1", "withdrawal-14-days")
    assert explanation[1]["matched"] is True
    assert explanation[1]["why"] == ("consumer is true; is_renewal is false; "
                                     "withdrawal_waived is false; days_since_purchase is 9")
    assert explanation[-1] == {"policy": "deny-all@1", "rule": "no-refunds", "matched": True,
                               "why": "always applies"}


def test_merchant_refunding_more_keeps_its_refund() -> None:
    generous = merchant('then = "refund"\namount = "full"')
    decision = decide_raw(generous, facts(requested_at="2026-03-15T23:45:00+01:00"), load_floor())
    assert (decision.outcome, decision.amount, decision.decided_by, decision.rule) == (
        "refund", 8999, "merchant@3", "the-rule")
    assert not decision.floor_applied
    assert decision.statutory == ("statutory-eu@1",)
    # The statutory rule was still tried, and shows in the explanation.
    assert decision.explanation()[0]["policy"] == "statutory-eu@1"


def test_merchant_refunding_as_much_keeps_its_decision() -> None:
    same = merchant('then = "refund"\namount = "full"\nprorata = "unused_time"')
    decision = decide_raw(same, facts(requested_at="2026-03-15T23:45:00+01:00"), load_floor())
    assert (decision.amount, decision.decided_by) == (EU_DAY_14_AMOUNT, "merchant@3")


def test_merchant_refunding_less_is_raised_to_the_floor() -> None:
    stingy = merchant('then = "refund"\namount = "full"\npercent = 10')
    decision = decide_raw(stingy, facts(requested_at="2026-03-15T23:45:00+01:00"), load_floor())
    assert (decision.amount, decision.decided_by, decision.policy) == (
        EU_DAY_14_AMOUNT, "statutory-eu@1", "merchant@3")


def test_merchant_offer_with_a_larger_refund_choice_is_kept() -> None:
    offer = merchant('then = "offer"\nchoices = [{ kind = "refund", amount = "full" }, '
                     '{ kind = "extension", days = 30 }]')
    decision = decide_raw(offer, facts(), load_floor())
    assert (decision.outcome, decision.decided_by) == ("offer", "merchant@3")
    assert [c.to_dict() for c in decision.choices] == [
        {"kind": "refund", "amount": 8999}, {"kind": "extension", "days": 30, "bonus_days": 0}]


def test_account_credit_or_redirect_do_not_replace_a_cash_refund() -> None:
    # The law refunds to the means of payment: a credit, or a redirect to the store, is not that.
    for rule in ('then = "credit"\namount = "full"', 'then = "redirect"'):
        decision = decide_raw(merchant(rule), facts(), load_floor())
        assert (decision.outcome, decision.decided_by) == ("refund", "statutory-eu@1"), rule


def test_shipped_guarantee_policy_with_the_floor() -> None:
    guarantee = load_policy(REPO / "policies" / "annual-60-day-guarantee.toml")
    # Monthly plans are "not refundable" for the merchant; within 14 days, the law says otherwise.
    monthly = facts(country="FR", plan_period="month", amount=999,
                    purchased_at="2026-02-01T10:00:00+01:00",
                    period_end="2026-03-01T10:00:00+01:00",
                    requested_at="2026-02-04T10:00:00+01:00")
    decision = decide_raw(guarantee, monthly, load_floor())
    assert (decision.outcome, decision.decided_by, decision.amount) == (
        "refund", "statutory-eu@1", share(999, 25, 28))
    assert decision.policy == "annual-60-day-guarantee@1"
    # Annual plans within 60 days: the merchant's full refund is larger and stands.
    annual = decide_raw(guarantee, facts(country="FR"), load_floor())
    assert (annual.decided_by, annual.rule, annual.amount) == (
        "annual-60-day-guarantee@1", "money-back-60-days", 8999)
