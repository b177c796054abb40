"""Jobs of the desk, run by the worker (django-tasks, database backend)."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from ..audit.services import Actor
from ..notifications.periodic import periodic_next, periodic_start
from .services import sla_escalate_overdue

SLA_EVERY_MINUTES = 5


@task()
def sla_escalate(*, every_minutes: int = 0) -> dict[str, Any]:
    """The periodic SLA batch: escalate every ticket and refund request past its due time
    (running it twice is harmless). With ``every_minutes`` it queues its next run, whatever
    happens to this one, so one call to ``sla_escalation_schedule`` keeps it going."""
    try:
        return sla_escalate_overdue(actor=Actor.system("sla"))
    finally:
        periodic_next(sla_escalate, every_minutes=every_minutes)


def sla_escalation_schedule(*, every_minutes: int = SLA_EVERY_MINUTES) -> bool:
    """Queue the periodic SLA batch unless a run is already waiting (for the worker to call
    when it starts). True when it queued one."""
    return periodic_start(sla_escalate, every_minutes=every_minutes)
