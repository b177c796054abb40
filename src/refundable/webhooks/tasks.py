"""Jobs of outbound webhooks, run by the worker (django-tasks, database backend)."""

from __future__ import annotations

from django_tasks import task

from ..audit.services import Actor
from ..notifications.periodic import periodic_next, periodic_start
from .services import webhook_deliveries_due_send, webhook_delivery_attempt

SWEEP_EVERY_MINUTES = 5


def _actor(requested_by: str) -> Actor:
    """The agent who asked for a retry (their audit label), else the webhook system."""
    kind, _, name = requested_by.partition(":")
    return Actor(kind, name) if kind and name else Actor.system("webhooks")


@task()
def webhook_delivery_send(*, delivery_id: int, requested_by: str = "") -> str:
    """One attempt of a delivery (queued on commit by ``webhook_event_emit``, by a retry, or
    with ``run_after`` for the next attempt of the backoff). Returns the delivery's status, or
    "skipped" when it was not due (a duplicate job)."""
    delivery = webhook_delivery_attempt(actor=_actor(requested_by), delivery_id=delivery_id)
    return delivery.status if delivery is not None else "skipped"


@task()
def webhook_sweep(*, every_minutes: int = 0) -> int:
    """The periodic sweep: re-queue deliveries whose job was lost. With ``every_minutes`` it
    queues its next run, whatever happens to this one, so one call to
    ``webhook_sweep_schedule`` keeps it going."""
    try:
        return webhook_deliveries_due_send()
    finally:
        periodic_next(webhook_sweep, every_minutes=every_minutes)


def webhook_sweep_schedule(*, every_minutes: int = SWEEP_EVERY_MINUTES) -> bool:
    """Queue the periodic sweep unless a run is already waiting (for the worker to call when it
    starts). True when it queued one."""
    return periodic_start(webhook_sweep, every_minutes=every_minutes)
