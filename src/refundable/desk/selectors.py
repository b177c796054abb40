"""Reads for the desk: tickets, the queue ordered by SLA, request and ticket pages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Case, F, Prefetch, Q, QuerySet, When
from django.utils.translation import gettext

from ..audit.models import AuditEvent
from ..billing.models import Charge, Order
from ..customers.models import Customer, StaffProfile
from ..refunds.models import Attachment, RefundRequest
from ..refunds.models import Decision as RefundDecision
from ..subscriptions.models import Subscription
from .models import InboundEmail, Macro, Team, Ticket, TicketMessage


def tickets_visible(*, customer_id: int | None, status: str | None = None,
                    category: str | None = None) -> QuerySet[Ticket]:
    """Tickets with their team and *public* messages only (internal notes never leave the
    desk): only ``customer_id``'s, or with ``None`` every ticket (an integrator key)."""
    tickets = Ticket.objects.select_related("team").prefetch_related(
        Prefetch("messages", queryset=TicketMessage.objects.filter(internal=False)
                 .order_by("created_at", "id"), to_attr="public_messages"))
    if customer_id is not None:
        tickets = tickets.filter(customer_id=customer_id)
    if status:
        tickets = tickets.filter(status=status)
    if category:
        tickets = tickets.filter(category=category)
    return tickets


# --- The agent desk ---------------------------------------------------------------------------

# Open work: what the queue lists (terminal and customer-side states are left out).
OPEN_TICKET_STATUSES = ("new", "open", "pending", "on_hold")
OPEN_REQUEST_STATUSES = ("submitted", "troubleshooting", "in_review", "info_requested")
# Which team takes a category, first existing code wins; confidential work goes to a team that
# handles confidential documents (seed 002: "acheminée vers l'équipe appropriée").
ROUTES: dict[str, tuple[str, ...]] = {
    "billing": ("billing",), "refund": ("refund", "billing"),
    "technical": ("technical", "support"), "cancellation": ("cancellation", "billing"),
    "account": ("account", "support", "billing"), "other": ("support", "billing"),
}


def staff_profile_of(user: AbstractBaseUser | AnonymousUser) -> StaffProfile | None:
    """The agent or operator profile of a signed-in user; None for anyone else."""
    if not user.is_authenticated or not user.is_active:
        return None
    return StaffProfile.objects.filter(user_id=user.pk).prefetch_related("teams").first()


def can_view_confidential(*, user_id: int) -> bool:
    """Confidential documents are for members of a team that handles them (seed 002)."""
    return Team.objects.filter(handles_confidential=True, members__user_id=user_id).exists()


def team_for(*, category: str, confidential: bool = False) -> Team | None:
    """The team a new ticket or request of ``category`` is routed to (None: nobody yet)."""
    if confidential:
        team = Team.objects.filter(handles_confidential=True).order_by("id").first()
        if team is not None:
            return team
    teams = {t.code: t for t in Team.objects.filter(code__in=ROUTES.get(category, ()))}
    return next((teams[code] for code in ROUTES.get(category, ()) if code in teams), None)


def assignment_problem(*, team_id: int | None, assignee_id: int | None) -> str | None:
    """Why this team/agent pair cannot be assigned (None when it can)."""
    if team_id is not None and not Team.objects.filter(pk=team_id).exists():
        return gettext("This team does not exist.")
    if assignee_id is None:
        return None
    profile = StaffProfile.objects.filter(user_id=assignee_id).first()
    if profile is None:
        return gettext("Only agents and operators can be assigned.")
    if team_id is not None and not profile.teams.filter(pk=team_id).exists():
        return gettext("This agent is not a member of the team.")
    return None


def teams_all() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def agents_all() -> QuerySet[StaffProfile]:
    return StaffProfile.objects.select_related("user").order_by("user__username")


def macros_all() -> QuerySet[Macro]:
    return Macro.objects.order_by("name")


@dataclass(frozen=True)
class QueueItem:
    """One line of the queue: a refund request or a ticket, with its SLA due time."""

    kind: str  # "request" or "ticket"
    pk: int
    subject: str
    customer: Customer | None
    category: str
    status: str
    priority: int
    team: Team | None
    assignee: AbstractBaseUser | None
    due_at: datetime | None
    due_label: str  # "first_response", "resolution" or "review"
    overdue: bool
    created_at: datetime

    @property
    def sort_key(self) -> tuple[bool, datetime, int, datetime, int]:
        far = datetime.max.replace(tzinfo=UTC)
        return (self.due_at is None, self.due_at or far, self.priority, self.created_at,
                self.pk)


