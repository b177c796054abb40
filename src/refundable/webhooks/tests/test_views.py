"""The desk's webhook pages through the real URLs: who gets in, endpoints (create with the secret
shown once, edit, disable, rotate), the delivery log's filters and a delivery's "retry now"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from refundable.audit.models import AuditEvent
from refundable.customers.models import StaffProfile
from refundable.testing.factories import NOW, UserFactory
from refundable.testing.jobs import run_queued_jobs
from refundable.webhooks.models import WebhookDelivery, WebhookEndpoint
from refundable.webhooks.services import webhook_endpoint_update, webhook_event_emit

from .helpers import OPERATOR, endpoint_for
from .receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def staff(username: str, role: str) -> User:
    user: User = UserFactory.create(username=username)
    StaffProfile.objects.create(user=user, role=role)
    return user


@pytest.fixture
def operator(client: Client) -> Client:
    client.force_login(staff("olga", "operator"))
    return client


@pytest.fixture
def agent(client: Client) -> Client:
    client.force_login(staff("ana", "agent"))
    return client


def secret_on(html: str) -> str:
    found = re.search(r'<code id="webhook-secret"[^>]*>(whsec_[\w-]+)</code>', html)
    assert found, html
    return found.group(1)


def delivery_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'class="delivery" data-id="(\d+)"', html)]


def test_only_staff_get_in(client: Client, receiver: Receiver) -> None:
    endpoint = endpoint_for(receiver)
    webhook_event_emit(event_type="refund.succeeded", data={"id": 1})
    delivery = WebhookDelivery.objects.get()
    pages = ["/desk/webhooks/", "/desk/webhooks/endpoints/new/",
             f"/desk/webhooks/endpoints/{endpoint.pk}/", "/desk/webhooks/deliveries/",
             f"/desk/webhooks/deliveries/{delivery.pk}/"]
    posts = [f"/desk/webhooks/endpoints/{endpoint.pk}/active/",
             f"/desk/webhooks/endpoints/{endpoint.pk}/rotate/",
             f"/desk/webhooks/deliveries/{delivery.pk}/retry/"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/desk/login/?next=/desk/webhooks/")
    client.force_login(UserFactory.create(username="claire"))  # a customer's account
    for url in pages:
        assert client.get(url).status_code == 403, url
    for url in posts:
        assert client.post(url, {"active": "0"}).status_code == 403, url
    endpoint.refresh_from_db()
    assert endpoint.active


def test_agents_read_the_pages_but_only_operators_change_endpoints(
        agent: Client, receiver: Receiver) -> None:
    endpoint = endpoint_for(receiver)
    page = agent.get("/desk/")
    assert 'href="/desk/webhooks/"' in page.content.decode()  # the desk's navigation
    listing = agent.get("/desk/webhooks/").content.decode()
    assert receiver.url in listing and "Add an endpoint" not in listing
    detail = agent.get(f"/desk/webhooks/endpoints/{endpoint.pk}/").content.decode()
    assert "Only operators can change webhook endpoints." in detail
    assert "Rotate the secret" not in detail
    assert agent.get("/desk/webhooks/endpoints/new/").status_code == 403
    assert agent.post(f"/desk/webhooks/endpoints/{endpoint.pk}/", {
        "url": "https://evil.example.com/", "event_types": ["*"]}).status_code == 403
    assert agent.post(f"/desk/webhooks/endpoints/{endpoint.pk}/rotate/").status_code == 403
    assert agent.post(f"/desk/webhooks/endpoints/{endpoint.pk}/active/",
                      {"active": "0"}).status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.url == receiver.url and endpoint.active


def test_an_operator_adds_an_endpoint_and_sees_its_secret_once(operator: Client) -> None:
    form = operator.get("/desk/webhooks/endpoints/new/").content.decode()
    assert 'value="refund.*"' in form and 'value="dispute.closed"' in form
    response = operator.post("/desk/webhooks/endpoints/new/", {
        "url": "https://erp.example.com/hooks", "description": "ERP",
        "event_types": ["refund.*", "subscription.canceled"]})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    secret = secret_on(html)
    assert "it is not shown again" in html
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == secret
    assert endpoint.event_types == ["refund.*", "subscription.canceled"]
    for url in ("/desk/webhooks/", f"/desk/webhooks/endpoints/{endpoint.pk}/"):
        page = operator.get(url).content.decode()
        assert "erp.example.com" in page and secret not in page
    assert AuditEvent.objects.get(action="webhook_endpoint.create").actor == "operator:olga"


def test_bad_endpoint_input_is_shown_next_to_the_field(operator: Client) -> None:
    response = operator.post("/desk/webhooks/endpoints/new/", {
        "url": "ftp://erp.example.com/", "event_types": []})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid URL." in html and "This field is required." in html
    response = operator.post("/desk/webhooks/endpoints/new/", {
        "url": "https://erp.example.com/", "event_types": ["refunds.*"]})
    assert response.status_code == 400
    assert "Select a valid choice. refunds.* is not one of the available choices." in (
        response.content.decode())
    assert not WebhookEndpoint.objects.exists()


def test_an_operator_edits_disables_and_rotates(operator: Client, receiver: Receiver) -> None:
    endpoint = endpoint_for(receiver)
    old = receiver.secret
    url = f"/desk/webhooks/endpoints/{endpoint.pk}/"
    response = operator.post(url, {"url": "https://erp.example.com/v2", "description": "v2",
                                   "event_types": ["dispute.*"]})
    assert response.status_code == 302 and response["Location"] == url
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types) == ("https://erp.example.com/v2", ["dispute.*"])
    assert "Endpoint saved." in operator.get(url).content.decode()

    assert operator.post(f"{url}active/", {"active": "0"}).status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert "disabled" in operator.get("/desk/webhooks/").content.decode()
    assert operator.post(f"{url}active/", {"active": "maybe"}).status_code == 400
    assert operator.post(f"{url}active/", {"active": "1"}).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.active

    rotated = operator.post(f"{url}rotate/")
    secret = secret_on(rotated.content.decode())
    assert secret != old and "no-store" in rotated["Cache-Control"]
    assert "keeps signing alongside this one until" in rotated.content.decode()
    endpoint.refresh_from_db()
    assert (endpoint.secret, endpoint.previous_secret) == (secret, old)
    retired = operator.post(f"{url}rotate/", {"retire_now": "on"})
    assert "no longer signs anything" in retired.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == "" and endpoint.secret == secret_on(
        retired.content.decode())
    assert operator.get("/desk/webhooks/endpoints/999999/").status_code == 404


def test_the_delivery_log_filters_and_a_delivery_is_retried_now(
        agent: Client, receiver: Receiver, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    refunds = endpoint_for(receiver, "refund.*")
    everything = endpoint_for(receiver, "*")
    receiver.secret = ""  # two secrets in play; signatures are checked in test_delivery
    receiver.script = [500]  # the first POST (refund.succeeded to the refund endpoint) fails
    webhook_event_emit(event_type="refund.succeeded", data={"id": 1}, customer_id=3)
    run_queued_jobs()
    webhook_event_emit(event_type="dispute.created", data={"id": 2})
    failed = WebhookDelivery.objects.get(status="failed")
    assert failed.endpoint_id == refunds.pk
    succeeded = WebhookDelivery.objects.get(status="succeeded")
    pending = WebhookDelivery.objects.get(status="pending")

    def shown(query: str = "") -> list[int]:
        response = agent.get(f"/desk/webhooks/deliveries/{query}")
        assert response.status_code == 200
        return delivery_ids(response.content.decode())

    assert shown() == [pending.pk, succeeded.pk, failed.pk]
    assert shown("?status=failed") == [failed.pk]
    assert shown(f"?endpoint={everything.pk}") == [pending.pk, succeeded.pk]
    assert shown("?event_type=dispute.created") == [pending.pk]
    assert shown(f"?endpoint={refunds.pk}&status=succeeded") == []
    bad = agent.get("/desk/webhooks/deliveries/?status=lost")
    assert bad.status_code == 400
    assert "Select a valid choice. lost is not one of the available choices." in (
        bad.content.decode())

    page = agent.get(f"/desk/webhooks/deliveries/{failed.pk}/").content.decode()
    assert "HTTP 500" in page and "HTTP 500 Internal Server Error" in page
    assert failed.event.public_id in page
    assert "&quot;type&quot;:&quot;refund.succeeded&quot;" in page  # the body sent
    assert "Retry now" in page

    response = agent.post(f"/desk/webhooks/deliveries/{failed.pk}/retry/")
    assert response.status_code == 302
    run_queued_jobs()
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("succeeded", 2)
    page = agent.get(f"/desk/webhooks/deliveries/{failed.pk}/").content.decode()
    assert "Delivery queued: the worker sends it now." in page
    assert "agent:ana" in page  # who triggered the second attempt

    webhook_endpoint_update(actor=OPERATOR, endpoint_id=refunds.pk, active=False)
    refused = agent.post(f"/desk/webhooks/deliveries/{failed.pk}/retry/")
    assert refused.status_code == 409
    assert "is disabled: enable it before retrying" in refused.content.decode()
    assert agent.get("/desk/webhooks/deliveries/999999/").status_code == 404
    assert agent.post("/desk/webhooks/deliveries/999999/retry/").status_code == 404


def test_the_pages_speak_french(operator: Client, receiver: Receiver) -> None:
    endpoint_for(receiver)
    operator.cookies["django_language"] = "fr"
    listing = operator.get("/desk/webhooks/").content.decode()
    assert "Points de réception de webhooks" in listing and "Journal des envois" in listing
    log = operator.get("/desk/webhooks/deliveries/").content.decode()
    assert "Journal des envois de webhooks" in log and "Tous les statuts" in log
    form = operator.get("/desk/webhooks/endpoints/new/").content.decode()
    assert "Tous les événements (*)" in form
