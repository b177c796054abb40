"""The third money record: the refund (execution against a provider), disputes, the provider
events we received, and the sandbox provider's own books.

A ``Refund`` row is written, with its id, *before* the provider is called; the id is the
provider's idempotency key, so a retry can never refund twice. Its state machine has
``unknown`` for an answer that was lost: only the reconciler, after asking the provider,
moves it on.
"""

from __future__ import annotations

import secrets
from typing import ClassVar

from django.db import models


def new_refund_id() -> str:
    return "rf_" + secrets.token_hex(12)


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"  # reserved on the charge; not yet answered by the provider
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELED = "canceled"
        UNKNOWN = "unknown"  # the provider's answer was lost: ask before doing anything

    S = Status
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        S.PENDING: {S.SUCCEEDED, S.FAILED, S.CANCELED, S.UNKNOWN},
        S.UNKNOWN: {S.PENDING, S.SUCCEEDED, S.FAILED, S.CANCELED},
        S.SUCCEEDED: {S.FAILED},  # the bank returned it after all
        S.FAILED: set(),
        S.CANCELED: set(),
    }
    OPEN = (S.PENDING, S.UNKNOWN)

    class Origin(models.TextChoices):
        REFUNDABLE = "refundable"  # approved here
        EXTERNAL = "external"  # made in the provider's dashboard, seen in a webhook

    id = models.CharField(primary_key=True, max_length=40, default=new_refund_id)
    request = models.ForeignKey("refunds.RefundRequest", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="refunds")
    charge = models.ForeignKey("billing.Charge", on_delete=models.PROTECT,
                               related_name="refunds")
    customer_id_copy = models.BigIntegerField(db_index=True)
    amount = models.PositiveIntegerField(help_text="minor units")
    currency = models.CharField(max_length=3)
    provider = models.CharField(max_length=20)  # sandbox, stripe, manual
    provider_refund_id = models.CharField(max_length=100, null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    origin = models.CharField(max_length=12, choices=Origin.choices,
                              default=Origin.REFUNDABLE)
    created_at = models.DateTimeField()
    # Set (and committed) just before each provider call: from then on, the provider may
    # know the refund and only the reconciler may decide what happened.
    submitted_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    settled_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    hold_reason = models.CharField(max_length=40, blank=True)  # e.g. dispute_open
    manual_reference = models.CharField(max_length=100, blank=True)
    expected_from = models.DateField(null=True, blank=True)
    expected_by = models.DateField(null=True, blank=True)
    overdue_escalated_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)  # by the reconciler

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_refund_id"],
                                    name="refund_unique_provider_id"),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"])]

    def __str__(self) -> str:
        return self.id


class Dispute(models.Model):
    """A chargeback the customer opened with their bank, as the provider reports it."""

    class Status(models.TextChoices):
        NEEDS_RESPONSE = "needs_response"
        UNDER_REVIEW = "under_review"
        WON = "won"
        LOST = "lost"

    OPEN = (Status.NEEDS_RESPONSE, Status.UNDER_REVIEW)
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        Status.NEEDS_RESPONSE: {Status.UNDER_REVIEW, Status.WON, Status.LOST},
        Status.UNDER_REVIEW: {Status.NEEDS_RESPONSE, Status.WON, Status.LOST},
        Status.WON: set(),
        Status.LOST: set(),
    }

    charge = models.ForeignKey("billing.Charge", on_delete=models.PROTECT,
                               related_name="disputes")
    request = models.ForeignKey("refunds.RefundRequest", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="disputes")
    customer_id_copy = models.BigIntegerField(db_index=True)
    provider = models.CharField(max_length=20)
    provider_dispute_id = models.CharField(max_length=100)
    reason = models.CharField(max_length=60)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    evidence_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["provider", "provider_dispute_id"],
                                               name="dispute_unique_provider_id")]

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class ProviderEventRecord(models.Model):
    """A provider webhook event, stored once: the unique (provider, event id) makes a
    delivered-twice event a no-op."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=120)
    kind = models.CharField(max_length=40)
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"],
                                               name="provider_event_once")]


# -- The sandbox provider's own books (what a real provider would keep on its side) ----------

class SandboxCharge(models.Model):
    reference = models.CharField(max_length=100, unique=True)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    refunded = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(refunded__lte=models.F("amount")),
                                              name="sandbox_refunded_not_above_amount")]


class SandboxRefund(models.Model):
    id = models.CharField(primary_key=True, max_length=40)  # "sbre_…"
    idempotency_key = models.CharField(max_length=100, unique=True)
    charge = models.ForeignKey(SandboxCharge, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12)  # pending, succeeded, failed
    failure_reason = models.CharField(max_length=100, blank=True)
    metadata = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    settle_at = models.DateTimeField()


class SandboxFault(models.Model):
    """An instruction to misbehave, consumed by the next matching calls (tests and demos).

    ``decline``: refuse the refund. ``timeout_before``: lose the request (nothing happens,
    the caller sees a timeout). ``timeout_after``: do the refund, then lose the answer.
    ``fail_later``: accept, then fail at settlement. ``webhook_twice``: send the settlement
    event twice. ``webhook_late``: send it ``delay_seconds`` late.
    """

    KINDS = ["decline", "timeout_before", "timeout_after", "fail_later", "webhook_twice",
             "webhook_late"]
    kind = models.CharField(max_length=20, choices=[(k, k) for k in KINDS])
    charge_reference = models.CharField(max_length=100, blank=True)  # "" = any charge
    remaining = models.PositiveIntegerField(default=1)
    delay_seconds = models.PositiveIntegerField(default=0)


class SandboxEvent(models.Model):
    """An event the sandbox will deliver to our webhook endpoint (in-process)."""

    event_id = models.CharField(max_length=60)
    payload = models.JSONField()
    deliver_after = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
