"""Helpers of the API tests (fixtures are in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.test import Client

from refundable.audit.services import Actor
from refundable.billing.models import Charge
from refundable.customers.models import Customer
from refundable.desk.models import Ticket, TicketMessage
from refundable.refunds.models import RefundRequest
from refundable.refunds.services import refund_request_create
from refundable.subscriptions.models import Subscription
from refundable.testing.factories import NOW, ChargeFactory, CustomerFactory, SubscriptionFactory

from ..services import api_key_create

API = "/api/v1"
TODAY = NOW + timedelta(days=20)  # the factories' charges are then 30 days old: in the guarantee


def key_for(*scopes: str, name: str = "test integration") -> str:
    _key, plaintext = api_key_create(actor=Actor.system("tests"), name=name, scopes=scopes)
    return plaintext


def bearer(plaintext: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plaintext}"}


@dataclass
class Account:
    """A customer with one subscription, its order and charge, a refund request and a ticket
    (with a public message and an internal note)."""

    customer: Customer
    subscription: Subscription
    charge: Charge
    request: RefundRequest
    ticket: Ticket


def make_account() -> Account:
    customer = CustomerFactory.create()
    subscription = SubscriptionFactory.create(customer=customer)
    charge = ChargeFactory.create(order__subscription=subscription)
    request = refund_request_create(
        actor=Actor("customer", str(customer.pk)), customer_id=customer.pk,
        charge_id=charge.pk, reason="dissatisfied", description="not for me", now=TODAY)
    ticket = Ticket.objects.create(customer=customer, refund_request=request,
                                   category="refund", subject="Where is my refund?",
                                   created_at=TODAY)
    TicketMessage.objects.create(ticket=ticket, author=customer.name, body="Hello, any news?")
    TicketMessage.objects.create(ticket=ticket, author="agent:ana", body="VIP, be nice",
                                 internal=True)
    return Account(customer=customer, subscription=subscription, charge=charge,
                   request=request, ticket=ticket)


def session_client(customer: Customer, *, enforce_csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    assert customer.user is not None
    client.force_login(customer.user)
    return client


def post(client: Client, path: str, body: dict[str, Any] | None = None, *,
         key: str | None = "test-key-1", **headers: str) -> Any:
    """POST JSON to ``/api/v1{path}`` with an Idempotency-Key (``key=None`` sends none)."""
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(f"{API}{path}", body if body is not None else {},
                       content_type="application/json", headers=headers)


def get(client: Client, path: str, **params: Any) -> Any:
    return client.get(f"{API}{path}", params)


def assert_error(response: Any, status: int, code: str, param: str | None = None
                 ) -> dict[str, Any]:
    """The response is the error object with this status and code (and param)."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"type", "code", "message", "param"}
    assert error["code"] == code, error
    assert error["param"] == param, error
    assert error["message"]
    return dict(error)
