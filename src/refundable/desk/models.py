"""The agent desk: teams, tickets with SLA timers, messages and internal notes, macros."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models


class Team(models.Model):
    code = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    handles_confidential = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    class Category(models.TextChoices):
        BILLING = "billing"
        REFUND = "refund"
        TECHNICAL = "technical"
        CANCELLATION = "cancellation"
        ACCOUNT = "account"
        OTHER = "other"

    class Channel(models.TextChoices):
        WEB = "web"
        EMAIL = "email"
        CHAT = "chat"
        PHONE = "phone"

    class Status(models.TextChoices):
        NEW = "new"
        OPEN = "open"
        PENDING = "pending"
        ON_HOLD = "on_hold"
        SOLVED = "solved"
        CLOSED = "closed"

    S = Status
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        S.NEW: {S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED, S.CLOSED},
        S.OPEN: {S.PENDING, S.ON_HOLD, S.SOLVED},
        S.PENDING: {S.OPEN, S.SOLVED, S.ON_HOLD},
        S.ON_HOLD: {S.OPEN, S.SOLVED},
        S.SOLVED: {S.OPEN, S.CLOSED},
        S.CLOSED: set(),
    }

    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="tickets")
    refund_request = models.ForeignKey("refunds.RefundRequest", null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="tickets")
    category = models.CharField(max_length=20, choices=Category.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(default=2)  # 1 urgent … 4 low
    subject = models.CharField(max_length=200)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="tickets")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assigned_tickets")
    created_at = models.DateTimeField()
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)  # set once by the SLA batch

    class Meta:
        ordering = ["resolution_due_at", "id"]

    def __str__(self) -> str:
        return f"ticket #{self.pk}: {self.subject}"


class TicketMessage(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    author = models.CharField(max_length=200)
    body = models.TextField()
    internal = models.BooleanField(default=False)  # an internal note, never shown or mailed
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class Macro(models.Model):
    name = models.CharField(max_length=100)
    body_en = models.TextField()
    body_fr = models.TextField()

    def __str__(self) -> str:
        return self.name


class InboundEmail(models.Model):
    """An e-mail received at the inbound address (``refundable mail-receive``), kept whatever
    became of it: attached to its ticket as the customer's message, or left for an agent with
    the reason. Unique by Message-ID: the same message delivered twice is stored once."""

    class Status(models.TextChoices):
        ATTACHED = "attached"  # on its ticket, as a public message
        UNMATCHED = "unmatched"  # for an agent: no ticket found, or not from its customer
        REJECTED = "rejected"  # a forged reply address, unreadable, too large
        IGNORED = "ignored"  # an automatic reply or a bounce

    class Reason(models.TextChoices):
        NO_TICKET = "no_ticket"
        NOT_CUSTOMER = "not_customer"
        TICKET_CLOSED = "ticket_closed"
        FORGED_TOKEN = "forged_token"
        NO_SENDER = "no_sender"
        UNREADABLE = "unreadable"
        TOO_LARGE = "too_large"
        AUTOMATIC = "automatic"

    message_id = models.CharField(max_length=255, unique=True)
    received_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    detail = models.CharField(max_length=300, blank=True)  # the facts behind the reason
    sender = models.CharField(max_length=254, blank=True)
    sender_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    recipients = models.JSONField(default=list)
    body = models.TextField(blank=True)  # the new words: quoted history and signature removed
    # One entry per attached file: name, content_type, size, kept, attachment_id, why.
    attachments = models.JSONField(default=list)
    size = models.PositiveIntegerField(default=0)
    # The message as received, while an agent may still attach it to a ticket.
    raw = models.BinaryField(null=True, blank=True)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="inbound_emails")
    ticket_message = models.OneToOneField(TicketMessage, null=True, blank=True,
                                          on_delete=models.SET_NULL,
                                          related_name="inbound_email")
    reviewed_at = models.DateTimeField(null=True, blank=True)  # an agent dealt with it
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "reviewed_at"], name="desk_inbound_review")]

    def __str__(self) -> str:
        return f"e-mail {self.message_id} from {self.sender or '?'} ({self.status})"
