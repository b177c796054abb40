"""``/subscriptions``: read them, cancel (now or at the term end), undo, auto-renewal on/off.

The POSTs change state: each needs an ``Idempotency-Key`` and answers 422 when the
subscription's state forbids the change (e.g. undo on a canceled subscription).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from ninja import Query, Router

from ...subscriptions.models import Subscription
from ...subscriptions.selectors import subscriptions_visible
from ...subscriptions.services import (
    subscription_auto_renew_set,
    subscription_cancel,
    subscription_cancel_undo,
)
from ..auth import Principal, principal_of
from ..idempotency import idempotent
from ..pagination import PageParams, paginate
from ..schemas import AutoRenewalIn, CancelIn, SubscriptionList, SubscriptionOut, to_json
from .common import (
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    IdempotencyKey,
    SubscriptionId,
    customer_scope,
)

router = Router(tags=["subscriptions"])


def _visible(principal: Principal, subscription_id: int) -> Subscription:
    return subscriptions_visible(customer_id=principal.customer_id).get(pk=subscription_id)


def _out(subscription: Subscription) -> tuple[int, dict[str, Any]]:
    return 200, to_json(SubscriptionOut.of(subscription))


@router.get("", response={200: SubscriptionList, **LIST_ERRORS},
            summary="List subscriptions", operation_id="subscriptions_list")
def subscriptions_list(request: HttpRequest, page: Query[PageParams],
                       customer: int | None = None,
                       status: Subscription.Status | None = None) -> dict[str, Any]:
    """Subscriptions with their plan, newest first. Filters: ``customer`` (id), ``status``."""
    principal = principal_of(request)
    subscriptions = subscriptions_visible(customer_id=customer_scope(principal, customer),
                                          status=status)
    return paginate(subscriptions, page, SubscriptionOut.of)


@router.get("/{subscription_id}", response={200: SubscriptionOut, **READ_ERRORS},
            summary="Retrieve a subscription", operation_id="subscriptions_get")
def subscriptions_get(request: HttpRequest, subscription_id: SubscriptionId) -> SubscriptionOut:
    """One subscription with its plan, status, period and cancellation dates."""
    return SubscriptionOut.of(_visible(principal_of(request), subscription_id))


@router.post("/{subscription_id}/cancel", response={200: SubscriptionOut, **WRITE_ERRORS},
             summary="Cancel a subscription", operation_id="subscriptions_cancel")
def subscriptions_cancel(request: HttpRequest, subscription_id: SubscriptionId, payload: CancelIn,
                         idempotency_key: IdempotencyKey) -> JsonResponse:
    """Cancel ``now`` (ends at once) or at ``term_end`` (status ``cancel_scheduled``: the
    service runs until the period ends and the cancellation can be undone until then).
    Auto-renewal goes off either way; the customer gets a confirmation e-mail. 422 when the
    subscription is already canceled or expired."""
    principal = principal_of(request)

    def execute() -> tuple[int, dict[str, Any]]:
        subscription = _visible(principal, subscription_id)
        return _out(subscription_cancel(actor=principal.actor, subscription_id=subscription.pk,
                                        when=payload.when, reason=payload.reason))

    return idempotent(request, principal=principal, key=idempotency_key,
                      payload=payload.model_dump(mode="json"), execute=execute)


@router.post("/{subscription_id}/undo-cancel",
             response={200: SubscriptionOut, **WRITE_ERRORS},
             summary="Undo a scheduled cancellation", operation_id="subscriptions_undo_cancel")
def subscriptions_undo_cancel(request: HttpRequest, subscription_id: SubscriptionId,
                              idempotency_key: IdempotencyKey) -> JsonResponse:
    """Undo a cancellation scheduled for the term end, while the term has not ended; the
    subscription is ``active`` again. No body. 422 for any other state (e.g. canceled)."""
    principal = principal_of(request)

    def execute() -> tuple[int, dict[str, Any]]:
        subscription = _visible(principal, subscription_id)
        return _out(subscription_cancel_undo(actor=principal.actor,
                                             subscription_id=subscription.pk))

    return idempotent(request, principal=principal, key=idempotency_key, payload={},
                      execute=execute)


@router.post("/{subscription_id}/auto-renewal",
             response={200: SubscriptionOut, **WRITE_ERRORS},
             summary="Turn auto-renewal on or off", operation_id="subscriptions_auto_renewal")
def subscriptions_auto_renewal(request: HttpRequest, subscription_id: SubscriptionId,
                               payload: AutoRenewalIn,
                               idempotency_key: IdempotencyKey) -> JsonResponse:
    """Switch automatic renewal at the period end on or off (only on an ``active``
    subscription; 422 otherwise). Setting the value it already has changes nothing."""
    principal = principal_of(request)

    def execute() -> tuple[int, dict[str, Any]]:
        subscription = _visible(principal, subscription_id)
        return _out(subscription_auto_renew_set(actor=principal.actor,
                                                subscription_id=subscription.pk,
                                                enabled=payload.enabled))

    return idempotent(request, principal=principal, key=idempotency_key,
                      payload=payload.model_dump(mode="json"), execute=execute)
