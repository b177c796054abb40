"""Invoices in the portal: the printable page and the PDF download (WeasyPrint), the owner
only, in the customer's language; a clear 503 page when the server cannot make PDFs."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from refundable.billing.tests.pdf_text import pdf_language, pdf_text
from refundable.billing.tests.support import without_pango

from .conftest import Account, make_account

pytestmark = pytest.mark.django_db


def signed_in(account: Account) -> Client:
    client = Client()
    assert account.customer.user is not None
    client.force_login(account.customer.user)
    return client


def test_the_owner_downloads_the_pdf_of_the_invoice(alice: Account, alice_client: Client) -> None:
    order = alice.charge.order
    url = reverse("portal:invoice_pdf", args=[order.pk])
    page = alice_client.get(reverse("portal:invoice", args=[order.pk])).content.decode()
    assert url in page  # "Download the PDF" on the printable invoice
    assert url in alice_client.get(reverse("portal:account")).content.decode()
    response = alice_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{order.invoice_number}.pdf"'
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    assert f"Invoice {order.invoice_number}" in text and order.order_number in text
    assert "Alice Martin" in text and "€89.99" in text
    assert pdf_language(response.content) == "en"


def test_a_french_customer_gets_the_pdf_in_french() -> None:
    claire = make_account("Claire Petit", "claire@example.test", locale="fr")
    order = claire.charge.order
    response = signed_in(claire).get(reverse("portal:invoice_pdf", args=[order.pk]))
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert f"Facture {order.invoice_number}" in text
    assert "Total payé (TTC)" in text and "89,99" in text
    assert "Total paid" not in text
    assert pdf_language(response.content) == "fr"


def test_another_customers_invoice_is_404_and_sign_in_is_required(
        alice_client: Client, bob: Account) -> None:
    url = reverse("portal:invoice_pdf", args=[bob.order_id])
    response = alice_client.get(url)
    assert response.status_code == 404
    assert not response.content.startswith(b"%PDF")
    assert alice_client.get(reverse("portal:invoice_pdf", args=[999999])).status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def test_without_pango_the_pdf_link_answers_503_and_the_print_view_works(
        alice: Account, alice_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    without_pango(monkeypatch)
    response = alice_client.get(reverse("portal:invoice_pdf", args=[alice.order_id]))
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "PDF invoices are unavailable" in page
    assert "system libraries it needs are missing" in page
    assert "libpango-1.0-0" in page  # the technical reason, for whoever reports it
    assert "Traceback" not in page
    assert reverse("portal:invoice", args=[alice.order_id]) in page
    printable = alice_client.get(reverse("portal:invoice", args=[alice.order_id]))
    assert printable.status_code == 200
    assert alice.charge.order.invoice_number in printable.content.decode()


def test_the_503_page_is_in_french_for_a_french_customer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    claire = make_account("Claire Petit", "claire@example.test", locale="fr")
    without_pango(monkeypatch)
    response = signed_in(claire).get(reverse("portal:invoice_pdf", args=[claire.order_id]))
    assert response.status_code == 503
    assert "Les factures PDF sont indisponibles" in response.content.decode()