def ticket_due(ticket: Ticket) -> tuple[datetime | None, str]:
    """The next SLA deadline of a ticket: the first response until it is given, then the
    resolution."""
    if ticket.first_responded_at is None and ticket.first_response_due_at is not None and (
            ticket.resolution_due_at is None
            or ticket.first_response_due_at <= ticket.resolution_due_at):
        return ticket.first_response_due_at, "first_response"
    return ticket.resolution_due_at, "resolution"


QUEUE_LIMIT = 300


def desk_queue(*, now: datetime, team_id: int | None = None, category: str | None = None,
               status: str | None = None, assignee: int | str | None = None,
               kind: str | None = None, limit: int = QUEUE_LIMIT) -> list[QueueItem]:
    """Open refund requests and tickets, ordered by SLA due time: the overdue first (their due
    time is the earliest), then the soonest due, then the ones without a deadline; the first
    ``limit`` of them (each kind is ordered and cut in the database, then merged).

    Filters: ``team_id``; ``category`` (refund requests count as "refund"); ``status`` (a
    ticket or request status); ``assignee`` a user id or ``"none"`` for unassigned; ``kind``
    "request" or "ticket".
    """
    # A ticket's next deadline: the first response until it is given (when it comes first),
    # then the resolution — as ``ticket_due`` computes it, in SQL.
    first_response_next = (Q(first_responded_at__isnull=True)
                           & Q(first_response_due_at__isnull=False)
                           & (Q(resolution_due_at__isnull=True)
                              | Q(first_response_due_at__lte=F("resolution_due_at"))))
    tickets = Ticket.objects.filter(status__in=OPEN_TICKET_STATUSES).select_related(
        "customer", "team", "assignee").annotate(next_due=Case(
            When(first_response_next, then=F("first_response_due_at")),
            default=F("resolution_due_at"))).order_by(
        F("next_due").asc(nulls_last=True), "priority", "created_at", "id")
    # Approved requests come back while their money needs a person (failed or overdue).
    requests = RefundRequest.objects.filter(
        Q(status__in=OPEN_REQUEST_STATUSES) | ~Q(money_attention="")).select_related(
        "customer", "team", "assignee", "charge__order").order_by(
        F("sla_due_at").asc(nulls_last=True), "priority", "created_at", "id")
    if team_id is not None:
        tickets = tickets.filter(team_id=team_id)
        requests = requests.filter(team_id=team_id)
    if category:
        tickets = tickets.filter(category=category)
        if category != "refund":
            requests = requests.none()
    if status:
        tickets = tickets.filter(status=status)
        requests = requests.filter(status=status)
    if assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
        requests = requests.filter(assignee__isnull=True)
    elif assignee is not None:
        tickets = tickets.filter(assignee_id=int(assignee))
        requests = requests.filter(assignee_id=int(assignee))
    if kind == "ticket":
        requests = requests.none()
    elif kind == "request":
        tickets = tickets.none()
    items = []
    for ticket in tickets[:limit]:
        due, label = ticket_due(ticket)
        items.append(QueueItem(
            kind="ticket", pk=ticket.pk, subject=ticket.subject, customer=ticket.customer,
            category=ticket.category, status=ticket.status, priority=ticket.priority,
            team=ticket.team, assignee=ticket.assignee, due_at=due, due_label=label,
            overdue=due is not None and due < now, created_at=ticket.created_at))
    for request in requests[:limit]:
        items.append(QueueItem(
            kind="request", pk=request.pk,
            subject=f"{request.reason} · {request.charge.order.order_number}",
            customer=request.customer, category="refund", status=request.status,
            priority=request.priority, team=request.team, assignee=request.assignee,
            due_at=request.sla_due_at, due_label="review",
            overdue=request.sla_due_at is not None and request.sla_due_at < now,
            created_at=request.created_at))
    items.sort(key=lambda item: item.sort_key)
    return items[:limit]


@dataclass(frozen=True)
class CustomerFile:
    """What an agent sees of a customer: subscriptions, orders with their charges."""

    customer: Customer
    subscriptions: list[Subscription]
    orders: list[Order]


