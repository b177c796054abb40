"""Jobs of the payments app, run by the worker: send a refund; the periodic money batch."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from ..audit.services import Actor
from ..notifications.periodic import periodic_next, periodic_start

MONEY_EVERY_MINUTES = 1


@task()
def refund_execute_job(*, refund_id: str) -> str:
    """Send one reserved refund (enqueued when the approval commits)."""
    from .services import refund_execute

    return refund_execute(actor=Actor.system("worker"), refund_id=refund_id).status


@task()
def money_batch(*, every_minutes: int = 0) -> dict[str, Any]:
    """The periodic money batch (running it twice is harmless): the sandbox settles and sends
    its webhooks, the reconciler resolves pending and unknown refunds, overdue refunds
    escalate. With ``every_minutes`` it queues its next run, whatever happens to this one."""
    from .services import money_batch_run

    try:
        return money_batch_run(actor=Actor.system("money-batch"))
    finally:
        periodic_next(money_batch, every_minutes=every_minutes)


def money_batch_schedule(*, every_minutes: int = MONEY_EVERY_MINUTES) -> bool:
    """Queue the periodic money batch unless a run is already waiting (the worker calls it
    when it starts). True when it queued one."""
    return periodic_start(money_batch, every_minutes=every_minutes)
