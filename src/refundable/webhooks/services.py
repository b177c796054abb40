"""State changes of outbound webhooks.

- ``webhook_event_emit``: the contract other services call, inside their own transaction, when
  something integrators may hear about happened. It records the event and one delivery per
  subscribed endpoint, and queues the deliveries once the caller's transaction commits, so a
  slow receiver never holds the caller's locks and a rolled-back change is never announced.
- Endpoint management by operators (create, update, rotate the secret) and an agent's
  "retry now", each audited.
- ``webhook_delivery_attempt``: one POST of a delivery, run by the worker's job; failures are
  retried with exponential backoff (``BACKOFF``), then the delivery is abandoned.
- ``webhook_deliveries_due_send``: the periodic sweep that re-queues deliveries whose job was
  lost.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from ..audit.services import Actor, audit_record, snapshot
from .events import EVENT_TYPES, pattern_problem, subscribes
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    event_id_new,
    secret_new,
    signature_header,
    webhook_body,
    webhook_signature_verify,
)
from .transport import post

__all__ = ["BACKOFF", "MAX_ATTEMPTS", "WebhookError", "webhook_deliveries_due_send",
           "webhook_delivery_attempt", "webhook_delivery_retry", "webhook_endpoint_create",
           "webhook_endpoint_secret_rotate", "webhook_endpoint_update", "webhook_event_emit",
           "webhook_signature_verify"]

# Waits after the 1st, 2nd, … failed attempt; after the last one the delivery is abandoned.
BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=6), timedelta(hours=12), timedelta(hours=24))
MAX_ATTEMPTS = len(BACKOFF) + 1
# While an attempt is in flight its next_attempt_at is pushed this far past the timeout, so the
# sweeper leaves it alone — and takes it up again if the worker died mid-attempt.
IN_FLIGHT_MARGIN = timedelta(minutes=1)
# The sweeper re-queues deliveries at least this late: a job merely waiting its turn in a busy
# queue is not lost.
SWEEP_LATENESS = timedelta(minutes=2)
SWEEP_BATCH = 500
ROTATION_GRACE_HOURS = 24
MAX_EXCERPT = 2000
USER_AGENT = "Refundable-Webhooks/1"

_ENDPOINT_FIELDS = ["url", "description", "event_types", "active"]
_DELIVERY_FIELDS = ["status", "attempts", "next_attempt_at", "last_status_code", "last_error"]
D = WebhookDelivery.Status
_url_validator = URLValidator(schemes=["http", "https"])


class WebhookError(ValueError):
    """Bad input or a change not allowed now (message for people)."""


class EndpointWithSecret(NamedTuple):
    """An endpoint and its new secret, returned once to show to the operator."""

    endpoint: WebhookEndpoint
    secret: str


def _timeout() -> float:
    return float(getattr(settings, "REFUNDABLE_WEBHOOK_TIMEOUT", 10))


def _enqueue_on_commit(delivery_id: int, *, run_after: datetime | None = None,
                       requested_by: str = "") -> None:
    """Queue the delivery job once the current transaction commits.

    ``robust``: the caller's change is committed by then; a queue that cannot take the job must
    not turn it into an error for them — the sweeper sends the delivery later.
    """
    from .tasks import webhook_delivery_send

    def enqueue() -> None:
        job = webhook_delivery_send.using(run_after=run_after) if run_after else \
            webhook_delivery_send
        job.enqueue(delivery_id=delivery_id, requested_by=requested_by)

    transaction.on_commit(enqueue, robust=True)


# --- The contract: emitting an event ----------------------------------------------------------

def webhook_event_emit(*, event_type: str, data: dict[str, Any],
                       customer_id: int | None = None) -> WebhookEvent | None:
    """Announce ``event_type`` with ``data`` (JSON values: ids, statuses, ISO dates, amounts
    in minor units with their currency — build it with ``webhooks.payloads``).

    Call it inside the transaction of the change it announces: the event and its deliveries
    are written in that transaction and the deliveries are queued when it commits (nothing is
    sent if it rolls back). Returns None, writing nothing, when no active endpoint subscribes.
    Raises ``WebhookError`` for a type missing from ``events.EVENT_TYPES`` or data that is not
    a JSON object.
    """
    if event_type not in EVENT_TYPES:
        raise WebhookError(f"unknown webhook event type {event_type!r}: add it to "
                           "refundable.webhooks.events.EVENT_TYPES first")
    if not isinstance(data, dict):
        raise WebhookError(f"webhook event data must be a dict, not {type(data).__name__}")
    try:
        json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise WebhookError(f"webhook event data for {event_type} is not JSON: {exc}") from None
    endpoints = [endpoint for endpoint in WebhookEndpoint.objects.filter(active=True)
                 .only("id", "event_types") if subscribes(endpoint.event_types, event_type)]
    if not endpoints:
        return None
    now = timezone.now()
    event = WebhookEvent.objects.create(public_id=event_id_new(), type=event_type, data=data,
                                        customer_id=customer_id, created_at=now)
    for endpoint in endpoints:
        delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint,
                                                  next_attempt_at=now, created_at=now)
        _enqueue_on_commit(delivery.pk)
    return event


# --- Endpoints ---------------------------------------------------------------------------------

def _clean_url(url: str) -> str:
    url = url.strip()
    if not url:
        raise WebhookError("url: an http:// or https:// address is required")
    if len(url) > 500:
        raise WebhookError("url: at most 500 characters")
    try:
        _url_validator(url)
    except ValidationError:
        raise WebhookError(f"url: {url!r} is not a valid http:// or https:// address") from None
    return url


def _clean_types(event_types: list[str]) -> list[str]:
    if isinstance(event_types, str) or not isinstance(event_types, list | tuple):
        raise WebhookError("event_types: a list of event types is required")
    cleaned = sorted({str(t).strip() for t in event_types})
    if not cleaned:
        raise WebhookError("event_types: subscribe to at least one event type (or *)")
    for pattern in cleaned:
        problem = pattern_problem(pattern)
        if problem:
            raise WebhookError(f"event_types: {problem}")
    return cleaned


def _clean_description(description: str) -> str:
    description = description.strip()
    if len(description) > 200:
        raise WebhookError("description: at most 200 characters")
    return description


def webhook_endpoint_create(*, actor: Actor, url: str, event_types: list[str],
                            description: str = "") -> EndpointWithSecret:
    """Register an active endpoint with a new signing secret.

    The secret is returned here, to be shown to the operator once; nothing else displays it.
    Raises ``WebhookError`` naming the field for a bad URL, description or event type.
    """
    url, types = _clean_url(url), _clean_types(event_types)
    description = _clean_description(description)
    secret = secret_new()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(url=url, description=description,
                                                  event_types=types, secret=secret)
        # The secret itself never goes to the audit log.
        audit_record(actor=actor, action="webhook_endpoint.create", obj=endpoint,
                     after=snapshot(endpoint, _ENDPOINT_FIELDS))
    return EndpointWithSecret(endpoint, secret)


def webhook_endpoint_update(*, actor: Actor, endpoint_id: int, url: str | None = None,
                            event_types: list[str] | None = None,
                            description: str | None = None,
                            active: bool | None = None) -> WebhookEndpoint:
    """Change what is given (None leaves a field as it is). Disabling an endpoint stops new
    deliveries to it; its waiting deliveries are abandoned when their turn comes (and can be
    retried once it is enabled again). Raises ``WebhookError`` naming the bad field,
    ``WebhookEndpoint.DoesNotExist`` for an unknown id."""
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = _clean_url(url)
    if event_types is not None:
        changes["event_types"] = _clean_types(event_types)
    if description is not None:
        changes["description"] = _clean_description(description)
    if active is not None:
        changes["active"] = bool(active)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        before = snapshot(endpoint, _ENDPOINT_FIELDS)
        for name, value in changes.items():
            setattr(endpoint, name, value)
        after = snapshot(endpoint, _ENDPOINT_FIELDS)
        if after == before:
            return endpoint
        endpoint.save(update_fields=list(changes))
        audit_record(actor=actor, action="webhook_endpoint.update", obj=endpoint,
                     before=before, after=after)
    return endpoint


def webhook_endpoint_secret_rotate(*, actor: Actor, endpoint_id: int,
                                   keep_previous_hours: int = ROTATION_GRACE_HOURS,
                                   now: datetime | None = None) -> EndpointWithSecret:
    """Give the endpoint a new secret, returned once to show to the operator.

    For ``keep_previous_hours`` the old secret keeps signing too (two ``v1`` signatures), so
    the receiver can switch without rejecting deliveries; 0 retires it at once (a leaked
    secret). Raises ``WebhookError`` for a negative or excessive grace.
    """
    if not 0 <= keep_previous_hours <= 24 * 7:
        raise WebhookError("keep_previous_hours: between 0 and 168 hours")
    now = now or timezone.now()
    secret = secret_new()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        if keep_previous_hours:
            endpoint.previous_secret = endpoint.secret
            endpoint.previous_secret_expires_at = now + timedelta(hours=keep_previous_hours)
        else:
            endpoint.previous_secret = ""
            endpoint.previous_secret_expires_at = None
        endpoint.secret = secret
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
        audit_record(actor=actor, action="webhook_endpoint.secret_rotate", obj=endpoint,
                     note=(f"previous secret valid for {keep_previous_hours} h"
                           if keep_previous_hours else "previous secret retired at once"))
    return EndpointWithSecret(endpoint, secret)


# --- Deliveries --------------------------------------------------------------------------------

def webhook_delivery_retry(*, actor: Actor, delivery_id: int,
                           now: datetime | None = None) -> WebhookDelivery:
    """An agent re-sends a delivery now, whatever its status (a succeeded one is sent again:
    receivers deduplicate by event id). The attempt runs in the worker right after commit; if
    it fails, a delivery past ``MAX_ATTEMPTS`` is abandoned again, any other continues its
    backoff.
    Raises ``WebhookError`` when the endpoint is disabled."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update(of=("self",)).select_related(
            "endpoint", "event").get(pk=delivery_id)
        if not delivery.endpoint.active:
            raise WebhookError(f"endpoint {delivery.endpoint.url} is disabled: enable it "
                               "before retrying its deliveries")
        before = snapshot(delivery, _DELIVERY_FIELDS)
        if delivery.status != D.FAILED:
            delivery.status = D.PENDING
        delivery.next_attempt_at = now
        delivery.save(update_fields=["status", "next_attempt_at"])
        audit_record(actor=actor, action="webhook_delivery.retry", obj=delivery,
                     customer_id=delivery.event.customer_id, before=before,
                     after=snapshot(delivery, _DELIVERY_FIELDS),
                     note=f"{delivery.event.public_id} to {delivery.endpoint.url}")
        _enqueue_on_commit(delivery.pk, requested_by=actor.label)
    return delivery


