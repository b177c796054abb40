"""Provider webhooks: verified, applied once by event id; disputes; refunds made elsewhere."""

from __future__ import annotations

import json
from typing import Any

import pytest
import time_machine
from django.test import Client

from refundable.audit.services import Actor
from refundable.billing.models import Charge
from refundable.payments.disputes import dispute_evidence_mark_sent, dispute_evidence_pack
from refundable.payments.models import (
    Dispute,
    ProviderEventRecord,
    Refund,
    SandboxEvent,
    SandboxFault,
)
from refundable.payments.provider_events import provider_event_receive, sandbox_webhooks_deliver
from refundable.payments.providers.sandbox import SIGNATURE_HEADER, SandboxProvider, sandbox_sign
from refundable.payments.services import refund_execute, refunds_reconcile
from refundable.refunds.services import refund_request_create
from refundable.testing.factories import NOW, ChargeFactory

from .support import approved

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def sandbox_event(kind: str, data: dict[str, Any], event_id: str = "sbevt_1") -> bytes:
    return json.dumps({"id": event_id, "type": kind, "created": 0, "data": data}).encode()


def receive(body: bytes) -> list[str]:
    return provider_event_receive(provider_name="sandbox", payload=body,
                                  headers={SIGNATURE_HEADER: sandbox_sign(body)})


def test_a_settlement_webhook_sent_twice_is_applied_once(settings: Any) -> None:
    settings.REFUNDABLE_SANDBOX_SETTLE_SECONDS = 60
    SandboxFault.objects.create(kind="webhook_twice")
    request = approved()
    refund = Refund.objects.get(request=request)
    with time_machine.travel(NOW, tick=False):
        refund_execute(actor=SYSTEM, refund_id=refund.id)
    with time_machine.travel(NOW.replace(minute=2), tick=False):
        SandboxProvider().settle_due()
        assert SandboxEvent.objects.count() == 2  # the same event, twice
        assert sandbox_webhooks_deliver() == 2
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert ProviderEventRecord.objects.count() == 1
    charge = Charge.objects.get(pk=request.charge_id)
    assert (charge.refunded_amount, charge.pending_amount) == (8999, 0)


def test_a_late_webhook_changes_nothing_after_the_reconciler_settled(settings: Any) -> None:
    SandboxFault.objects.create(kind="webhook_late", delay_seconds=3600)
    request = approved()
    refund = Refund.objects.get(request=request)
    with time_machine.travel(NOW, tick=False):
        refund_execute(actor=SYSTEM, refund_id=refund.id)
        assert sandbox_webhooks_deliver() == 0  # not yet
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    with time_machine.travel(NOW.replace(hour=12), tick=False):
        assert sandbox_webhooks_deliver() == 1
    assert Charge.objects.get(pk=request.charge_id).refunded_amount == 8999


def test_a_webhook_with_a_bad_signature_is_refused_through_http() -> None:
    body = sandbox_event("refund.updated", {"id": "x"})
    client = Client()
    response = client.post("/webhooks/sandbox/", body, content_type="application/json",
                           headers={"Sandbox-Signature": "0" * 64})
    assert response.status_code == 400 and "signature" in response.json()["error"]["message"]
    assert client.post("/webhooks/paypal/", body,
                       content_type="application/json").status_code == 404
    assert not ProviderEventRecord.objects.exists()


