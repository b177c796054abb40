"""Emitting events and delivering them to a real HTTP receiver: on commit only, signed, retried
with backoff (time moved with time-machine, the retries real delayed jobs run by the worker's
batch mode), abandoned after the last attempt, swept up when a job was lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor
from refundable.testing.factories import NOW
from refundable.testing.jobs import run_queued_jobs
from refundable.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from refundable.webhooks.services import (
    BACKOFF,
    MAX_ATTEMPTS,
    WebhookError,
    webhook_deliveries_due_send,
    webhook_delivery_retry,
    webhook_endpoint_secret_rotate,
    webhook_endpoint_update,
    webhook_event_emit,
)
from refundable.webhooks.signing import webhook_signature_verify
from refundable.webhooks.tasks import webhook_delivery_send, webhook_sweep, webhook_sweep_schedule

from .helpers import OPERATOR, closed_port_url, endpoint_for
from .receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

DATA = {"object": "refund", "id": 41, "amount": {"amount": 8999, "currency": "EUR"}}
AGENT = Actor("agent", "ana")


def emit(event_type: str = "refund.succeeded", customer_id: int | None = 7
         ) -> WebhookEvent | None:
    with transaction.atomic():
        return webhook_event_emit(event_type=event_type, data=DATA, customer_id=customer_id)


def queued() -> int:
    return DBTaskResult.objects.filter(task_path=webhook_delivery_send.module_path,
                                       status="READY").count()


def test_an_event_is_posted_signed_once_the_transaction_commits(
        receiver: Receiver, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    endpoint = endpoint_for(receiver, "refund.*")
    with transaction.atomic():
        event = webhook_event_emit(event_type="refund.succeeded", data=DATA, customer_id=7)
        assert event is not None
        assert queued() == 0  # nothing leaves before the caller's change is committed
    assert queued() == 1
    run_queued_jobs()

    [request] = receiver.requests
    assert request.path == "/hooks"
    assert request.signed
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Refundable-Event-Id"] == event.public_id
    assert request.headers["Refundable-Signature"].startswith(f"t={int(NOW.timestamp())},v1=")
    assert event.public_id.startswith("evt_")
    assert request.json == {"id": event.public_id, "type": "refund.succeeded",
                            "created": int(NOW.timestamp()), "data": DATA}
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.last_status_code,
            delivery.next_attempt_at) == ("succeeded", 1, 200, None)
    assert '"received": true' in delivery.last_response_excerpt
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert (attempt.number, attempt.status_code, attempt.error, attempt.triggered_by) == (
        1, 200, "", "system:webhooks")
    # Another secret does not verify: the signature really depends on it.
    assert not webhook_signature_verify(payload=request.body, secret="whsec_other",
                                        header=request.headers["Refundable-Signature"])


def test_a_rolled_back_change_announces_nothing(receiver: Receiver) -> None:
    endpoint_for(receiver)
    with pytest.raises(RuntimeError), transaction.atomic():
        webhook_event_emit(event_type="refund.succeeded", data=DATA)
        raise RuntimeError("the caller's change failed")
    run_queued_jobs()
    assert receiver.requests == []
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()
    assert queued() == 0


def test_nobody_subscribed_writes_nothing(receiver: Receiver) -> None:
    assert emit() is None
    endpoint_for(receiver, "dispute.*")
    assert emit("refund.succeeded") is None
    assert not WebhookEvent.objects.exists() and queued() == 0


def test_wildcards_route_each_type_to_its_subscribers(receiver: Receiver) -> None:
    everything = endpoint_for(receiver, "*")
    refunds = endpoint_for(receiver, "refund.*")
    cancels = endpoint_for(receiver, "subscription.canceled")
    requests = endpoint_for(receiver, "refund_request.*", "dispute.closed")

    def routed(event_type: str) -> set[int]:
        event = emit(event_type)
        assert event is not None
        return set(event.deliveries.values_list("endpoint_id", flat=True))

    assert routed("refund.succeeded") == {everything.pk, refunds.pk}
    # "refund.*" is the refund family, not every type that starts with "refund".
    assert routed("refund_request.created") == {everything.pk, requests.pk}
    assert routed("subscription.canceled") == {everything.pk, cancels.pk}
    assert routed("subscription.auto_renewal_changed") == {everything.pk}
    assert routed("dispute.closed") == {everything.pk, requests.pk}


def test_an_inactive_endpoint_gets_nothing(receiver: Receiver) -> None:
    endpoint = endpoint_for(receiver)
    webhook_endpoint_update(actor=OPERATOR, endpoint_id=endpoint.pk, active=False)
    assert emit() is None
    run_queued_jobs()
    assert receiver.requests == []


def test_unknown_types_and_non_json_data_are_refused() -> None:
    with pytest.raises(WebhookError, match=r"unknown webhook event type 'refund\.exploded'"):
        webhook_event_emit(event_type="refund.exploded", data={})
    with pytest.raises(WebhookError, match="not JSON"):
        webhook_event_emit(event_type="refund.succeeded", data={"at": NOW})
    with pytest.raises(WebhookError, match="must be a dict"):
        webhook_event_emit(event_type="refund.succeeded", data=[1])  # type: ignore[arg-type]


def test_a_500_is_retried_after_a_minute_with_the_same_body(
        receiver: Receiver, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    endpoint_for(receiver)
    receiver.script = [500, 200]
    event = emit()
    assert event is not None
    run_queued_jobs()
    delivery = WebhookDelivery.objects.get(event=event)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, 500)
    assert delivery.last_error == "HTTP 500 Internal Server Error"
    assert delivery.next_attempt_at == NOW + timedelta(minutes=1)

    time_machine.shift(timedelta(seconds=59))
    run_queued_jobs()  # not due yet
    assert len(receiver.requests) == 1

    time_machine.shift(timedelta(seconds=1))
    run_queued_jobs()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "succeeded", 2, 200)
    first, second = receiver.requests
    assert first.body == second.body and first.signed and second.signed
    assert second.headers["Refundable-Signature"].startswith(
        f"t={int((NOW + timedelta(minutes=1)).timestamp())},")
    assert [(a.number, a.status_code) for a in delivery.attempt_log.all()] == [
        (1, 500), (2, 200)]


def test_after_the_last_attempt_the_delivery_is_abandoned(
        receiver: Receiver, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    endpoint_for(receiver)
    receiver.default = 503
    event = emit()
    assert event is not None
    run_queued_jobs()
    waited = timedelta(0)
    for wait in BACKOFF:
        delivery = WebhookDelivery.objects.get(event=event)
        assert delivery.status == "failed"
        assert delivery.next_attempt_at == NOW + waited + wait
        waited += wait
        time_machine.move_to(NOW + waited, tick=False)
        run_queued_jobs()
    delivery = WebhookDelivery.objects.get(event=event)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        "abandoned", MAX_ATTEMPTS, None)
    assert len(receiver.requests) == MAX_ATTEMPTS == 8
    assert waited == timedelta(hours=44, minutes=36)  # 1 min + 5 + 30 + 2 h + 6 + 12 + 24
    audit = AuditEvent.objects.get(action="webhook_delivery.abandon")
    assert audit.actor == "system:webhooks" and "8 attempts" in audit.note
    assert audit.customer_id == 7

    time_machine.shift(timedelta(days=3))
    run_queued_jobs()
    assert webhook_deliveries_due_send() == 0
    assert len(receiver.requests) == MAX_ATTEMPTS


def test_connection_errors_and_timeouts_are_failures_to_retry(
        receiver: Receiver, settings: Any, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    settings.REFUNDABLE_WEBHOOK_TIMEOUT = 0.3
    refused = endpoint_for(receiver, "refund.*")
    webhook_endpoint_update(actor=OPERATOR, endpoint_id=refused.pk, url=closed_port_url())
    endpoint_for(receiver, "refund.*")
    receiver.hang = True  # reads the request, never answers
    event = emit()
    assert event is not None
    run_queued_jobs()
    by_endpoint = {d.endpoint_id: d for d in event.deliveries.all()}
    refused_delivery = by_endpoint.pop(refused.pk)
    [hung] = by_endpoint.values()
    assert refused_delivery.status == "failed"
    assert refused_delivery.last_error.startswith("connection failed")
    assert refused_delivery.last_status_code is None
    assert hung.status == "failed"
    assert hung.last_error == "no answer within 0.3 s (timeout)"
    assert hung.next_attempt_at == NOW + timedelta(minutes=1)


def test_a_disabled_endpoint_s_waiting_deliveries_are_abandoned_unsent(
        receiver: Receiver) -> None:
    endpoint = endpoint_for(receiver)
    event = emit()
    webhook_endpoint_update(actor=OPERATOR, endpoint_id=endpoint.pk, active=False)
    run_queued_jobs()
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get(event=event)
    assert (delivery.status, delivery.attempts) == ("abandoned", 0)
    with pytest.raises(WebhookError, match="is disabled"):
        webhook_delivery_retry(actor=AGENT, delivery_id=delivery.pk)


def test_an_agent_retries_an_abandoned_delivery_now(
        receiver: Receiver, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    endpoint_for(receiver)
    receiver.default = 500
    event = emit()
    run_queued_jobs()
    for wait in BACKOFF:
        time_machine.shift(wait)
        run_queued_jobs()
    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.status == "abandoned"

    receiver.default = 200  # the integrator fixed their server
    webhook_delivery_retry(actor=AGENT, delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    run_queued_jobs()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", MAX_ATTEMPTS + 1)
    last = delivery.attempt_log.last()
    assert last is not None and last.triggered_by == "agent:ana"
    audit = AuditEvent.objects.get(action="webhook_delivery.retry")
    assert audit.actor == "agent:ana" and audit.before is not None
    assert audit.before["status"] == "abandoned" and audit.customer_id == 7


def test_the_sweeper_sends_deliveries_whose_job_was_lost(
        receiver: Receiver, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    endpoint_for(receiver)
    event = emit()
    DBTaskResult.objects.all().delete()  # the worker lost the job
    run_queued_jobs()
    assert receiver.requests == []
    assert webhook_deliveries_due_send() == 0  # not late enough to call it lost

    time_machine.shift(timedelta(minutes=3))
    assert webhook_deliveries_due_send() == 1
    run_queued_jobs()
    assert len(receiver.requests) == 1 and receiver.requests[0].signed
    assert WebhookDelivery.objects.get(event=event).status == "succeeded"
    assert webhook_deliveries_due_send() == 0


def test_a_duplicate_job_does_not_send_twice(receiver: Receiver) -> None:
    endpoint_for(receiver)
    event = emit()
    delivery = WebhookDelivery.objects.get(event=event)
    webhook_delivery_send.enqueue(delivery_id=delivery.pk)
    run_queued_jobs()
    assert len(receiver.requests) == 1


def test_after_a_rotation_both_secrets_sign_until_the_old_one_expires(
        receiver: Receiver, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    endpoint = endpoint_for(receiver)
    old = receiver.secret
    rotated = webhook_endpoint_secret_rotate(actor=OPERATOR, endpoint_id=endpoint.pk)
    assert rotated.secret != old and rotated.secret.startswith("whsec_")
    emit()
    run_queued_jobs()
    header = receiver.requests[-1].headers["Refundable-Signature"]
    body = receiver.requests[-1].body
    assert header.count("v1=") == 2
    assert webhook_signature_verify(payload=body, header=header, secret=old)
    assert webhook_signature_verify(payload=body, header=header, secret=rotated.secret)

    time_machine.shift(timedelta(hours=24, seconds=1))
    emit()
    run_queued_jobs()
    header = receiver.requests[-1].headers["Refundable-Signature"]
    assert header.count("v1=") == 1
    assert not webhook_signature_verify(payload=receiver.requests[-1].body, header=header,
                                        secret=old)

    retired = webhook_endpoint_secret_rotate(actor=OPERATOR, endpoint_id=endpoint.pk,
                                             keep_previous_hours=0)
    receiver.secret = retired.secret
    emit()
    run_queued_jobs()
    assert receiver.requests[-1].signed
    assert receiver.requests[-1].headers["Refundable-Signature"].count("v1=") == 1
    audit = AuditEvent.objects.filter(action="webhook_endpoint.secret_rotate")
    assert audit.count() == 2
    assert all(old not in str(a.after) and retired.secret not in str(a.after) for a in audit)


def test_the_worker_s_sweep_is_queued_once_and_requeues_itself(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    assert webhook_sweep_schedule() is True
    assert webhook_sweep_schedule() is False  # one chain only
    run_queued_jobs()
    waiting = DBTaskResult.objects.filter(task_path=webhook_sweep.module_path, status="READY")
    assert [w.run_after for w in waiting] == [NOW + timedelta(minutes=5)]
    assert webhook_sweep_schedule() is False  # the chain goes on
