"""The append-only audit log: who did what to which object, with the state before and after."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One state change. Rows are only ever inserted (see ``save``); never updated or deleted."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    actor = models.CharField(max_length=200)  # "customer:12", "agent:ana", "system:worker"
    action = models.CharField(max_length=100, db_index=True)  # "subscription.cancel"
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Append-only is an invariant of the table, not business logic.
        if self.pk is not None:
            raise ValueError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("audit events are append-only")
