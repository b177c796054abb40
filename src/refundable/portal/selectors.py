"""Reads for the portal. Everything that shows a customer's data is filtered by the signed-in
customer: another customer's ids raise ``DoesNotExist`` (→ 404)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest

from ..audit.selectors import audit_events_for
from ..billing.models import ActivationKey, Charge, Order
from ..customers.models import Customer
from ..refunds.models import Attachment, Decision, RefundRequest
from ..subscriptions.models import Subscription

# A new request on a charge waits until these are done (approved: the refund is on its way).
OPEN_REQUEST_STATUSES = ("submitted", "troubleshooting", "in_review", "info_requested", "offered",
                         "approved")


def customer_of(request: HttpRequest) -> Customer | None:
    """The customer signed in on ``request``, or None (anonymous, or a user who is no
    customer such as an agent)."""
    user = request.user
    if not user.is_authenticated:
        return None
    return Customer.objects.filter(user_id=user.pk).first()


# -- subscriptions -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SubscriptionRow:
    """A subscription as the account page shows it."""

    subscription: Subscription
    next_charge_at: datetime | None  # active with auto-renewal: the next charge
    next_charge_amount: int | None
    ends_at: datetime | None  # otherwise: when the service ends or ended
    can_cancel: bool
    can_undo: bool
    can_switch_auto_renew: bool


def subscription_row(subscription: Subscription, now: datetime) -> SubscriptionRow:
    s = subscription
    status = Subscription.Status
    next_at = amount = ends = None
    if s.status == status.ACTIVE and s.current_period_end is not None:
        if s.auto_renew:
            next_at, amount = s.current_period_end, s.plan.price
        else:
            ends = s.current_period_end
    elif s.status == status.CANCEL_SCHEDULED or s.status == status.CANCELED:
        ends = s.cancel_effective_at
    elif s.status == status.EXPIRED:
        ends = s.current_period_end
    return SubscriptionRow(
        subscription=s, next_charge_at=next_at, next_charge_amount=amount, ends_at=ends,
        can_cancel=s.status in (status.ACTIVE, status.CANCEL_SCHEDULED),
        can_undo=(s.status == status.CANCEL_SCHEDULED
                  and (s.cancel_effective_at is None or s.cancel_effective_at > now)),
        can_switch_auto_renew=s.status == status.ACTIVE and s.current_period_end is not None)


def subscriptions_of(*, customer_id: int) -> QuerySet[Subscription]:
    return Subscription.objects.filter(customer_id=customer_id).select_related(
        "plan__product").order_by("-started_at", "-id")


def subscription_of(*, customer_id: int, subscription_id: int) -> Subscription:
    return subscriptions_of(customer_id=customer_id).get(pk=subscription_id)


# -- orders, charges, invoices -----------------------------------------------------------------

def orders_of(*, customer_id: int) -> QuerySet[Order]:
    return Order.objects.filter(customer_id=customer_id).select_related(
        "subscription__plan__product").prefetch_related(
        Prefetch("charges", queryset=Charge.objects.order_by("captured_at", "id")))


def order_of(*, customer_id: int, order_id: int) -> Order:
    return orders_of(customer_id=customer_id).get(pk=order_id)


def charges_of(*, customer_id: int) -> QuerySet[Charge]:
    return Charge.objects.filter(order__customer_id=customer_id).select_related(
        "order__subscription__plan__product", "order__customer")


def charge_of(*, customer_id: int, charge_id: int) -> Charge:
    return charges_of(customer_id=customer_id).get(pk=charge_id)


def open_request_for_charge(*, customer_id: int, charge_id: int) -> RefundRequest | None:
    """A request on this charge still being handled (one at a time per charge)."""
    return RefundRequest.objects.filter(customer_id=customer_id, charge_id=charge_id,
                                        status__in=OPEN_REQUEST_STATUSES).first()


def charge_ids_with_open_requests(*, customer_id: int) -> set[int]:
    return set(RefundRequest.objects.filter(
        customer_id=customer_id, status__in=OPEN_REQUEST_STATUSES).values_list(
        "charge_id", flat=True))


def activation_key_matching(*, holder_name: str, invoice_number: str) -> ActivationKey | None:
    """The activation key of the subscription ordered under ``invoice_number`` whose holder is
    ``holder_name`` (case and spacing ignored), or None."""
    wanted = " ".join(holder_name.split()).casefold()
    number = invoice_number.strip()
    if not wanted or not number:
        return None
    order = Order.objects.filter(invoice_number__iexact=number,
                                 subscription__isnull=False).first()
    if order is None or order.subscription_id is None:
        return None
    keys = ActivationKey.objects.filter(subscription_id=order.subscription_id).select_related(
        "subscription").order_by("-created_at", "-id")
    return next((k for k in keys if " ".join(k.holder_name.split()).casefold() == wanted), None)


# -- refund requests ---------------------------------------------------------------------------

def refund_requests_of(*, customer_id: int) -> QuerySet[RefundRequest]:
    return RefundRequest.objects.filter(customer_id=customer_id).select_related(
        "charge__order__subscription__plan__product")


def refund_request_of(*, customer_id: int, request_id: int) -> RefundRequest:
    return refund_requests_of(customer_id=customer_id).get(pk=request_id)


def attachments_of(*, customer_id: int, request_id: int) -> QuerySet[Attachment]:
    """The documents given with the customer's request ``request_id``, oldest first (none for
    another customer's request)."""
    return Attachment.objects.filter(request_id=request_id,
                                     request__customer_id=customer_id).order_by(
        "uploaded_at", "id")


