"""State changes of refund requests: create (decided by the policy), approve, deny, ask for
information. Each runs in one transaction, writes its audit event and enqueues e-mail on commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..audit.services import Actor, audit_record, snapshot
from ..billing.models import Charge
from ..notifications.services import email_enqueue
from ..policy import Decision as EngineDecision
from ..policy import decide, parse_facts
from .models import Decision, RefundRequest
from .policies import policy_named, statutory_floor
from .selectors import refund_facts

_FIELDS = ["status", "sla_due_at", "approved_amount", "troubleshooting_state",
           "troubleshooting_started_at", "resolution_note"]
S = RefundRequest.Status


class RefundRequestError(Exception):
    """A change that is not allowed now (message for people)."""


def _move(request: RefundRequest, target: str) -> None:
    if target not in RefundRequest.TRANSITIONS[request.status]:
        raise RefundRequestError(f"refund request #{request.pk} is {request.status}; it cannot "
                                 f"become {target}")
    request.status = target


def _freeze(request: RefundRequest, decision: EngineDecision, facts: dict[str, Any],
            decided_by: str, override_reason: str = "") -> Decision:
    return Decision.objects.create(
        request=request, decided_by=decided_by, facts=facts, policy=decision.policy,
        decided_by_document=decision.decided_by, rule=decision.rule, outcome=decision.outcome,
        amount=decision.amount, currency=decision.currency, payload=decision.to_dict(),
        override_reason=override_reason)


def _apply_outcome(request: RefundRequest, decision: EngineDecision, now: datetime) -> None:
    """Move the request to the status the engine's outcome calls for."""
    outcome = decision.outcome
    if outcome in ("refund", "credit"):
        amount = decision.amount or 0
        if amount <= settings.REFUNDABLE_AUTO_APPROVE_LIMIT:
            _move(request, S.APPROVED)
            request.approved_amount = amount
        else:
            _move(request, S.IN_REVIEW)
            request.sla_due_at = now + timedelta(days=3)
    elif outcome == "deny":
        _move(request, S.DENIED)
    elif outcome == "review" or outcome == "fee":
        _move(request, S.IN_REVIEW)
        request.sla_due_at = decision.due_by or now + timedelta(days=14)
    elif outcome == "troubleshoot_first":
        _move(request, S.TROUBLESHOOTING)
        request.troubleshooting_state = "in_progress"
        request.troubleshooting_started_at = request.troubleshooting_started_at or now
        request.sla_due_at = decision.retry_after
    elif outcome == "offer":
        _move(request, S.OFFERED)
    else:
        _move(request, S.REDIRECTED)


def refund_request_create(*, actor: Actor, customer_id: int, charge_id: int, reason: str,
                          description: str = "", channel: str = "web",
                          documents: list[str] | None = None,
                          now: datetime | None = None) -> RefundRequest:
    """Record a customer's refund request and decide it with the plan's policy and the floor.

    Locks the charge row. The decision is frozen (facts, policy id@version, explanation);
    small refunds the policy grants are approved at once (``REFUNDABLE_AUTO_APPROVE_LIMIT``,
    minor units), anything else waits for an agent with an SLA. Raises ``FactsError`` if the
    charge's data cannot make valid facts, ``Charge.DoesNotExist`` if the charge is not the
    customer's.
    """
    now = now or timezone.now()
    with transaction.atomic():
        charge = Charge.objects.select_for_update(of=("self",)).select_related(
            "order__subscription__plan", "order__customer").get(
                pk=charge_id, order__customer_id=customer_id)
        facts = refund_facts(charge=charge, requested_at=now, reason=reason,
                             documents=documents)
        subscription = charge.order.subscription
        policy = policy_named(subscription.plan.policy_file if subscription
                              else "billing-desk.toml")
        decision = decide(policy, parse_facts(facts), statutory_floor())
        request = RefundRequest.objects.create(
            customer_id=customer_id, charge=charge, reason=reason, description=description,
            channel=channel, created_at=now)
        audit_record(actor=actor, action="refund_request.create", obj=request,
                     customer_id=customer_id, after=snapshot(request, _FIELDS))
        _freeze(request, decision, facts, "engine")
        before = snapshot(request, _FIELDS)
        _apply_outcome(request, decision, now)
        request.save()
        audit_record(actor=Actor.system("policy-engine"), action="refund_request.decide",
                     obj=request, customer_id=customer_id, before=before,
                     after=snapshot(request, _FIELDS),
                     note=f"{decision.outcome} by {decision.decided_by} rule {decision.rule}")
        customer = charge.order.customer
        email_enqueue(template="refund_request_received", to=customer.email,
                      language=customer.locale, context={"request_id": request.pk})
    return request


