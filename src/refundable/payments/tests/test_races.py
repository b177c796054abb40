"""Races and late answers found in review: each interleaving is forced deterministically by
running the competing service at the exact moment (no sleeps)."""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any

import pytest
from django.db import connection, transaction

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor
from refundable.billing.models import Charge
from refundable.payments import services
from refundable.payments.models import Refund, SandboxCharge
from refundable.payments.provider_events import provider_event_receive, sandbox_webhooks_deliver
from refundable.payments.providers.sandbox import SIGNATURE_HEADER, SandboxProvider, sandbox_sign
from refundable.refunds.models import RefundRequest
from refundable.testing.factories import NOW, ChargeFactory

SYSTEM = Actor.system("test")


def reserved(amount: int, **charge_fields: Any) -> tuple[Charge, RefundRequest, Refund]:
    """An approved request for ``amount`` of a 90.00 charge, its refund reserved, not sent."""
    charge = ChargeFactory.create(amount=9000, **charge_fields)
    request = RefundRequest.objects.create(
        customer=charge.order.customer, charge=charge, reason="dissatisfied",
        status="approved", approved_amount=amount, created_at=NOW)
    with transaction.atomic():
        locked = Charge.objects.select_for_update().get(pk=charge.pk)
        refund = services.refund_reserve(actor=SYSTEM, charge=locked, amount=amount,
                                         request_id=request.pk, now=NOW)
    return charge, request, refund