def test_a_refund_made_outside_refundable_is_recorded_once_through_http() -> None:
    charge = ChargeFactory.create()
    body = sandbox_event("refund.updated", {
        "id": "sbre_dashboard", "charge": charge.reference, "amount": 2000, "currency": "EUR",
        "status": "succeeded", "metadata": {}}, event_id="sbevt_dash")
    client = Client()
    for _ in range(2):
        response = client.post("/webhooks/sandbox/", body, content_type="application/json",
                               headers={"Sandbox-Signature": sandbox_sign(body)})
        assert response.status_code == 200
    assert "already received" in response.json()["received"][0]
    [refund] = Refund.objects.filter(charge=charge)
    assert (refund.origin, refund.status, refund.amount) == ("external", "succeeded", 2000)
    charge.refresh_from_db()
    assert (charge.refunded_amount, charge.pending_amount) == (2000, 0)
    # The same provider refund announced again under a new event id is still one refund.
    again = sandbox_event("refund.updated", {
        "id": "sbre_dashboard", "charge": charge.reference, "amount": 2000, "currency": "EUR",
        "status": "succeeded", "metadata": {}}, event_id="sbevt_dash_2")
    receive(again)
    assert Refund.objects.filter(charge=charge).count() == 1
    assert Charge.objects.get(pk=charge.pk).refunded_amount == 2000


def test_an_open_dispute_holds_the_refund_and_a_won_one_releases_it() -> None:
    request = approved()
    charge = request.charge
    sandbox = SandboxProvider()
    dispute_id = sandbox.dispute_open(charge_reference=charge.reference, amount=8999,
                                      currency="EUR", reason="fraudulent")
    sandbox_webhooks_deliver()
    dispute = Dispute.objects.get()
    assert dispute.status == "needs_response" and dispute.request_id == request.pk
    refund = Refund.objects.get(request=request)
    refund_execute(actor=SYSTEM, refund_id=refund.id)
    refund.refresh_from_db()
    assert refund.hold_reason == "dispute_open" and refund.submitted_at is None
    assert refund.status == "pending"
    sandbox.dispute_close(dispute_id=dispute_id, charge_reference=charge.reference,
                          amount=8999, currency="EUR", reason="fraudulent", won=True)
    sandbox_webhooks_deliver()
    assert Dispute.objects.get().status == "won"
    refunds_reconcile(actor=SYSTEM)  # the job queued on commit, or the reconciler, sends it
    refund.refresh_from_db()
    assert refund.status == "succeeded" and refund.hold_reason == ""


def test_a_lost_dispute_cancels_the_refund_and_closes_the_requests() -> None:
    request = approved()
    charge = request.charge
    sandbox = SandboxProvider()
    dispute_id = sandbox.dispute_open(charge_reference=charge.reference, amount=8999,
                                      currency="EUR", reason="product_not_received")
    sandbox.dispute_close(dispute_id=dispute_id, charge_reference=charge.reference,
                          amount=8999, currency="EUR", reason="product_not_received", won=False)
    sandbox_webhooks_deliver()
    dispute = Dispute.objects.get()
    assert dispute.status == "lost" and dispute.closed_at is not None
    refund = Refund.objects.get(request=request)
    assert refund.status == "canceled"
    request.refresh_from_db()
    assert request.status == "closed" and "lost" in request.resolution_note
    charge.refresh_from_db()
    assert (charge.refunded_amount, charge.pending_amount) == (0, 0)
    # No new refund on a charged-back charge: the policy's approval goes to an agent instead.
    later = refund_request_create(actor=Actor("customer", "c"),
                                  customer_id=charge.order.customer_id, charge_id=charge.pk,
                                  reason="dissatisfied", now=NOW)
    assert later.status == "in_review" and not later.refunds.exists()


def test_the_evidence_pack_has_the_request_decision_and_policy_version() -> None:
    request = approved()
    charge = request.charge
    SandboxProvider().dispute_open(charge_reference=charge.reference, amount=8999,
                                   currency="EUR", reason="subscription_canceled")
    sandbox_webhooks_deliver()
    dispute = Dispute.objects.get()
    pack = dispute_evidence_pack(dispute_id=dispute.pk)
    assert [r.pk for r in pack.requests] == [request.pk]
    decision = pack.requests[0].decisions.first()
    assert decision.policy == "annual-60-day-guarantee@1"
    assert [r.request_id for r in pack.refunds] == [request.pk]
    dispute_evidence_mark_sent(actor=SYSTEM, dispute_id=dispute.pk)
    assert Dispute.objects.get().evidence_sent_at is not None
