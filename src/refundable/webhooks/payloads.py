"""The ``data`` of webhook events: one small, stable JSON object per kind of object.

Each function takes a model instance and returns plain JSON values only — ids, statuses,
ISO 8601 dates in UTC, money as ``{"amount": <minor units>, "currency": "EUR"}``. Payloads
carry what an integrator needs to act or to fetch the object from the API; never free text a
customer typed, never secrets. To add an object (refunds, disputes…), write ``<noun>_payload``
with ``"object": "<noun>"`` and ``"id"`` first, using ``iso`` and ``money`` below, and describe
it in docs/webhooks.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..subscriptions.models import Subscription


def iso(moment: datetime | None) -> str | None:
    """``2026-03-01T10:00:00Z`` (UTC), or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def money(amount: int | None, currency: str) -> dict[str, Any] | None:
    """``{"amount": 8999, "currency": "EUR"}`` (minor units), or None without an amount."""
    if amount is None:
        return None
    return {"amount": int(amount), "currency": currency.upper()}


def subscription_payload(subscription: Subscription) -> dict[str, Any]:
    """A subscription's state after a change: status, renewal, cancellation dates, plan and
    price."""
    plan = subscription.plan
    return {
        "object": "subscription",
        "id": subscription.pk,
        "reference": subscription.reference,
        "customer_id": subscription.customer_id,
        "status": subscription.status,
        "auto_renew": subscription.auto_renew,
        "channel": subscription.channel,
        "started_at": iso(subscription.started_at),
        "current_period_start": iso(subscription.current_period_start),
        "current_period_end": iso(subscription.current_period_end),
        "cancel_requested_at": iso(subscription.cancel_requested_at),
        "cancel_effective_at": iso(subscription.cancel_effective_at),
        "plan": {"id": plan.pk, "code": plan.code, "period": plan.period,
                 "price": money(plan.price, plan.currency)},
    }