@pytest.mark.django_db
def test_a_cancel_racing_the_worker_refuses_once_the_refund_was_sent(
        settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.REFUNDABLE_SANDBOX_SETTLE_SECONDS = 60
    charge, request, refund = reserved(3000)
    real_finish = services.refund_finish

    def worker_sends_first(**kwargs: Any) -> Refund:
        # The worker picks the job up between the agent's click and the cancel's lock.
        monkeypatch.setattr(services, "refund_finish", real_finish)
        services.refund_execute(actor=SYSTEM, refund_id=kwargs["refund_id"])
        return real_finish(**kwargs)

    monkeypatch.setattr(services, "refund_finish", worker_sends_first)
    with pytest.raises(services.RefundError, match="may have gone through"):
        services.refund_cancel(actor=SYSTEM, refund_id=refund.id, reason="agent cancels")
    refund.refresh_from_db()
    assert refund.status == "pending" and refund.submitted_at is not None
    later = NOW.replace(year=2030)
    SandboxProvider().settle_due(now=later)
    sandbox_webhooks_deliver(now=later)
    refund.refresh_from_db()
    charge.refresh_from_db()
    assert refund.status == "succeeded"
    assert (charge.refunded_amount, charge.pending_amount) == (3000, 0)
    assert SandboxCharge.objects.get(reference=charge.reference).refunded == 3000
    with pytest.raises(services.RefundError):  # nothing to send again
        services.refund_retry(actor=SYSTEM, request_id=request.pk)


@pytest.mark.django_db
def test_marking_sent_a_refund_canceled_meanwhile_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    charge, _request, refund = reserved(3000, payment_method="paypal")
    real_finish = services.refund_finish

    def cancel_first(**kwargs: Any) -> Refund:
        monkeypatch.setattr(services, "refund_finish", real_finish)
        real_finish(actor=SYSTEM, refund_id=kwargs["refund_id"], status="canceled",
                    reason="another agent canceled it", now=NOW)
        return real_finish(**kwargs)

    monkeypatch.setattr(services, "refund_finish", cancel_first)
    with pytest.raises(services.RefundError, match="not recorded as sent"):
        services.refund_mark_sent(actor=SYSTEM, refund_id=refund.id, reference="PP-123")
    refund.refresh_from_db()
    charge.refresh_from_db()
    # One transaction: the refusal rolled back the cancel injected inside it as well.
    assert refund.status == "pending" and refund.manual_reference == ""
    assert (charge.refunded_amount, charge.pending_amount) == (0, 3000)


@pytest.mark.django_db
def test_a_refund_the_bank_returns_after_success_comes_back_to_the_desk(settings: Any) -> None:
    settings.REFUNDABLE_SANDBOX_SETTLE_SECONDS = 0
    charge, request, refund = reserved(3000)
    done = services.refund_execute(actor=SYSTEM, refund_id=refund.id)
    assert done.status == "succeeded"
    body = json.dumps({"id": "sbevt_returned", "type": "refund.updated", "created": 0, "data": {
        "id": done.provider_refund_id, "charge": charge.reference, "amount": 3000,
        "currency": charge.currency, "status": "failed",
        "failure_reason": "expired_or_canceled_card",
        "metadata": {"refundable_refund_id": done.id}}}).encode()
    provider_event_receive(provider_name="sandbox", payload=body,
                           headers={SIGNATURE_HEADER: sandbox_sign(body)})
    done.refresh_from_db()
    charge.refresh_from_db()
    request.refresh_from_db()
    assert done.status == "failed" and done.failure_reason == "expired_or_canceled_card"
    assert (charge.refunded_amount, charge.pending_amount) == (0, 0)
    assert "returned" in request.money_attention and request.priority == 1
    again = services.refund_retry(actor=SYSTEM, request_id=request.pk)
    assert again.status == "pending" and Charge.objects.get(pk=charge.pk).pending_amount == 3000


@pytest.mark.django_db(transaction=True)
def test_a_failed_answer_and_a_retry_click_never_deadlock() -> None:
    """The provider's "failed" answer (refund → charge → request before the fix) against an
    agent's "send again" (request → charge): both now lock the request first."""
    if connection.vendor != "postgresql":
        pytest.skip("row-lock order: PostgreSQL (tools/postgres_tests.py runs it)")
    for _ in range(10):
        _charge, request, refund = reserved(3000)
        errors = _race_failed_answer_with_retry(refund.id, request.pk)
        assert not errors, errors
        refund.refresh_from_db()
        assert refund.status == "failed"


@pytest.mark.django_db
def test_an_answer_for_another_amount_is_put_before_an_agent(settings: Any) -> None:
    settings.REFUNDABLE_SANDBOX_SETTLE_SECONDS = 60
    charge, request, refund = reserved(3000)
    sent = services.refund_execute(actor=SYSTEM, refund_id=refund.id)
    body = json.dumps({"id": "sbevt_odd", "type": "refund.updated", "created": 0, "data": {
        "id": sent.provider_refund_id, "charge": charge.reference, "amount": 2500,
        "currency": charge.currency, "status": "pending",
        "metadata": {"refundable_refund_id": sent.id}}}).encode()
    provider_event_receive(provider_name="sandbox", payload=body,
                           headers={SIGNATURE_HEADER: sandbox_sign(body)})
    provider_event_receive(provider_name="sandbox", payload=body.replace(b"sbevt_odd", b"e2"),
                           headers={SIGNATURE_HEADER: sandbox_sign(
                               body.replace(b"sbevt_odd", b"e2"))})
    request.refresh_from_db()
    assert "amount mismatch" in request.money_attention
    [event] = AuditEvent.objects.filter(action="refund.amount_mismatch", object_id=refund.id)
    assert "2500" in event.note  # recorded once, however often the provider says it


def _race_failed_answer_with_retry(refund_id: str, request_id: int) -> list[BaseException]:
    """Run the provider's "failed" answer while an agent's retry holds the request's lock."""
    retry_holds_request = threading.Event()
    errors: list[BaseException] = []

    def answer_failed() -> None:
        try:
            retry_holds_request.wait(timeout=10)
            services.refund_finish(actor=SYSTEM, refund_id=refund_id, status="failed",
                                   reason="declined", now=NOW)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def agent_retries() -> None:
        try:
            with transaction.atomic():
                RefundRequest.objects.select_for_update().get(pk=request_id)
                retry_holds_request.set()
                # The refund has not failed yet: nothing to send again.
                with contextlib.suppress(services.RefundError):
                    services.refund_retry(actor=SYSTEM, request_id=request_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer_failed), threading.Thread(target=agent_retries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors
