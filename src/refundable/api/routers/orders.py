"""``/orders``: orders with the charges that paid them, and their invoices as PDF."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from ninja import P, Query, Router
from ninja.params import QueryEx

from ...billing.invoices import InvoicePdfUnavailable, invoice_pdf
from ...billing.selectors import orders_visible
from ..auth import principal_of
from ..errors import ApiError
from ..pagination import PageParams, paginate
from ..schemas import ErrorOut, OrderList, OrderOut
from .common import LIST_ERRORS, READ_ERRORS, OrderId, customer_scope

router = Router(tags=["orders"])


@router.get("", response={200: OrderList, **LIST_ERRORS}, summary="List orders",
            operation_id="orders_list")
def orders_list(request: HttpRequest, page: Query[PageParams],
                customer: int | None = None) -> dict[str, Any]:
    """Orders with their charges, newest first; ``customer`` filters by customer id."""
    principal = principal_of(request)
    orders = orders_visible(customer_id=customer_scope(principal, customer))
    return paginate(orders, page, OrderOut.of)


@router.get("/{order_id}", response={200: OrderOut, **READ_ERRORS},
            summary="Retrieve an order", operation_id="orders_get")
def orders_get(request: HttpRequest, order_id: OrderId) -> OrderOut:
    """One order with its charges (amounts in minor units, refunded and refundable)."""
    principal = principal_of(request)
    return OrderOut.of(orders_visible(customer_id=principal.customer_id).get(pk=order_id))


Language = QueryEx[Literal["en", "fr"] | None, P(
    description="The invoice's language, `en` or `fr`; by default the customer's.")]
_PDF_RESPONSE = {"responses": {"200": {
    "description": "The invoice as a PDF file (`Content-Disposition: attachment; "
                   "filename=\"<invoice_number>.pdf\"`).",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}}


@router.get("/{order_id}/invoice.pdf", response={200: None, **READ_ERRORS, 503: ErrorOut},
            summary="Download an order's invoice as PDF", operation_id="orders_invoice_pdf",
            openapi_extra=_PDF_RESPONSE)
def orders_invoice_pdf(request: HttpRequest, order_id: OrderId,
                       language: Language = None) -> HttpResponse:
    """The invoice of the order as a PDF (the same document as the portal's download), in
    ``language`` or else the customer's language. 503 ``pdf_unavailable`` when this server
    cannot make PDFs (WeasyPrint's system libraries are missing)."""
    principal = principal_of(request)
    order = orders_visible(customer_id=principal.customer_id).select_related(
        "customer").get(pk=order_id)
    try:
        pdf = invoice_pdf(order=order, language=language or order.customer.locale)
    except InvoicePdfUnavailable as error:
        raise ApiError(503, f"Invoice PDFs are unavailable on this server: {error.reason}.",
                       type="api_error", code="pdf_unavailable") from error
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{order.invoice_number}.pdf")
    return response
