"""Request and response bodies of the API, and how a model becomes a response.

Money is always an integer in the currency's minor unit beside its ISO 4217 code
(``"amount": 8999, "currency": "EUR"`` is €89.99). Times are ISO 8601 with an offset. Every
object names its kind in ``object``; lists are the pagination envelope (``pagination.py``).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Literal

from ninja import Field, Schema
from ninja.responses import NinjaJSONEncoder
from pydantic import ConfigDict, field_validator

from ..billing.models import Charge, Order
from ..customers.models import Customer
from ..desk.models import Ticket, TicketMessage
from ..payments.models import Refund
from ..policy.facts import REASONS
from ..refunds.models import Decision, RefundRequest
from ..subscriptions.models import Subscription


def to_json(schema: Schema) -> dict[str, Any]:
    """A response body as plain JSON values, encoded exactly as ninja encodes the responses it
    renders (times to the millisecond), so a stored and replayed answer reads the same as a GET.
    """
    data: dict[str, Any] = json.loads(json.dumps(schema.model_dump(), cls=NinjaJSONEncoder))
    return data

# ---------------------------------------------------------------------------------- errors


class ErrorDetail(Schema):
    type: str = Field(..., description="invalid_request_error, authentication_error, "
                                       "permission_error, idempotency_error, rate_limit_error "
                                       "or api_error")
    code: str = Field(..., description="A stable, machine-readable code, e.g. "
                                       "parameter_missing, resource_missing, invalid_state.")
    message: str = Field(..., description="What went wrong, for a person.")
    param: str | None = Field(None, description="The parameter (or header) at fault, if any.")


class ErrorOut(Schema):
    error: ErrorDetail


# --------------------------------------------------------------------------------- objects


class CustomerOut(Schema):
    object: Literal["customer"] = "customer"
    id: int
    email: str
    name: str
    locale: str = Field(..., description="en or fr: the language of e-mails and messages")
    country: str = Field(..., description="ISO 3166-1 alpha-2")
    consumer: bool = Field(..., description="a consumer (not a business): consumer law applies")
    created_at: datetime

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        return cls(id=customer.pk, email=customer.email, name=customer.name,
                   locale=customer.locale, country=customer.country,
                   consumer=customer.consumer, created_at=customer.created_at)


class ProductOut(Schema):
    code: str
    name: str


class PlanOut(Schema):
    code: str
    name: str
    period: str = Field(..., description="week, month, quarter, year or lifetime")
    amount: int = Field(..., description="price per period, minor units")
    currency: str
    product: ProductOut


class SubscriptionOut(Schema):
    object: Literal["subscription"] = "subscription"
    id: int
    customer: int = Field(..., description="the customer's id")
    reference: str = Field(..., description="the contract reference")
    status: str = Field(..., description="active, cancel_scheduled (ends at the term end; "
                                         "undo possible until then), canceled or expired")
    channel: str = Field(..., description="direct, reseller, apple_app_store, google_play "
                                          "or third_party")
    plan: PlanOut
    auto_renew: bool
    started_at: datetime
    current_period_start: datetime
    current_period_end: datetime | None = Field(..., description="null for a lifetime plan")
    cancel_requested_at: datetime | None
    cancel_effective_at: datetime | None

    @classmethod
    def of(cls, subscription: Subscription) -> SubscriptionOut:
        plan = subscription.plan
        return cls(
            id=subscription.pk, customer=subscription.customer_id,
            reference=subscription.reference, status=subscription.status,
            channel=subscription.channel,
            plan=PlanOut(code=plan.code, name=plan.name, period=plan.period, amount=plan.price,
                         currency=plan.currency,
                         product=ProductOut(code=plan.product.code, name=plan.product.name)),
            auto_renew=subscription.auto_renew, started_at=subscription.started_at,
            current_period_start=subscription.current_period_start,
            current_period_end=subscription.current_period_end,
            cancel_requested_at=subscription.cancel_requested_at,
            cancel_effective_at=subscription.cancel_effective_at)


class ChargeOut(Schema):
    object: Literal["charge"] = "charge"
    id: int
    amount: int = Field(..., description="captured, minor units")
    currency: str
    refunded_amount: int = Field(..., description="refunded so far, minor units")
    pending_amount: int = Field(..., description="approved refunds on their way, minor units")
    refundable_amount: int = Field(
        ..., description="amount − refunded_amount − pending_amount: what may still be refunded")
    payment_method: str = Field(..., description="card, paypal, bank, store or other")
    provider: str
    provider_reference: str
    captured_at: datetime
    period_start: datetime
    period_end: datetime | None
    is_renewal: bool

    @classmethod
    def of(cls, charge: Charge) -> ChargeOut:
        return cls(id=charge.pk, amount=charge.amount, currency=charge.currency,
                   refunded_amount=charge.refunded_amount,
                   pending_amount=charge.pending_amount,
                   refundable_amount=charge.refundable_amount,
                   payment_method=charge.payment_method, provider=charge.provider,
                   provider_reference=charge.provider_reference,
                   captured_at=charge.captured_at, period_start=charge.period_start,
                   period_end=charge.period_end, is_renewal=charge.is_renewal)


class OrderOut(Schema):
    object: Literal["order"] = "order"
    id: int
    customer: int
    subscription: int | None
    order_number: str
    invoice_number: str
    created_at: datetime
    amount: int = Field(..., description="sum of the charges, minor units")
    currency: str | None = Field(..., description="the charges' currency (null: no charge)")
    charges: list[ChargeOut]

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        charges = list(order.charges.all())
        return cls(id=order.pk, customer=order.customer_id, subscription=order.subscription_id,
                   order_number=order.order_number, invoice_number=order.invoice_number,
                   created_at=order.created_at, amount=sum(c.amount for c in charges),
                   currency=charges[0].currency if charges else None,
                   charges=[ChargeOut.of(c) for c in charges])


class DecisionOut(Schema):
    """A frozen decision: the policy's (``decided_by`` = ``engine``) or an agent's."""

    object: Literal["decision"] = "decision"
    id: int
    outcome: str = Field(..., description="refund, deny, review, troubleshoot_first, offer, "
                                          "redirect, credit or fee")
    amount: int | None = Field(..., description="minor units (refund, credit, fee)")
    currency: str
    rule: str | None = Field(..., description="the deciding rule")
    policy: str = Field(..., description="the merchant policy, id@version")
    decided_by: str = Field(..., description="'engine', or the agent who decided")
    reason: str | None = Field(None, description="deny: the reason (code or agent's words)")
    due_by: datetime | None = Field(None, description="review: when a person will have "
                                                      "decided")
    documents_required: list[str] = []
    retry_after: datetime | None = Field(None, description="troubleshoot_first: when to come "
                                                           "back if the problem remains")
    choices: list[dict[str, Any]] | None = Field(None, description="offer: the choices")
    to: str | None = Field(None, description="redirect: where to ask (e.g. apple_app_store)")
    statutory: list[str] = Field([], description="statutory packs that applied (the floor)")
    explanation: list[dict[str, Any]] = Field(
        [], description="every rule tried, in order: policy, rule, matched, why")
    message: str | None = Field(None, description="for the customer, in their language")
    messages: dict[str, str] = Field({}, description="the message in en and fr")
    created_at: datetime

    @classmethod
    def of(cls, decision: Decision) -> DecisionOut:
        payload: dict[str, Any] = decision.payload or {}
        return cls(
            id=decision.pk, outcome=decision.outcome, amount=decision.amount,
            currency=decision.currency, rule=decision.rule, policy=decision.policy,
            decided_by=decision.decided_by, reason=payload.get("reason"),
            due_by=payload.get("due_by"),
            documents_required=payload.get("documents_required") or [],
            retry_after=payload.get("retry_after"), choices=payload.get("choices"),
            to=payload.get("to"), statutory=payload.get("statutory") or [],
            explanation=payload.get("explanation") or [], message=payload.get("message"),
            messages=payload.get("messages") or {}, created_at=decision.created_at)


class RefundOut(Schema):
    """The execution of an approved amount: the money on its way back."""

    object: Literal["refund"] = "refund"
    id: str = Field(..., description="ours, also the provider's idempotency key")
    amount: int = Field(..., description="minor units")
    currency: str
    status: str = Field(..., description="pending, succeeded, failed, canceled or unknown "
                                         "(the provider's answer was lost; the reconciler "
                                         "asks it)")
    provider: str = Field(..., description="sandbox, stripe or manual (PayPal, bank)")
    created_at: datetime
    settled_at: datetime | None
    expected_from: date | None = Field(..., description="earliest expected arrival (business "
                                                        "days of the customer's country)")
    expected_by: date | None = Field(..., description="latest expected arrival; past it the "
                                                      "request escalates by itself")
    failure_reason: str

    @classmethod
    def of(cls, refund: Refund) -> RefundOut:
        return cls(id=refund.id, amount=refund.amount, currency=refund.currency,
                   status=refund.status, provider=refund.provider,
                   created_at=refund.created_at, settled_at=refund.settled_at,
                   expected_from=refund.expected_from, expected_by=refund.expected_by,
                   failure_reason=refund.failure_reason)


class RefundRequestOut(Schema):
    object: Literal["refund_request"] = "refund_request"
    id: int
    customer: int
    charge: int
    order: int
    reason: str
    description: str
    channel: str = Field(..., description="web, email, chat, phone or api")
    status: str = Field(..., description="submitted, troubleshooting, in_review, "
                                         "info_requested, offered, approved, denied, "
                                         "redirected or closed")
    currency: str
    approved_amount: int | None = Field(..., description="minor units, once approved")
    created_at: datetime
    sla_due_at: datetime | None = Field(..., description="when a person will have answered")
    troubleshooting_state: str
    decision: DecisionOut | None = Field(..., description="the latest frozen decision: the "
                                                          "policy's, until an agent decides")
    refunds: list[RefundOut] = Field(..., description="the money moved for this request, "
                                                      "oldest first")

    @classmethod
    def of(cls, request: RefundRequest) -> RefundRequestOut:
        decisions = list(request.decisions.all())  # oldest first (prefetched or Meta order)
        return cls(id=request.pk, customer=request.customer_id, charge=request.charge_id,
                   order=request.charge.order_id, reason=request.reason,
                   description=request.description, channel=request.channel,
                   status=request.status, currency=request.charge.currency,
                   approved_amount=request.approved_amount, created_at=request.created_at,
                   sla_due_at=request.sla_due_at,
                   troubleshooting_state=request.troubleshooting_state,
                   decision=DecisionOut.of(decisions[-1]) if decisions else None,
                   refunds=[RefundOut.of(refund) for refund in request.refunds.all()])


class TicketMessageOut(Schema):
    id: int
    author: str
    body: str
    created_at: datetime

    @classmethod
    def of(cls, message: TicketMessage) -> TicketMessageOut:
        return cls(id=message.pk, author=message.author, body=message.body,
                   created_at=message.created_at)


class TicketOut(Schema):
    object: Literal["ticket"] = "ticket"
    id: int
    customer: int | None
    refund_request: int | None
    category: str = Field(..., description="billing, refund, technical, cancellation, account "
                                           "or other")
    channel: str = Field(..., description="web, email, chat or phone")
    status: str = Field(..., description="new, open, pending, on_hold, solved or closed")
    priority: int = Field(..., description="1 urgent … 4 low")
    subject: str
    team: str | None = Field(..., description="the team's code")
    created_at: datetime
    first_response_due_at: datetime | None
    first_responded_at: datetime | None
    resolution_due_at: datetime | None
    solved_at: datetime | None
    messages: list[TicketMessageOut] = Field(
        ..., description="public messages, oldest first (internal notes are never shown)")

    @classmethod
    def of(cls, ticket: Ticket) -> TicketOut:
        messages = getattr(ticket, "public_messages", None)
        if messages is None:
            messages = list(ticket.messages.filter(internal=False).order_by("created_at", "id"))
        return cls(id=ticket.pk, customer=ticket.customer_id,
                   refund_request=ticket.refund_request_id, category=ticket.category,
                   channel=ticket.channel, status=ticket.status, priority=ticket.priority,
                   subject=ticket.subject, team=ticket.team.code if ticket.team else None,
                   created_at=ticket.created_at,
                   first_response_due_at=ticket.first_response_due_at,
                   first_responded_at=ticket.first_responded_at,
                   resolution_due_at=ticket.resolution_due_at, solved_at=ticket.solved_at,
                   messages=[TicketMessageOut.of(m) for m in messages])


# ------------------------------------------------------------------------------------ lists


class ListEnvelope(Schema):
    object: Literal["list"] = "list"
    has_more: bool = Field(..., description="more objects after this page")
    next_cursor: str | None = Field(..., description="pass as ?cursor= for the next page; "
                                                     "null on the last page")


class CustomerList(ListEnvelope):
    data: list[CustomerOut]


class SubscriptionList(ListEnvelope):
    data: list[SubscriptionOut]


class OrderList(ListEnvelope):
    data: list[OrderOut]


class RefundRequestList(ListEnvelope):
    data: list[RefundRequestOut]


class TicketList(ListEnvelope):
    data: list[TicketOut]


# ----------------------------------------------------------------------------------- inputs


class StrictIn(Schema):
    """A request body: unknown parameters are refused (a typo is an error, not a no-op)."""

    model_config = ConfigDict(extra="forbid")


class CancelIn(StrictIn):
    when: Literal["now", "term_end"] = Field(
        ..., description="now: ends at once; term_end: service until the current period ends, "
                         "and the cancellation can be undone until then")
    reason: str = Field("", max_length=200, description="why, in the customer's words")


class AutoRenewalIn(StrictIn):
    enabled: bool = Field(..., description="true: renews automatically at the period end")


class RefundRequestIn(StrictIn):
    charge: int = Field(..., ge=1, description="id of the charge to refund (see orders)")
    reason: str = Field(..., description="the customer's reason",
                        json_schema_extra={"enum": list(REASONS)})
    description: str = Field("", max_length=5000, description="in the customer's words")

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, value: str) -> str:
        if value not in REASONS:
            raise ValueError(f"must be one of {', '.join(REASONS)}")
        return value
