"""Reads for refunds: the facts of a request, the policy's answer before submitting, lists."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from ..billing.models import Charge
from ..policy import Decision, decide, parse_facts
from .models import Decision as RefundDecision
from .models import RefundRequest
from .policies import policy_named, statutory_floor


def refund_facts(*, charge: Charge, requested_at: datetime, reason: str,
                 documents: list[str] | None = None, troubleshooting: str = "none",
                 troubleshooting_started_at: datetime | None = None) -> dict[str, Any]:
    """The engine's facts for a refund of ``charge`` (DESIGN.md "Facts"), as JSON values."""
    order = charge.order
    subscription = order.subscription
    customer = order.customer
    plan = subscription.plan if subscription else None
    prior = RefundRequest.objects.filter(
        customer=customer, status__in=["approved", "closed"], approved_amount__gt=0,
        charge__order__subscription__plan__product=plan.product if plan else None,
    ).exclude(charge=charge).count() if plan else 0
    facts: dict[str, Any] = {
        "plan_period": plan.period if plan else "lifetime",
        "channel": subscription.channel if subscription else "direct",
        "purchased_at": charge.captured_at.isoformat(),
        "period_end": charge.period_end.isoformat() if charge.period_end else None,
        "amount": charge.amount, "currency": charge.currency,
        "already_refunded": charge.refunded_amount + charge.pending_amount,
        "is_renewal": charge.is_renewal,
        "country": customer.country, "consumer": customer.consumer,
        "requested_at": requested_at.isoformat(), "reason": reason,
        "documents": documents or [], "troubleshooting": troubleshooting,
        "troubleshooting_started_at": (troubleshooting_started_at.isoformat()
                                       if troubleshooting_started_at else None),
        "renewal_notice_sent": (subscription.renewal_notice_sent_at is not None
                                if subscription and charge.is_renewal else None),
        "prior_refunds": prior, "plan": plan.code if plan else None,
        "payment_method": charge.payment_method, "language": customer.locale,
    }
    return facts


def refund_preview(*, charge: Charge, requested_at: datetime, reason: str,
                   documents: list[str] | None = None) -> Decision:
    """What the policy answers before the customer submits (nothing is written)."""
    facts = refund_facts(charge=charge, requested_at=requested_at, reason=reason,
                         documents=documents)
    plan = charge.order.subscription.plan if charge.order.subscription else None
    policy = policy_named(plan.policy_file if plan else "billing-desk.toml")
    return decide(policy, parse_facts(facts), statutory_floor())


def refund_requests_of(*, customer_id: int) -> QuerySet[RefundRequest]:
    return RefundRequest.objects.filter(customer_id=customer_id).select_related(
        "charge__order__subscription__plan")


def refund_request_of(*, customer_id: int, request_id: int) -> RefundRequest:
    """The customer's own request; ``RefundRequest.DoesNotExist`` otherwise (→ 404)."""
    return refund_requests_of(customer_id=customer_id).get(pk=request_id)


def refund_requests_visible(*, customer_id: int | None, status: str | None = None
                            ) -> QuerySet[RefundRequest]:
    """Requests with their charge and frozen decisions (oldest first, prefetched): only
    ``customer_id``'s, or with ``None`` every customer's (an integrator key)."""
    from ..payments.models import Refund

    requests = RefundRequest.objects.select_related("charge__order").prefetch_related(
        Prefetch("decisions", queryset=RefundDecision.objects.order_by("created_at", "id")),
        Prefetch("refunds", queryset=Refund.objects.order_by("created_at", "id")))
    if customer_id is not None:
        requests = requests.filter(customer_id=customer_id)
    if status:
        requests = requests.filter(status=status)
    return requests


def refund_expected_arrival(*, request: RefundRequest) -> tuple[date, date] | None:
    """For an approved request whose refund is on its way or arrived: the window in which the
    money should reach the customer's original payment method (business days of their
    country, from when the refund was made). None otherwise."""
    from ..payments.selectors import refund_current

    if request.status != RefundRequest.Status.APPROVED:
        return None
    refund = refund_current(request_id=request.pk)
    if refund is None or refund.expected_from is None or refund.expected_by is None:
        return None
    if refund.status in ("failed", "canceled"):
        return None
    return refund.expected_from, refund.expected_by
