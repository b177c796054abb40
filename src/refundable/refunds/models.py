"""Refund requests (the customer's ask, a case with an SLA) and their frozen decisions.

Money moves through three records: the request, the decision (frozen here) and the refund
(execution against a provider, built by the payments issue).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from ..policy.facts import REASONS


class RefundRequest(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted"
        TROUBLESHOOTING = "troubleshooting"  # seed 004: a support attempt first, 48 h clock
        IN_REVIEW = "in_review"
        INFO_REQUESTED = "info_requested"
        OFFERED = "offered"  # outage: refund or extension, the customer chooses
        APPROVED = "approved"
        DENIED = "denied"
        REDIRECTED = "redirected"  # bought in a store or from a reseller
        CLOSED = "closed"

    S = Status
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        S.SUBMITTED: {S.TROUBLESHOOTING, S.IN_REVIEW, S.OFFERED, S.APPROVED, S.DENIED,
                      S.REDIRECTED},
        S.TROUBLESHOOTING: {S.IN_REVIEW, S.APPROVED, S.DENIED, S.CLOSED, S.OFFERED},
        S.IN_REVIEW: {S.APPROVED, S.DENIED, S.INFO_REQUESTED, S.CLOSED},
        S.INFO_REQUESTED: {S.IN_REVIEW, S.CLOSED},
        S.OFFERED: {S.APPROVED, S.CLOSED},
        S.APPROVED: {S.CLOSED},
        S.DENIED: {S.IN_REVIEW, S.CLOSED},  # reopened by an agent; closed by a lost dispute
        S.REDIRECTED: set(),
        S.CLOSED: set(),
    }

    CHANNELS: ClassVar[list[tuple[str, str]]] = [
        ("web", "web form"), ("email", "e-mail"), ("chat", "chat"), ("phone", "phone"),
        ("api", "API")]

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="refund_requests")
    charge = models.ForeignKey("billing.Charge", on_delete=models.PROTECT,
                               related_name="refund_requests")
    reason = models.CharField(max_length=40, choices=[(r, r) for r in REASONS])
    description = models.TextField(blank=True)
    channel = models.CharField(max_length=10, choices=CHANNELS, default="web")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    created_at = models.DateTimeField()
    sla_due_at = models.DateTimeField(null=True, blank=True)
    troubleshooting_started_at = models.DateTimeField(null=True, blank=True)
    troubleshooting_state = models.CharField(max_length=20, default="none")
    approved_amount = models.PositiveIntegerField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    # The desk: routing, priority (1 urgent … 4 low) and SLA escalation.
    priority = models.PositiveSmallIntegerField(default=2)
    team = models.ForeignKey("desk.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="refund_requests")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assigned_requests")
    escalated_at = models.DateTimeField(null=True, blank=True)
    # Set when the money needs a person after approval (a refund failed, or is overdue): the
    # request comes back to the desk's queue until an agent deals with it.
    money_attention = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"refund request #{self.pk}"


class Decision(models.Model):
    """A frozen decision: the facts, the policy id@version, the outcome and its explanation.

    Never edited: a new decision is recorded when the facts change (after troubleshooting) or
    when an agent decides (``decided_by`` = agent, with the reason).
    """

    request = models.ForeignKey(RefundRequest, on_delete=models.PROTECT,
                                related_name="decisions")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.CharField(max_length=200)  # "engine" or "agent:ana"
    facts = models.JSONField()
    policy = models.CharField(max_length=120)
    decided_by_document = models.CharField(max_length=120)
    rule = models.CharField(max_length=120, null=True, blank=True)
    outcome = models.CharField(max_length=30)
    amount = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    payload = models.JSONField()  # the whole decision JSON (explanation, messages, choices…)
    override_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]


class Attachment(models.Model):
    """A file given with a request. Confidential ones (special circumstances, seed 002) are
    visible only to the reviewing team and their content is deleted when the review ends; the
    record that they existed stays."""

    request = models.ForeignKey(RefundRequest, on_delete=models.PROTECT,
                                related_name="attachments")
    kind = models.CharField(max_length=40)  # death_certificate, medical_certificate, screenshot…
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    file = models.FileField(upload_to="attachments/%Y/%m/", null=True, blank=True)
    confidential = models.BooleanField(default=False)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    content_deleted_at = models.DateTimeField(null=True, blank=True)
