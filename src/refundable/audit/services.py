"""Recording audit events. Every service function calls ``audit_record`` in its transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import models

from .models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who acts: a label for the log and, for people, their user.

    ``kind`` is customer, agent, operator, integrator, public or system.
    """

    kind: str
    name: str
    user: User | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    @classmethod
    def system(cls, name: str = "refundable") -> Actor:
        return cls("system", name)


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """A JSON-able view of ``fields`` of ``instance`` for before/after records."""
    data: dict[str, Any] = {}
    for name in fields:
        value = getattr(instance, name)
        if isinstance(value, models.Model):
            value = value.pk
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        data[name] = value
    return data


def audit_record(*, actor: Actor, action: str, obj: models.Model, customer_id: int | None = None,
                 before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
                 note: str = "") -> AuditEvent:
    """Insert an audit event. Call inside the transaction of the change it records."""
    user = actor.user if actor.user is not None and actor.user.pk else None
    return AuditEvent.objects.create(
        actor=actor.label, actor_user=user, action=action,
        object_type=obj._meta.label_lower, object_id=str(obj.pk), customer_id=customer_id,
        before=before, after=after, note=note)
