"""State changes of the desk: tickets (create, reply, internal note, assign, status), macros,
SLA escalation and customers' replies by e-mail. Each runs in one transaction, writes its
audit event and enqueues e-mail on commit; internal notes are never e-mailed.
"""

from __future__ import annotations

import email.policy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..audit.services import Actor, audit_record, snapshot
from ..customers.models import Customer
from ..notifications.services import email_enqueue
from ..refunds.models import RefundRequest
from . import sla
from .models import InboundEmail, Macro, Team, Ticket, TicketMessage
from .selectors import assignment_problem, team_for, ticket_due

if TYPE_CHECKING:
    from .inbound import InboundEmailData

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


# --- Replies by e-mail ------------------------------------------------------------------------

@dataclass(frozen=True)
class InboundReceipt:
    """What became of a received e-mail. ``outcome`` is an ``InboundEmail.Status`` or
    ``duplicate`` (the same Message-ID was received before: nothing new was stored)."""

    outcome: str
    inbound_id: int | None
    ticket_id: int | None = None
    ticket_message_id: int | None = None
    reason: str = ""
    detail: str = ""

    def __str__(self) -> str:
        where = f" to ticket #{self.ticket_id}" if self.ticket_id else ""
        why = f": {self.reason}" + (f" ({self.detail})" if self.detail else "") \
            if self.reason else ""
        return f"{self.outcome}{where}{why}"


def _receipt(inbound: InboundEmail, outcome: str | None = None) -> InboundReceipt:
    return InboundReceipt(outcome=outcome or inbound.status, inbound_id=inbound.pk,
                          ticket_id=inbound.ticket_id,
                          ticket_message_id=inbound.ticket_message_id,
                          reason=inbound.reason, detail=inbound.detail)


def ticket_message_receive(*, actor: Actor, raw_message: bytes,
                           recipients: Sequence[str] = (),
                           now: datetime | None = None) -> InboundReceipt:
    """Receive one e-mail (RFC 5322 bytes) sent to the inbound address.

    The ticket is found by the signed reply address among ``recipients`` (the envelope's,
    from the MTA) and the To/Cc/Delivered-To headers; else by the In-Reply-To/References of an
    e-mail we sent; else by ``[#id]`` in the subject, but only when the sender is that
    ticket's customer. When found and sent from the ticket customer's address, the new words
    (quoted history and signature removed; text/plain preferred, HTML converted) become a
    public message from the customer, a pending or solved ticket opens again, and the attached
    PDF, PNG and JPEG files go to the ticket's refund request (other files, or all when there is
    no request, are listed in the message). Anything else is recorded for an agent with the
    reason (``unmatched``, ``rejected``, ``ignored`` for automatic replies). Idempotent by
    Message-ID. Never raises on bad input: the receipt says what happened.
    """
    from .inbound import UnreadableEmail, parse_email

    now = now or timezone.now()
    raw = bytes(raw_message)
    limit = int(settings.REFUNDABLE_INBOUND_MAX_BYTES)
    if len(raw) > limit:
        return _inbound_reject(actor, key=_header_key(raw), raw=raw, now=now,
                               reason=InboundEmail.Reason.TOO_LARGE,
                               detail=f"{len(raw)} > {limit} bytes")
    try:
        data = parse_email(raw, envelope_recipients=tuple(recipients))
    except UnreadableEmail as exc:
        return _inbound_reject(actor, key=_header_key(raw), raw=raw, now=now,
                               reason=InboundEmail.Reason.UNREADABLE, detail=str(exc),
                               keep_raw=True)
    found = InboundEmail.objects.defer("raw").filter(message_id=data.message_id).first()
    if found is not None:
        return _receipt(found, "duplicate")
    try:
        with transaction.atomic():
            return _inbound_route(actor, data, raw, now)
    except IntegrityError:
        # The same message delivered twice at once: the other delivery stored it.
        found = InboundEmail.objects.defer("raw").filter(message_id=data.message_id).first()
        if found is None:
            raise
        return _receipt(found, "duplicate")


