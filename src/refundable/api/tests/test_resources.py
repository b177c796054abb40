"""Every endpoint through the real URLs: what it answers and what it changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from refundable.audit.models import AuditEvent
from refundable.refunds.models import Decision, RefundRequest
from refundable.subscriptions.models import Subscription
from refundable.testing.factories import ChargeFactory, PlanFactory, SubscriptionFactory

from .support import TODAY, Account, assert_error, get, post

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------- customers


def test_customers_list_and_get(integrator: Client, account: Account, other: Account) -> None:
    body = get(integrator, "/customers").json()
    assert body["object"] == "list" and body["has_more"] is False
    assert [c["id"] for c in body["data"]] == [other.customer.pk, account.customer.pk]
    customer = get(integrator, f"/customers/{account.customer.pk}").json()
    assert customer == {
        "object": "customer", "id": account.customer.pk, "email": account.customer.email,
        "name": account.customer.name, "locale": "fr", "country": "FR", "consumer": True,
        "created_at": customer["created_at"]}
    found = get(integrator, "/customers", email=other.customer.email.upper()).json()
    assert [c["id"] for c in found["data"]] == [other.customer.pk]
    assert_error(get(integrator, "/customers/999999"), 404, "resource_missing")


# --------------------------------------------------------------------------- subscriptions


def test_subscriptions_list_filters_and_get(integrator: Client, account: Account,
                                            other: Account) -> None:
    everyone = get(integrator, "/subscriptions").json()["data"]
    assert {s["id"] for s in everyone} == {account.subscription.pk, other.subscription.pk}
    mine = get(integrator, "/subscriptions", customer=account.customer.pk).json()["data"]
    assert [s["id"] for s in mine] == [account.subscription.pk]
    assert get(integrator, "/subscriptions", status="canceled").json()["data"] == []
    assert_error(get(integrator, "/subscriptions", status="gone"), 400, "parameter_invalid",
                 "status")
    subscription = get(integrator, f"/subscriptions/{account.subscription.pk}").json()
    assert subscription["reference"] == account.subscription.reference
    assert subscription["status"] == "active" and subscription["auto_renew"] is True
    assert subscription["plan"] == {
        "code": "antivirus-annual", "name": "Antivirus Suite — annual", "period": "year",
        "amount": 8999, "currency": "EUR",
        "product": {"code": "antivirus", "name": "Antivirus Suite"}}


def test_cancel_at_term_end_then_undo(as_customer: Client, account: Account) -> None:
    path = f"/subscriptions/{account.subscription.pk}"
    response = post(as_customer, f"{path}/cancel", {"when": "term_end", "reason": "too dear"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancel_scheduled" and body["auto_renew"] is False
    assert body["cancel_effective_at"] == body["current_period_end"]
    undone = post(as_customer, f"{path}/undo-cancel", key="undo-1")
    assert undone.status_code == 200 and undone.json()["status"] == "active"
    assert undone.json()["cancel_effective_at"] is None
    actions = list(AuditEvent.objects.filter(object_type="subscriptions.subscription")
                   .values_list("action", flat=True))
    assert actions == ["subscription.cancel", "subscription.cancel_undo"]


def test_cancel_now_then_undo_is_422(integrator: Client, account: Account) -> None:
    path = f"/subscriptions/{account.subscription.pk}"
    response = post(integrator, f"{path}/cancel", {"when": "now"})
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    error = assert_error(post(integrator, f"{path}/undo-cancel", key="undo"), 422,
                         "invalid_state")
    assert "scheduled for the end of the term" in error["message"]
    assert_error(post(integrator, f"{path}/cancel", {"when": "now"}, key="again"), 422,
                 "invalid_state")
    assert_error(post(integrator, f"{path}/auto-renewal", {"enabled": True}, key="ar"), 422,
                 "invalid_state")
    assert Subscription.objects.get(pk=account.subscription.pk).status == "canceled"


def test_auto_renewal_off_and_on(integrator: Client, account: Account) -> None:
    path = f"/subscriptions/{account.subscription.pk}/auto-renewal"
    assert post(integrator, path, {"enabled": False}, key="a").json()["auto_renew"] is False
    assert post(integrator, path, {"enabled": True}, key="b").json()["auto_renew"] is True
    assert_error(post(integrator, path, {"enabled": "perhaps"}, key="c"), 400,
                 "parameter_invalid", "enabled")
    assert_error(post(integrator, path, {}, key="d"), 400, "parameter_missing", "enabled")


def test_post_on_a_missing_subscription_is_404(integrator: Client) -> None:
    assert_error(post(integrator, "/subscriptions/999999/cancel", {"when": "now"}), 404,
                 "resource_missing")


# ---------------------------------------------------------------------------------- orders


def test_orders_with_charges(integrator: Client, account: Account, other: Account) -> None:
    assert len(get(integrator, "/orders").json()["data"]) == 2
    listed = get(integrator, "/orders", customer=account.customer.pk).json()["data"]
    order_id = account.charge.order_id
    assert [o["id"] for o in listed] == [order_id]
    order = get(integrator, f"/orders/{order_id}").json()
    assert order["order_number"] == account.charge.order.order_number
    assert (order["amount"], order["currency"]) == (8999, "EUR")
    assert order["subscription"] == account.subscription.pk
    [charge] = order["charges"]
    assert charge["id"] == account.charge.pk and charge["object"] == "charge"
    # The account's request was approved by the policy: its refund is reserved, on its way.
    assert (charge["amount"], charge["currency"], charge["refunded_amount"],
            charge["pending_amount"], charge["refundable_amount"]) == (8999, "EUR", 0, 8999, 0)
    assert charge["payment_method"] == "card"
    assert_error(get(integrator, "/orders/999999"), 404, "resource_missing")


# -------------------------------------------------------------------------- refund requests


def test_create_returns_the_request_and_its_frozen_decision(as_customer: Client,
                                                            account: Account) -> None:
    charge = ChargeFactory.create(order__subscription=account.subscription)
    response = post(as_customer, "/refund-requests",
                    {"charge": charge.pk, "reason": "dissatisfied",
                     "description": "It slows my computer down."})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["object"] == "refund_request" and body["charge"] == charge.pk
    assert body["customer"] == account.customer.pk and body["channel"] == "web"
    assert body["status"] == "approved" and body["approved_amount"] == 8999
    decision = body["decision"]
    assert decision["outcome"] == "refund"
    assert (decision["amount"], decision["currency"]) == (8999, "EUR")
    assert decision["rule"] == "money-back-60-days"
    assert decision["policy"] == "annual-60-day-guarantee@1"
    assert decision["decided_by"] == "engine"
    assert any(line["rule"] == "money-back-60-days" and line["matched"]
               for line in decision["explanation"])
    assert "89,99" in decision["message"]  # the French customer's message
    assert decision["messages"]["en"].startswith("Full refund of €89.99")
    stored = Decision.objects.get(request_id=body["id"])
    assert stored.amount == 8999 and stored.payload["message"] == decision["message"]
    again = get(as_customer, f"/refund-requests/{body['id']}").json()
    assert again == body


def test_create_by_an_integrator_is_on_the_api_channel(integrator: Client,
                                                       account: Account) -> None:
    response = post(integrator, "/refund-requests",
                    {"charge": account.charge.pk, "reason": "technical_issue"})
    assert response.status_code == 201
    assert response.json()["channel"] == "api"
    assert response.json()["customer"] == account.customer.pk


def test_a_refund_the_policy_denies_is_still_created(integrator: Client) -> None:
    monthly = PlanFactory.create(code="antivirus-monthly", name="Antivirus — monthly",
                                 period="month", price=999)
    subscription = SubscriptionFactory.create(
        plan=monthly, current_period_end=TODAY + timedelta(days=20))
    charge = ChargeFactory.create(order__subscription=subscription, amount=999)
    body = post(integrator, "/refund-requests",
                {"charge": charge.pk, "reason": "dissatisfied"}).json()
    assert body["status"] == "denied"
    assert body["decision"]["outcome"] == "deny"
    assert body["decision"]["reason"] == "monthly_plans_not_refundable"
    assert body["decision"]["amount"] is None


def test_create_validates_its_parameters(integrator: Client, account: Account) -> None:
    assert_error(post(integrator, "/refund-requests", {"reason": "dissatisfied"}), 400,
                 "parameter_missing", "charge")
    error = assert_error(post(integrator, "/refund-requests",
                              {"charge": account.charge.pk, "reason": "bored"}),
                         400, "parameter_invalid", "reason")
    assert "dissatisfied" in error["message"]
    assert_error(post(integrator, "/refund-requests", {"charge": 999999,
                                                       "reason": "other"}),
                 404, "resource_missing", "charge")
    assert RefundRequest.objects.count() == 1  # the account's own


def test_refund_requests_list_filters_and_get(integrator: Client, account: Account,
                                              other: Account) -> None:
    assert len(get(integrator, "/refund-requests").json()["data"]) == 2
    approved = get(integrator, "/refund-requests", status="approved",
                   customer=other.customer.pk).json()["data"]
    assert [r["id"] for r in approved] == [other.request.pk]
    assert get(integrator, "/refund-requests", status="denied").json()["data"] == []
    body = get(integrator, f"/refund-requests/{account.request.pk}").json()
    assert body["decision"]["outcome"] == "refund" and body["order"] == account.charge.order_id
    assert_error(get(integrator, "/refund-requests/999999"), 404, "resource_missing")


# --------------------------------------------------------------------------------- tickets


def test_tickets_show_public_messages_only(integrator: Client, account: Account,
                                           other: Account) -> None:
    tickets = get(integrator, "/tickets").json()["data"]
    assert {t["id"] for t in tickets} == {account.ticket.pk, other.ticket.pk}
    ticket = get(integrator, f"/tickets/{account.ticket.pk}").json()
    assert (ticket["category"], ticket["status"], ticket["subject"]) == (
        "refund", "new", "Where is my refund?")
    assert ticket["refund_request"] == account.request.pk
    assert [m["body"] for m in ticket["messages"]] == ["Hello, any news?"]
    everything: Any = get(integrator, "/tickets").content.decode()
    assert "VIP" not in everything
    assert get(integrator, "/tickets", status="solved").json()["data"] == []
    assert len(get(integrator, "/tickets", category="refund",
                   customer=account.customer.pk).json()["data"]) == 1
    assert_error(get(integrator, "/tickets/999999"), 404, "resource_missing")
