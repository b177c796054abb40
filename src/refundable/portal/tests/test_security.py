"""Object-level checks: every URL that shows or changes a customer's data, tried with another
customer's ids, answers 404 and changes nothing. Sign-in required; CSRF on every form."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor
from refundable.refunds.models import RefundRequest
from refundable.refunds.services import refund_request_create
from refundable.subscriptions.models import Subscription
from refundable.subscriptions.services import subscription_cancel
from refundable.testing.factories import NOW

from .conftest import Account

pytestmark = pytest.mark.django_db


def customer_urls(account: Account, request_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, data) for every portal URL about one customer's objects."""
    subscription, order, charge = account.subscription.pk, account.order_id, account.charge.pk
    return [
        ("get", reverse("portal:subscription_cancel", args=[subscription]), {}),
        ("post", reverse("portal:subscription_cancel", args=[subscription]), {"when": "now"}),
        ("get", reverse("portal:subscription_cancellation", args=[subscription]), {}),
        ("post", reverse("portal:subscription_undo", args=[subscription]), {}),
        ("post", reverse("portal:subscription_auto_renew", args=[subscription]),
         {"enabled": "off"}),
        ("get", reverse("portal:invoice", args=[order]), {}),
        ("get", reverse("portal:invoice_pdf", args=[order]), {}),
        ("get", reverse("portal:refund_new", args=[charge]), {}),
        ("get", reverse("portal:refund_new", args=[charge]), {"reason": "dissatisfied"}),
        ("post", reverse("portal:refund_new", args=[charge]),
         {"reason": "dissatisfied", "description": "x"}),
        ("get", reverse("portal:refund_detail", args=[request_id]), {}),
        ("post", reverse("portal:refund_document_add", args=[request_id]),
         {"kind": "other_document",
          "document": SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 8)}),
    ]


@pytest.fixture
def bob_request(bob: Account) -> RefundRequest:
    # A cancellation scheduled (so undo and the confirmation page would apply) and a request.
    subscription_cancel(actor=Actor("customer", str(bob.customer.pk)),
                        subscription_id=bob.subscription.pk, when="term_end", now=NOW)
    request = refund_request_create(actor=Actor("customer", str(bob.customer.pk)),
                                    customer_id=bob.customer.pk, charge_id=bob.charge.pk,
                                    reason="duplicate_charge", now=NOW)
    return request


def test_every_customer_url_answers_404_for_another_customers_ids(
        alice: Account, alice_client: Client, bob: Account, bob_request: RefundRequest) -> None:
    before_events = AuditEvent.objects.count()
    before = Subscription.objects.values().get(pk=bob.subscription.pk)
    tried = customer_urls(bob, bob_request.pk)
    assert len(tried) == 12
    with time_machine.travel(NOW, tick=False):
        for method, url, data in tried:
            response = getattr(alice_client, method)(url, data)
            assert response.status_code == 404, (method, url, response.status_code)
    assert Subscription.objects.values().get(pk=bob.subscription.pk) == before
    assert RefundRequest.objects.filter(charge=bob.charge).count() == 1
    assert not RefundRequest.objects.filter(customer=alice.customer).exists()
    assert AuditEvent.objects.count() == before_events


def test_the_same_urls_work_for_their_owner(bob: Account, bob_request: RefundRequest) -> None:
    """The matrix above is meaningful: with the owner's session the same ids are found."""
    client = Client()
    assert bob.customer.user is not None
    client.force_login(bob.customer.user)
    with time_machine.travel(NOW, tick=False):
        for method, url, data in customer_urls(bob, bob_request.pk):
            if method == "get":
                assert client.get(url, data).status_code in (200, 409), url


def test_unknown_ids_answer_404(alice_client: Client) -> None:
    for name in ("portal:subscription_cancel", "portal:subscription_cancellation",
                 "portal:invoice", "portal:invoice_pdf", "portal:refund_new",
                 "portal:refund_detail"):
        assert alice_client.get(reverse(name, args=[999999])).status_code == 404, name


def test_anonymous_visitors_are_sent_to_sign_in(bob: Account, bob_request: RefundRequest) -> None:
    anonymous = Client()
    urls = [("get", reverse("portal:account"), {}), ("get", reverse("portal:refund_start"), {}),
            *customer_urls(bob, bob_request.pk)]
    for method, url, data in urls:
        response = getattr(anonymous, method)(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("portal:login")), url
    assert Subscription.objects.get(pk=bob.subscription.pk).status == "cancel_scheduled"


def test_customer_pages_are_not_cached(alice_client: Client) -> None:
    response = alice_client.get(reverse("portal:account"))
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_every_form_needs_the_csrf_token(alice: Account) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert alice.customer.user is not None
    strict.force_login(alice.customer.user)
    posts = [
        (reverse("portal:login"), {"identifier": "alice@example.test", "password": "x"}),
        (reverse("portal:login_link"), {"email": "alice@example.test"}),
        (reverse("portal:logout"), {}),
        (reverse("portal:language"), {"language": "fr"}),
        (reverse("portal:subscription_cancel", args=[alice.subscription.pk]), {"when": "now"}),
        (reverse("portal:subscription_undo", args=[alice.subscription.pk]), {}),
        (reverse("portal:subscription_auto_renew", args=[alice.subscription.pk]),
         {"enabled": "off"}),
        (reverse("portal:refund_new", args=[alice.charge.pk]), {"reason": "dissatisfied"}),
        # (refused before the request is even looked up)
        (reverse("portal:refund_document_add", args=[999999]), {"kind": "other_document"}),
        (reverse("portal:public_cancel"), {"name": "A", "email": "alice@example.test",
                                           "reference": alice.subscription.reference,
                                           "when": "now", "step": "confirm"}),
        (reverse("portal:activation_key"), {"holder_name": "Alice Martin",
                                            "invoice_number": "INV-1"}),
        (reverse("portal:contact"), {"value": "+1 888 260 4942"}),
    ]
    for url, data in posts:
        assert strict.post(url, data).status_code == 403, url
    assert Subscription.objects.get(pk=alice.subscription.pk).status == "active"
    # And every rendered POST form carries the token.
    pages = [reverse("portal:account"), reverse("portal:public_cancel"),
             reverse("portal:activation_key"), reverse("portal:contact"),
             reverse("portal:subscription_cancel", args=[alice.subscription.pk])]
    for page in pages:
        html = strict.get(page).content.decode()
        forms = re.findall(r'<form[^>]*method="post"[^>]*>(.*?)</form>', html, flags=re.S)
        assert forms, page
        assert all("csrfmiddlewaretoken" in form for form in forms), page
