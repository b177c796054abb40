"""The account page, invoices and the language of the portal (HTTP level)."""

from __future__ import annotations

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor
from refundable.customers.models import Customer
from refundable.refunds.services import refund_request_create
from refundable.subscriptions.services import subscription_cancel
from refundable.testing.factories import NOW, SubscriptionFactory

from .conftest import Account

pytestmark = pytest.mark.django_db


def test_account_shows_subscriptions_orders_invoices_and_requests(
        alice: Account, alice_client: Client) -> None:
    ended = SubscriptionFactory.create(customer=alice.customer)
    subscription_cancel(actor=Actor("customer", str(alice.customer.pk)),
                        subscription_id=ended.pk, when="now", now=NOW)
    with time_machine.travel(NOW, tick=False):
        request = refund_request_create(
            actor=Actor("customer", str(alice.customer.pk)), customer_id=alice.customer.pk,
            charge_id=alice.charge.pk, reason="duplicate_charge", now=NOW)
        html = alice_client.get(reverse("portal:account")).content.decode()
    order = alice.charge.order
    assert alice.subscription.reference in html and ended.reference in html
    assert "Active" in html and "Cancelled" in html and "Ended on" in html
    assert "Next charge" in html and "€89.99" in html
    assert "Turn auto-renewal off" in html
    assert order.order_number in html and f"Invoice {order.invoice_number}" in html
    assert reverse("portal:invoice", args=[order.pk]) in html
    assert reverse("portal:refund_detail", args=[request.pk]) in html
    assert "I was charged twice" in html and "Being reviewed by our team" in html
    # Headings in order, one h1.
    assert html.count("<h1") == 1 and html.index("<h1") < html.index("<h2")


def test_invoice_is_printable_html(alice: Account, alice_client: Client) -> None:
    order = alice.charge.order
    response = alice_client.get(reverse("portal:invoice", args=[order.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Invoice {order.invoice_number}" in html and order.order_number in html
    assert settings.REFUNDABLE_MERCHANT["name"] in html and "Alice Martin" in html
    assert "€89.99" in html and "bank card" in html and "@media print" in html
    assert response["Cache-Control"].count("private") == 1


def test_browser_language_before_sign_in() -> None:
    english = Client().get(reverse("portal:home")).content.decode()
    french = Client(headers={"accept-language": "fr-FR,fr;q=0.9"}).get(
        reverse("portal:home")).content.decode()
    assert '<html lang="en">' in english and "Sign in" in english
    assert '<html lang="fr">' in french and "Se connecter" in french
    assert "Vos abonnements, résiliations et remboursements" in french


def test_signed_in_customer_reads_in_their_own_locale(alice: Account) -> None:
    Customer.objects.filter(pk=alice.customer.pk).update(locale="fr")
    client = Client(headers={"accept-language": "en"})
    assert alice.customer.user is not None
    client.force_login(alice.customer.user)
    html = client.get(reverse("portal:account")).content.decode()
    assert '<html lang="fr">' in html and "Mon compte" in html
    assert "Prochain prélèvement" in html and "89,99\u00a0€" in html


def test_language_switch_sets_the_cookie_and_the_customer_locale(
        alice: Account, alice_client: Client) -> None:
    anonymous = Client()
    response = anonymous.post(reverse("portal:language"),
                              {"language": "fr", "next": reverse("portal:contact")})
    assert response.status_code == 302 and response["Location"] == reverse("portal:contact")
    assert "Canaux de contact officiels" in anonymous.get(
        reverse("portal:contact")).content.decode()
    # Signed in: the customer's locale changes too (e-mails follow it), audited.
    switched = alice_client.post(reverse("portal:language"),
                                 {"language": "fr", "next": reverse("portal:account")},
                                 follow=True)
    assert "Mon compte" in switched.content.decode()
    assert Customer.objects.get(pk=alice.customer.pk).locale == "fr"
    assert AuditEvent.objects.filter(action="customer.locale").count() == 1
    back = alice_client.post(reverse("portal:language"), {"language": "en"}, follow=True)
    assert "My account" in back.content.decode()  # "/" sends a signed-in customer on
    assert anonymous.post(reverse("portal:language"), {"language": "de"}).status_code == 400
    off_site = anonymous.post(reverse("portal:language"),
                              {"language": "en", "next": "https://evil.example/"})
    assert off_site["Location"] == reverse("portal:home")


def test_the_switch_is_a_form_on_every_page_without_javascript() -> None:
    html = Client().get(reverse("portal:contact")).content.decode()
    assert f'action="{reverse("portal:language")}"' in html
    assert 'name="language" value="fr"' in html and "<script" not in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'href="#main"' in html and '<main id="main"' in html
