"""Context builder of the payments e-mail (registered by ``PaymentsConfig.ready``): the
overdue-refund notice."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from ..notifications.emails import context_builder
from ..policy.money import format_money

_METHOD = {
    "card": {"en": "card", "fr": "carte"},
    "paypal": {"en": "PayPal account", "fr": "compte PayPal"},
    "bank": {"en": "bank account", "fr": "compte bancaire"},
}


@context_builder("refund_overdue")
def refund_overdue_context(context: dict[str, Any]) -> dict[str, Any]:
    from .models import Refund

    refund = Refund.objects.select_related("request__customer", "charge__order").get(
        pk=context["refund_id"])
    assert refund.request is not None
    method = refund.charge.payment_method
    return {
        "refund": refund, "request": refund.request, "customer": refund.request.customer,
        "order": refund.charge.order,
        "amount": {lang: format_money(refund.amount, refund.currency, lang)
                   for lang in ("en", "fr")},
        "method": _METHOD.get(method, {"en": "payment method", "fr": "moyen de paiement"}),
        "status_url": settings.REFUNDABLE_BASE_URL + reverse(
            "portal:refund_detail", kwargs={"pk": refund.request_id}),
    }