def _header_key(raw: bytes) -> str:
    """The Message-ID key of bytes too large or too broken to read in full."""
    from .inbound import message_key

    try:
        headers = BytesHeaderParser(policy=email.policy.default).parsebytes(raw[:65536])
        value = str(headers.get("Message-ID") or "")
    except Exception:  # unreadable headers: the key is the bytes' hash
        value = ""
    return message_key(raw, value)


def _inbound_reject(actor: Actor, *, key: str, raw: bytes, now: datetime, reason: str,
                    detail: str, keep_raw: bool = False) -> InboundReceipt:
    """Record bytes that could not be read (kept, for an operator to look at) or were too
    large (not kept), once per key."""
    found = InboundEmail.objects.defer("raw").filter(message_id=key).first()
    if found is not None:
        return _receipt(found, "duplicate")
    try:
        with transaction.atomic():
            inbound = InboundEmail.objects.create(
                message_id=key, received_at=now, status=InboundEmail.Status.REJECTED,
                reason=reason, detail=detail[:300], size=len(raw),
                raw=raw if keep_raw else None)
            audit_record(actor=actor, action="inbound_email.rejected", obj=inbound,
                         note=f"{reason}: {detail}"[:1000])
    except IntegrityError:
        return _receipt(InboundEmail.objects.defer("raw").get(message_id=key), "duplicate")
    return _receipt(inbound)


def _inbound_route(actor: Actor, data: InboundEmailData, raw: bytes,
                   now: datetime) -> InboundReceipt:
    """Decide where the message goes, inside the caller's transaction."""
    from .inbound import clean
    from .mail import ticket_from_address, ticket_from_message_id, ticket_from_subject

    # Inserted first, so a concurrent delivery of the same message fails here, before any
    # file is written.
    inbound = InboundEmail.objects.create(
        message_id=data.message_id, received_at=now, status=InboundEmail.Status.UNMATCHED,
        sender=clean(data.sender, 254), sender_name=data.sender_name, subject=data.subject,
        recipients=[clean(r, 254) for r in data.recipients[:20]], body=data.text,
        size=len(raw), raw=raw,
        customer=Customer.objects.filter(email__iexact=data.sender).first()
        if data.sender else None)
    R = InboundEmail.Reason
    if data.automatic:
        return _inbound_leave(actor, inbound, InboundEmail.Status.IGNORED, R.AUTOMATIC,
                              data.automatic, keep_raw=False)
    if not data.sender:
        return _inbound_leave(actor, inbound, InboundEmail.Status.REJECTED, R.NO_SENDER, "")
    ticket_id, found_by, forged = None, "", ""
    for address in data.recipients:
        check = ticket_from_address(address)
        if check.ticket_id is not None:
            ticket_id, found_by = check.ticket_id, "reply address"
            break
        if check.forged and not forged:
            forged = address
    if ticket_id is None and forged:
        return _inbound_leave(actor, inbound, InboundEmail.Status.REJECTED, R.FORGED_TOKEN,
                              forged)
    if ticket_id is None:
        ticket_id = next((found for found in map(ticket_from_message_id, data.answers)
                          if found is not None), None)
        found_by = "In-Reply-To/References"
    if ticket_id is None:
        by_subject = ticket_from_subject(data.subject)
        if by_subject is not None and Ticket.objects.filter(
                pk=by_subject, customer__email__iexact=data.sender).exists():
            ticket_id, found_by = by_subject, "subject and sender"
    ticket = _locked_ticket(ticket_id) if ticket_id is not None and Ticket.objects.filter(
        pk=ticket_id).exists() else None
    if ticket is None:
        return _inbound_leave(actor, inbound, InboundEmail.Status.UNMATCHED, R.NO_TICKET,
                              f"#{ticket_id}" if ticket_id else "")
    inbound.ticket = ticket
    if ticket.customer is None or ticket.customer.email.lower() != data.sender:
        return _inbound_leave(actor, inbound, InboundEmail.Status.UNMATCHED, R.NOT_CUSTOMER,
                              data.sender)
    if ticket.status == S.CLOSED:
        return _inbound_leave(actor, inbound, InboundEmail.Status.UNMATCHED, R.TICKET_CLOSED,
                              f"#{ticket.pk}")
    message = _inbound_attach(actor, inbound, ticket, data, found_by=found_by)
    return InboundReceipt(outcome=inbound.status, inbound_id=inbound.pk, ticket_id=ticket.pk,
                          ticket_message_id=message.pk)


