from __future__ import annotations

from django.db.models import QuerySet

from .models import Subscription


def subscriptions_of(*, customer_id: int) -> QuerySet[Subscription]:
    return Subscription.objects.filter(customer_id=customer_id).select_related("plan__product")


def subscription_of(*, customer_id: int, subscription_id: int) -> Subscription:
    """The customer's own subscription; ``Subscription.DoesNotExist`` otherwise (→ 404)."""
    return subscriptions_of(customer_id=customer_id).get(pk=subscription_id)


def subscription_by_reference(*, reference: str, email: str) -> Subscription | None:
    """For the public cancel form: the reference and the e-mail must both match."""
    return Subscription.objects.select_related("customer", "plan").filter(
        reference__iexact=reference.strip(), customer__email__iexact=email.strip()).first()


def subscriptions_visible(*, customer_id: int | None, status: str | None = None
                          ) -> QuerySet[Subscription]:
    """Subscriptions with plan and product: only ``customer_id``'s, or with ``None`` every
    customer's (an integrator key); ``status`` filters."""
    subscriptions = Subscription.objects.select_related("plan__product")
    if customer_id is not None:
        subscriptions = subscriptions.filter(customer_id=customer_id)
    if status:
        subscriptions = subscriptions.filter(status=status)
    return subscriptions
