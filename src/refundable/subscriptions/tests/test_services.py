"""Subscription services against a real database (SQLite, and PostgreSQL in the second run)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor
from refundable.subscriptions.models import Subscription
from refundable.subscriptions.services import (
    SubscriptionError,
    subscription_auto_renew_set,
    subscription_cancel,
    subscription_cancel_undo,
)
from refundable.testing.factories import NOW, SubscriptionFactory
from refundable.testing.jobs import run_queued_jobs
from refundable.testing.smtp import text_of

pytestmark = pytest.mark.django_db(transaction=True)


def customer_actor(subscription: Subscription) -> Actor:
    return Actor("customer", str(subscription.customer_id))


def test_cancel_at_term_end_keeps_service_and_mails_a_confirmation(smtp: Any) -> None:
    subscription = SubscriptionFactory.create()
    result = subscription_cancel(actor=customer_actor(subscription),
                                 subscription_id=subscription.pk, when="term_end", now=NOW)
    assert result.status == "cancel_scheduled"
    assert result.cancel_effective_at == subscription.current_period_end
    assert result.auto_renew is False
    event = AuditEvent.objects.get(action="subscription.cancel")
    assert event.before is not None and event.after is not None
    assert event.before["status"] == "active" and event.after["status"] == "cancel_scheduled"
    assert event.actor == f"customer:{subscription.customer_id}"
    run_queued_jobs()
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == subscription.customer.email
    assert "Résiliation" in message["Subject"]  # the customer's locale is French
    body = text_of(message)
    assert subscription.reference in body and "Prend effet le" in body


def test_cancel_now_ends_at_once_and_cannot_be_undone() -> None:
    subscription = SubscriptionFactory.create()
    result = subscription_cancel(actor=customer_actor(subscription),
                                 subscription_id=subscription.pk, when="now", now=NOW)
    assert (result.status, result.cancel_effective_at) == ("canceled", NOW)
    with pytest.raises(SubscriptionError, match="only a cancellation scheduled"):
        subscription_cancel_undo(actor=customer_actor(subscription),
                                 subscription_id=subscription.pk, now=NOW)
    with pytest.raises(SubscriptionError, match="cannot become"):
        subscription_cancel(actor=customer_actor(subscription),
                            subscription_id=subscription.pk, when="now", now=NOW)


def test_undo_until_the_term_ends() -> None:
    subscription = SubscriptionFactory.create()
    actor = customer_actor(subscription)
    subscription_cancel(actor=actor, subscription_id=subscription.pk, when="term_end", now=NOW)
    undone = subscription_cancel_undo(actor=actor, subscription_id=subscription.pk,
                                      now=NOW + timedelta(days=30))
    assert undone.status == "active" and undone.cancel_effective_at is None
    subscription_cancel(actor=actor, subscription_id=subscription.pk, when="term_end", now=NOW)
    with pytest.raises(SubscriptionError, match="term has ended"):
        subscription_cancel_undo(actor=actor, subscription_id=subscription.pk,
                                 now=NOW + timedelta(days=356))
    assert Subscription.objects.get(pk=subscription.pk).status == "cancel_scheduled"


def test_auto_renewal_switch_is_audited_once() -> None:
    subscription = SubscriptionFactory.create()
    actor = customer_actor(subscription)
    subscription_auto_renew_set(actor=actor, subscription_id=subscription.pk, enabled=False)
    subscription_auto_renew_set(actor=actor, subscription_id=subscription.pk, enabled=False)
    assert Subscription.objects.get(pk=subscription.pk).auto_renew is False
    assert AuditEvent.objects.filter(action="subscription.auto_renew").count() == 1


def test_bad_cancel_mode_is_refused_without_change() -> None:
    subscription = SubscriptionFactory.create()
    with pytest.raises(SubscriptionError, match="when must be"):
        subscription_cancel(actor=customer_actor(subscription), subscription_id=subscription.pk,
                            when="tomorrow")
    assert Subscription.objects.get(pk=subscription.pk).status == "active"
    assert not AuditEvent.objects.exists()

