"""Jobs of refund requests, run by the worker."""

from __future__ import annotations

from django_tasks import task

from ..audit.services import Actor


@task()
def troubleshooting_clock_end(*, request_id: int) -> str:
    """Seed 004: the 48-hour troubleshooting window of ``request_id`` is over (enqueued with
    ``run_after`` = the policy's ``retry_after`` when the request opened its ticket)."""
    from .services import refund_request_troubleshooting_expire

    request = refund_request_troubleshooting_expire(
        actor=Actor.system("troubleshooting-clock"), request_id=request_id)
    return request.status
