"""State changes of subscriptions: create (an import), cancel (now or at term end), undo,
auto-renewal on/off.

Each function runs in one transaction, locks the subscription row, checks the transition,
writes an audit event and enqueues the confirmation e-mail on commit.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ..audit.services import Actor, audit_record, snapshot
from ..catalog.models import Plan
from ..customers.models import Customer
from ..notifications.services import email_enqueue
from ..webhooks.payloads import subscription_payload
from ..webhooks.services import webhook_event_emit
from .models import CHANNELS, Subscription

_FIELDS = ["status", "auto_renew", "cancel_requested_at", "cancel_effective_at", "cancel_reason"]
_CREATE_FIELDS = ["customer", "plan", "reference", "channel", "status", "started_at",
                  "current_period_start", "current_period_end", "auto_renew"]


class SubscriptionError(Exception):
    """A change that is not allowed in the subscription's current state (message for people)."""


def _check(subscription: Subscription, target: str) -> None:
    if target not in Subscription.TRANSITIONS[subscription.status]:
        raise SubscriptionError(
            f"subscription {subscription.reference} is {subscription.status}; "
            f"it cannot become {target}")


def _locked(subscription_id: int) -> Subscription:
    return Subscription.objects.select_for_update(of=("self",)).select_related(
        "customer", "plan").get(pk=subscription_id)


def subscription_cancel(*, actor: Actor, subscription_id: int, when: str,
                        reason: str = "", now: datetime | None = None) -> Subscription:
    """Cancel ``now`` or at ``term_end``. Auto-renewal goes off either way.

    ``term_end`` keeps the service until the current period ends and can be undone until then.
    Sends the confirmation e-mail (what, when, effective date) after commit.
    """
    if when not in ("now", "term_end"):
        raise SubscriptionError(f"when must be 'now' or 'term_end', not {when!r}")
    now = now or timezone.now()
    with transaction.atomic():
        subscription = _locked(subscription_id)
        before = snapshot(subscription, _FIELDS)
        lifetime = subscription.current_period_end is None
        if when == "term_end" and not lifetime:
            _check(subscription, Subscription.Status.CANCEL_SCHEDULED)
            subscription.status = Subscription.Status.CANCEL_SCHEDULED
            subscription.cancel_effective_at = subscription.current_period_end
        else:
            _check(subscription, Subscription.Status.CANCELED)
            subscription.status = Subscription.Status.CANCELED
            subscription.cancel_effective_at = now
        subscription.auto_renew = False
        subscription.cancel_requested_at = now
        subscription.cancel_reason = reason[:200]
        subscription.save()
        audit_record(actor=actor, action="subscription.cancel", obj=subscription,
                     customer_id=subscription.customer_id, before=before,
                     after=snapshot(subscription, _FIELDS), note=when)
        webhook_event_emit(event_type="subscription.canceled",
                           data=subscription_payload(subscription),
                           customer_id=subscription.customer_id)
        email_enqueue(template="cancellation_confirmed", to=subscription.customer.email,
                      language=subscription.customer.locale,
                      context={"subscription_id": subscription.pk})
    return subscription


def subscription_cancel_undo(*, actor: Actor, subscription_id: int,
                             now: datetime | None = None) -> Subscription:
    """Undo a cancellation scheduled for the term end, while the term has not ended."""
    now = now or timezone.now()
    with transaction.atomic():
        subscription = _locked(subscription_id)
        if subscription.status != Subscription.Status.CANCEL_SCHEDULED:
            raise SubscriptionError("only a cancellation scheduled for the end of the term can "
                                    "be undone")
        if subscription.cancel_effective_at and subscription.cancel_effective_at <= now:
            raise SubscriptionError("the term has ended: the cancellation can no longer be "
                                    "undone")
        before = snapshot(subscription, _FIELDS)
        subscription.status = Subscription.Status.ACTIVE
        subscription.cancel_requested_at = None
        subscription.cancel_effective_at = None
        subscription.cancel_reason = ""
        subscription.save()
        audit_record(actor=actor, action="subscription.cancel_undo", obj=subscription,
                     customer_id=subscription.customer_id, before=before,
                     after=snapshot(subscription, _FIELDS))
        webhook_event_emit(event_type="subscription.cancellation_undone",
                           data=subscription_payload(subscription),
                           customer_id=subscription.customer_id)
        email_enqueue(template="cancellation_undone", to=subscription.customer.email,
                      language=subscription.customer.locale,
                      context={"subscription_id": subscription.pk})
    return subscription


