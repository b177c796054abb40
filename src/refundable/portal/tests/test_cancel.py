"""Cancel from the account page in at most three clicks, undo, auto-renewal (HTTP level)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from refundable.audit.models import AuditEvent
from refundable.subscriptions.models import Subscription
from refundable.testing.factories import NOW
from refundable.testing.jobs import run_queued_jobs
from refundable.testing.smtp import text_of

from .conftest import Account

pytestmark = pytest.mark.django_db


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


@pytest.mark.django_db(transaction=True)
def test_cancel_at_term_end_in_three_steps_with_confirmation_page_and_email(
        alice: Account, alice_client: Client, smtp: Any) -> None:
    subscription = alice.subscription
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        account = alice_client.get(reverse("portal:account"))
        assert account.status_code == 200
        cancel_url = reverse("portal:subscription_cancel", args=[subscription.pk])
        assert cancel_url in links(account.content.decode())
        # Click 1: "Cancel" on the subscription.
        choice = alice_client.get(cancel_url)
        page = choice.content.decode()
        assert choice.status_code == 200
        assert 'value="term_end"' in page and "checked" in page.split('value="term_end"')[1][:40]
        assert "Confirm cancellation" in page
        assert "19 February 2027" in page or "Feb. 19, 2027" in page  # the effective date
        # The retention offer comes after the button, never before it.
        assert page.index("Confirm cancellation") < page.index("Turn auto-renewal off instead")
        # Click 2: "Confirm cancellation" (the default: at the end of the term).
        confirmed = alice_client.post(cancel_url, {"when": "term_end"})
        assert confirmed.status_code == 302
        assert confirmed["Location"] == reverse("portal:subscription_cancellation",
                                                args=[subscription.pk])
        # Click 3 (the redirect): the confirmation page — what, when, effective date.
        done = alice_client.get(confirmed["Location"])
        text = done.content.decode()
        assert done.status_code == 200
        assert "Cancellation confirmed" in text and subscription.reference in text
        assert "Takes effect on" in text and "Undo the cancellation" in text
    subscription.refresh_from_db()
    assert subscription.status == "cancel_scheduled" and subscription.auto_renew is False
    assert subscription.cancel_effective_at == subscription.current_period_end
    run_queued_jobs()
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == alice.customer.email
    assert "cancellation" in message["Subject"].lower()
    assert subscription.reference in text_of(message) and "Effective on" in text_of(message)


def test_cancel_now_ends_the_service_today(alice: Account, alice_client: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        url = reverse("portal:subscription_cancel", args=[alice.subscription.pk])
        response = alice_client.post(url, {"when": "now"})
        assert response.status_code == 302
        page = alice_client.get(response["Location"]).content.decode()
    subscription = Subscription.objects.get(pk=alice.subscription.pk)
    assert subscription.status == "canceled" and subscription.cancel_effective_at == NOW
    assert "Undo the cancellation" not in page
    event = AuditEvent.objects.get(action="subscription.cancel")
    assert event.actor == f"customer:{alice.customer.pk}" and event.note == "now"


def test_retention_offer_is_shown_once(alice: Account, alice_client: Client) -> None:
    url = reverse("portal:subscription_cancel", args=[alice.subscription.pk])
    with time_machine.travel(NOW, tick=False):
        first = alice_client.get(url).content.decode()
        second = alice_client.get(url).content.decode()
    assert "Turn auto-renewal off instead" in first
    assert "Turn auto-renewal off instead" not in second
    assert "Confirm cancellation" in second


def test_bad_choice_is_refused_without_change(alice: Account, alice_client: Client) -> None:
    url = reverse("portal:subscription_cancel", args=[alice.subscription.pk])
    with time_machine.travel(NOW, tick=False):
        response = alice_client.post(url, {"when": "tomorrow"})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert Subscription.objects.get(pk=alice.subscription.pk).status == "active"


@pytest.mark.django_db(transaction=True)
def test_undo_until_the_term_ends(alice: Account, alice_client: Client, smtp: Any) -> None:
    cancel = reverse("portal:subscription_cancel", args=[alice.subscription.pk])
    undo = reverse("portal:subscription_undo", args=[alice.subscription.pk])
    with time_machine.travel(NOW, tick=False):
        alice_client.post(cancel, {"when": "term_end"})
        account = alice_client.get(reverse("portal:account")).content.decode()
        assert undo in account  # offered on the account page too
    with time_machine.travel(NOW + timedelta(days=100), tick=False):
        response = alice_client.post(undo)
        assert response.status_code == 302
        page = alice_client.get(response["Location"]).content.decode()
    assert "Your cancellation is undone" in page
    subscription = Subscription.objects.get(pk=alice.subscription.pk)
    assert subscription.status == "active" and subscription.cancel_effective_at is None
    run_queued_jobs()
    subjects = [m["Subject"] for m in smtp.messages]
    assert len(subjects) == 2  # the confirmation, then the undo
    # After the term has ended, undo is refused.
    with time_machine.travel(NOW, tick=False):
        alice_client.post(cancel, {"when": "term_end"})
    with time_machine.travel(NOW + timedelta(days=400), tick=False):
        assert alice.customer.user is not None
        alice_client.force_login(alice.customer.user)  # a year on: a new session
        response = alice_client.post(undo, follow=True)
    assert "can no longer be undone" in response.content.decode()
    assert Subscription.objects.get(pk=alice.subscription.pk).status == "cancel_scheduled"


def test_auto_renewal_off_and_on(alice: Account, alice_client: Client) -> None:
    url = reverse("portal:subscription_auto_renew", args=[alice.subscription.pk])
    with time_machine.travel(NOW, tick=False):
        account = alice_client.get(reverse("portal:account")).content.decode()
        assert "Next charge" in account and "€89.99" in account
        off = alice_client.post(url, {"enabled": "off"}, follow=True).content.decode()
        assert Subscription.objects.get(pk=alice.subscription.pk).auto_renew is False
        assert "Auto-renewal is off" in off and "Ends on" in off and "Turn auto-renewal on" in off
        alice_client.post(url, {"enabled": "on"})
    assert Subscription.objects.get(pk=alice.subscription.pk).auto_renew is True
    actions = list(AuditEvent.objects.filter(action="subscription.auto_renew").values_list(
        "after__auto_renew", flat=True))
    assert actions == [False, True]
    assert alice_client.post(url, {"enabled": "maybe"}).status_code == 400


def test_cancel_needs_sign_in(alice: Account) -> None:
    url = reverse("portal:subscription_cancel", args=[alice.subscription.pk])
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login") + "?next=")


def test_a_scheduled_cancellation_can_be_made_immediate(alice: Account,
                                                        alice_client: Client) -> None:
    url = reverse("portal:subscription_cancel", args=[alice.subscription.pk])
    with time_machine.travel(NOW, tick=False):
        alice_client.post(url, {"when": "term_end"})
        page = alice_client.get(url).content.decode()
        assert 'value="now"' in page and 'value="term_end"' not in page
        assert alice_client.post(url, {"when": "term_end"}).status_code == 400
        alice_client.post(url, {"when": "now"})
    assert Subscription.objects.get(pk=alice.subscription.pk).status == "canceled"
    # Once cancelled there is nothing left to cancel.
    response = alice_client.get(url)
    assert response.status_code == 409 and "cannot be cancelled" in response.content.decode()
    assert alice_client.post(url, {"when": "now"}).status_code == 409


def test_french_cancellation_pages(alice: Account, alice_client: Client) -> None:
    alice.customer.locale = "fr"
    alice.customer.save()
    url = reverse("portal:subscription_cancel", args=[alice.subscription.pk])
    with time_machine.travel(NOW, tick=False):
        page = alice_client.get(url).content.decode()
        assert "Confirmer la résiliation" in page and "À la fin de la période en cours" in page
        assert "19 février 2027" in page
        done = alice_client.post(url, {"when": "term_end"}, follow=True).content.decode()
    assert "Résiliation confirmée" in done and "Prend effet le" in done
