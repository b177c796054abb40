"""``GET /orders/{id}/invoice.pdf``: the invoice PDF for integrators and the signed-in customer,
in the customer's language unless ``language`` says otherwise; errors as the error object."""

from __future__ import annotations

import pytest
from django.test import Client

from refundable.billing.tests.pdf_text import pdf_language, pdf_text
from refundable.billing.tests.support import without_pango

from .support import Account, assert_error, bearer, get

pytestmark = pytest.mark.django_db


def test_an_integrator_gets_the_pdf_in_the_customers_language(
        account: Account, read_key: str) -> None:
    order = account.charge.order
    assert account.customer.locale == "fr"
    response = get(Client(headers=bearer(read_key)), f"/orders/{order.pk}/invoice.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{order.invoice_number}.pdf"'
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    assert f"Facture {order.invoice_number}" in text and "89,99" in text
    assert pdf_language(response.content) == "fr"
    english = get(Client(headers=bearer(read_key)), f"/orders/{order.pk}/invoice.pdf",
                  language="en")
    assert f"Invoice {order.invoice_number}" in pdf_text(english.content)


def test_a_customer_gets_their_own_invoice_only(as_customer: Client, account: Account,
                                                other: Account) -> None:
    own = get(as_customer, f"/orders/{account.charge.order_id}/invoice.pdf")
    assert own.status_code == 200 and own.content.startswith(b"%PDF-")
    assert_error(get(as_customer, f"/orders/{other.charge.order_id}/invoice.pdf"), 404,
                 "resource_missing")


def test_errors_are_the_error_object(integrator: Client, account: Account) -> None:
    assert_error(get(integrator, "/orders/999999/invoice.pdf"), 404, "resource_missing")
    assert_error(get(integrator, f"/orders/{account.charge.order_id}/invoice.pdf",
                     language="de"), 400, "parameter_invalid", "language")
    assert_error(get(Client(), f"/orders/{account.charge.order_id}/invoice.pdf"), 401,
                 "unauthenticated")


def test_without_pango_the_answer_is_503_saying_why(integrator: Client, account: Account,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    without_pango(monkeypatch)
    error = assert_error(get(integrator, f"/orders/{account.charge.order_id}/invoice.pdf"), 503,
                         "pdf_unavailable")
    assert "system libraries" in error["message"] and "libpango" in error["message"]
    assert get(integrator, f"/orders/{account.charge.order_id}").status_code == 200
