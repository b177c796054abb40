"""A signed-in customer asking for another customer's ids gets 404 on every endpoint — the
same answer as for an id that does not exist — and nothing of the other customer changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from refundable.audit.models import AuditEvent
from refundable.refunds.models import RefundRequest
from refundable.subscriptions.models import Subscription

from ..api import api
from .support import API, Account, assert_error, get, post

pytestmark = pytest.mark.django_db

# (method, OpenAPI path, how to call it for ``other``'s ids, the parameter named in the error)
Call = Callable[[Client, Account], Any]
MATRIX: list[tuple[str, str, Call, str | None]] = [
    ("get", "/customers/{customer_id}",
     lambda c, o: get(c, f"/customers/{o.customer.pk}"), None),
    ("get", "/subscriptions/{subscription_id}",
     lambda c, o: get(c, f"/subscriptions/{o.subscription.pk}"), None),
    ("post", "/subscriptions/{subscription_id}/cancel",
     lambda c, o: post(c, f"/subscriptions/{o.subscription.pk}/cancel", {"when": "now"}),
     None),
    ("post", "/subscriptions/{subscription_id}/undo-cancel",
     lambda c, o: post(c, f"/subscriptions/{o.subscription.pk}/undo-cancel"), None),
    ("post", "/subscriptions/{subscription_id}/auto-renewal",
     lambda c, o: post(c, f"/subscriptions/{o.subscription.pk}/auto-renewal",
                       {"enabled": True}), None),
    ("get", "/orders/{order_id}", lambda c, o: get(c, f"/orders/{o.charge.order_id}"), None),
    ("get", "/orders/{order_id}/invoice.pdf",
     lambda c, o: get(c, f"/orders/{o.charge.order_id}/invoice.pdf"), None),
    ("get", "/refund-requests/{request_id}",
     lambda c, o: get(c, f"/refund-requests/{o.request.pk}"), None),
    ("post", "/refund-requests",
     lambda c, o: post(c, "/refund-requests", {"charge": o.charge.pk, "reason": "other"}),
     "charge"),
    ("get", "/tickets/{ticket_id}", lambda c, o: get(c, f"/tickets/{o.ticket.pk}"), None),
    # lists filtered by another customer
    ("get", "/subscriptions", lambda c, o: get(c, "/subscriptions", customer=o.customer.pk),
     "customer"),
    ("get", "/orders", lambda c, o: get(c, "/orders", customer=o.customer.pk), "customer"),
    ("get", "/refund-requests",
     lambda c, o: get(c, "/refund-requests", customer=o.customer.pk), "customer"),
    ("get", "/tickets", lambda c, o: get(c, "/tickets", customer=o.customer.pk), "customer"),
]


def test_the_matrix_covers_every_endpoint() -> None:
    """A new endpoint must join the matrix (``/customers`` has no customer filter: its list is
    checked in test_lists_show_only_the_customers_own_data)."""
    schema = api.get_openapi_schema(path_prefix="")
    operations = {(method, path) for path, item in schema["paths"].items()
                  for method in item}
    covered = {(method, path) for method, path, _call, _param in MATRIX} | {
        ("get", "/customers")}
    assert operations == covered


@pytest.mark.parametrize(("method", "path", "call", "param"), MATRIX,
                         ids=[f"{m.upper()} {p}" for m, p, _c, _x in MATRIX])
def test_another_customers_ids_are_404(method: str, path: str, call: Call,
                                       param: str | None, as_customer: Client,
                                       other: Account) -> None:
    Subscription.objects.filter(pk=other.subscription.pk).update(status="cancel_scheduled")
    events_before = AuditEvent.objects.count()
    error = assert_error(call(as_customer, other), 404, "resource_missing", param)
    assert str(other.customer.pk) not in error["message"]
    # nothing of the other customer changed
    assert Subscription.objects.get(pk=other.subscription.pk).status == "cancel_scheduled"
    assert RefundRequest.objects.filter(customer=other.customer).count() == 1
    assert AuditEvent.objects.count() == events_before


def test_the_404_does_not_tell_another_customers_id_from_a_missing_one(
        as_customer: Client, other: Account) -> None:
    theirs = get(as_customer, f"/subscriptions/{other.subscription.pk}").json()
    missing = get(as_customer, "/subscriptions/999999").json()
    assert theirs == missing


def test_lists_show_only_the_customers_own_data(as_customer: Client, account: Account,
                                                other: Account) -> None:
    own = {"/customers": account.customer.pk, "/subscriptions": account.subscription.pk,
           "/orders": account.charge.order_id, "/refund-requests": account.request.pk,
           "/tickets": account.ticket.pk}
    for path, own_id in own.items():
        body = get(as_customer, path).json()
        assert [item["id"] for item in body["data"]] == [own_id], path
    # their own id as a filter is fine
    body = get(as_customer, "/orders", customer=account.customer.pk).json()
    assert [o["id"] for o in body["data"]] == [account.charge.order_id]


def test_the_customers_own_ids_work(as_customer: Client, account: Account) -> None:
    for path in (f"/customers/{account.customer.pk}",
                 f"/subscriptions/{account.subscription.pk}",
                 f"/orders/{account.charge.order_id}", f"/refund-requests/{account.request.pk}",
                 f"/tickets/{account.ticket.pk}"):
        assert as_customer.get(f"{API}{path}").status_code == 200, path