def subscription_auto_renew_set(*, actor: Actor, subscription_id: int,
                                enabled: bool) -> Subscription:
    """Turn auto-renewal on or off (only on an active subscription)."""
    with transaction.atomic():
        subscription = _locked(subscription_id)
        if subscription.status != Subscription.Status.ACTIVE:
            raise SubscriptionError(f"subscription {subscription.reference} is "
                                    f"{subscription.status}: auto-renewal cannot change")
        if subscription.auto_renew == enabled:
            return subscription
        before = snapshot(subscription, _FIELDS)
        subscription.auto_renew = enabled
        subscription.save(update_fields=["auto_renew"])
        audit_record(actor=actor, action="subscription.auto_renew", obj=subscription,
                     customer_id=subscription.customer_id, before=before,
                     after=snapshot(subscription, _FIELDS))
        webhook_event_emit(event_type="subscription.auto_renewal_changed",
                           data=subscription_payload(subscription),
                           customer_id=subscription.customer_id)
    return subscription


def subscription_create(*, actor: Actor, customer_id: int, plan_id: int, reference: str,
                        started_at: datetime, current_period_start: datetime,
                        current_period_end: datetime | None, channel: str = "direct",
                        auto_renew: bool = True, note: str = "") -> Subscription:
    """An active subscription that began elsewhere (an import), in its current period.

    ``current_period_end`` is None exactly when the plan is a lifetime plan. The reference must
    be new. Sends no e-mail. ``note`` goes to the audit event (an import's file and line).
    """
    reference = reference.strip()
    if not reference or len(reference) > 40:
        raise SubscriptionError("a reference of 1 to 40 characters is required")
    if channel not in dict(CHANNELS):
        raise SubscriptionError(f"channel must be one of {', '.join(dict(CHANNELS))}, "
                                f"not {channel!r}")
    moments = [started_at, current_period_start, current_period_end]
    if any(m is not None and timezone.is_naive(m) for m in moments):
        raise SubscriptionError("dates must carry their UTC offset")
    if current_period_start < started_at:
        raise SubscriptionError("the current period cannot start before the subscription")
    if current_period_end is not None and current_period_end <= current_period_start:
        raise SubscriptionError("the current period must end after it starts")
    with transaction.atomic():
        customer = Customer.objects.get(pk=customer_id)
        plan = Plan.objects.get(pk=plan_id)
        if (plan.period == "lifetime") != (current_period_end is None):
            raise SubscriptionError(
                f"plan {plan.code} is a lifetime plan: the current period has no end"
                if plan.period == "lifetime" else
                f"plan {plan.code} renews every {plan.period}: the current period needs an end")
        if Subscription.objects.filter(reference=reference).exists():
            raise SubscriptionError(f"a subscription with the reference {reference} already "
                                    "exists")
        subscription = Subscription.objects.create(
            customer=customer, plan=plan, reference=reference, channel=channel,
            status=Subscription.Status.ACTIVE, started_at=started_at,
            current_period_start=current_period_start, current_period_end=current_period_end,
            auto_renew=auto_renew)
        audit_record(actor=actor, action="subscription.create", obj=subscription,
                     customer_id=customer.pk, after=snapshot(subscription, _CREATE_FIELDS),
                     note=note)
    return subscription
