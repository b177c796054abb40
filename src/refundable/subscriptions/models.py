"""Subscriptions and their lifecycle (see ``TRANSITIONS``)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

CHANNELS = [("direct", "direct"), ("reseller", "reseller"),
            ("apple_app_store", "Apple App Store"), ("google_play", "Google Play"),
            ("third_party", "third party")]


class Subscription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        CANCEL_SCHEDULED = "cancel_scheduled"  # ends at the term end; can be undone until then
        CANCELED = "canceled"
        EXPIRED = "expired"

    # Allowed moves of ``status``; services refuse anything else.
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        Status.ACTIVE: {Status.CANCEL_SCHEDULED, Status.CANCELED, Status.EXPIRED},
        Status.CANCEL_SCHEDULED: {Status.ACTIVE, Status.CANCELED},
        Status.CANCELED: set(),
        Status.EXPIRED: set(),
    }

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="subscriptions")
    plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT,
                             related_name="subscriptions")
    reference = models.CharField(max_length=40, unique=True)  # the contract reference
    channel = models.CharField(max_length=20, choices=CHANNELS, default="direct")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField()
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField(null=True, blank=True)
    auto_renew = models.BooleanField(default=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancel_effective_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    renewal_notice_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.reference} ({self.plan})"
