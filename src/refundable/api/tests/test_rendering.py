"""GET /refund-requests/{id} renders by hand (rendering.py) what RefundRequestOut renders.

Every shape a request can take is compared byte for byte with the schema's rendering through
ninja's encoder, with the list endpoint and with the POST's answer.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from ninja.responses import NinjaJSONEncoder

from refundable.audit.services import Actor
from refundable.payments.models import Refund
from refundable.policy.facts import REASONS
from refundable.refunds.models import Decision, RefundRequest
from refundable.refunds.selectors import refund_request_read, refund_requests_visible
from refundable.refunds.services import refund_request_create, refund_request_deny
from refundable.testing.factories import ChargeFactory, PlanFactory, SubscriptionFactory

from ..auth import api_key_cache
from ..rendering import DecisionJsonCache, decision_json_cache
from ..schemas import DecisionOut, RefundOut, RefundRequestOut
from .support import API, TODAY, Account, assert_error, get, make_account, post

pytestmark = pytest.mark.django_db

AGENT = Actor("agent", "ana")


def schema_body(request_id: int) -> bytes:
    """What ninja renders for the request's RefundRequestOut (json.dumps with its encoder)."""
    request = refund_requests_visible(customer_id=None).get(pk=request_id)
    return json.dumps(RefundRequestOut.of(request).model_dump(), cls=NinjaJSONEncoder).encode()


def assert_renders_like_the_schema(client: Client, request_id: int) -> dict[str, Any]:
    response = client.get(f"{API}/refund-requests/{request_id}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.content == schema_body(request_id)
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    decision_json_cache.clear()
    api_key_cache.clear()


def test_the_fields_are_the_schemas_in_its_order(integrator: Client, account: Account) -> None:
    body = assert_renders_like_the_schema(integrator, account.request.pk)
    assert list(body) == list(RefundRequestOut.model_fields)
    assert list(body["decision"]) == list(DecisionOut.model_fields)
    assert list(body["refunds"][0]) == list(RefundOut.model_fields)


def _requested(reason: str, **plan: Any) -> RefundRequest:
    subscription = SubscriptionFactory.create(
        **({"plan": PlanFactory.create(**plan), "current_period_end": TODAY + timedelta(days=20)}
           if plan else {}))
    charge = ChargeFactory.create(order__subscription=subscription,
                                  amount=plan.get("price", 8999))
    return refund_request_create(actor=Actor("customer", str(charge.order.customer_id)),
                                 customer_id=charge.order.customer_id, charge_id=charge.pk,
                                 reason=reason, description=f"{reason}: ça ne marche pas",
                                 now=TODAY)


def test_every_shape_renders_like_the_schema(integrator: Client) -> None:
    shapes = [_requested(reason) for reason in REASONS]
    shapes.append(_requested("dissatisfied", code="antivirus-monthly", period="month",
                             price=999))  # the policy denies
    # an agent's refusal in words with every kind of character, after the engine's decision
    waiting = next(r for r in shapes if r.status in ("in_review", "troubleshooting"))
    refund_request_deny(actor=AGENT, request_id=waiting.pk,
                        reason='Déjà remboursé — "twice" \\ <b>&</b> \u2028 ✓ \U0001f600')
    # approved by the policy: its refund on its way, and an older one that failed
    approved = make_account()
    Refund.objects.filter(request=approved.request).update(
        expected_from=date(2026, 2, 3), expected_by=date(2026, 2, 10))
    Refund.objects.create(
        request=approved.request, charge=approved.charge,
        customer_id_copy=approved.customer.pk, amount=300, currency=approved.charge.currency,
        provider="manual", status="failed", failure_reason="bank account closed",
        created_at=TODAY - timedelta(hours=1), settled_at=TODAY - timedelta(minutes=30),
        expected_from=date(2026, 1, 2), expected_by=date(2026, 1, 9))
    # a request no policy decided (no decision at all), with an empty description
    charge = ChargeFactory.create(order__subscription=SubscriptionFactory.create())
    bare = RefundRequest.objects.create(
        customer=charge.order.customer, charge=charge, reason="technical_issue",
        description="", channel="phone",
        created_at=datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC))
    ids = [r.pk for r in shapes] + [approved.request.pk, bare.pk]
    outcomes = set()
    for request_id in ids:
        body = assert_renders_like_the_schema(integrator, request_id)
        listed = get(integrator, "/refund-requests", customer=body["customer"]).json()["data"]
        assert [item for item in listed if item["id"] == request_id] == [body]
        outcomes.add(body["decision"]["outcome"] if body["decision"] else None)
    assert {"refund", "deny", None} <= outcomes and len(outcomes) >= 4
    refunds = get(integrator, f"/refund-requests/{approved.request.pk}").json()["refunds"]
    assert [r["status"] for r in refunds] == ["failed", "pending"]  # oldest first
    assert (refunds[0]["expected_by"], refunds[1]["expected_by"]) == ("2026-01-09", "2026-02-10")
    denied = get(integrator, f"/refund-requests/{waiting.pk}").json()["decision"]
    assert denied["decided_by"] == "agent:ana" and denied["reason"].endswith("✓ \U0001f600")