def _inbound_leave(actor: Actor, inbound: InboundEmail, status: str, reason: str, detail: str,
                   *, keep_raw: bool = True) -> InboundReceipt:
    """Record the message for an agent (not on a ticket), with the reason."""
    inbound.status, inbound.reason, inbound.detail = status, reason, detail[:300]
    if not keep_raw:
        inbound.raw = None
    inbound.save()
    audit_record(actor=actor, action=f"inbound_email.{status}", obj=inbound,
                 customer_id=inbound.customer_id,
                 note=f"from {inbound.sender or '?'}: {reason}"
                      + (f" ({detail})" if detail else ""))
    return _receipt(inbound)


def _inbound_attach(actor: Actor, inbound: InboundEmail, ticket: Ticket,
                    data: InboundEmailData, *, found_by: str) -> TicketMessage:
    """Store the message on the (locked) ticket as the customer's, keep its files, open the
    ticket again if it was waiting on the customer or solved."""
    customer = ticket.customer
    by_customer = customer is not None and customer.email.lower() == data.sender
    author = customer.name if by_customer and customer is not None else (
        data.sender_name or data.sender)
    before = snapshot(ticket, _FIELDS)
    message = TicketMessage.objects.create(
        ticket=ticket, author=author[:200], body=data.text, internal=False,
        author_user=customer.user if by_customer and customer is not None else None)
    files = _inbound_files(actor, ticket, data)
    not_kept = [f for f in files if not f["kept"]]
    if not_kept:
        language = customer.locale if customer is not None else "en"
        with translation.override(language):
            listing = "\n".join(
                f"- {f['name']} ({f['content_type']}, {filesizeformat(f['size'])})"
                for f in not_kept)
            message.body = (message.body + "\n\n" if message.body else "") + _(
                "Files attached to the e-mail, not kept:") + "\n" + listing
        message.save(update_fields=["body"])
    if ticket.status in (S.PENDING, S.SOLVED) and S.OPEN in Ticket.TRANSITIONS[ticket.status]:
        ticket.status = S.OPEN
        ticket.solved_at = None
        ticket.save(update_fields=["status", "solved_at"])
    inbound.status, inbound.reason, inbound.detail = InboundEmail.Status.ATTACHED, "", ""
    inbound.ticket, inbound.ticket_message, inbound.attachments = ticket, message, files
    inbound.raw = None  # everything is on the ticket and the request now
    inbound.save()
    kept = sum(1 for f in files if f["kept"])
    audit_record(actor=actor, action="ticket.email_receive", obj=ticket,
                 customer_id=ticket.customer_id, before=before,
                 after=snapshot(ticket, _FIELDS),
                 note=f"public message {message.pk} by e-mail from {data.sender} "
                      f"{inbound.message_id} (found by {found_by}); {len(files)} file(s), "
                      f"{kept} kept"[:1000])
    return message