def _locked_request(request_id: int) -> RefundRequest:
    return RefundRequest.objects.select_for_update(of=("self",)).select_related(
        "charge", "customer").get(pk=request_id)


def refund_request_approve(*, actor: Actor, request_id: int, amount: int, reason: str,
                           now: datetime | None = None) -> RefundRequest:
    """An agent approves ``amount`` (minor units, ≤ the refundable amount).

    Approving a different amount or outcome than the policy's is an override: it needs a
    reason and is recorded as a new frozen decision by the agent.
    """
    if not reason.strip():
        raise RefundRequestError("a reason is required")
    with transaction.atomic():
        request = _locked_request(request_id)
        charge = Charge.objects.select_for_update().get(pk=request.charge_id)
        if not 0 < amount <= charge.refundable_amount:
            raise RefundRequestError(f"the amount must be between 1 and "
                                     f"{charge.refundable_amount} (minor units)")
        before = snapshot(request, _FIELDS)
        last = request.decisions.order_by("-created_at", "-id").first()
        _move(request, S.APPROVED)
        request.approved_amount = amount
        request.resolution_note = reason
        request.save()
        override = last is None or last.outcome != "refund" or last.amount != amount
        Decision.objects.create(
            request=request, decided_by=actor.label, facts=last.facts if last else {},
            policy=last.policy if last else "", decided_by_document=actor.label,
            rule=None, outcome="refund", amount=amount, currency=charge.currency,
            payload={"outcome": "refund", "amount": amount, "currency": charge.currency,
                     "reason": reason, "override": override},
            override_reason=reason if override else "")
        audit_record(actor=actor, action="refund_request.approve", obj=request,
                     customer_id=request.customer_id, before=before,
                     after=snapshot(request, _FIELDS),
                     note=("override: " if override else "") + reason)
        email_enqueue(template="refund_request_decided", to=request.customer.email,
                      language=request.customer.locale, context={"request_id": request.pk})
    return request


def refund_request_deny(*, actor: Actor, request_id: int, reason: str) -> RefundRequest:
    """An agent denies the request with a reason (recorded as the agent's decision)."""
    if not reason.strip():
        raise RefundRequestError("a reason is required")
    with transaction.atomic():
        request = _locked_request(request_id)
        before = snapshot(request, _FIELDS)
        _move(request, S.DENIED)
        request.resolution_note = reason
        request.save()
        Decision.objects.create(
            request=request, decided_by=actor.label, facts={}, policy="",
            decided_by_document=actor.label, outcome="deny", currency=request.charge.currency,
            payload={"outcome": "deny", "reason": reason}, override_reason=reason)
        audit_record(actor=actor, action="refund_request.deny", obj=request,
                     customer_id=request.customer_id, before=before,
                     after=snapshot(request, _FIELDS), note=reason)
        email_enqueue(template="refund_request_decided", to=request.customer.email,
                      language=request.customer.locale, context={"request_id": request.pk})
    return request


def refund_request_ask_info(*, actor: Actor, request_id: int, question: str) -> RefundRequest:
    """An agent asks the customer for information; the question is e-mailed."""
    if not question.strip():
        raise RefundRequestError("the question is required")
    with transaction.atomic():
        request = _locked_request(request_id)
        before = snapshot(request, _FIELDS)
        _move(request, S.INFO_REQUESTED)
        request.save()
        audit_record(actor=actor, action="refund_request.ask_info", obj=request,
                     customer_id=request.customer_id, before=before,
                     after=snapshot(request, _FIELDS), note=question)
        email_enqueue(template="information_requested", to=request.customer.email,
                      language=request.customer.locale,
                      context={"request_id": request.pk, "question": question})
    return request
