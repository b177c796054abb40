"""Endpoint services: validation with errors naming the field, audit events without secrets."""

from __future__ import annotations

import pytest

from refundable.audit.models import AuditEvent
from refundable.webhooks.models import WebhookEndpoint
from refundable.webhooks.services import (
    WebhookError,
    webhook_endpoint_create,
    webhook_endpoint_secret_rotate,
    webhook_endpoint_update,
)

from .helpers import OPERATOR

pytestmark = pytest.mark.django_db


def test_create_returns_the_secret_once_and_audits_without_it() -> None:
    endpoint, secret = webhook_endpoint_create(
        actor=OPERATOR, url=" https://erp.example.com/hooks ",
        event_types=["refund.*", "subscription.canceled", "refund.*"])
    assert secret.startswith("whsec_") and len(secret) > 40
    endpoint.refresh_from_db()
    assert endpoint.url == "https://erp.example.com/hooks" and endpoint.active
    assert endpoint.event_types == ["refund.*", "subscription.canceled"]
    other = webhook_endpoint_create(actor=OPERATOR, url="https://b.example.com/",
                                    event_types=["*"])
    assert other.secret != secret
    audit = AuditEvent.objects.get(action="webhook_endpoint.create", object_id=endpoint.pk)
    assert audit.actor == "operator:olga"
    assert audit.after == {"url": "https://erp.example.com/hooks", "description": "",
                           "event_types": ["refund.*", "subscription.canceled"],
                           "active": True}
    assert secret not in str(audit.after) + audit.note


@pytest.mark.parametrize(("url", "types", "message"), [
    ("", ["*"], "url: an http:// or https:// address is required"),
    ("ftp://erp.example.com/", ["*"], "url: 'ftp://erp.example.com/' is not a valid"),
    ("not a url", ["*"], "url: 'not a url' is not a valid"),
    ("https://erp.example.com/", [], "event_types: subscribe to at least one"),
    ("https://erp.example.com/", ["refunds.*"], "event_types: unknown event type 'refunds.*'"),
    ("https://erp.example.com/", "refund.*", "event_types: a list of event types"),
])
def test_bad_input_is_refused_naming_the_field(url: str, types: list[str], message: str
                                               ) -> None:
    with pytest.raises(WebhookError) as caught:
        webhook_endpoint_create(actor=OPERATOR, url=url, event_types=types)
    assert str(caught.value).startswith(message)
    assert not WebhookEndpoint.objects.exists()


def test_update_changes_what_is_given_and_audits_before_and_after() -> None:
    endpoint, _ = webhook_endpoint_create(actor=OPERATOR, url="https://erp.example.com/",
                                          event_types=["*"])
    webhook_endpoint_update(actor=OPERATOR, endpoint_id=endpoint.pk, event_types=["dispute.*"],
                            active=False)
    endpoint.refresh_from_db()
    assert (endpoint.event_types, endpoint.active, endpoint.url) == (
        ["dispute.*"], False, "https://erp.example.com/")
    audit = AuditEvent.objects.get(action="webhook_endpoint.update")
    assert audit.before is not None and audit.after is not None
    assert (audit.before["active"], audit.after["active"]) == (True, False)
    # No change, no audit event.
    webhook_endpoint_update(actor=OPERATOR, endpoint_id=endpoint.pk, active=False)
    assert AuditEvent.objects.filter(action="webhook_endpoint.update").count() == 1
    with pytest.raises(WebhookError, match=r"^url: "):
        webhook_endpoint_update(actor=OPERATOR, endpoint_id=endpoint.pk, url="javascript:x")
    with pytest.raises(WebhookError, match="keep_previous_hours"):
        webhook_endpoint_secret_rotate(actor=OPERATOR, endpoint_id=endpoint.pk,
                                       keep_previous_hours=-1)