def test_the_get_reads_what_the_post_answered(integrator: Client) -> None:
    charge = ChargeFactory.create(order__subscription=SubscriptionFactory.create())
    created = post(integrator, "/refund-requests", {"charge": charge.pk, "reason": "other",
                                                    "description": "n'a pas marché"})
    assert created.status_code == 201
    again = integrator.get(f"{API}/refund-requests/{created.json()['id']}")
    assert again.content == created.content


def test_a_decision_is_rendered_once_then_reused(integrator: Client, account: Account) -> None:
    path = f"{API}/refund-requests/{account.request.pk}"
    with CaptureQueriesContext(connection) as first:
        body = integrator.get(path).content
    with CaptureQueriesContext(connection) as second:
        assert integrator.get(path).content == body
    # the key, the request (with its latest decision's id and its refunds), the decision;
    # then only the request (the key is remembered too: test_key_cache.py)
    assert len(first) == 3
    assert len(second) == 1
    assert len(decision_json_cache) == 1


def test_a_new_decision_is_shown_at_once(integrator: Client) -> None:
    waiting = next(r for r in map(_requested, REASONS)
                   if r.status in ("in_review", "troubleshooting"))
    path = f"/refund-requests/{waiting.pk}"
    engine = get(integrator, path).json()["decision"]
    assert engine["decided_by"] == "engine"
    refund_request_deny(actor=AGENT, request_id=waiting.pk, reason="used it all year")
    decision = get(integrator, path).json()["decision"]
    assert decision["id"] != engine["id"]
    assert (decision["outcome"], decision["reason"]) == ("deny", "used it all year")
    assert_renders_like_the_schema(integrator, waiting.pk)


def test_a_reused_id_with_another_creation_time_is_rendered_anew(integrator: Client,
                                                                 account: Account) -> None:
    """A decision id seen before a database was recreated (ids start again) is not served
    from the cache: the key includes the decision's creation time."""
    decision = Decision.objects.get(request=account.request)
    decision_json_cache.put(decision.pk, decision.created_at - timedelta(seconds=1),
                            '{"stale": true}')
    assert_renders_like_the_schema(integrator, account.request.pk)


def test_a_decision_saved_here_leaves_the_cache(account: Account) -> None:
    decision = Decision.objects.get(request=account.request)
    decision_json_cache.put(decision.pk, decision.created_at, "{}")
    decision.save()  # (never done by the product: decisions are frozen)
    assert decision_json_cache.get(decision.pk, decision.created_at) is None


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    cache = DecisionJsonCache(size=2)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    cache.put(1, when, "one")
    cache.put(2, when, "two")
    assert cache.get(1, when) == "one"  # 2 is now the least recently used
    cache.put(3, when, "three")
    assert (cache.get(1, when), cache.get(2, when), cache.get(3, when)) == ("one", None, "three")
    assert len(cache) == 2


@pytest.mark.parametrize("request_id", ["999999", "-5", "0", "9223372036854775807",
                                        "9223372036854775808", "99999999999999999999999"])
def test_ids_that_do_not_exist_are_404(integrator: Client, request_id: str) -> None:
    assert_error(integrator.get(f"{API}/refund-requests/{request_id}"), 404,
                 "resource_missing")


def test_the_read_is_limited_to_the_customer(account: Account, other: Account) -> None:
    assert refund_request_read(customer_id=account.customer.pk,
                               request_id=other.request.pk) is None
    mine = refund_request_read(customer_id=account.customer.pk, request_id=account.request.pk)
    assert mine is not None and mine.customer_id == account.customer.pk
    assert mine.created_at.tzinfo is not None and mine.order_id == account.charge.order_id


def test_postgresql_prepares_the_read_once_per_connection(integrator: Client,
                                                          account: Account) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    if threshold is None:
        pytest.skip("REFUNDABLE_PG_PREPARE_THRESHOLD=off")
    for _ in range(threshold + 2):
        assert_renders_like_the_schema(integrator, account.request.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert [s for s in prepared if RefundRequest._meta.db_table in s]
