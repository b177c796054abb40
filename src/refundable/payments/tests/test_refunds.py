"""The refund path against a real database and the sandbox provider's own books."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, transaction

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor
from refundable.billing.models import Charge
from refundable.desk.selectors import desk_queue
from refundable.payments.models import Refund, SandboxCharge, SandboxFault, SandboxRefund
from refundable.payments.providers.sandbox import SandboxProvider
from refundable.payments.services import (
    RefundError,
    money_batch_run,
    refund_cancel,
    refund_execute,
    refund_mark_sent,
    refund_retry,
    refunds_reconcile,
)
from refundable.testing.factories import NOW, ChargeFactory
from refundable.testing.jobs import run_queued_jobs
from refundable.webhooks.models import WebhookEvent

from .support import approved

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def books(charge: Charge) -> tuple[int, int]:
    charge.refresh_from_db()
    return charge.refunded_amount, charge.pending_amount


def sandbox_refunded(charge: Charge) -> int:
    return SandboxCharge.objects.get(reference=charge.reference).refunded


@pytest.mark.django_db(transaction=True)  # jobs are queued on commit
def test_approval_reserves_then_the_job_refunds_exactly_once() -> None:
    request = approved()
    [refund] = Refund.objects.filter(request=request)
    assert (refund.status, refund.amount, refund.provider) == ("pending", 8999, "sandbox")
    assert refund.submitted_at is None and refund.id.startswith("rf_")
    assert books(request.charge) == (0, 8999)
    with time_machine.travel(NOW, tick=False):
        run_queued_jobs()  # the job queued when the approval committed
        assert Refund.objects.get(pk=refund.id).status == "succeeded"
        refund_execute(actor=SYSTEM, refund_id=refund.id)  # a second call: nothing more
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert (refund.provider_refund_id or "").startswith("sbre_")
    assert books(request.charge) == (8999, 0)
    assert sandbox_refunded(request.charge) == 8999
    assert SandboxRefund.objects.count() == 1
    actions = list(AuditEvent.objects.filter(object_type="payments.refund").order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["refund.create", "refund.submit", "refund.succeeded"]


def test_a_refund_settles_after_the_sandbox_delay(settings: Any) -> None:
    settings.REFUNDABLE_SANDBOX_SETTLE_SECONDS = 3600
    request = approved()
    refund = Refund.objects.get(request=request)
    with time_machine.travel(NOW, tick=False):
        refund_execute(actor=SYSTEM, refund_id=refund.id)
        assert refunds_reconcile(actor=SYSTEM)["still_pending"] == 1
    refund.refresh_from_db()
    assert refund.status == "pending" and books(request.charge) == (0, 8999)
    with time_machine.travel(NOW + timedelta(hours=1, seconds=1), tick=False):
        result = money_batch_run(actor=SYSTEM)
    refund.refresh_from_db()
    assert result["sandbox_settled"] == 1 and refund.status == "succeeded"
    assert books(request.charge) == (8999, 0)


@pytest.mark.django_db(transaction=True)  # jobs are queued on commit
def test_a_declined_refund_fails_frees_the_amount_and_comes_back_to_the_desk() -> None:
    SandboxFault.objects.create(kind="decline")
    request = approved()
    refund = Refund.objects.get(request=request)
    with time_machine.travel(NOW, tick=False):
        refund_execute(actor=SYSTEM, refund_id=refund.id)
    refund.refresh_from_db()
    request.refresh_from_db()
    assert refund.status == "failed" and "declined" in refund.failure_reason
    assert books(request.charge) == (0, 0)
    assert request.money_attention and request.priority == 1
    assert [item.pk for item in desk_queue(now=NOW) if item.kind == "request"] == [request.pk]
    with time_machine.travel(NOW, tick=False):
        again = refund_retry(actor=SYSTEM, request_id=request.pk)
        run_queued_jobs()
    again.refresh_from_db()
    assert again.id != refund.id and again.status == "succeeded"
    assert books(request.charge) == (8999, 0) and sandbox_refunded(request.charge) == 8999
    with pytest.raises(RefundError, match="already has a refund"):
        refund_retry(actor=SYSTEM, request_id=request.pk)


def test_a_lost_answer_is_unknown_until_the_reconciler_finds_the_refund() -> None:
    SandboxFault.objects.create(kind="timeout_after")  # the sandbox refunds, the answer is lost
    request = approved()
    refund = Refund.objects.get(request=request)
    with time_machine.travel(NOW, tick=False):
        refund_execute(actor=SYSTEM, refund_id=refund.id)
        refund.refresh_from_db()
        assert refund.status == "unknown" and books(request.charge) == (0, 8999)
        refund_execute(actor=SYSTEM, refund_id=refund.id)  # never retried blindly
        assert SandboxRefund.objects.count() == 1
        counts = refunds_reconcile(actor=SYSTEM)
    refund.refresh_from_db()
    assert counts["resolved"] == 1 and counts["resent"] == 0
    assert refund.status == "succeeded" and books(request.charge) == (8999, 0)
    assert SandboxRefund.objects.count() == 1 and sandbox_refunded(request.charge) == 8999


def test_a_request_that_never_arrived_is_sent_again_with_the_same_key() -> None:
    SandboxFault.objects.create(kind="timeout_before")
    request = approved()
    refund = Refund.objects.get(request=request)
    with time_machine.travel(NOW, tick=False):
        refund_execute(actor=SYSTEM, refund_id=refund.id)
        refund.refresh_from_db()
        assert refund.status == "unknown" and not SandboxRefund.objects.exists()
        counts = refunds_reconcile(actor=SYSTEM)
    refund.refresh_from_db()
    assert counts["resent"] == 1 and refund.status == "succeeded" and refund.attempts == 2
    assert SandboxRefund.objects.get().idempotency_key == refund.id


def test_the_sandbox_answers_a_repeated_key_with_the_first_refund() -> None:
    charge = ChargeFactory.create()
    sandbox = SandboxProvider(settle_seconds=0)
    first = sandbox.refund_create(refund_id="rf_x", charge_reference=charge.reference,
                                  amount=1000, currency="EUR", metadata={})
    second = sandbox.refund_create(refund_id="rf_x", charge_reference=charge.reference,
                                   amount=1000, currency="EUR", metadata={})
    assert first.provider_refund_id == second.provider_refund_id
    assert sandbox_refunded(charge) == 1000


def test_the_database_refuses_refunded_plus_pending_above_captured() -> None:
    charge = ChargeFactory.create()  # 8999
    Charge.objects.filter(pk=charge.pk).update(refunded_amount=5000)
    with pytest.raises(IntegrityError), transaction.atomic():
        Charge.objects.filter(pk=charge.pk).update(pending_amount=4000)


@pytest.mark.django_db(transaction=True)  # jobs are queued on commit
def test_paypal_is_refunded_by_hand_and_marked_sent() -> None:
    request = approved(payment_method="paypal")
    refund = Refund.objects.get(request=request)
    assert refund.provider == "manual"
    run_queued_jobs()
    refunds_reconcile(actor=SYSTEM)
    refund.refresh_from_db()
    assert refund.status == "pending" and refund.submitted_at is None
    with pytest.raises(RefundError, match="reference"):
        refund_mark_sent(actor=SYSTEM, refund_id=refund.id, reference="  ")
    refund_mark_sent(actor=SYSTEM, refund_id=refund.id, reference="PAYPAL-7H2")
    refund.refresh_from_db()
    assert refund.status == "succeeded" and refund.manual_reference == "PAYPAL-7H2"
    assert books(request.charge) == (8999, 0)


def test_only_an_unsent_refund_can_be_canceled() -> None:
    request = approved()
    refund = Refund.objects.get(request=request)
    refund_cancel(actor=SYSTEM, refund_id=refund.id, reason="customer asked for credit")
    refund.refresh_from_db()
    assert refund.status == "canceled" and books(request.charge) == (0, 0)
    other = approved()
    sent = Refund.objects.get(request=other)
    SandboxFault.objects.create(kind="timeout_after")
    refund_execute(actor=SYSTEM, refund_id=sent.id)
    with pytest.raises(RefundError, match="may have gone through"):
        refund_cancel(actor=SYSTEM, refund_id=sent.id, reason="oops")


def test_integrators_hear_about_the_refund(settings: Any) -> None:
    from refundable.webhooks.services import webhook_endpoint_create

    webhook_endpoint_create(actor=SYSTEM, url="https://example.test/hook",
                            event_types=["refund.*", "refund_request.approved"])
    request = approved()
    with time_machine.travel(NOW, tick=False):
        refund_execute(actor=SYSTEM, refund_id=Refund.objects.get(request=request).id)
    types = list(WebhookEvent.objects.order_by("id").values_list("type", flat=True))
    assert types == ["refund.created", "refund.succeeded"]  # only what the endpoint wants
    succeeded = WebhookEvent.objects.get(type="refund.succeeded")
    assert succeeded.data["amount"] == {"amount": 8999, "currency": "EUR"}
    assert succeeded.data["refund_request_id"] == request.pk


def test_the_api_shows_the_refund_of_a_request() -> None:
    from django.test import Client

    from refundable.api.tests.support import bearer, key_for

    request = approved()
    client = Client(headers=bearer(key_for("read")))
    body = client.get(f"/api/v1/refund-requests/{request.pk}").json()
    [refund] = body["refunds"]
    assert refund["object"] == "refund" and refund["id"].startswith("rf_")
    assert (refund["amount"], refund["currency"], refund["status"]) == (8999, "EUR", "pending")
    assert refund["expected_by"] == "2026-03-10"