@dataclass(frozen=True)
class TimelineEntry:
    """One customer-safe step of a request's history. ``kind`` picks the wording in the
    template; ``detail`` holds only values meant for the customer (amounts, the decision's
    customer message, the agent's answer and question), never internal notes."""

    at: datetime
    kind: str  # received, decided, approved, denied, info_requested, status
    by: str  # you, policy, team, system
    status: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def _by(actor: str) -> str:
    kind = actor.split(":", 1)[0]
    if kind == "customer":
        return "you"
    if actor == "system:policy-engine":
        return "policy"
    if kind in ("agent", "operator"):
        return "team"
    return "system"


def refund_timeline(request: RefundRequest, language: str) -> list[TimelineEntry]:
    """The request's history from its audit events and frozen decisions, oldest first."""
    engine_decisions = [d for d in Decision.objects.filter(request=request)
                        if d.decided_by == "engine"]
    entries: list[TimelineEntry] = []
    engine_index = 0
    for event in audit_events_for(object_type="refunds.refundrequest", object_id=request.pk):
        after = event.after or {}
        before = event.before or {}
        by = _by(event.actor)
        status = str(after.get("status", ""))
        if event.action == "refund_request.create":
            entries.append(TimelineEntry(event.created_at, "received", by, status))
        elif event.action == "refund_request.decide":
            detail: dict[str, Any] = {}
            if engine_index < len(engine_decisions):
                payload = engine_decisions[engine_index].payload
                messages = payload.get("messages") or {}
                detail["message"] = messages.get(language) or payload.get("message", "")
                engine_index += 1
            entries.append(TimelineEntry(event.created_at, "decided", by, status, detail))
        elif event.action == "refund_request.approve":
            entries.append(TimelineEntry(event.created_at, "approved", by, status, {
                "amount": after.get("approved_amount"),
                "answer": after.get("resolution_note", "")}))
        elif event.action == "refund_request.deny":
            entries.append(TimelineEntry(event.created_at, "denied", by, status, {
                "answer": after.get("resolution_note", "")}))
        elif event.action == "refund_request.ask_info":
            # The question is e-mailed to the customer: it is written for them.
            entries.append(TimelineEntry(event.created_at, "info_requested", by, status,
                                         {"question": event.note}))
        elif status and status != before.get("status"):
            # Any other move of the status (desk, jobs): the status only, never the note.
            entries.append(TimelineEntry(event.created_at, "status", by, status))
    entries += _money_timeline(request)
    entries.sort(key=lambda entry: entry.at)
    return entries


# What the customer is told about the money after approval (the refund's own audit events).
_MONEY_STEPS = {"refund.submit": "refund_sent", "refund.accepted": "", "refund.succeeded":
                "refund_done", "refund.failed": "refund_problem", "refund.canceled":
                "refund_problem", "refund.overdue": "refund_late"}


def _money_timeline(request: RefundRequest) -> list[TimelineEntry]:
    from ..audit.models import AuditEvent
    from ..payments.models import Refund

    refunds = {refund.id: refund for refund in Refund.objects.filter(request=request)}
    if not refunds:
        return []
    entries: list[TimelineEntry] = []
    sent: set[str] = set()
    for event in AuditEvent.objects.filter(object_type="payments.refund",
                                           object_id__in=list(refunds)).order_by("created_at",
                                                                                  "id"):
        kind = _MONEY_STEPS.get(event.action, "")
        if not kind or (kind == "refund_sent" and event.object_id in sent):
            continue  # a second attempt is the same news for the customer
        sent.add(event.object_id)
        refund = refunds[event.object_id]
        entries.append(TimelineEntry(event.created_at, kind, "system", "", {
            "amount": refund.amount, "method": refund.charge.payment_method,
            "expected_by": refund.expected_by}))
    return entries


def latest_decision(request: RefundRequest) -> Decision | None:
    return Decision.objects.filter(request=request).order_by("-created_at", "-id").first()


def engine_decision(request: RefundRequest) -> Decision | None:
    return Decision.objects.filter(request=request, decided_by="engine").order_by(
        "-created_at", "-id").first()
