"""Ask for a refund: the policy's answer before submitting, then the status page and e-mails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from refundable.audit.services import Actor
from refundable.refunds.models import RefundRequest
from refundable.refunds.services import (
    refund_request_approve,
    refund_request_ask_info,
)
from refundable.testing.factories import NOW
from refundable.testing.jobs import run_queued_jobs
from refundable.testing.smtp import text_of

from .conftest import Account

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_preview_before_submit_then_submit_then_status_page_and_email(
        alice: Account, alice_client: Client, smtp: Any) -> None:
    url = reverse("portal:refund_new", args=[alice.charge.pk])
    with time_machine.travel(NOW + timedelta(days=5), tick=False):
        account = alice_client.get(reverse("portal:account")).content.decode()
        assert url in account  # "Ask for a refund" on the order
        first = alice_client.get(url).content.decode()
        assert "See what I am owed" in first and "Submit my refund request" not in first
        # The reasons carry people's words, not codes.
        assert "I was charged twice" in first and "duplicate_charge</option>" not in first
        preview = alice_client.get(url, {"reason": "dissatisfied"})
        page = preview.content.decode()
        assert preview.status_code == 200
        assert "You are owed a refund" in page and "€89.99" in page
        assert "Full refund of €89.99 under the 60-day money-back guarantee" in page
        assert page.index("60-day money-back guarantee") < page.index("Submit my refund request")
        assert not RefundRequest.objects.exists()  # nothing is written by the preview
        submitted = alice_client.post(url, {"reason": "dissatisfied",
                                            "description": "It slows my computer down."})
        assert submitted.status_code == 302
        request = RefundRequest.objects.get()
        assert submitted["Location"] == reverse("portal:refund_detail", args=[request.pk])
        status = alice_client.get(submitted["Location"]).content.decode()
    assert request.status == "approved" and request.approved_amount == 8999
    assert request.description == "It slows my computer down." and request.channel == "web"
    assert "Approved" in status and "We received your request." in status
    assert "Our refund policy decided: Approved." in status
    assert "Expect it between" in status and "business days" in status
    # A second request on the same charge is not offered while this one stands.
    with time_machine.travel(NOW + timedelta(days=5), tick=False):
        assert alice_client.get(url).status_code == 409
        account = alice_client.get(reverse("portal:account")).content.decode()
        assert "Refund request in progress" in account and url not in account
    run_queued_jobs()
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["Subject"] == f"We received your refund request #{request.pk}"
    body = text_of(message)
    assert "Full refund of €89.99" in body and alice.charge.order.invoice_number in body
    assert reverse("portal:refund_detail", args=[request.pk]) in body


@pytest.mark.django_db(transaction=True)
def test_review_then_agent_asks_then_approves_part_customer_sees_safe_timeline(
        alice: Account, alice_client: Client, smtp: Any) -> None:
    url = reverse("portal:refund_new", args=[alice.charge.pk])
    with time_machine.travel(NOW + timedelta(days=20), tick=False):
        page = alice_client.get(url, {"reason": "duplicate_charge"}).content.decode()
        assert "A person on our team will decide" in page
        assert "We are checking this charge" in page
        alice_client.post(url, {"reason": "duplicate_charge", "description": "twice"})
    request = RefundRequest.objects.get()
    assert request.status == "in_review"
    agent = Actor("agent", "ana")
    refund_request_ask_info(actor=agent, request_id=request.pk,
                            question="Please send the bank statement showing both charges.")
    # (the desk moves the request back to review when the customer answers)
    RefundRequest.objects.filter(pk=request.pk).update(status="in_review")
    refund_request_approve(actor=agent, request_id=request.pk, amount=4500,
                           reason="Charged twice: the second charge is refunded.")
    detail = reverse("portal:refund_detail", args=[request.pk])
    with time_machine.travel(NOW + timedelta(days=21), tick=False):
        status = alice_client.get(detail).content.decode()
    assert "We asked you for more information:" in status
    assert "Please send the bank statement showing both charges." in status
    assert "Our team approved a refund of €45.00." in status
    assert "override" not in status and "agent:ana" not in status  # internal audit notes
    run_queued_jobs()
    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects == [f"We received your refund request #{request.pk}",
                        f"We need information for your refund request #{request.pk}",
                        f"Your refund request #{request.pk}: approved"]
    asked, decided = text_of(smtp.messages[1]), text_of(smtp.messages[2])
    assert "Please send the bank statement showing both charges." in asked
    assert "€45.00" in decided and "Charged twice: the second charge is refunded." in decided


@pytest.mark.django_db(transaction=True)
def test_denied_request_in_french(alice: Account, alice_client: Client, smtp: Any) -> None:
    alice.customer.locale = "fr"
    alice.customer.save()
    url = reverse("portal:refund_new", args=[alice.charge.pk])
    with time_machine.travel(NOW + timedelta(days=70), tick=False):
        page = alice_client.get(url, {"reason": "dissatisfied"}).content.decode()
        assert "Non remboursable selon la politique" in page
        assert "La garantie de remboursement de 60 jours est terminée" in page
        alice_client.post(url, {"reason": "dissatisfied"})
    request = RefundRequest.objects.get()
    assert request.status == "denied"
    run_queued_jobs()
    message = smtp.messages[0]
    assert message["Subject"].strip() == (
        f"Nous avons bien reçu votre demande de remboursement n° {request.pk}")
    assert "La garantie de remboursement de 60 jours est terminée" in text_of(message)


def test_refund_start_lists_refundable_payments(alice: Account, alice_client: Client) -> None:
    page = alice_client.get(reverse("portal:refund_start")).content.decode()
    assert reverse("portal:refund_new", args=[alice.charge.pk]) in page
    assert alice.charge.order.order_number in page


def test_unknown_reason_is_refused(alice: Account, alice_client: Client) -> None:
    url = reverse("portal:refund_new", args=[alice.charge.pk])
    assert alice_client.get(url, {"reason": "because"}).status_code == 400
    response = alice_client.post(url, {"reason": "because"})
    assert response.status_code == 400
    assert not RefundRequest.objects.exists()
