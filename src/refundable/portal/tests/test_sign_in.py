"""Sign-in by password and by e-mail link, sign-out, rate limits (HTTP level)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from refundable.audit.models import AuditEvent
from refundable.customers.models import Customer
from refundable.portal.models import SignInLink
from refundable.testing.factories import NOW
from refundable.testing.jobs import run_queued_jobs
from refundable.testing.smtp import text_of

from .conftest import Account

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # the factory's


def test_password_sign_in_with_the_email_address_then_sign_out(alice: Account) -> None:
    client = Client()
    page = client.get(reverse("portal:login"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'for="id_identifier"' in html and 'autocomplete="current-password"' in html
    response = client.post(reverse("portal:login"), {"identifier": "ALICE@example.test",
                                                     "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("portal:account")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Alice Martin" in client.get(reverse("portal:account")).content.decode()
    assert client.get(reverse("portal:logout")).status_code == 405  # sign-out is a POST
    out = client.post(reverse("portal:logout"), follow=True)
    assert "You are signed out." in out.content.decode()
    assert client.get(reverse("portal:account")).status_code == 302


def test_sign_in_goes_back_to_next_but_never_off_site(alice: Account) -> None:
    client = Client()
    target = reverse("portal:refund_start")
    response = client.post(reverse("portal:login") + f"?next={target}",
                           {"identifier": "alice@example.test", "password": PASSWORD})
    assert response["Location"] == target
    client.logout()
    response = client.post(reverse("portal:login") + "?next=https://evil.example/",
                           {"identifier": "alice@example.test", "password": PASSWORD})
    assert response["Location"] == reverse("portal:account")


def test_wrong_password_is_refused_and_rate_limited(alice: Account) -> None:
    client = Client()
    attempts, _window = settings.REFUNDABLE_RATE_LIMITS["sign_in"]
    for _ in range(attempts):
        response = client.post(reverse("portal:login"), {"identifier": "alice@example.test",
                                                         "password": "wrong"})
        assert response.status_code == 400
        assert "The e-mail address or the password is not right." in response.content.decode()
    response = client.post(reverse("portal:login"), {"identifier": "alice@example.test",
                                                     "password": PASSWORD})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Too many attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session  # not even the right password gets in


def test_a_user_who_is_no_customer_gets_a_clear_page(alice: Account) -> None:
    from django.contrib.auth import get_user_model

    agent = get_user_model().objects.create_user("agent-x", "agent@example.test", PASSWORD)
    client = Client()
    client.force_login(agent)
    response = client.get(reverse("portal:account"))
    assert response.status_code == 403
    assert "No customer account" in response.content.decode()


def _link_from(message: Any) -> str:
    match = re.search(r"https?://\S+/login/link/\S+/", text_of(message))
    assert match, text_of(message)
    return urlsplit(match.group(0)).path


@pytest.mark.django_db(transaction=True)
def test_email_link_signs_in_once(alice: Account, smtp: Any) -> None:
    client = Client()
    response = client.post(reverse("portal:login_link"), {"email": "alice@example.test"})
    assert response.status_code == 200
    assert "If an account uses the address alice@example.test" in response.content.decode()
    run_queued_jobs()
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["To"] == "alice@example.test"
    assert smtp.messages[0]["Subject"] == "Your sign-in link"
    path = _link_from(smtp.messages[0])
    # Opening the link (or a mail scanner opening it) does not spend it: a button does.
    page = client.get(path)
    assert page.status_code == 200 and "It works once" in page.content.decode()
    assert SignInLink.objects.get().used_at is None
    signed_in = client.post(path)
    assert signed_in.status_code == 302 and signed_in["Location"] == reverse("portal:account")
    assert client.get(reverse("portal:account")).status_code == 200
    assert SignInLink.objects.get().used_at is not None
    assert AuditEvent.objects.filter(action="sign_in_link.use",
                                     customer_id=alice.customer.pk).count() == 1
    # One use only.
    again = Client().post(path)
    assert again.status_code == 400
    assert "already been used" in again.content.decode()


@pytest.mark.django_db(transaction=True)
def test_email_link_expires(alice: Account, smtp: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        Client().post(reverse("portal:login_link"), {"email": "alice@example.test"})
        run_queued_jobs()
    path = _link_from(smtp.messages[0])
    later = NOW + timedelta(seconds=settings.REFUNDABLE_SIGN_IN_LINK_MAX_AGE + 60)
    with time_machine.travel(later, tick=False):
        client = Client()
        assert "has expired" in client.get(path).content.decode()
        response = client.post(path)
    assert response.status_code == 400 and "has expired" in response.content.decode()
    assert SignInLink.objects.get().used_at is None


def test_forged_link_is_refused() -> None:
    response = Client().post(reverse("portal:login_link_use", args=["not-a-token"]))
    assert response.status_code == 400 and "not valid" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_unknown_address_gets_the_same_answer_and_no_email(smtp: Any) -> None:
    response = Client().post(reverse("portal:login_link"), {"email": "nobody@example.test"})
    assert response.status_code == 200
    assert "If an account uses the address nobody@example.test" in response.content.decode()
    run_queued_jobs()
    assert smtp.messages == []


@pytest.mark.django_db(transaction=True)
def test_email_link_creates_the_user_of_a_customer_without_one(smtp: Any) -> None:
    customer = Customer.objects.create(email="carol@example.test", name="Carol", locale="fr",
                                       country="FR")
    client = Client()
    client.post(reverse("portal:login_link"), {"email": "carol@example.test"})
    run_queued_jobs()
    assert smtp.messages[0]["Subject"] == "Votre lien de connexion"
    client.post(_link_from(smtp.messages[0]))
    customer.refresh_from_db()
    assert customer.user is not None and not customer.user.has_usable_password()
    assert "Carol" in client.get(reverse("portal:account")).content.decode()


def test_sign_in_link_requests_are_rate_limited() -> None:
    client = Client()
    attempts, _window = settings.REFUNDABLE_RATE_LIMITS["sign_in_link"]
    for _ in range(attempts):
        assert client.post(reverse("portal:login_link"),
                           {"email": "x@example.test"}).status_code == 200
    response = client.post(reverse("portal:login_link"), {"email": "x@example.test"})
    assert response.status_code == 429 and "Too many attempts" in response.content.decode()
