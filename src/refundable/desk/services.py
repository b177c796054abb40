"""State changes of the desk: tickets (create, reply, internal note, assign, status), macros and
SLA escalation. Each runs in one transaction, writes its audit event and enqueues e-mail on
commit; internal notes are never e-mailed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..audit.services import Actor, audit_record, snapshot
from ..customers.models import Customer
from ..notifications.services import email_enqueue
from ..refunds.models import RefundRequest
from . import sla
from .models import Macro, Team, Ticket, TicketMessage
from .selectors import assignment_problem, team_for, ticket_due

_FIELDS = ["status", "priority", "team_id", "assignee_id", "first_response_due_at",
           "first_responded_at", "resolution_due_at", "solved_at", "escalated_at"]
S = Ticket.Status
# The SLA clock runs while the desk owes an answer; pending (the customer) and on hold (a third
# party) wait on someone else.
ESCALATED_TICKET_STATUSES = (S.NEW, S.OPEN)
ESCALATED_REQUEST_STATUSES = (RefundRequest.Status.SUBMITTED, RefundRequest.Status.IN_REVIEW)


class DeskError(Exception):
    """A change the desk refuses (message for people)."""


def _author(actor: Actor) -> str:
    user = actor.user
    if user is not None:
        return user.get_full_name() or user.get_username()
    return actor.label


def _locked_ticket(ticket_id: int) -> Ticket:
    return Ticket.objects.select_for_update(of=("self",)).select_related("customer").get(
        pk=ticket_id)


def ticket_create(*, actor: Actor, category: str, subject: str, body: str = "",
                  customer_id: int | None = None, refund_request_id: int | None = None,
                  channel: str = "web", priority: int = 2, team_id: int | None = None,
                  now: datetime | None = None) -> Ticket:
    """Open a ticket, routed to the category's team unless ``team_id`` is given, with its SLA
    timers on business hours (first response by priority; resolution by category, or the
    refund request's due time). ``body`` becomes the first public message (the customer's
    words, also when an agent logs a phone call)."""
    if category not in Ticket.Category.values:
        raise DeskError(_("Unknown category: %(value)s") % {"value": category})
    if channel not in Ticket.Channel.values:
        raise DeskError(_("Unknown channel: %(value)s") % {"value": channel})
    if priority not in (1, 2, 3, 4):
        raise DeskError(_("The priority goes from 1 (urgent) to 4 (low)."))
    if not subject.strip():
        raise DeskError(_("A subject is required."))
    now = now or timezone.now()
    with transaction.atomic():
        request = None
        if refund_request_id is not None:
            request = RefundRequest.objects.get(pk=refund_request_id)
            if customer_id is not None and customer_id != request.customer_id:
                raise DeskError(_("The refund request belongs to another customer."))
            customer_id = request.customer_id
        customer = Customer.objects.get(pk=customer_id) if customer_id is not None else None
        if team_id is not None:
            team: Team | None = Team.objects.get(pk=team_id)
        else:
            team = team_for(category=category, confidential=request is not None
                            and request.reason == "special_circumstances")
        ticket = Ticket.objects.create(
            customer=customer, refund_request=request, category=category, channel=channel,
            priority=priority, subject=subject.strip()[:200], team=team, created_at=now,
            first_response_due_at=sla.first_response_due(created_at=now, priority=priority),
            resolution_due_at=sla.resolution_due(
                created_at=now, category=category,
                request_due_at=request.sla_due_at if request is not None else None))
        if body.strip():
            by_customer = actor.kind == "customer" and actor.user and actor.user.pk
            TicketMessage.objects.create(
                ticket=ticket, author=customer.name if customer else _author(actor),
                author_user=actor.user if by_customer else None, body=body.strip(),
                internal=False)
        audit_record(actor=actor, action="ticket.create", obj=ticket, customer_id=customer_id,
                     after=snapshot(ticket, _FIELDS), note=f"{category} via {channel}")
    return ticket


def ticket_reply(*, actor: Actor, ticket_id: int, body: str,
                 now: datetime | None = None) -> TicketMessage:
    """A public reply, e-mailed to the customer in their language after commit. The first one
    stops the first-response timer; a new ticket becomes open."""
    if not body.strip():
        raise DeskError(_("The reply is empty."))
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _locked_ticket(ticket_id)
        if ticket.status == S.CLOSED:
            raise DeskError(_("This ticket is closed."))
        customer = ticket.customer
        if customer is None:
            raise DeskError(_("This ticket has no customer to reply to."))
        before = snapshot(ticket, _FIELDS)
        message = TicketMessage.objects.create(
            ticket=ticket, author=_author(actor), body=body.strip(), internal=False,
            author_user=actor.user if actor.user and actor.user.pk else None)
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
        if ticket.status == S.NEW:
            ticket.status = S.OPEN
        ticket.save()
        audit_record(actor=actor, action="ticket.reply", obj=ticket, customer_id=customer.pk,
                     before=before, after=snapshot(ticket, _FIELDS),
                     note=f"public message {message.pk} e-mailed to the customer")
        email_enqueue(template="ticket_reply", to=customer.email, language=customer.locale,
                      context={"ticket_id": ticket.pk, "message_id": message.pk})
    return message


def ticket_note_add(*, actor: Actor, ticket_id: int, body: str) -> TicketMessage:
    """An internal note: for the desk only, never shown to the customer, never e-mailed."""
    if not body.strip():
        raise DeskError(_("The note is empty."))
    with transaction.atomic():
        ticket = _locked_ticket(ticket_id)
        message = TicketMessage.objects.create(
            ticket=ticket, author=_author(actor), body=body.strip(), internal=True,
            author_user=actor.user if actor.user and actor.user.pk else None)
        audit_record(actor=actor, action="ticket.note_add", obj=ticket,
                     customer_id=ticket.customer_id, note=f"internal note {message.pk}")
    return message


def ticket_assign(*, actor: Actor, ticket_id: int, team_id: int | None,
                  assignee_id: int | None) -> Ticket:
    """Give the ticket to a team and/or an agent (None: nobody). An agent given with a team must
    be a member of it."""
    problem = assignment_problem(team_id=team_id, assignee_id=assignee_id)
    if problem:
        raise DeskError(problem)
    with transaction.atomic():
        ticket = _locked_ticket(ticket_id)
        if (ticket.team_id, ticket.assignee_id) == (team_id, assignee_id):
            return ticket
        before = snapshot(ticket, _FIELDS)
        ticket.team_id = team_id
        ticket.assignee_id = assignee_id
        ticket.save(update_fields=["team", "assignee"])
        audit_record(actor=actor, action="ticket.assign", obj=ticket,
                     customer_id=ticket.customer_id, before=before,
                     after=snapshot(ticket, _FIELDS))
    return ticket


def ticket_status_set(*, actor: Actor, ticket_id: int, status: str, note: str = "",
                      now: datetime | None = None) -> Ticket:
    """Move the ticket along ``Ticket.TRANSITIONS``. Solving the technical ticket of a request
    in troubleshooting (seed 004) marks the problem resolved, which closes the request."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _locked_ticket(ticket_id)
        if status not in Ticket.TRANSITIONS.get(ticket.status, set()):
            raise DeskError(_("A %(current)s ticket cannot become %(target)s.")
                            % {"current": ticket.status, "target": status})
        before = snapshot(ticket, _FIELDS)
        ticket.status = status
        if status == S.SOLVED:
            ticket.solved_at = now
        elif status != S.CLOSED:
            ticket.solved_at = None
        ticket.save()
        audit_record(actor=actor, action="ticket.status", obj=ticket,
                     customer_id=ticket.customer_id, before=before,
                     after=snapshot(ticket, _FIELDS), note=note)
        if status == S.SOLVED and ticket.refund_request_id is not None and (
                ticket.category == Ticket.Category.TECHNICAL):
            from ..refunds.services import refund_request_troubleshooting_resolve

            request = RefundRequest.objects.get(pk=ticket.refund_request_id)
            if request.status == RefundRequest.Status.TROUBLESHOOTING:
                refund_request_troubleshooting_resolve(
                    actor=actor, request_id=request.pk, now=now,
                    note=note or _("Problem solved by support (ticket #%(id)s).")
                    % {"id": ticket.pk})
    return ticket


