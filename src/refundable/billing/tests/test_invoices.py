"""Invoice PDFs rendered by WeasyPrint from the invoice template, in the customer's language."""

from __future__ import annotations

import sys

import pytest
from django.test import override_settings
from django.utils import translation

from refundable.billing.invoices import InvoicePdfUnavailable, invoice_html, invoice_pdf
from refundable.billing.models import Order
from refundable.testing.factories import ChargeFactory, CustomerFactory, SubscriptionFactory

from .pdf_text import pdf_language, pdf_text
from .support import MISSING_PANGO, without_pango

pytestmark = pytest.mark.django_db

MERCHANT = {"name": "Exemple Services SARL", "address": "3 place du Test, 69001 Lyon, France",
            "vat_number": "FR12 345678901"}


def order_for(locale: str, *, name: str = "Camille Roux", renewal: bool = True) -> Order:
    customer = CustomerFactory.create(name=name, locale=locale)
    subscription = SubscriptionFactory.create(customer=customer)
    first = ChargeFactory.create(order__subscription=subscription, order__customer=customer,
                                 amount=8999, refunded_amount=1000)
    if renewal:
        ChargeFactory.create(order=first.order, amount=4550, is_renewal=True,
                             captured_at=first.captured_at.replace(year=2026, month=3, day=1))
    return first.order


@override_settings(REFUNDABLE_MERCHANT=MERCHANT)
def test_the_pdf_holds_the_invoice_in_english() -> None:
    order = order_for("en")
    pdf = invoice_pdf(order=order, language="en")
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert f"Invoice {order.invoice_number}" in text
    assert order.order_number in text
    for line in MERCHANT.values():
        assert line in text
    assert "Camille Roux" in text
    assert "€89.99" in text and "€45.50" in text
    assert "Total paid (taxes included)" in text and "€135.49" in text
    assert "Refunded" in text and "€10.00" in text
    assert "(renewal)" in text
    assert pdf_language(pdf) == "en"


@override_settings(REFUNDABLE_MERCHANT=MERCHANT)
def test_a_french_customer_gets_a_french_pdf() -> None:
    order = order_for("fr")
    pdf = invoice_pdf(order=order, language="fr")
    assert pdf_language(pdf) == "fr"
    text = pdf_text(pdf)
    assert f"Facture {order.invoice_number}" in text
    assert "Numéro de TVA" in text and "Vendeur" in text
    assert "Total payé (TTC)" in text
    assert "89,99" in text and "€89.99" not in text
    assert "Invoice" not in text and "Total paid" not in text


def test_the_language_is_only_for_the_document() -> None:
    order = order_for("fr", renewal=False)
    with translation.override("en"):
        html = invoice_html(order=order, language="fr-ca")  # a regional variant: French
        assert translation.get_language() == "en"
    assert '<html lang="fr">' in html and f"Facture {order.invoice_number}" in html
    assert '<html lang="en">' in invoice_html(order=order, language="de")  # not offered


def test_customer_data_is_printed_as_text_and_nothing_is_fetched() -> None:
    name = '<img src="file:///etc/passwd"> <link rel=stylesheet href="http://198.51.100.1/x.css">'
    order = order_for("en", name=name, renewal=False)
    html = invoice_html(order=order, language="en")
    assert "<img" not in html and "&lt;img" in html
    text = pdf_text(invoice_pdf(order=order, language="en"))
    assert '<img src="file:///etc/passwd">' in text


def test_without_pango_the_pdf_is_unavailable_with_the_reason(
        monkeypatch: pytest.MonkeyPatch) -> None:
    order = order_for("en", renewal=False)
    without_pango(monkeypatch)
    with pytest.raises(InvoicePdfUnavailable) as raised:
        invoice_pdf(order=order, language="en")
    assert "system libraries" in raised.value.reason and MISSING_PANGO in raised.value.reason
    assert f"Invoice {order.invoice_number}" in invoice_html(order=order, language="en")


def test_a_missing_weasyprint_package_is_unavailable_too(
        monkeypatch: pytest.MonkeyPatch) -> None:
    order = order_for("en", renewal=False)
    for name in [n for n in sys.modules if n == "weasyprint" or n.startswith("weasyprint.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # how Python spells "not installed"
    with pytest.raises(InvoicePdfUnavailable, match="not installed"):
        invoice_pdf(order=order, language="en")
