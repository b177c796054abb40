"""State changes of refund requests: create (decided by the policy), approve, deny, ask for
information, troubleshooting first (seed 004), confidential attachments (seed 002), desk
assignment and SLA escalation. Each runs in one transaction, writes its audit event and enqueues
e-mail and jobs on commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..audit.services import Actor, audit_record, snapshot
from ..billing.models import Charge
from ..desk.selectors import assignment_problem, team_for
from ..desk.sla import review_due, review_due_in_days
from ..notifications.services import email_enqueue
from ..payments.selectors import charge_refund_blocker
from ..payments.services import RefundError, refund_reserve
from ..policy import Decision as EngineDecision
from ..policy import Policy, decide, parse_facts
from .attachments import SPECIAL_CIRCUMSTANCES, attachments_purge_for
from .errors import RefundRequestError
from .models import Decision, RefundRequest
from .policies import policy_named, statutory_floor
from .selectors import refund_facts

_FIELDS = ["status", "sla_due_at", "approved_amount", "troubleshooting_state",
           "troubleshooting_started_at", "resolution_note"]
_DESK_FIELDS = ["priority", "team_id", "assignee_id", "escalated_at", "sla_due_at"]
S = RefundRequest.Status


def _announce(event_type: str, request: RefundRequest) -> None:
    """Tell integrators (outbound webhooks, sent after the commit)."""
    from ..webhooks.payloads import iso, money
    from ..webhooks.services import webhook_event_emit

    currency = request.charge.currency
    webhook_event_emit(event_type=event_type, customer_id=request.customer_id, data={
        "object": "refund_request", "id": request.pk, "customer_id": request.customer_id,
        "charge_id": request.charge_id, "reason": request.reason, "channel": request.channel,
        "status": request.status, "approved_amount": money(request.approved_amount, currency),
        "created_at": iso(request.created_at), "sla_due_at": iso(request.sla_due_at)})


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
        blocked = charge_refund_blocker(charge=request.charge) if outcome == "refund" else None
        if amount <= settings.REFUNDABLE_AUTO_APPROVE_LIMIT and blocked is None:
            _move(request, S.APPROVED)
            request.approved_amount = amount

        else:
            _move(request, S.IN_REVIEW)
            request.sla_due_at = review_due_in_days(now=now, days=3)
    elif outcome == "deny":
        _move(request, S.DENIED)
    elif outcome == "review" or outcome == "fee":
        _move(request, S.IN_REVIEW)
        # The policy's review days, kept on the desk's business hours (desk/sla.py).
        request.sla_due_at = review_due(now=now, promised=decision.due_by
                                        or now + timedelta(days=14))
    elif outcome == "troubleshoot_first":
        _move(request, S.TROUBLESHOOTING)
        request.troubleshooting_state = "in_progress"
        request.troubleshooting_started_at = request.troubleshooting_started_at or now
        request.sla_due_at = decision.retry_after
    elif outcome == "offer":
        _move(request, S.OFFERED)
    else:
        _move(request, S.REDIRECTED)


def _reserve_if_approved(request: RefundRequest, decision: EngineDecision, charge: Charge,
                         now: datetime) -> None:
    """The policy approved a refund by itself: reserve it on the (locked) charge; it is sent
    after the commit."""
    if request.status == S.APPROVED and decision.outcome == "refund" and request.approved_amount:
        refund_reserve(actor=Actor.system("policy-engine"), charge=charge,
                       amount=request.approved_amount, request_id=request.pk, now=now)


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
        _reserve_if_approved(request, decision, charge, now)
        _route(request)
        _announce("refund_request.created", request)
        _announce("refund_request.decided", request)
        if request.status == S.TROUBLESHOOTING:
            _troubleshooting_start(request, decision)
        customer = charge.order.customer
        email_enqueue(template="refund_request_received", to=customer.email,
                      language=customer.locale, context={"request_id": request.pk})
    return request


def _policy_for(charge: Charge) -> Policy:
    subscription = charge.order.subscription
    return policy_named(subscription.plan.policy_file if subscription else "billing-desk.toml")


def _route(request: RefundRequest) -> None:
    """Give a request that waits for a person to its team (confidential ones to a team that
    handles confidential documents; troubleshooting to technical support)."""
    if request.team_id is not None or request.status not in (S.IN_REVIEW, S.TROUBLESHOOTING):
        return
    category = "technical" if request.status == S.TROUBLESHOOTING else "refund"
    team = team_for(category=category,
                    confidential=request.reason == SPECIAL_CIRCUMSTANCES)
    if team is not None:
        request.team = team
        request.save(update_fields=["team"])


def _troubleshooting_start(request: RefundRequest, decision: EngineDecision) -> None:
    """Seed 004: open the technical ticket and start the clock. When it ends
    (``retry_after``, 48 h) the job decides again unless the problem was solved."""
    from ..desk.services import ticket_create
    from .tasks import troubleshooting_clock_end

    channel = request.channel if request.channel in ("web", "email", "chat", "phone") else "web"
    ticket_create(
        actor=Actor.system("policy-engine"), category="technical", channel=channel,
        subject=f"Troubleshooting before refund — request #{request.pk}",
        body=request.description, refund_request_id=request.pk, now=request.created_at)
    due = decision.retry_after or request.sla_due_at
    assert due is not None
    transaction.on_commit(lambda: troubleshooting_clock_end.using(run_after=due).enqueue(
        request_id=request.pk))


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
        available = charge.refundable_amount
        if not 0 < amount <= available:
            raise RefundRequestError(f"the amount must be between 1 and {available} "
                                     "(minor units): the captured amount less what is refunded "
                                     "or approved already")
        before = snapshot(request, _FIELDS)
        last = request.decisions.order_by("-created_at", "-id").first()
        _move(request, S.APPROVED)
        request.approved_amount = amount
        request.resolution_note = reason
        request.money_attention = ""
        request.save()
        try:
            refund_reserve(actor=actor, charge=charge, amount=amount, request_id=request.pk,
                           now=now)
        except RefundError as exc:
            raise RefundRequestError(str(exc)) from exc
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
        _announce("refund_request.approved", request)
        _review_ended(actor, request, now)
        email_enqueue(template="refund_request_decided", to=request.customer.email,
                      language=request.customer.locale, context={"request_id": request.pk})
    return request


def refund_request_deny(*, actor: Actor, request_id: int, reason: str,
                        now: datetime | None = None) -> RefundRequest:
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
        _announce("refund_request.denied", request)
        _review_ended(actor, request, now)
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


def refund_request_info_received(*, actor: Actor, request_id: int, note: str = "",
                                 now: datetime | None = None) -> RefundRequest:
    """The customer answered an information request (a document, a reply): the request goes
    back to review with a fresh SLA. Does nothing unless information was requested."""
    now = now or timezone.now()
    with transaction.atomic():
        request = _locked_request(request_id)
        if request.status != S.INFO_REQUESTED:
            return request
        before = snapshot(request, _FIELDS)
        _move(request, S.IN_REVIEW)
        request.sla_due_at = review_due_in_days(now=now, days=3)
        request.save()
        audit_record(actor=actor, action="refund_request.info_received", obj=request,
                     customer_id=request.customer_id, before=before,
                     after=snapshot(request, _FIELDS), note=note)
    return request


def _review_ended(actor: Actor, request: RefundRequest, now: datetime | None) -> None:
    """Seed 002: « La documentation confidentielle sera supprimée immédiatement l'examen de
    votre demande terminé. »"""
    if request.reason == SPECIAL_CIRCUMSTANCES:
        attachments_purge_for(actor=actor, request_id=request.pk, now=now)


# --- Troubleshooting first (seed 004) -----------------------------------------------------------

def refund_request_troubleshooting_resolve(*, actor: Actor, request_id: int, note: str = "",
                                           now: datetime | None = None) -> RefundRequest:
    """Support solved the problem during the troubleshooting attempt: the request closes (no
    refund is due) and its open technical tickets are solved."""
    from ..desk.models import Ticket
    from ..desk.services import ticket_status_set

    now = now or timezone.now()
    with transaction.atomic():
        request = _locked_request(request_id)
        if request.status != S.TROUBLESHOOTING:
            raise RefundRequestError(f"refund request #{request.pk} is {request.status}, not "
                                     "in troubleshooting")
        before = snapshot(request, _FIELDS)
        _move(request, S.CLOSED)
        request.troubleshooting_state = "resolved"
        request.resolution_note = note.strip() or "Problem resolved by support."
        request.save()
        audit_record(actor=actor, action="refund_request.troubleshooting_resolve", obj=request,
                     customer_id=request.customer_id, before=before,
                     after=snapshot(request, _FIELDS), note=request.resolution_note)
        for ticket_id in request.tickets.filter(
                category=Ticket.Category.TECHNICAL,
                status__in=[Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING,
                            Ticket.Status.ON_HOLD]).values_list("pk", flat=True):
            ticket_status_set(actor=actor, ticket_id=ticket_id, status=Ticket.Status.SOLVED,
                              note=request.resolution_note, now=now)
        email_enqueue(template="refund_request_decided", to=request.customer.email,
                      language=request.customer.locale, context={"request_id": request.pk})
    return request


def refund_request_troubleshooting_expire(*, actor: Actor, request_id: int,
                                          now: datetime | None = None) -> RefundRequest:
    """The 48-hour clock ended (the job). If the technical ticket was solved, the problem is
    resolved; otherwise troubleshooting is "unresolved" and the policy decides again, with the
    facts as of the original request (``requested_at`` = when the customer asked), freezing a
    new decision and moving the request (approved, in review, denied…).

    Does nothing when the request has left troubleshooting; runs again later when called
    before the clock ends.
    """
    from ..desk.models import Ticket
    from ..desk.services import ticket_note_add, ticket_status_set
    from .tasks import troubleshooting_clock_end

    now = now or timezone.now()
    with transaction.atomic():
        request = _locked_request(request_id)
        if request.status != S.TROUBLESHOOTING:
            return request
        due = request.sla_due_at
        if due is not None and now < due:
            transaction.on_commit(lambda: troubleshooting_clock_end.using(
                run_after=due).enqueue(request_id=request_id))
            return request
        tickets = list(request.tickets.filter(category=Ticket.Category.TECHNICAL))
        if any(t.status in (Ticket.Status.SOLVED, Ticket.Status.CLOSED) for t in tickets):
            return refund_request_troubleshooting_resolve(
                actor=actor, request_id=request_id, now=now,
                note="The technical ticket was solved within the troubleshooting window.")
        charge = Charge.objects.select_for_update(of=("self",)).select_related(
            "order__subscription__plan", "order__customer").get(pk=request.charge_id)
        first = request.decisions.filter(decided_by="engine").order_by("created_at", "id").first()
        documents = list(first.facts.get("documents") or []) if first else []
        facts = refund_facts(charge=charge, requested_at=request.created_at,
                             reason=request.reason, documents=documents,
                             troubleshooting="unresolved",
                             troubleshooting_started_at=request.troubleshooting_started_at)
        decision = decide(_policy_for(charge), parse_facts(facts), statutory_floor())
        before = snapshot(request, _FIELDS)
        request.troubleshooting_state = "unresolved"
        _freeze(request, decision, facts, "engine")
        if decision.outcome == "troubleshoot_first":  # the policy still wants support: a person
            _move(request, S.IN_REVIEW)
            request.sla_due_at = review_due_in_days(now=now, days=3)
        else:
            _apply_outcome(request, decision, now)
        if request.status == S.IN_REVIEW:  # from technical support to the refund reviewers
            request.team = team_for(category="refund",
                                    confidential=request.reason == SPECIAL_CIRCUMSTANCES)
        request.save()
        audit_record(actor=actor, action="refund_request.troubleshooting_unresolved",
                     obj=request, customer_id=request.customer_id, before=before,
                     after=snapshot(request, _FIELDS),
                     note="the troubleshooting window ended with the problem unresolved")
        audit_record(actor=Actor.system("policy-engine"), action="refund_request.decide",
                     obj=request, customer_id=request.customer_id, before=before,
                     after=snapshot(request, _FIELDS),
                     note=f"{decision.outcome} by {decision.decided_by} rule {decision.rule}")
        _reserve_if_approved(request, decision, charge, now)
        _announce("refund_request.decided", request)
        outcome = request.status + (f" ({decision.amount} {decision.currency})"
                                    if decision.amount else "")
        for ticket in tickets:
            if ticket.status == Ticket.Status.CLOSED:
                continue
            ticket_note_add(actor=actor, ticket_id=ticket.pk, body=(
                f"The troubleshooting window ended with the problem unresolved. Refund request "
                f"#{request.pk} was decided again by the policy: {outcome}."))
            ticket_status_set(actor=actor, ticket_id=ticket.pk, status=Ticket.Status.SOLVED,
                              now=now, note="troubleshooting window over")
        email_enqueue(template="refund_request_decided", to=request.customer.email,
                      language=request.customer.locale, context={"request_id": request.pk})
    return request


# --- The desk: assignment and SLA escalation ----------------------------------------------------

def refund_request_assign(*, actor: Actor, request_id: int, team_id: int | None,
                          assignee_id: int | None) -> RefundRequest:
    """Give the request to a team and/or an agent (None: nobody)."""
    problem = assignment_problem(team_id=team_id, assignee_id=assignee_id)
    if problem:
        raise RefundRequestError(problem)
    with transaction.atomic():
        request = _locked_request(request_id)
        if (request.team_id, request.assignee_id) == (team_id, assignee_id):
            return request
        before = snapshot(request, _DESK_FIELDS)
        request.team_id = team_id
        request.assignee_id = assignee_id
        request.save(update_fields=["team", "assignee"])
        audit_record(actor=actor, action="refund_request.assign", obj=request,
                     customer_id=request.customer_id, before=before,
                     after=snapshot(request, _DESK_FIELDS))
    return request


def refund_request_money_attention(*, actor: Actor, request_id: int, note: str,
                                   now: datetime | None = None) -> RefundRequest:
    """After approval the money needs a person (a refund failed, was canceled or is
    overdue): the request returns to the desk's queue, at the top, with ``note`` saying why.
    Cleared when an agent sends the refund again or closes the request."""
    now = now or timezone.now()
    with transaction.atomic():
        request = _locked_request(request_id)
        before = snapshot(request, [*_DESK_FIELDS, "money_attention"])
        request.money_attention = note[:200]
        request.priority = 1
        request.escalated_at = request.escalated_at or now
        request.sla_due_at = now
        request.save(update_fields=["money_attention", "priority", "escalated_at",
                                    "sla_due_at"])
        audit_record(actor=actor, action="refund_request.money_attention", obj=request,
                     customer_id=request.customer_id, before=before,
                     after=snapshot(request, [*_DESK_FIELDS, "money_attention"]), note=note)
    return request


def refund_request_close(*, actor: Actor, request_id: int, reason: str) -> RefundRequest:
    """Close a request for good (a lost dispute: the bank already returned the money)."""
    with transaction.atomic():
        request = _locked_request(request_id)
        if request.status == S.CLOSED:
            return request
        before = snapshot(request, _FIELDS)
        _move(request, S.CLOSED)
        request.resolution_note = reason
        request.money_attention = ""
        request.save()
        audit_record(actor=actor, action="refund_request.close", obj=request,
                     customer_id=request.customer_id, before=before,
                     after=snapshot(request, _FIELDS), note=reason)
        _announce("refund_request.closed", request)
    return request


def refund_request_escalate(*, actor: Actor, request_id: int,
                            now: datetime | None = None) -> bool:
    """Priority 1 and an ``sla.escalated`` event for a request waiting past its due time
    (once). False when there is nothing to escalate."""
    now = now or timezone.now()
    with transaction.atomic():
        request = _locked_request(request_id)
        if (request.status not in (S.SUBMITTED, S.IN_REVIEW) or request.escalated_at is not None
                or request.sla_due_at is None or request.sla_due_at >= now):
            return False
        before = snapshot(request, _DESK_FIELDS)
        request.priority = 1
        request.escalated_at = now
        request.save(update_fields=["priority", "escalated_at"])
        audit_record(actor=actor, action="sla.escalated", obj=request,
                     customer_id=request.customer_id, before=before,
                     after=snapshot(request, _DESK_FIELDS),
                     note=f"review was due at {request.sla_due_at.isoformat()}")
    return True
