"""Words for customers about subscriptions and payments, in French and English."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

SUBSCRIPTION_STATUS_LABELS: dict[str, Promise] = {
    "active": _("Active"),
    "cancel_scheduled": _("Cancellation scheduled"),
    "canceled": _("Cancelled"),
    "expired": _("Expired"),
}

PERIOD_LABELS: dict[str, Promise] = {
    "week": _("weekly"),
    "month": _("monthly"),
    "quarter": _("quarterly"),
    "year": _("annual"),
    "lifetime": _("lifetime"),
}

PAYMENT_METHOD_LABELS: dict[str, Promise] = {
    "card": _("bank card"),
    "paypal": _("PayPal"),
    "bank": _("bank transfer"),
    "store": _("app store"),
    "other": _("other means of payment"),
}

CHANNEL_LABELS: dict[str, Promise] = {
    "direct": _("on our website"),
    "reseller": _("from a reseller"),
    "apple_app_store": _("in the Apple App Store"),
    "google_play": _("on Google Play"),
    "third_party": _("from a third party"),
}

STORE_CHANNELS = ("apple_app_store", "google_play")

# What a document given with a refund request is (``Attachment.kind``; the policy's
# ``documents`` facts use the same codes, see policies/billing-desk.toml).
DOCUMENT_KIND_LABELS: dict[str, Promise] = {
    "death_certificate": _("Death certificate"),
    "medical_certificate": _("Medical certificate"),
    "bank_statement": _("Bank statement"),
    "screenshot": _("Screenshot"),
    "other_document": _("Other document"),
}


def document_kinds_for(reason: str) -> list[str]:
    """The kinds of document offered for a request with ``reason``."""
    if reason == "special_circumstances":
        return ["death_certificate", "medical_certificate", "other_document"]
    return ["bank_statement", "screenshot", "other_document"]
