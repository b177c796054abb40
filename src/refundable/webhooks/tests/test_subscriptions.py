"""The subscription services announce their changes to subscribed integrators."""

from __future__ import annotations

from typing import Any

import pytest

from refundable.audit.services import Actor
from refundable.subscriptions.services import (
    SubscriptionError,
    subscription_auto_renew_set,
    subscription_cancel,
    subscription_cancel_undo,
)
from refundable.testing.factories import NOW, SubscriptionFactory
from refundable.testing.jobs import run_queued_jobs
from refundable.webhooks.models import WebhookEvent

from .helpers import endpoint_for
from .receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def test_cancel_undo_and_auto_renewal_are_announced(receiver: Receiver, time_machine: Any,
                                                    smtp: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    endpoint_for(receiver, "subscription.*")
    subscription = SubscriptionFactory.create()
    customer = Actor("customer", str(subscription.customer_id))

    subscription_cancel(actor=customer, subscription_id=subscription.pk, when="term_end")
    run_queued_jobs()
    [request] = receiver.requests
    assert request.signed and request.json["type"] == "subscription.canceled"
    data = request.json["data"]
    assert data == {
        "object": "subscription", "id": subscription.pk, "reference": subscription.reference,
        "customer_id": subscription.customer_id, "status": "cancel_scheduled",
        "auto_renew": False, "channel": "direct",
        "started_at": "2026-02-19T10:00:00Z", "current_period_start": "2026-02-19T10:00:00Z",
        "current_period_end": "2027-02-19T10:00:00Z",
        "cancel_requested_at": "2026-03-01T10:00:00Z",
        "cancel_effective_at": "2027-02-19T10:00:00Z",
        "plan": {"id": subscription.plan_id, "code": "antivirus-annual", "period": "year",
                 "price": {"amount": 8999, "currency": "EUR"}}}
    assert WebhookEvent.objects.get().customer_id == subscription.customer_id

    subscription_cancel_undo(actor=customer, subscription_id=subscription.pk)
    # Canceling turned auto-renewal off and undoing left it off; the customer turns it back on.
    subscription_auto_renew_set(actor=customer, subscription_id=subscription.pk, enabled=True)
    subscription_auto_renew_set(actor=customer, subscription_id=subscription.pk, enabled=True)
    run_queued_jobs()
    undone, renewal = receiver.requests[1:]
    assert undone.json["type"] == "subscription.cancellation_undone"
    assert undone.json["data"]["status"] == "active"
    assert undone.json["data"]["cancel_effective_at"] is None
    assert renewal.json["type"] == "subscription.auto_renewal_changed"
    assert renewal.json["data"]["auto_renew"] is True
    assert len(receiver.requests) == 3  # setting the same value again changes nothing


def test_a_refused_cancellation_announces_nothing(receiver: Receiver) -> None:
    endpoint_for(receiver, "*")
    subscription = SubscriptionFactory.create(status="canceled")
    with pytest.raises(SubscriptionError):
        subscription_cancel(actor=Actor.system(), subscription_id=subscription.pk, when="now")
    run_queued_jobs()
    assert receiver.requests == [] and not WebhookEvent.objects.exists()
