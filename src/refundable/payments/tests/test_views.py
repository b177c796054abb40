"""The desk's money pages through their real URLs."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor
from refundable.desk.tests.helpers import agent
from refundable.payments.models import Dispute, Refund, SandboxFault
from refundable.payments.provider_events import sandbox_webhooks_deliver
from refundable.payments.providers.sandbox import SandboxProvider
from refundable.payments.services import refund_execute
from refundable.testing.factories import UserFactory

from .support import approved

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk() -> Client:
    client = Client()
    client.force_login(agent("ana"))
    return client


def test_only_staff_reach_the_money_pages() -> None:
    anonymous = Client()
    response = anonymous.get("/desk/money/")
    assert response.status_code == 302 and "/desk/login/" in response["Location"]
    customer = Client()
    customer.force_login(UserFactory.create())
    assert customer.get("/desk/money/").status_code == 403


def test_an_agent_sends_a_paypal_refund_by_hand(desk: Client) -> None:
    request = approved(payment_method="paypal")
    refund = Refund.objects.get(request=request)
    page = desk.get("/desk/money/").content.decode()
    assert refund.id in page and "to send by hand" in page
    detail = desk.get(f"/desk/money/refunds/{refund.id}/").content.decode()
    assert "Record as sent" in detail
    response = desk.post(f"/desk/money/refunds/{refund.id}/mark-sent/", {"reference": ""},
                         follow=True)
    assert "reference of the transfer is required" in response.content.decode()
    desk.post(f"/desk/money/refunds/{refund.id}/mark-sent/", {"reference": "PP-123"})
    refund.refresh_from_db()
    assert refund.status == "succeeded" and refund.manual_reference == "PP-123"
    event = AuditEvent.objects.get(action="refund.succeeded", object_id=refund.id)
    assert event.actor == "agent:ana"
    assert desk.get("/desk/money/refunds/rf_nope/").status_code == 404


def test_a_failed_refund_is_sent_again_from_the_request_page(desk: Client) -> None:
    SandboxFault.objects.create(kind="decline")
    request = approved()
    first = Refund.objects.get(request=request)
    refund_execute(actor=Actor.system("t"), refund_id=first.id)
    page = desk.get(f"/desk/requests/{request.pk}/").content.decode()
    assert "Needs you:" in page and "Send the refund again" in page and first.id in page
    response = desk.post(f"/desk/money/requests/{request.pk}/retry/")
    second = Refund.objects.filter(request=request).exclude(pk=first.id).get()
    assert response.status_code == 302 and second.id in response["Location"]
    again = desk.post(f"/desk/money/requests/{request.pk}/retry/", follow=True)
    assert "already has a refund" in again.content.decode()


def test_an_unsent_refund_is_canceled_with_a_reason(desk: Client) -> None:
    request = approved()
    refund = Refund.objects.get(request=request)
    desk.post(f"/desk/money/refunds/{refund.id}/cancel/", {"reason": "customer took a credit"})
    refund.refresh_from_db()
    assert refund.status == "canceled" and refund.failure_reason == "customer took a credit"


def test_the_dispute_page_and_its_evidence_pack(desk: Client) -> None:
    request = approved()
    charge = request.charge
    SandboxProvider().dispute_open(charge_reference=charge.reference, amount=8999,
                                   currency="EUR", reason="subscription_canceled")
    sandbox_webhooks_deliver()
    dispute = Dispute.objects.get()
    overview = desk.get("/desk/money/").content.decode()
    assert dispute.provider_dispute_id in overview
    page = desk.get(f"/desk/money/disputes/{dispute.pk}/").content.decode()
    assert "annual-60-day-guarantee@1" in page and "subscription_canceled" in page
    pack = desk.get(f"/desk/money/disputes/{dispute.pk}/?format=json")
    assert pack["Content-Disposition"].startswith("attachment;")
    body = json.loads(pack.content)
    assert body["dispute"]["status"] == "needs_response"
    assert body["refund_requests"][0]["decisions"][0]["policy"] == "annual-60-day-guarantee@1"
    assert body["refunds"][0]["status"] == "pending"  # held while the dispute is open
    desk.post(f"/desk/money/disputes/{dispute.pk}/evidence-sent/")
    assert Dispute.objects.get().evidence_sent_at is not None
    assert desk.get("/desk/money/disputes/999/").status_code == 404


def test_the_money_pages_speak_french() -> None:
    client = Client()
    client.force_login(agent("lea"))
    page = client.get("/desk/money/", headers={"Accept-Language": "fr"}).content.decode()
    assert "Contestations ouvertes" in page and "Remboursements en cours" in page


def test_the_sandbox_command_drives_faults_and_chargebacks() -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    request = approved()
    out = StringIO()
    call_command("sandbox", "fault", "timeout_after", "--count", "2", stdout=out)
    assert SandboxFault.objects.get().remaining == 2
    with pytest.raises(CommandError, match="--count"):
        call_command("sandbox", "fault", "decline", "--count", "0")
    call_command("sandbox", "dispute-open", str(request.charge_id), stdout=out)
    dispute = Dispute.objects.get()
    assert dispute.status == "needs_response" and dispute.charge_id == request.charge_id
    call_command("sandbox", "dispute-close", dispute.provider_dispute_id, "--lost", stdout=out)
    assert Dispute.objects.get().status == "lost"
    request.refresh_from_db()
    assert request.status == "closed"
    with pytest.raises(CommandError, match="no charge"):
        call_command("sandbox", "dispute-open", "999999")
    call_command("sandbox", "status", stdout=out)
    assert "fault timeout_after × 2" in out.getvalue()