class _Placeholders(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def macro_apply(*, actor: Actor, ticket_id: int, macro_id: int) -> str:
    """The macro's text in the customer's language with its placeholders filled
    (``{customer_name}``, ``{ticket_id}``, ``{request_id}``, ``{agent_name}``), to put in the
    reply box. Nothing is written or sent: the agent reviews it and sends it with
    ``ticket_reply``."""
    ticket = Ticket.objects.select_related("customer").get(pk=ticket_id)
    macro = Macro.objects.get(pk=macro_id)
    language = ticket.customer.locale if ticket.customer else "en"
    text = macro.body_fr if language == "fr" and macro.body_fr else macro.body_en
    values = _Placeholders(
        customer_name=ticket.customer.name if ticket.customer else "",
        ticket_id=str(ticket.pk), request_id=str(ticket.refund_request_id or ""),
        agent_name=_author(actor))
    try:
        return text.format_map(values)
    except (ValueError, IndexError):  # stray braces: the text as written
        return text


def ticket_escalate(*, actor: Actor, ticket_id: int, now: datetime | None = None) -> bool:
    """Priority 1 and an ``sla.escalated`` event for a ticket past its due time (once)."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _locked_ticket(ticket_id)
        due, label = ticket_due(ticket)
        if (ticket.status not in ESCALATED_TICKET_STATUSES or ticket.escalated_at is not None
                or due is None or due >= now):
            return False
        before = snapshot(ticket, _FIELDS)
        ticket.priority = 1
        ticket.escalated_at = now
        ticket.save(update_fields=["priority", "escalated_at"])
        audit_record(actor=actor, action="sla.escalated", obj=ticket,
                     customer_id=ticket.customer_id, before=before,
                     after=snapshot(ticket, _FIELDS),
                     note=f"{label} was due at {due.isoformat()}")
    return True


def sla_escalate_overdue(*, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """The periodic batch: every ticket and refund request past its SLA due time gets priority
    1 and an ``sla.escalated`` audit event, each once, each in its own transaction."""
    from ..refunds.services import refund_request_escalate

    now = now or timezone.now()
    ticket_ids = list(Ticket.objects.filter(
        status__in=ESCALATED_TICKET_STATUSES, escalated_at__isnull=True).filter(
        Q(resolution_due_at__lt=now)
        | Q(first_responded_at__isnull=True, first_response_due_at__lt=now),
    ).values_list("pk", flat=True))
    request_ids = list(RefundRequest.objects.filter(
        status__in=ESCALATED_REQUEST_STATUSES, escalated_at__isnull=True,
        sla_due_at__lt=now).values_list("pk", flat=True))
    tickets = sum(ticket_escalate(actor=actor, ticket_id=pk, now=now) for pk in ticket_ids)
    requests = sum(refund_request_escalate(actor=actor, request_id=pk, now=now)
                   for pk in request_ids)
    return {"tickets": tickets, "requests": requests}