def _inbound_files(actor: Actor, ticket: Ticket, data: InboundEmailData) -> list[dict[str, Any]]:
    """Each attached file: kept on the ticket's refund request when it is a PDF, PNG or JPEG
    small enough (``attachment_add`` decides), else only described."""
    from django.core.files.base import ContentFile

    from ..refunds.attachments import ATTACHMENT_MAX_BYTES, attachment_add, sniff_content_type
    from ..refunds.errors import AttachmentError
    from .inbound import ATTACHMENTS_MAX

    described: list[dict[str, Any]] = []
    for index, file in enumerate(data.files):
        sniffed = sniff_content_type(file.data[:16])
        entry: dict[str, Any] = {
            "name": file.filename, "content_type": sniffed[0] if sniffed else file.declared_type,
            "size": len(file.data), "kept": False, "attachment_id": None,
            "request_id": ticket.refund_request_id, "why": ""}
        if index >= ATTACHMENTS_MAX:
            entry["why"] = "too_many"
        elif not file.data:
            entry["why"] = "empty"
        elif sniffed is None:
            entry["why"] = "type_refused"
        elif len(file.data) > ATTACHMENT_MAX_BYTES:
            entry["why"] = "too_large"
        elif ticket.refund_request_id is None:
            entry["why"] = "no_request"
        else:
            try:
                attachment = attachment_add(
                    actor=actor, request_id=ticket.refund_request_id, kind="email_attachment",
                    uploaded_file=ContentFile(file.data, name=file.filename))
            except AttachmentError as exc:
                entry["why"], entry["detail"] = "refused", str(exc)
            else:
                entry.update(kept=True, attachment_id=attachment.pk, why="kept")
        described.append(entry)
    return described


def inbound_email_attach(*, actor: Actor, inbound_id: int, ticket_id: int) -> TicketMessage:
    """An agent puts a received e-mail that was left for review on a ticket (a stranger's
    address the agent recognises, a reply to a closed ticket moved to a new one…): the same as
    a matched reply, the agent vouching for the sender."""
    from .inbound import UnreadableEmail, parse_email

    with transaction.atomic():
        inbound = InboundEmail.objects.select_for_update().get(pk=inbound_id)
        if inbound.status == InboundEmail.Status.ATTACHED:
            raise DeskError(_("This e-mail is already on ticket #%(id)s.")
                            % {"id": inbound.ticket_id})
        if inbound.raw is None:
            raise DeskError(_("This e-mail was not kept in full: it cannot be attached."))
        ticket = _locked_ticket(ticket_id)
        if ticket.status == S.CLOSED:
            raise DeskError(_("This ticket is closed."))
        try:
            data = parse_email(bytes(inbound.raw))
        except UnreadableEmail as exc:
            raise DeskError(_("This e-mail cannot be read: %(reason)s")
                            % {"reason": str(exc)}) from None
        previous = f"{inbound.status}: {inbound.reason}"
        inbound.reviewed_at = timezone.now()
        inbound.reviewed_by = actor.user if actor.user and actor.user.pk else None
        message = _inbound_attach(actor, inbound, ticket, data,
                                  found_by=f"an agent ({previous})")
    return message


def inbound_email_dismiss(*, actor: Actor, inbound_id: int) -> InboundEmail:
    """An agent has looked at an e-mail left for review and there is nothing to do with it:
    it leaves the list (and its content, kept for attaching, is deleted)."""
    with transaction.atomic():
        inbound = InboundEmail.objects.select_for_update().get(pk=inbound_id)
        if inbound.status == InboundEmail.Status.ATTACHED:
            raise DeskError(_("This e-mail is already on ticket #%(id)s.")
                            % {"id": inbound.ticket_id})
        if inbound.reviewed_at is not None:
            return inbound
        inbound.reviewed_at = timezone.now()
        inbound.reviewed_by = actor.user if actor.user and actor.user.pk else None
        inbound.raw = None
        inbound.save(update_fields=["reviewed_at", "reviewed_by", "raw"])
        audit_record(actor=actor, action="inbound_email.dismiss", obj=inbound,
                     customer_id=inbound.customer_id,
                     note=f"{inbound.status}: {inbound.reason}")
    return inbound