def _secrets_in_use(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    in_use = [endpoint.secret]
    if (endpoint.previous_secret and endpoint.previous_secret_expires_at
            and endpoint.previous_secret_expires_at > now):
        in_use.append(endpoint.previous_secret)
    return in_use


def _abandon(delivery: WebhookDelivery, *, actor: Actor, before: dict[str, Any],
             why: str) -> None:
    delivery.status = D.ABANDONED
    delivery.next_attempt_at = None
    delivery.save()
    audit_record(actor=actor, action="webhook_delivery.abandon", obj=delivery,
                 customer_id=delivery.event.customer_id, before=before,
                 after=snapshot(delivery, _DELIVERY_FIELDS), note=why)


def webhook_delivery_attempt(*, actor: Actor, delivery_id: int,
                             now: datetime | None = None) -> WebhookDelivery | None:
    """POST a due delivery once and record the answer (the worker's job calls this).

    Does nothing (None) unless the delivery is pending or failed and its ``next_attempt_at``
    has come, so duplicate jobs are harmless. The POST happens outside any transaction and
    lock. A 2xx answer succeeds; anything else schedules the next attempt after ``BACKOFF``
    (queued with ``run_after``) or, after ``MAX_ATTEMPTS``, abandons the delivery. A delivery
    whose endpoint was disabled is abandoned without sending.
    """
    now = now or timezone.now()
    timeout = _timeout()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update(of=("self",)).select_related(
            "endpoint", "event").filter(pk=delivery_id).first()
        if (delivery is None or delivery.status not in (D.PENDING, D.FAILED)
                or delivery.next_attempt_at is None or delivery.next_attempt_at > now):
            return None
        if not delivery.endpoint.active:
            _abandon(delivery, actor=actor, before=snapshot(delivery, _DELIVERY_FIELDS),
                     why="endpoint disabled")
            return delivery
        delivery.attempts += 1
        number = delivery.attempts
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + timedelta(seconds=timeout) + IN_FLIGHT_MARGIN
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
        endpoint, event = delivery.endpoint, delivery.event
        body = webhook_body(event)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_ID_HEADER: event.public_id,
            SIGNATURE_HEADER: signature_header(body=body, timestamp=int(now.timestamp()),
                                               secrets_in_use=_secrets_in_use(endpoint, now)),
        }

    result = post(url=endpoint.url, body=body, headers=headers, timeout=timeout)

    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update(of=("self",)).select_related(
            "event").get(pk=delivery_id)
        before = snapshot(delivery, _DELIVERY_FIELDS)
        excerpt = result.response_excerpt[:MAX_EXCERPT]
        WebhookAttempt.objects.create(
            delivery=delivery, number=number, at=now, status_code=result.status_code,
            error=result.error, duration_ms=result.duration_ms, response_excerpt=excerpt,
            triggered_by=actor.label)
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        delivery.last_duration_ms = result.duration_ms
        delivery.last_response_excerpt = excerpt
        if result.ok:
            delivery.status = D.SUCCEEDED
            delivery.next_attempt_at = None
            delivery.save()
        elif delivery.attempts >= MAX_ATTEMPTS:
            _abandon(delivery, actor=actor, before=before,
                     why=f"no success after {delivery.attempts} attempts: {result.error}")
        else:
            delivery.status = D.FAILED
            delivery.next_attempt_at = now + BACKOFF[delivery.attempts - 1]
            delivery.save()
            _enqueue_on_commit(delivery.pk, run_after=delivery.next_attempt_at)
    return delivery


def webhook_deliveries_due_send(*, now: datetime | None = None) -> int:
    """Re-queue deliveries whose attempt is overdue by ``SWEEP_LATENESS`` (their job was lost:
    a crash between commit and enqueue, a worker killed mid-attempt). Returns how many were
    queued; a duplicate of a job that still exists does nothing when it runs."""
    from .tasks import webhook_delivery_send

    now = now or timezone.now()
    due = list(WebhookDelivery.objects.filter(
        status__in=(D.PENDING, D.FAILED), next_attempt_at__lte=now - SWEEP_LATENESS,
    ).order_by("next_attempt_at").values_list("pk", flat=True)
        [:SWEEP_BATCH])
    for delivery_id in due:
        webhook_delivery_send.enqueue(delivery_id=delivery_id, requested_by="")
    return len(due)
