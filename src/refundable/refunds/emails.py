"""Context builders of the refund e-mails (registered with ``notifications.emails``; imported
by ``RefundsConfig.ready``): request received, request decided, information requested.

Builders run outside the recipient's language, so words that depend on it come as
``{"en": …, "fr": …}`` pairs and each template (one per language) picks its own.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from ..notifications.emails import context_builder
from ..policy.money import format_money
from .labels import REASON_LABELS, STATUS_LABELS


def _money(amount: int | None, currency: str) -> dict[str, str]:
    if amount is None:
        return {"en": "", "fr": ""}
    return {language: format_money(amount, currency, language) for language in ("en", "fr")}


def _request_context(context: dict[str, Any]) -> dict[str, Any]:
    from .models import Decision, RefundRequest
    from .selectors import refund_expected_arrival

    request = RefundRequest.objects.select_related(
        "customer", "charge__order__subscription__plan__product").get(pk=context["request_id"])
    charge = request.charge
    decisions = list(Decision.objects.filter(request=request).order_by("created_at", "id"))
    engine = next((d for d in reversed(decisions) if d.decided_by == "engine"), None)
    engine_messages = (engine.payload.get("messages") or {}) if engine else {}
    subscription = charge.order.subscription
    return {
        "refund": request, "customer": request.customer, "charge": charge,
        "order": charge.order, "plan": subscription.plan if subscription else None,
        "reason_label": REASON_LABELS.get(request.reason, request.reason),
        "status_label": STATUS_LABELS.get(request.status, request.status),
        "policy_message": engine_messages,  # {"en": …, "fr": …}
        "charge_amount": _money(charge.amount, charge.currency),
        "approved_amount": _money(request.approved_amount, charge.currency),
        "arrival": refund_expected_arrival(request=request),
        "status_url": settings.REFUNDABLE_BASE_URL + reverse(
            "portal:refund_detail", kwargs={"pk": request.pk}),
        "contact_url": settings.REFUNDABLE_BASE_URL + reverse("portal:contact"),
    }


@context_builder("refund_request_received")
def refund_request_received_context(context: dict[str, Any]) -> dict[str, Any]:
    return _request_context(context)


@context_builder("refund_request_decided")
def refund_request_decided_context(context: dict[str, Any]) -> dict[str, Any]:
    return _request_context(context)


@context_builder("information_requested")
def information_requested_context(context: dict[str, Any]) -> dict[str, Any]:
    # ``question`` comes with the queued context: the agent wrote it for the customer.
    return _request_context(context)