def customer_file(*, customer_id: int) -> CustomerFile:
    customer = Customer.objects.get(pk=customer_id)
    subscriptions = list(Subscription.objects.filter(customer_id=customer_id)
                         .select_related("plan__product").order_by("-started_at", "-id"))
    orders = list(Order.objects.filter(customer_id=customer_id).select_related(
        "subscription__plan").prefetch_related(
            Prefetch("charges", queryset=Charge.objects.order_by("captured_at", "id"))))
    return CustomerFile(customer=customer, subscriptions=subscriptions, orders=orders)


def refund_request_for_desk(*, request_id: int) -> RefundRequest:
    """A request with what its page shows; ``RefundRequest.DoesNotExist`` otherwise."""
    return RefundRequest.objects.select_related(
        "customer", "team", "assignee", "charge__order__subscription__plan__product",
    ).prefetch_related(
        Prefetch("decisions", queryset=RefundDecision.objects.order_by("created_at", "id")),
        Prefetch("attachments", queryset=Attachment.objects.order_by("uploaded_at", "id")),
        Prefetch("tickets", queryset=Ticket.objects.select_related("team").order_by("id")),
    ).get(pk=request_id)


def ticket_for_desk(*, ticket_id: int) -> Ticket:
    """A ticket with every message, internal notes included (the desk only)."""
    return Ticket.objects.select_related(
        "customer", "team", "assignee", "refund_request__charge__order",
    ).prefetch_related(
        Prefetch("messages", queryset=TicketMessage.objects.select_related("author_user")
                 .order_by("created_at", "id")),
    ).get(pk=ticket_id)


def attachment_for_staff(*, attachment_id: int, user_id: int) -> Attachment:
    """An attachment the agent may download: a confidential one only for a member of a team
    handling confidential documents, and only while its content exists.
    ``Attachment.DoesNotExist`` otherwise (→ 404: nobody learns what they may not see)."""
    attachments = Attachment.objects.filter(content_deleted_at__isnull=True).exclude(file="")
    if not can_view_confidential(user_id=user_id):
        attachments = attachments.filter(confidential=False)
    return attachments.get(pk=attachment_id)


def audit_trail(*, obj: models.Model, related: Iterable[models.Model] = ()
                ) -> list[AuditEvent]:
    """The audit events of ``obj`` and of ``related`` objects (its attachments…), in order."""
    query = Q(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    for other in related:
        query |= Q(object_type=other._meta.label_lower, object_id=str(other.pk))
    return list(AuditEvent.objects.filter(query).order_by("created_at", "id"))


# --- Replies by e-mail ------------------------------------------------------------------------

@dataclass(frozen=True)
class ConversationEntry:
    """A message of a ticket and, when it came by e-mail, that e-mail."""

    message: TicketMessage
    email: InboundEmail | None


def ticket_conversation(*, ticket_id: int) -> list[ConversationEntry]:
    """Every message of the ticket, oldest first, internal notes included (the desk only),
    each with the e-mail it came in (None for the others)."""
    messages = TicketMessage.objects.filter(ticket_id=ticket_id).select_related(
        "inbound_email").order_by("created_at", "id")
    return [ConversationEntry(message=message,
                              email=getattr(message, "inbound_email", None))
            for message in messages]


INBOUND_REVIEW_LIMIT = 100
INBOUND_TO_REVIEW = (InboundEmail.Status.UNMATCHED, InboundEmail.Status.REJECTED)


def inbound_emails_to_review() -> QuerySet[InboundEmail]:
    """Received e-mails left for an agent (not on a ticket, not dismissed), newest first."""
    return InboundEmail.objects.filter(
        status__in=INBOUND_TO_REVIEW, reviewed_at__isnull=True).select_related(
        "ticket", "customer").defer("raw").order_by("-received_at", "-id")


def inbound_emails_recent(*, status: str | None = None) -> QuerySet[InboundEmail]:
    """Every received e-mail, newest first (optionally of one status)."""
    emails = InboundEmail.objects.select_related("ticket", "customer", "reviewed_by").defer(
        "raw").order_by("-received_at", "-id")
    return emails.filter(status=status) if status else emails


def inbound_to_review_count() -> int:
    return InboundEmail.objects.filter(status__in=INBOUND_TO_REVIEW,
                                       reviewed_at__isnull=True).count()
