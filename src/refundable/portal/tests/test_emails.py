"""Every e-mail the portal flows send renders in French and English, text and HTML."""

from __future__ import annotations

import pytest

from refundable.audit.services import Actor
from refundable.notifications.emails import email_render
from refundable.portal.models import SignInLink
from refundable.refunds.models import RefundRequest
from refundable.refunds.services import refund_request_create
from refundable.testing.factories import NOW

from .conftest import Account

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_in_review(alice: Account) -> RefundRequest:
    return refund_request_create(actor=Actor("customer", str(alice.customer.pk)),
                                 customer_id=alice.customer.pk, charge_id=alice.charge.pk,
                                 reason="duplicate_charge", now=NOW)


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("status", ["in_review", "approved", "denied", "troubleshooting",
                                    "redirected", "offered", "info_requested"])
def test_refund_emails_render(request_in_review: RefundRequest, language: str,
                              status: str) -> None:
    RefundRequest.objects.filter(pk=request_in_review.pk).update(
        status=status, approved_amount=4500 if status == "approved" else None,
        resolution_note="Our note to you")
    context = {"request_id": request_in_review.pk, "question": "Which card?"}
    for template in ("refund_request_received", "refund_request_decided",
                     "information_requested"):
        subject, text, html = email_render(template=template, language=language,
                                           context=context)
        assert f"{request_in_review.pk}" in subject
        assert "{{" not in text and "{%" not in html
        assert "Alice Martin" in text and "&lt;" not in text
    subject, text, _html = email_render(template="refund_request_decided", language=language,
                                        context=context)
    if status == "approved":
        assert ("€45.00" if language == "en" else "45,00\u00a0€") in text
        assert "Our note to you" in text


@pytest.mark.parametrize("language", ["en", "fr"])
def test_activation_key_and_sign_in_link_emails_render(alice: Account, language: str) -> None:
    subject, text, html = email_render(template="activation_key", language=language,
                                       context={"activation_key_id": alice.key.pk})
    assert "Antivirus Suite" in subject and alice.key.key in text and alice.key.key in html
    link = SignInLink.objects.create(customer=alice.customer, nonce="n" * 43, created_at=NOW)
    subject, text, html = email_render(template="sign_in_link", language=language,
                                       context={"link_id": link.pk})
    assert "/login/link/" in text and "/login/link/" in html
    assert subject == ("Your sign-in link" if language == "en" else "Votre lien de connexion")
