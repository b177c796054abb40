"""Template filters of the portal: money in the active language, and customers' words for
codes (statuses, reasons, periods, payment methods, channels, kinds of document)."""

from __future__ import annotations

from django import template
from django.utils import translation

from ...policy.money import format_money
from ...refunds.labels import OUTCOME_HEADINGS, reason_label, status_label
from ..labels import (
    CHANNEL_LABELS,
    DOCUMENT_KIND_LABELS,
    PAYMENT_METHOD_LABELS,
    PERIOD_LABELS,
    SUBSCRIPTION_STATUS_LABELS,
)

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    """``{{ 8999|money:"EUR" }}`` → ``€89.99`` in English, ``89,99 €`` in French."""
    if amount is None:
        return ""
    language = (translation.get_language() or "en")[:2]
    return format_money(int(amount), currency, "fr" if language == "fr" else "en")


@register.filter
def refund_status(code: str) -> str:
    return status_label(code)


@register.filter
def reason(code: str) -> str:
    return reason_label(code)


@register.filter
def outcome_heading(code: str) -> str:
    return str(OUTCOME_HEADINGS.get(code, code))


@register.filter
def subscription_status(code: str) -> str:
    return str(SUBSCRIPTION_STATUS_LABELS.get(code, code))


@register.filter
def period(code: str) -> str:
    return str(PERIOD_LABELS.get(code, code))


@register.filter
def payment_method(code: str) -> str:
    return str(PAYMENT_METHOD_LABELS.get(code, code))


@register.filter
def channel(code: str) -> str:
    return str(CHANNEL_LABELS.get(code, code))


@register.filter
def document_kind(code: str) -> str:
    return str(DOCUMENT_KIND_LABELS.get(code, code.replace("_", " ")))
