"""The forms that need no account: "cancel my contract" (French L215-1-1, German §312k) and
"re-send my activation key" (seed 001). Neither reveals whether something matched."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from refundable.audit.models import AuditEvent
from refundable.portal.models import PublicRequest
from refundable.subscriptions.models import Subscription
from refundable.testing.factories import NOW
from refundable.testing.jobs import run_queued_jobs
from refundable.testing.smtp import text_of

from .conftest import Account

pytestmark = pytest.mark.django_db


def neutral(html: str) -> str:
    """The acknowledgement minus what the person typed and when: must not differ."""
    main = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    return re.sub(r"<table>.*?</table>", "", main, flags=re.S)


def cancel_via_form(client: Client, **fields: str) -> Any:
    data = {"name": "Alice Martin", "email": "alice@example.test", "reference": "",
            "when": "term_end", **fields}
    review = client.post(reverse("portal:public_cancel"), data)
    assert review.status_code == 200
    html = review.content.decode()
    assert "Confirm cancellation" in html and data["reference"] in html
    assert not PublicRequest.objects.filter(reference=data["reference"]).exists()
    return client.post(reverse("portal:public_cancel"), {**data, "step": "confirm"})


@pytest.mark.django_db(transaction=True)
def test_public_cancel_form_cancels_and_mails_when_reference_and_email_match(
        alice: Account, smtp: Any) -> None:
    client = Client()
    with time_machine.travel(NOW, tick=False):
        form = client.get(reverse("portal:public_cancel"))
        assert form.status_code == 200 and 'value="term_end"' in form.content.decode()
        done = cancel_via_form(client, reference=alice.subscription.reference.lower())
        assert done.status_code == 302
        ack = client.get(done["Location"])
    html = ack.content.decode()
    assert ack.status_code == 200
    assert "We received your cancellation request on" in html
    assert "If a contract matches these details" in html
    assert ("1 March 2026" in html or "March 1, 2026" in html) and "11:00" in html  # Paris time
    subscription = Subscription.objects.get(pk=alice.subscription.pk)
    assert subscription.status == "cancel_scheduled"
    submission = PublicRequest.objects.get()
    assert submission.result == "scheduled" and submission.customer_id == alice.customer.pk
    event = AuditEvent.objects.get(action="public_request.cancellation")
    assert event.actor == "public:portal" and event.customer_id == alice.customer.pk
    run_queued_jobs()
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["To"] == "alice@example.test"
    assert subscription.reference in text_of(smtp.messages[0])


@pytest.mark.django_db(transaction=True)
def test_mismatch_answers_the_same_cancels_nothing_and_is_audited(
        alice: Account, bob: Account, smtp: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        matched = Client()
        done = cancel_via_form(matched, reference=alice.subscription.reference)
        matched_html = matched.get(done["Location"]).content.decode()
        # Bob's reference with Alice's e-mail: no match.
        other = Client()
        done = cancel_via_form(other, reference=bob.subscription.reference)
        assert done.status_code == 302
        mismatch_html = other.get(done["Location"]).content.decode()
        unknown = Client()
        done = cancel_via_form(unknown, reference="CT-999999", email="who@example.test")
        unknown_html = unknown.get(done["Location"]).content.decode()
    assert neutral(matched_html) == neutral(mismatch_html)
    assert neutral(unknown_html).replace("who@example.test", "alice@example.test") == \
        neutral(matched_html)
    assert Subscription.objects.get(pk=bob.subscription.pk).status == "active"
    results = list(PublicRequest.objects.order_by("id").values_list("result", flat=True))
    assert results == ["scheduled", "no_match", "no_match"]
    events = AuditEvent.objects.filter(action="public_request.cancellation").order_by("id")
    assert [e.customer_id for e in events] == [alice.customer.pk, None, None]
    assert "no contract matches" in events[1].note
    run_queued_jobs()
    assert [m["To"] for m in smtp.messages] == ["alice@example.test"]  # only the match


def test_change_my_answers_goes_back_to_the_form(alice: Account) -> None:
    data = {"name": "Alice", "email": "alice@example.test",
            "reference": alice.subscription.reference, "when": "now", "step": "confirm",
            "edit": "1"}
    response = Client().post(reverse("portal:public_cancel"), data)
    assert response.status_code == 200
    assert "Continue" in response.content.decode()
    assert Subscription.objects.get(pk=alice.subscription.pk).status == "active"


def test_public_cancel_validates_and_is_rate_limited(alice: Account) -> None:
    client = Client()
    invalid = client.post(reverse("portal:public_cancel"), {"name": "", "email": "nope",
                                                           "reference": "", "when": "now"})
    assert invalid.status_code == 400
    assert invalid.content.decode().count('aria-invalid="true"') == 3
    attempts, _window = settings.REFUNDABLE_RATE_LIMITS["public_cancel"]
    data = {"name": "X", "email": "x@example.test", "reference": "CT-1", "when": "now",
            "step": "confirm"}
    for _ in range(attempts):
        assert client.post(reverse("portal:public_cancel"), data).status_code == 302
    response = client.post(reverse("portal:public_cancel"), data)
    assert response.status_code == 429 and "Too many attempts" in response.content.decode()
    assert PublicRequest.objects.count() == attempts


def test_acknowledgement_links_cannot_be_guessed() -> None:
    assert Client().get(reverse("portal:public_cancel_done", args=["1"])).status_code == 404


def test_every_page_links_the_cancel_form_in_its_footer(alice: Account,
                                                        alice_client: Client) -> None:
    url = reverse("portal:public_cancel")
    for page in ("portal:home", "portal:login", "portal:contact", "portal:activation_key"):
        html = Client().get(reverse(page)).content.decode()
        footer = html.split('<footer class="site">')[1]
        assert f'href="{url}"' in footer and "Cancel my contract" in footer
    french = Client(headers={"accept-language": "fr"}).get(reverse("portal:home"))
    assert "Résilier mon contrat" in french.content.decode().split('<footer class="site">')[1]
    account = alice_client.get(reverse("portal:account")).content.decode()
    assert f'href="{url}"' in account.split('<footer class="site">')[1]


@pytest.mark.django_db(transaction=True)
def test_activation_key_is_mailed_when_holder_and_invoice_match(alice: Account,
                                                                smtp: Any) -> None:
    client = Client()
    page = client.get(reverse("portal:activation_key")).content.decode()
    assert "Get my activation key" in page
    response = client.post(reverse("portal:activation_key"), {
        "holder_name": "  alice   MARTIN ", "invoice_number": alice.charge.order.invoice_number})
    assert response.status_code == 302
    sent = client.get(response["Location"]).content.decode()
    assert "you will receive within 48 hours" in sent
    run_queued_jobs()
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "alice@example.test"
    assert message["Subject"] == "Your Antivirus Suite activation key"
    assert alice.key.key in text_of(message)
    assert AuditEvent.objects.filter(action="activation_key.resend").count() == 1
    assert PublicRequest.objects.get().result == "sent"


@pytest.mark.django_db(transaction=True)
def test_activation_key_mismatch_answers_the_same_and_sends_nothing(
        alice: Account, bob: Account, smtp: Any) -> None:
    client = Client()
    # Bob's name with Alice's invoice number.
    response = client.post(reverse("portal:activation_key"), {
        "holder_name": "Bob Durand", "invoice_number": alice.charge.order.invoice_number},
        follow=True)
    assert "you will receive within 48 hours" in response.content.decode()
    run_queued_jobs()
    assert smtp.messages == []
    event = AuditEvent.objects.get(action="public_request.activation_key")
    assert event.customer_id is None and event.after == {"result": "no_match"}


def test_activation_key_form_is_rate_limited(alice: Account) -> None:
    client = Client()
    attempts, _window = settings.REFUNDABLE_RATE_LIMITS["activation_key"]
    data = {"holder_name": "X", "invoice_number": "INV-0"}
    for _ in range(attempts):
        assert client.post(reverse("portal:activation_key"), data).status_code == 302
    response = client.post(reverse("portal:activation_key"), data)
    assert response.status_code == 429 and "Too many attempts" in response.content.decode()
