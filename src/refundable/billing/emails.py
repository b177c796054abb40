"""Context builders of the billing e-mails (registered with ``notifications.emails``)."""

from __future__ import annotations

from typing import Any

from ..notifications.emails import context_builder


@context_builder("activation_key")
def activation_key_context(context: dict[str, Any]) -> dict[str, Any]:
    from .models import ActivationKey

    key = ActivationKey.objects.select_related("subscription__customer",
                                               "subscription__plan__product").get(
        pk=context["activation_key_id"])
    return {"key": key, "subscription": key.subscription, "customer": key.subscription.customer,
            "product": key.subscription.plan.product}
