"""Outbound webhooks: the endpoints integrators register, the events we emit (append-only) and
one delivery per event and endpoint, with each HTTP attempt logged."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEndpoint(models.Model):
    """An integrator's URL and the event types it subscribes to.

    ``secret`` signs every delivery (HMAC-SHA256); it is shown to the operator once, when the
    endpoint is created or the secret rotated, and kept here because signing needs it. After a
    rotation the previous secret also signs until ``previous_secret_expires_at``, so receivers
    can switch without losing events.
    """

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    event_types = models.JSONField(default=list)  # ["refund.*", "subscription.canceled", "*"]
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """Something integrators can hear about, emitted once; rows are only ever inserted."""

    public_id = models.CharField(max_length=40, unique=True)  # "evt_…", the receivers' key
    type = models.CharField(max_length=60, db_index=True)
    data = models.JSONField()
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # What was sent must stay what we say was sent: the event is an immutable record.
        if self.pk is not None:
            raise ValueError("webhook events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("webhook events are append-only")


class WebhookDelivery(models.Model):
    """One event to one endpoint: pending until the first answer, then succeeded, or failed
    with a retry at ``next_attempt_at``, or abandoned after the last retry."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")  # the last attempt failed; another is scheduled
        ABANDONED = "abandoned", _("abandoned")  # no more automatic attempts

    event = models.ForeignKey(WebhookEvent, on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT,
                                 related_name="deliveries")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_response_excerpt = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"],
                                               name="webhook_delivery_once_per_endpoint")]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP POST of a delivery and its answer (the delivery log's detail)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField()
    response_excerpt = models.TextField(blank=True)
    triggered_by = models.CharField(max_length=200)  # "system:webhooks" or the agent who retried

    class Meta:
        ordering = ["number", "id"]
