"""Invoices as documents: the printable HTML and the PDF rendered from it with WeasyPrint.

Both come from the same template body (``portal/includes/invoice_body.html``), so the web page,
the portal's PDF download and the API's ``/orders/{id}/invoice.pdf`` always show the same
invoice: the seller (``settings.REFUNDABLE_MERCHANT``), the invoice and order numbers, the
charges that paid the order and the amounts in the order's currency.

WeasyPrint loads Pango and friends with ``dlopen`` when it is imported; on a machine without
them the import raises ``OSError``. It is therefore imported on first use, and its failure is
reported as ``InvoicePdfUnavailable`` (the HTML invoice keeps working).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from .models import Charge, Order

logger = logging.getLogger(__name__)

DOCUMENT_TEMPLATE = "portal/invoice_document.html"


class InvoicePdfUnavailable(Exception):
    """PDFs cannot be produced on this server; ``reason`` says why (for operators)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def invoice_context(order: Order) -> dict[str, Any]:
    """What the invoice templates show for ``order`` (its charges oldest first)."""
    charges: list[Charge] = sorted(order.charges.all(),
                                   key=lambda c: (c.captured_at, c.pk))
    return {
        "order": order,
        "customer": order.customer,
        "charges": charges,
        "total": sum(c.amount for c in charges),
        "refunded": sum(c.refunded_amount for c in charges),
        "currency": charges[0].currency if charges else "EUR",
        "merchant": settings.REFUNDABLE_MERCHANT,
    }


def _language(language: str) -> str:
    """``language`` if the site offers it (``fr-ca`` → ``fr``), else the default language."""
    offered = dict(settings.LANGUAGES)
    for candidate in (language, language.split("-", 1)[0]):
        if candidate in offered:
            return candidate
    return settings.LANGUAGE_CODE


def invoice_html(*, order: Order, language: str) -> str:
    """The invoice of ``order`` as a standalone HTML document in ``language``."""
    with translation.override(_language(language)):
        return render_to_string(DOCUMENT_TEMPLATE, invoice_context(order))


def _weasyprint() -> Any:
    """The ``weasyprint`` module, or ``InvoicePdfUnavailable`` saying why it cannot load."""
    try:
        return importlib.import_module("weasyprint")
    except OSError as error:
        # Pango, HarfBuzz or fontconfig missing: WeasyPrint's dlopen failed.
        logger.error("invoice PDFs are unavailable: WeasyPrint cannot load its system "
                     "libraries: %s", error)
        raise InvoicePdfUnavailable(
            f"WeasyPrint cannot load its system libraries (Pango): {error}") from error
    except ImportError as error:
        logger.error("invoice PDFs are unavailable: WeasyPrint is not installed: %s", error)
        raise InvoicePdfUnavailable(f"WeasyPrint is not installed: {error}") from error


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"invoice PDFs load nothing from outside: {url}")


def invoice_pdf(*, order: Order, language: str) -> bytes:
    """The invoice of ``order`` as PDF bytes, in ``language`` (``en`` or ``fr``).

    Raises ``InvoicePdfUnavailable`` when WeasyPrint or its system libraries are missing.
    """
    weasyprint = _weasyprint()
    html = invoice_html(order=order, language=language)
    # The document is self-contained (inline CSS, no images): WeasyPrint must fetch nothing,
    # whatever a customer's name or address might contain. Versions before 68 take a function.
    fetcher_class = getattr(weasyprint, "URLFetcher", None)
    fetcher = fetcher_class(allowed_protocols=()) if fetcher_class else _refuse_fetch
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher)
    pdf = document.write_pdf()
    assert isinstance(pdf, bytes)
    return pdf
